import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import 'reflect-metadata';
import type mysql from 'mysql2/promise';
import { DataSource, type DataSourceOptions } from 'typeorm';
import type { Config } from '../config';
import { ENTITIES } from '../../entities';
import { isLongText } from '../../entities/long-text';
import { MIGRATIONS } from './migrations';
import { pidAlive } from '../lease';
import { isMysqlSource } from './sql';

/**
 * mysql2, loaded the first time a MySQL or MariaDB server is used: a process
 * on SQLite (the command line's every call, most of all) never needs it, and
 * loading it costs a tenth of the command line's start.
 */
export function mysqlClient(): typeof mysql {
  return require('mysql2/promise') as typeof mysql;
}

export interface DataSourceSettings {
  /** `mariadb` makes TypeORM read MariaDB's catalogue correctly; found by `detectMysqlFlavour`. */
  readonly mysqlFlavour?: 'mysql' | 'mariadb';
  /** Tests only: build the schema from the entities instead of migrations. */
  readonly synchronize?: boolean;
  /** Override the SQLite file (`:memory:` for unit tests). */
  readonly sqliteFile?: string;
}

/**
 * TypeORM options for the configured database: an SQLite file under the data
 * directory by default, MySQL/MariaDB when DATABASE_URL says so.
 */
export function dataSourceOptions(config: Config, settings: DataSourceSettings = {}): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: false,
    synchronize: settings.synchronize ?? false,
    logging: false,
  } as const;
  if (config.databaseUrl !== undefined) {
    const target = mysqlTarget(config.databaseUrl);
    return {
      ...common,
      type: settings.mysqlFlavour ?? (config.databaseUrl.startsWith('mariadb:') ? 'mariadb' : 'mysql'),
      host: target.host,
      port: target.port,
      username: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4_unicode_ci',
      timezone: 'Z',
      // mysql2 captures a stack trace per query unless told not to: a fifth of the CPU of an insert.
      trace: false,
      poolSize: 20,
      // One statement per query: only the group committer's own pool (ProvisorDataSource.batchPool) takes several.
      extra: { connectTimeout: 10_000 },
    };
  }
  const file = settings.sqliteFile ?? path.join(config.dataDir, 'provisor.sqlite');
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: file,
    enableWAL: true,
    statementCacheSize: 200,
    timeout: 10_000,
    prepareDatabase: (db: { pragma(sql: string): unknown }) => {
      // WAL with NORMAL sync: a committed row survives a crash of the process.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
    },
  };
}

/** Where a `mysql://` (or `mariadb://`) DATABASE_URL points, read in one place for every connection made from it. */
/**
 * The configured database in words, for people: `SQLite file /srv/provisor/data/provisor.sqlite`
 * or `MySQL database provisor on db.example:3306` (never the user or password).
 */
export function describeDatabase(config: Config): string {
  if (config.databaseUrl === undefined) return `SQLite file ${path.resolve(config.dataDir, 'provisor.sqlite')}`;
  try {
    const target = mysqlTarget(config.databaseUrl);
    return `MySQL database ${target.database} on ${target.host}:${target.port}`;
  } catch {
    return 'MySQL database (DATABASE_URL is not a URL)';
  }
}

/**
 * A short digest of {@link describeDatabase}: what `/health` shows, so the command line can tell whether a server
 * answering on the configured port uses the same database without the server saying where its database is.
 */
export function databaseFingerprint(config: Config): string {
  return crypto.createHash('sha256').update(describeDatabase(config)).digest('hex').slice(0, 16);
}

