import type { DataSource } from 'typeorm';
import { InstalledComponent } from '../../entities';
import type { RowWrite, Write } from '../db/group-commit';
import { fromSqlDate, toSqlDate } from '../db/sql';
import type { ComponentRecord, ComponentState, Parameter, SoftwareOperation, TaskResult } from '../drivers/driver';
import { PROVISIONING_ROWS, PROVISIONING_SQL } from './sql';

/** The component's record as a driver receives it. */
export function componentRecord(row: InstalledComponent | null): ComponentRecord | undefined {
  if (row === null) return undefined;
  return { name: row.name, version: row.version, state: row.state as ComponentState, history: JSON.parse(row.history) as string[], pid: row.pid };
}

/** Names read in one statement, at most. */
const MAX_NAMES_PER_READ = 500;

/**
 * Reads components' rows for the tasks about to run. The lookups asked for
 * together (a claim launches up to a thousand tasks at once) are read
 * together, one statement per system, instead of a
 * statement each, which on MySQL queued the tasks behind a thousand round
 * trips through the connection pool. A task's row is read before its
 * driver runs, as before; tasks on one component never overlap, so the
 * row is still current when the task ends.
 */
export class ComponentReader {
  /** Lookups waiting for the next read: by system id, by name, who asked. */
  private waiting = new Map<number, Map<string, Array<Asker<InstalledComponent | null>>>>();

  constructor(private readonly dataSource: DataSource) {}

  /** The component's row, or null when the system has no such component. */
  read(systemId: number, name: string): Promise<InstalledComponent | null> {
    return new Promise((resolve, reject) => {
      // Read once the tasks launched together have asked: they ask from the same turn, a few
      // promise steps after their launch (a timer or immediate would wait behind the whole turn).
      if (this.waiting.size === 0) queueMicrotask(() => queueMicrotask(() => queueMicrotask(() => void this.flush())));
      const names = this.waiting.get(systemId) ?? new Map<string, Array<Asker<InstalledComponent | null>>>();
      this.waiting.set(systemId, names);
      const askers = names.get(name) ?? [];
      names.set(name, askers);
      askers.push({ resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    const waiting = this.waiting;
    this.waiting = new Map();
    const reads: Array<Promise<void>> = [];
    for (const [systemId, names] of waiting) {
      const all = [...names.keys()];
      for (let i = 0; i < all.length; i += MAX_NAMES_PER_READ) reads.push(this.readSome(systemId, all.slice(i, i + MAX_NAMES_PER_READ), names));
    }
    await Promise.all(reads);
  }

  private async readSome(systemId: number, chunk: readonly string[], askers: ReadonlyMap<string, ReadonlyArray<Asker<InstalledComponent | null>>>): Promise<void> {
    try {
      const rows = (await this.dataSource.query(PROVISIONING_SQL.componentsByNames(chunk.length), [systemId, ...chunk])) as Array<Record<string, unknown>>;
      const found = new Map(rows.map((row) => [String(row.name), toComponent(row)]));
      for (const name of chunk) for (const asker of askers.get(name) ?? []) asker.resolve(found.get(name) ?? null);
    } catch (err) {
      for (const name of chunk) for (const asker of askers.get(name) ?? []) asker.reject(err);
    }
  }
}

/** Who waits for a value: its promise's two ends. */
interface Asker<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (err: unknown) => void;
}

function toComponent(row: Record<string, unknown>): InstalledComponent {
  return Object.assign(new InstalledComponent(), {
    id: Number(row.id),
    systemId: Number(row.systemId),
    name: String(row.name),
    version: String(row.version),
    state: String(row.state) as ComponentState,
    history: String(row.history),
    pid: row.pid === null || row.pid === undefined ? null : Number(row.pid),
    parameters: row.parameters === null || row.parameters === undefined ? null : String(row.parameters),
    updatedAt: fromSqlDate(row.updatedAt) ?? new Date(0),
  });
}

/**
 * The writes that record a successful software task in the managed-resource
 * model: the component's version, state and rollback history, plus an event
 * row. `existing` is the component's row as it was before the task (tasks on
 * one component never overlap, so it is still current). The configuration
 * parameters are recorded too: InitialConfigure replaces them, Configure
 * merges its own into them (a later parameter of one name wins, as in the
 * driver), so a Configure can be undone by configuring the previous ones.
 */
export function softwareResultStatements(
  existing: InstalledComponent | null,
  args: { systemId: number; component: string; operation: SoftwareOperation; requestedVersion?: string; parameters?: readonly Parameter[]; result: TaskResult; requestId: string; at: Date },
): Write[] {
  const history: string[] = existing === null ? [] : (JSON.parse(existing.history) as string[]);
  let version = existing?.version ?? args.result.version ?? args.requestedVersion ?? 'unknown';
  let state: ComponentState = (existing?.state as ComponentState | undefined) ?? 'INSTALLED';
  let pid = existing?.pid ?? null;
  let parameters: string | null = existing?.parameters ?? null;
  const event = (eventVersion: string | null, eventState: string): RowWrite => ({
    row: PROVISIONING_ROWS.componentEvent,
    values: [args.systemId, args.component, args.operation, eventVersion, eventState, args.requestId, toSqlDate(args.at)],
    commutes: true,
  });
  switch (args.operation) {
    case 'Install':
      if (existing === null) {
        version = args.result.version ?? args.requestedVersion ?? version;
        state = 'INSTALLED';
      }
      break;
    case 'Update': {
      const next = args.result.version ?? args.requestedVersion ?? version;
      if (existing !== null && next !== existing.version) history.unshift(existing.version);
      version = next;
      if (state === 'RUNNING' && args.result.pid === undefined) state = 'STOPPED';
      break;
    }
    case 'Rollback': {
      const previous = args.result.version ?? history[0] ?? version;
      const index = history.indexOf(previous);
      if (index >= 0) history.splice(index, 1);
      version = previous;
      if (state === 'RUNNING' && args.result.pid === undefined) state = 'STOPPED';
      break;
    }
    case 'InitialConfigure':
    case 'Configure': {
      if (state !== 'RUNNING') state = 'CONFIGURED';
      const values: Record<string, string> = args.operation === 'Configure' ? parseParameters(parameters) : {};
      for (const parameter of args.parameters ?? []) values[parameter.name] = parameter.value;
      parameters = JSON.stringify(values);
      break;
    }
    case 'Start':
      state = 'RUNNING';
      break;
    case 'Stop':
      state = 'STOPPED';
      pid = null;
      break;
    case 'Uninstall':
      return [{ sql: PROVISIONING_SQL.deleteComponent, params: [args.systemId, args.component], table: 'installed_component' }, event(null, 'UNINSTALLED')];
  }
  if (args.result.pid !== undefined) pid = args.result.pid;
  // One component's row is written by one task at a time: it commutes with every other write.
  return [{ row: PROVISIONING_ROWS.component, values: [args.systemId, args.component, version, state, JSON.stringify(history.slice(0, 20)), pid, parameters, toSqlDate(args.at)], commutes: true }, event(version, state)];
}

/** A recorded `parameters` column as an object of strings ({} when null or unreadable). */
export function parseParameters(text: string | null): Record<string, string> {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'));
  } catch {
    return {};
  }
}
