import path from 'node:path';
import type { DataSource, Repository } from 'typeorm';
import { ManagedSystem, PackageRepository } from '../../entities';
import type { Clock } from '../clock';
import { DriverError, type Driver, type HostFacts, type SystemDescriptor } from '../drivers/driver';
import { isUniqueViolation } from '../db/sql';

export class SystemError extends Error {
  override readonly name = 'SystemError';
}

const SYSTEM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Keys kept by a {@link CachedReads} at most (past that it forgets them all). */
const CACHED_KEYS = 10_000;

/**
 * Values read from the database and kept for `ttlMs`, by key: callers that
 * ask while a read of their key is under way share it, and a read begun
 * before a change ({@link forget}) does not fill the cache.
 */
class CachedReads<K, V> {
  private readonly cache = new Map<K, { value: V; until: number }>();
  private readonly loading = new Map<K, Promise<V>>();
  /** Bumped by every change: a read that began before one does not fill the cache. */
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  read(key: K, load: () => Promise<V>): Promise<V> {
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.until > now) return Promise.resolve(cached.value);
    const pending = this.loading.get(key);
    if (pending !== undefined) return pending;
    const generation = this.generation;
    const read = load()
      .then((value) => {
        if (generation === this.generation) {
          if (this.cache.size > CACHED_KEYS) this.cache.clear();
          this.cache.set(key, { value, until: now + this.ttlMs });
        }
        return value;
      })
      .finally(() => {
        if (this.loading.get(key) === read) this.loading.delete(key);
      });
    this.loading.set(key, read);
    return read;
  }

  /** The key's value changed: what was read, or is being read, is not used again. */
  forget(key: K): void {
    this.generation++;
    this.cache.delete(key);
    this.loading.delete(key);
  }
}

/**
 * Managed systems and package repositories: registration (CLI) and cached
 * lookups (the request path reads them on every call).
 */
export class SystemRegistry {
  private readonly systems: Repository<ManagedSystem>;
  private readonly repositories: Repository<PackageRepository>;
  /** Systems by name, and the repositories' locations (one value), as last read. */
  private readonly systemReads: CachedReads<string, (SystemDescriptor & { readonly id: number }) | null>;
  private readonly repositoryReads: CachedReads<'locations', string[]>;

  constructor(
    dataSource: DataSource,
    private readonly drivers: ReadonlyMap<string, Driver>,
    private readonly systemsDir: string,
    private readonly clock: Clock,
    private readonly cacheMs = 1000,
  ) {
    this.systems = dataSource.getRepository(ManagedSystem);
    this.repositories = dataSource.getRepository(PackageRepository);
    this.systemReads = new CachedReads(clock, cacheMs);
    this.repositoryReads = new CachedReads(clock, cacheMs);
  }