function mysqlTarget(databaseUrl: string): { host: string; port: number; user: string; password: string; database: string } {
  const url = new URL(databaseUrl.replace(/^mariadb:/, 'mysql:'));
  return {
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.replace(/^\//, ''),
  };
}

/** Asks a MySQL-protocol server whether it is MariaDB (TypeORM reads their catalogues differently). */
export async function detectMysqlFlavour(databaseUrl: string): Promise<'mysql' | 'mariadb'> {
  const { host, port, user, password } = mysqlTarget(databaseUrl);
  const connection = await mysqlClient().createConnection({
    host,
    port,
    user,
    password,
    connectTimeout: 10_000,
  });
  try {
    const [rows] = await connection.query('SELECT VERSION() AS version');
    const version = String((rows as Array<{ version: unknown }>)[0]?.version ?? '');
    return /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  } finally {
    await connection.end();
  }
}

/** The database server's settings make it unusable for Provisor; the message says which and how to fix it. */
export class DatabaseSettingsError extends Error {
  override readonly name = 'DatabaseSettingsError';
}

/**
 * Refuses a MySQL/MariaDB server whose SQL mode has NO_BACKSLASH_ESCAPES:
 * the client library writes values into statements (the group committer's
 * batches) escaping quotes with a backslash, which that mode reads as a
 * literal backslash followed by the end of the string. Checked on a
 * connection of `dataSource`'s own pool; SQLite needs no check.
 */
/** Resolves once the database answers a statement (the health check's probe). */
/**
 * Asks the database server whether it answers. On MySQL/MariaDB the question
 * goes over a connection of its own: through the main pool it would wait
 * behind every query queued for a connection, and a burst of work would make
 * the server look unreachable to its health checks. Pings asked while one is
 * on its way share its answer.
 */
export async function pingDatabase(dataSource: DataSource): Promise<void> {
  if (!(dataSource instanceof ProvisorDataSource) || dataSource.pingPool === undefined) {
    await dataSource.query('SELECT 1');
    return;
  }
  const source = dataSource;
  const pool = dataSource.pingPool;
  source.pingInFlight ??= pool
    .query('SELECT 1')
    .then(() => undefined)
    .finally(() => {
      source.pingInFlight = undefined;
    });
  await source.pingInFlight;
}

export async function assertUsableSqlMode(dataSource: DataSource): Promise<void> {
  if (dataSource.options.type !== 'mysql' && dataSource.options.type !== 'mariadb') return;
  const rows = (await dataSource.query('SELECT @@SESSION.sql_mode AS mode')) as Array<{ mode: unknown }>;
  const mode = String(rows[0]?.mode ?? '');
  if (mode.split(',').includes('NO_BACKSLASH_ESCAPES')) {
    throw new DatabaseSettingsError(
      `the database server's sql_mode contains NO_BACKSLASH_ESCAPES (${mode}); Provisor's statements escape with backslashes and would store wrong values. ` +
        'Remove it from the server\'s sql_mode (e.g. SET GLOBAL sql_mode = REPLACE(@@GLOBAL.sql_mode, \'NO_BACKSLASH_ESCAPES\', \'\') and in the server\'s configuration file) and start again.',
    );
  }
}

/**
 * The service's DataSource. On MySQL/MariaDB it carries a second, small pool
 * whose connections take several statements per query: the group committer
 * sends a batch of writes as one query (one round trip) through it, every
 * value escaped. The main pool takes one statement per query, so a mistake
 * in any other statement can never run a second one.
 */
export class ProvisorDataSource extends DataSource {
  batchPool: mysql.Pool | undefined;
  /** MySQL/MariaDB: one connection for {@link pingDatabase}. */
  pingPool: mysql.Pool | undefined;
  pingInFlight: Promise<void> | undefined;

  /** On MySQL/MariaDB, the columns marked `@LongText()` are `longtext` (see entities/long-text.ts). */
  protected override async buildMetadatas(): Promise<void> {
    await super.buildMetadatas();
    if (this.options.type !== 'mysql' && this.options.type !== 'mariadb') return;
    for (const entity of this.entityMetadatas) {
      for (const column of entity.columns) {
        if (column.type === 'text' && isLongText(entity.targetName, column.propertyName)) column.type = 'longtext';
      }
    }
  }

  override async destroy(): Promise<void> {
    const pools = [this.batchPool, this.pingPool];
    this.batchPool = undefined;
    this.pingPool = undefined;
    await Promise.all(pools.map((pool) => pool?.end().catch(() => undefined)));
    await super.destroy();
  }
}

/** The batch pool of `dataSource` when it has one (MySQL/MariaDB, opened by {@link openDatabase}). */
export function batchPoolOf(dataSource: DataSource): mysql.Pool | undefined {
  return dataSource instanceof ProvisorDataSource ? dataSource.batchPool : undefined;
}

function createBatchPool(databaseUrl: string): mysql.Pool {
  const target = mysqlTarget(databaseUrl);
  return mysqlClient().createPool({
    ...target,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    connectTimeout: 10_000,
    connectionLimit: 4,
    multipleStatements: true,
  });
}

function createPingPool(databaseUrl: string): mysql.Pool {
  return mysqlClient().createPool({ ...mysqlTarget(databaseUrl), connectTimeout: 10_000, connectionLimit: 1, maxIdle: 1 });
}

/** Creates and initialises the DataSource and brings the schema up to date. */
export async function openDatabase(config: Config, settings: DataSourceSettings = {}): Promise<DataSource> {
  const flavour = settings.mysqlFlavour ?? (config.databaseUrl === undefined ? undefined : await detectMysqlFlavour(config.databaseUrl));
  const dataSource = new ProvisorDataSource(dataSourceOptions(config, { ...settings, mysqlFlavour: flavour }));
  await dataSource.initialize();
  if (config.databaseUrl !== undefined) {
    dataSource.batchPool = createBatchPool(config.databaseUrl);
    dataSource.pingPool = createPingPool(config.databaseUrl);
  }
  try {
    await assertUsableSqlMode(dataSource);
  } catch (err) {
    await dataSource.destroy();
    throw err;
  }
  if (settings.synchronize !== true) {
    try {
      await underMigrationLock(dataSource, () => dataSource.runMigrations({ transaction: 'each' }));
    } catch (err) {
      await dataSource.destroy();
      throw err;
    }
  }
  return dataSource;
}

/** How long a node waits for another node's migrations before it gives up starting. */
const MIGRATION_LOCK_WAIT_S = 300;

/**
 * Runs the migrations of one node at a time: nodes started together on a
 * fresh database would otherwise each create the same tables, and all but
 * one die on "table already exists". The lock is one that is dropped when
 * its holder dies (MySQL: a named lock held by a connection; SQLite: a lock
 * file naming a live process), so a node killed mid-migration never blocks
 * the others. The next node in finds the migrations recorded.
 */
async function underMigrationLock<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  if (isMysqlSource(dataSource)) {
    const name = `provisor:migrations:${String(dataSource.options.database)}`;
    const runner = dataSource.createQueryRunner();
    await runner.connect();
    try {
      const rows = (await runner.query('SELECT GET_LOCK(?, ?) AS taken', [name, MIGRATION_LOCK_WAIT_S])) as Array<{ taken: unknown }>;
      if (Number(rows[0]?.taken) !== 1) throw new DatabaseSettingsError(`another node has been migrating the database for ${MIGRATION_LOCK_WAIT_S} s; start this one again once it is done`);
      try {
        return await work();
      } finally {
        await runner.query('SELECT RELEASE_LOCK(?)', [name]);
      }
    } finally {
      await runner.release();
    }
  }
  const file = String(dataSource.options.database);
  if (file === ':memory:' || file === '') return work();
  const lockFile = `${file}.migrating`;
  await takeLockFile(lockFile);
  try {
    return await work();
  } finally {
    fs.rmSync(lockFile, { force: true });
  }
}

/**
 * Creates `lockFile` holding this process's id, waiting while another live
 * process holds it; a file left by a process that died is taken over.
 */
async function takeLockFile(lockFile: string): Promise<void> {
  const deadline = Date.now() + MIGRATION_LOCK_WAIT_S * 1000;
  for (;;) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let text: string;
    try {
      text = fs.readFileSync(lockFile, 'utf8').trim();
    } catch {
      continue; // removed meanwhile: try again
    }
    const holder = Number(text);
    // An empty file is one being written by its creator this very moment.
    if (text !== '' && (!Number.isInteger(holder) || holder <= 0 || !pidAlive(holder))) {
      fs.rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new DatabaseSettingsError(`process ${holder} has been migrating the database for ${MIGRATION_LOCK_WAIT_S} s (lock file ${lockFile}); start this one again once it is done`);
    // Node's timer: another process's migration holds a real lock file, before any clock is built.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
