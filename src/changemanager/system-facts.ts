/**
 * The facts the change manager plans with about each managed system: its
 * roles, cluster, capacity, hardware and maintenance windows. Set by
 * operators (CLI now, SOAP through the ChangeManagerService), read by the
 * planning snapshot (model-loader.ts). Every query on `system_role` and
 * `maintenance_window` lives here.
 *
 * Capacity is the number of provisioning tasks the change manager runs on
 * the system at once: at least 1, 1 by default (a real machine is changed
 * one step at a time unless an operator says it can take more; a simulated
 * system can be given more).
 */
import { In, type DataSource, type EntityManager } from 'typeorm';
import { MaintenanceWindowRow, ManagedSystem, SystemRole } from '../../entities';
import { ProvisorError } from '../errors';
import { transaction } from '../db/sql';
import { ROLE_PATTERN } from '../drivers/local/package-manifest';
import type { HardwareFacts, MaintenanceWindow, SystemFacts, Weekday } from './planning-model';
import { validateWindow, WindowSyntaxError } from './windows';

/** The most roles one system may have. */
export const MAX_ROLES = 32;
/** The most maintenance windows one system may have. */
export const MAX_WINDOWS = 20;
/** The largest capacity (tasks at once) a system may be given. */
export const MAX_CAPACITY = 1000;
const CLUSTER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Upper bounds of the hardware facts, to catch typos (1 PB of memory is one). */
const HARDWARE_LIMITS = { cpus: 100_000, memoryMb: 1_000_000_000, diskGb: 1_000_000_000 } as const;

/**
 * A change to a system's facts; fields left out stay as they are. Roles
 * are removed before they are added; windows are cleared before new ones
 * are added.
 */
export interface SystemFactsChange {
  readonly addRoles?: readonly string[];
  readonly removeRoles?: readonly string[];
  /** A cluster name, or null to leave every cluster. */
  readonly cluster?: string | null;
  readonly capacity?: number;
  /** A number, or null for unknown. */
  readonly cpus?: number | null;
  readonly memoryMb?: number | null;
  readonly diskGb?: number | null;
  readonly clearWindows?: boolean;
  readonly addWindows?: readonly MaintenanceWindow[];
}

/** Reads and sets system facts. */
export class SystemFactsStore {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Applies `change` to the system in one transaction and answers its facts.
   * @throws ProvisorError `UnknownSystem` (field `system`), or `InvalidField`
   *   naming the field (`role`, `cluster`, `capacity`, `cpus`, `memoryMb`,
   *   `diskGb`, `window`); nothing is written then.
   */
  async set(name: string, change: SystemFactsChange): Promise<SystemFacts> {
    const checked = checkChange(change);
    await transaction(this.dataSource, async (manager) => {
      const system = await requireSystem(manager, name);
      const columns: Partial<Pick<ManagedSystem, 'cluster' | 'capacity' | 'cpus' | 'memoryMb' | 'diskGb'>> = {};
      if (checked.cluster !== undefined) columns.cluster = checked.cluster;
      if (checked.capacity !== undefined) columns.capacity = checked.capacity;
      if (checked.cpus !== undefined) columns.cpus = checked.cpus;
      if (checked.memoryMb !== undefined) columns.memoryMb = checked.memoryMb;
      if (checked.diskGb !== undefined) columns.diskGb = checked.diskGb;
      if (Object.keys(columns).length > 0) await manager.update(ManagedSystem, { id: system.id }, columns);

      const roles = manager.getRepository(SystemRole);
      if (checked.removeRoles.length > 0) await roles.delete({ systemId: system.id, role: In(checked.removeRoles) });
      const current = new Set((await roles.findBy({ systemId: system.id })).map((r) => r.role));
      const added = checked.addRoles.filter((role) => !current.has(role));
      if (current.size + added.length > MAX_ROLES) {
        throw new ProvisorError('InvalidField', `system "${name}" would have ${current.size + added.length} roles; at most ${MAX_ROLES} are allowed`, 'role');
      }
      if (added.length > 0) await roles.insert(added.map((role) => ({ systemId: system.id, role })));

      const windows = manager.getRepository(MaintenanceWindowRow);
      if (checked.clearWindows) await windows.delete({ systemId: system.id });
      if (checked.addWindows.length > 0) {
        const existing = await windows.find({ where: { systemId: system.id }, order: { position: 'ASC' } });
        if (existing.length + checked.addWindows.length > MAX_WINDOWS) {
          throw new ProvisorError('InvalidField', `system "${name}" would have ${existing.length + checked.addWindows.length} maintenance windows; at most ${MAX_WINDOWS} are allowed`, 'window');
        }
        const next = (existing[existing.length - 1]?.position ?? -1) + 1;
        await windows.insert(checked.addWindows.map((w, i) => ({ systemId: system.id, position: next + i, days: w.days.join(','), start: w.start, durationMinutes: w.durationMinutes, timeZone: w.timeZone })));
      }
    });
    return this.get(name);
  }