  /** Registers a system; a `local` system's root defaults to `<systemsDir>/<name>` and is created. */
  async add(name: string, driverName: string, options: Record<string, string> = {}): Promise<SystemDescriptor> {
    if (!SYSTEM_NAME.test(name)) throw new SystemError(`system name "${name}" must be 1-200 letters, digits, '.', '_' or '-'`);
    const driver = this.drivers.get(driverName);
    if (driver === undefined) throw new SystemError(`driver "${driverName}" is not one of ${[...this.drivers.keys()].join(', ')}`);
    const finalOptions = driver.completeOptions === undefined ? { ...options } : await driver.completeOptions(name, options).catch(refused);
    if (driverName === 'local') finalOptions.root = path.resolve(this.systemsDir, finalOptions.root ?? name);
    const descriptor: SystemDescriptor = { name, driver: driverName, options: finalOptions };
    await driver.prepareSystem(descriptor).catch(refused);
    // Facts the driver can read are recorded at once; the rest stays unknown until an operator declares it.
    const facts = await readFacts(driver, descriptor).catch(() => undefined);
    try {
      await this.systems.insert({
        name,
        driver: driverName,
        options: JSON.stringify(finalOptions),
        createdAt: this.clock.date(),
        ...(facts === undefined ? {} : factColumns(facts, this.clock.date())),
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new SystemError(`system "${name}" is already registered`);
      throw err;
    }
    this.systemReads.forget(name);
    return descriptor;
  }

  /**
   * Pins the host key the system's host offers now (or the fingerprint
   * given, which it must offer), after an administrator checked it; tasks
   * refused for a changed key run again.
   */
  async acceptHostKey(name: string, fingerprint?: string): Promise<SystemDescriptor> {
    const row = await this.systems.findOneBy({ name });
    if (row === null) throw new SystemError(`system "${name}" is not registered`);
    const driver = this.drivers.get(row.driver);
    if (driver?.acceptHostKey === undefined) throw new SystemError(`system "${name}" uses driver "${row.driver}", which has no host key`);
    const options = await driver.acceptHostKey(toDescriptor(row), fingerprint).catch(refused);
    await this.systems.update({ id: row.id }, { options: JSON.stringify(options) });
    this.systemReads.forget(name);
    return { ...toDescriptor(row), options };
  }

  /**
   * Changes a registered system's driver options (the `ssh` driver's host,
   * port, user, key, root, passphrase, password). On the same host the new
   * options are tried first (a connection with the pinned key, the root
   * prepared), so a wrong key or user is refused before anything is stored;
   * a new host or port is stored untried, and its tasks are refused until
   * its host key is accepted (`acceptHostKey`).
   * @returns the stored system, and whether its host key must be accepted.
   */
  async changeOptions(name: string, change: Readonly<Record<string, string>>): Promise<{ system: SystemDescriptor; hostKeyToAccept: boolean }> {
    const row = await this.systems.findOneBy({ name });
    if (row === null) throw new SystemError(`system "${name}" is not registered`);
    const driver = this.drivers.get(row.driver);
    if (driver?.changeOptions === undefined) throw new SystemError(`system "${name}" uses driver "${row.driver}", whose options cannot be changed`);
    const before = toDescriptor(row);
    const options = await driver.changeOptions(before, change).catch(refused);
    const system: SystemDescriptor = { ...before, options };
    const hostKeyToAccept = options.hostKeyFor !== undefined;
    if (!hostKeyToAccept) await driver.prepareSystem(system).catch(refused);
    await this.systems.update({ id: row.id }, { options: JSON.stringify(options) });
    this.systemReads.forget(name);
    return { system, hostKeyToAccept };
  }

  /**
   * Reads the system's host facts now through its driver and stores them:
   * its hardware (the change manager's planner uses it), free disk, OS and
   * kernel, and when they were read.
   */
  async refreshFacts(name: string): Promise<HostFacts> {
    const row = await this.systems.findOneBy({ name });
    if (row === null) throw new SystemError(`system "${name}" is not registered`);
    const driver = this.drivers.get(row.driver);
    if (driver === undefined) throw new SystemError(`driver "${row.driver}" of system "${name}" is not in this server`);
    const facts = await readFacts(driver, toDescriptor(row)).catch(refused);
    if (facts === undefined) return { hardware: { cpus: null, memoryMb: null, diskGb: null }, freeDiskMb: null, os: null, kernel: null };
    await this.systems.update({ id: row.id }, factColumns(facts, this.clock.date()));
    return facts;
  }

  async list(): Promise<SystemDescriptor[]> {
    const rows = await this.systems.find({ order: { name: 'ASC' } });
    return rows.map(toDescriptor);
  }

  /** The system, or null when none is registered under that name. */
  async get(name: string): Promise<(SystemDescriptor & { readonly id: number }) | null> {
    return this.systemReads.read(name, async () => {
      const row = await this.systems.findOneBy({ name });
      return row === null ? null : { ...toDescriptor(row), id: row.id };
    });
  }

  async addRepository(location: string, priority = 100): Promise<void> {
    const isUrl = /^https?:\/\//.test(location);
    const normalised = isUrl ? location : path.resolve(location);
    const existing = await this.repositories.findOneBy({ location: normalised });
    if (existing !== null) throw new SystemError(`repository ${normalised} is already registered`);
    await this.repositories.insert({ location: normalised, priority, createdAt: this.clock.date() });
    this.repositoryReads.forget('locations');
  }

  /**
   * The package repositories' locations, in priority order. Read at most
   * once per cache period: callers that ask while a read is under way (a
   * thousand tasks starting together) share it.
   */
  async repositoryLocations(): Promise<string[]> {
    return this.repositoryReads.read('locations', async () => (await this.repositories.find({ order: { priority: 'ASC', id: 'ASC' } })).map((r) => r.location));
  }
}

/** A driver's refusal of an operator's input becomes the registry's error, with the driver's message. */
function refused(error: unknown): never {
  if (error instanceof DriverError) throw new SystemError(error.message);
  throw error;
}

/** The host facts the driver can read: all of them, or its hardware; undefined for a driver that reads none. */
async function readFacts(driver: Driver, system: SystemDescriptor): Promise<HostFacts | undefined> {
  if (driver.facts !== undefined) return driver.facts(system);
  if (driver.gatherHardware === undefined) return undefined;
  return { hardware: await driver.gatherHardware(system), freeDiskMb: null, os: null, kernel: null };
}

/** The columns facts read now set: what was read replaces what was there (an operator's declared hardware stays where nothing was read). */
function factColumns(facts: HostFacts, at: Date): Partial<Pick<ManagedSystem, 'cpus' | 'memoryMb' | 'diskGb' | 'freeDiskMb' | 'os' | 'kernel' | 'factsReadAt'>> {
  const columns: Partial<Pick<ManagedSystem, 'cpus' | 'memoryMb' | 'diskGb' | 'freeDiskMb' | 'os' | 'kernel' | 'factsReadAt'>> = {
    freeDiskMb: facts.freeDiskMb,
    os: clip(facts.os),
    kernel: clip(facts.kernel),
    factsReadAt: at,
  };
  const { cpus, memoryMb, diskGb } = facts.hardware;
  if (cpus !== null) columns.cpus = cpus;
  if (memoryMb !== null) columns.memoryMb = memoryMb;
  if (diskGb !== null) columns.diskGb = diskGb;
  return columns;
}

/** Text facts fit their 200-character columns. */
function clip(value: string | null): string | null {
  return value === null ? null : value.slice(0, 200);
}

function toDescriptor(row: ManagedSystem): SystemDescriptor {
  return { name: row.name, driver: row.driver, options: JSON.parse(row.options) as Record<string, string> };
}