  /** The system's facts. @throws ProvisorError `UnknownSystem`. */
  async get(name: string): Promise<SystemFacts> {
    const system = await requireSystem(this.dataSource.manager, name);
    const [facts] = await this.factsOf([system]);
    return facts as SystemFacts;
  }

  /** Every system's facts, by name. */
  async list(): Promise<SystemFacts[]> {
    const systems = await this.dataSource.getRepository(ManagedSystem).find({ order: { name: 'ASC' } });
    return this.factsOf(systems);
  }

  /** Facts of the given rows (two queries, whatever their number). */
  private async factsOf(systems: readonly ManagedSystem[]): Promise<SystemFacts[]> {
    if (systems.length === 0) return [];
    const ids = systems.map((s) => s.id);
    const roleRows = await this.dataSource.getRepository(SystemRole).find({ where: { systemId: In(ids) }, order: { role: 'ASC' } });
    const windowRows = await this.dataSource.getRepository(MaintenanceWindowRow).find({ where: { systemId: In(ids) }, order: { systemId: 'ASC', position: 'ASC' } });
    return systems.map((system) => ({
      name: system.name,
      driver: system.driver,
      roles: roleRows.filter((r) => r.systemId === system.id).map((r) => r.role),
      cluster: system.cluster,
      capacity: system.capacity,
      hardware: { cpus: system.cpus, memoryMb: system.memoryMb, diskGb: system.diskGb },
      maintenanceWindows: windowRows.filter((w) => w.systemId === system.id).map(windowOf),
    }));
  }
}

function windowOf(row: MaintenanceWindowRow): MaintenanceWindow {
  return {
    days: row.days.split(',').map((d) => Number(d) as Weekday),
    start: row.start,
    durationMinutes: row.durationMinutes,
    timeZone: row.timeZone,
  };
}

async function requireSystem(manager: EntityManager, name: string): Promise<ManagedSystem> {
  const system = await manager.getRepository(ManagedSystem).findOneBy({ name });
  if (system === null) throw new ProvisorError('UnknownSystem', `system "${name}" is not registered`, 'system');
  return system;
}

interface CheckedChange {
  readonly addRoles: string[];
  readonly removeRoles: string[];
  readonly cluster?: string | null;
  readonly capacity?: number;
  readonly cpus?: number | null;
  readonly memoryMb?: number | null;
  readonly diskGb?: number | null;
  readonly clearWindows: boolean;
  readonly addWindows: MaintenanceWindow[];
}

/** Validates everything before anything is written. */
function checkChange(change: SystemFactsChange): CheckedChange {
  const roles = (list: readonly string[] | undefined): string[] => {
    const values = [...new Set(list ?? [])];
    if (values.length > MAX_ROLES) throw new ProvisorError('InvalidField', `at most ${MAX_ROLES} roles may be given at once`, 'role');
    for (const role of values) {
      if (!ROLE_PATTERN.test(role)) throw new ProvisorError('InvalidField', `role "${role}" must match ${ROLE_PATTERN.source} (lower-case letters, digits, '.', '_', '-')`, 'role');
    }
    return values;
  };
  if (change.cluster !== undefined && change.cluster !== null && !CLUSTER_PATTERN.test(change.cluster)) {
    throw new ProvisorError('InvalidField', `cluster "${change.cluster}" must be 1-100 letters, digits, '.', '_' or '-'`, 'cluster');
  }
  if (change.capacity !== undefined && (!Number.isInteger(change.capacity) || change.capacity < 1 || change.capacity > MAX_CAPACITY)) {
    throw new ProvisorError('InvalidField', `capacity must be a whole number from 1 to ${MAX_CAPACITY}, got ${String(change.capacity)}`, 'capacity');
  }
  for (const field of ['cpus', 'memoryMb', 'diskGb'] as const satisfies readonly (keyof HardwareFacts)[]) {
    const value = change[field];
    if (value === undefined || value === null) continue;
    if (!Number.isInteger(value) || value < 1 || value > HARDWARE_LIMITS[field]) {
      throw new ProvisorError('InvalidField', `${field} must be a whole number from 1 to ${HARDWARE_LIMITS[field]}, got ${String(value)}`, field);
    }
  }
  const windows = change.addWindows ?? [];
  if (windows.length > MAX_WINDOWS) throw new ProvisorError('InvalidField', `at most ${MAX_WINDOWS} maintenance windows may be given`, 'window');
  const addWindows = windows.map((window) => {
    try {
      return validateWindow(window);
    } catch (error) {
      if (error instanceof WindowSyntaxError) throw new ProvisorError('InvalidField', error.message, 'window');
      throw error;
    }
  });
  return {
    addRoles: roles(change.addRoles),
    removeRoles: roles(change.removeRoles),
    ...(change.cluster === undefined ? {} : { cluster: change.cluster }),
    ...(change.capacity === undefined ? {} : { capacity: change.capacity }),
    ...(change.cpus === undefined ? {} : { cpus: change.cpus }),
    ...(change.memoryMb === undefined ? {} : { memoryMb: change.memoryMb }),
    ...(change.diskGb === undefined ? {} : { diskGb: change.diskGb }),
    clearWindows: change.clearWindows === true,
    addWindows,
  };
}
