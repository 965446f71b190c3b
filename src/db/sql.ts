import type { DataSource, EntityManager } from 'typeorm';

/** True when the DataSource talks to MySQL or MariaDB. */
export function isMysqlSource(dataSource: DataSource): boolean {
  const type = dataSource.options.type;
  return type === 'mysql' || type === 'mariadb';
}

/**
 * The `YYYY-MM-DD HH:MM:SS.` of the seconds last formatted: writes come in
 * bursts stamped with a few distinct seconds (now, the second before, and a
 * lease's end), so most dates only need their milliseconds written.
 */
const secondsFormatted: Array<{ second: number; prefix: string }> = Array.from({ length: 4 }, () => ({ second: NaN, prefix: '' }));
let nextSlot = 0;

/** A Date as both SQLite (TypeORM's stored form) and MySQL accept and compare it: UTC `YYYY-MM-DD HH:MM:SS.mmm`. */
export function toSqlDate(date: Date): string {
  const ms = date.getTime();
  const millis = ((ms % 1000) + 1000) % 1000;
  const second = ms - millis;
  for (const slot of secondsFormatted) {
    if (slot.second === second) return slot.prefix + (millis < 10 ? `00${millis}` : millis < 100 ? `0${millis}` : String(millis));
  }
  const iso = date.toISOString();
  // `YYYY-MM-DDTHH:MM:SS.mmmZ`; years outside 0–9999 have a longer form.
  if (iso.length !== 24) return iso.replace('T', ' ').replace('Z', '');
  const slot = secondsFormatted[nextSlot] as { second: number; prefix: string };
  nextSlot = (nextSlot + 1) % secondsFormatted.length;
  slot.second = second;
  slot.prefix = `${iso.slice(0, 10)} ${iso.slice(11, 20)}`;
  return slot.prefix + iso.slice(20, 23);
}

/** Reads a datetime column from a raw row (a string on SQLite, a Date on MySQL). */
export function fromSqlDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const text = String(value);
  return new Date(text.includes('T') ? text : `${text.replace(' ', 'T')}Z`);
}

/** True when a driver error is a unique-key violation. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number; driverError?: { code?: string; errno?: number } };
  const code = e.driverError?.code ?? e.code;
  const errno = e.driverError?.errno ?? e.errno;
  return code === 'ER_DUP_ENTRY' || errno === 1062 || (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT'));
}

/**
 * True when SQLite refused a transaction because another process holds the
 * database's write lock (a read transaction cannot become a write one while
 * another process writes: SQLite answers at once instead of waiting).
 */
export function isSqliteBusy(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string } };
  const code = e.driverError?.code ?? e.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** Runs a write and returns how many rows it changed (whichever driver ran it). */
export async function execute(runner: DataSource | EntityManager, sql: string, params: readonly unknown[] = []): Promise<number> {
  const queryRunner = 'createQueryRunner' in runner ? runner.createQueryRunner() : runner.queryRunner;
  if (queryRunner === undefined) throw new Error('execute() needs a DataSource or a transactional EntityManager');
  try {
    const result = await queryRunner.query(sql, params as unknown[], true);
    return (result as { affected?: number }).affected ?? 0;
  } finally {
    if ('createQueryRunner' in runner) await queryRunner.release();
  }
}

const sqliteLocks = new WeakMap<DataSource, Promise<unknown>>();

/**
 * Runs `work` alone on an SQLite database: after every transaction or
 * exclusive write queued before it. SQLite has one connection, so a
 * statement issued while another caller's transaction is open would join
 * that transaction — and be rolled back with it. On MySQL `work` runs at once.
 */
export function exclusive<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  if (isMysqlSource(dataSource)) return work();
  const previous = sqliteLocks.get(dataSource) ?? Promise.resolve();
  const run = previous.then(work, work);
  sqliteLocks.set(
    dataSource,
    run.catch(() => undefined),
  );
  return run;
}

/**
 * Runs `work` in a transaction. SQLite has one connection, so concurrent
 * transactions would interleave on it ("cannot start a transaction within a
 * transaction"): there they are queued one after another, with the exclusive
 * writes. MySQL gives each transaction a pooled connection of its own.
 */
export function transaction<T>(dataSource: DataSource, work: (manager: EntityManager) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  if (isMysqlSource(dataSource)) return retryDeadlocks(() => (options.readCommitted === true ? dataSource.transaction('READ COMMITTED', work) : dataSource.transaction(work)));
  return exclusive(dataSource, () => dataSource.transaction(work));
}

export interface TransactionOptions {
  /**
   * MySQL: run READ COMMITTED, which takes no gap locks, so a queue's claim
   * (SELECT … FOR UPDATE SKIP LOCKED over a range) neither blocks nor
   * deadlocks with concurrent inserts of new rows. Other transactions keep
   * the default (one statement less each); a deadlock restarts any of them.
   */
  readonly readCommitted?: boolean;
}

const DEADLOCK_ATTEMPTS = 5;

/** True for MySQL's "Deadlock found when trying to get lock" (the transaction was rolled back). */
export function isDeadlock(err: unknown): boolean {
  const driverError = (err as { driverError?: { errno?: number } } | undefined)?.driverError ?? (err as { errno?: number } | undefined);
  return driverError?.errno === 1213;
}

/**
 * Runs a transaction again when MySQL chose it as a deadlock victim: the
 * server rolled it back whole, and restarting it is what it asks for.
 */
export async function retryDeadlocks<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (!isDeadlock(err) || attempt >= DEADLOCK_ATTEMPTS) throw err;
      // Node's timer: a jitter against real lock contention in the database, not service time.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

/** The SQL dialect a DataSource speaks: MySQL/MariaDB or SQLite. */
export type Dialect = 'mysql' | 'sqlite';

export function dialectOf(dataSource: DataSource): Dialect {
  return isMysqlSource(dataSource) ? 'mysql' : 'sqlite';
}

/**
 * One statement's text: the same in both dialects, or one text for each.
 * A query module writes each statement once, with its dialect difference
 * (if any) right there; callers get the text of their dialect from
 * {@link forDialect} and never branch on the dialect themselves.
 */
export type DialectText = string | { readonly mysql: string; readonly sqlite: string };

/** A statement whose text depends on a count (the `?` of an `IN (…)` list) or on which optional conditions apply. */
export type DialectTemplate = (...args: never[]) => DialectText;

/** A query module: named statements and templates. */
export type QuerySet = Readonly<Record<string, DialectText | DialectTemplate>>;

/** A query module's statements in one dialect: texts stay texts, templates return texts. */
export type Resolved<Q extends QuerySet> = {
  readonly [K in keyof Q]: Q[K] extends (...args: infer A) => DialectText ? (...args: A) => string : string;
};

function pick(text: DialectText, dialect: Dialect): string {
  return typeof text === 'string' ? text : text[dialect];
}

/** The statements of a query module in `dialect` (resolved once, by the store that runs them). */
export function forDialect<Q extends QuerySet>(queries: Q, dialect: Dialect): Resolved<Q> {
  const out: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(queries)) {
    out[name] = typeof entry === 'function' ? (...args: never[]) => pick((entry as (...a: never[]) => DialectText)(...args), dialect) : pick(entry, dialect);
  }
  return Object.freeze(out) as Resolved<Q>;
}

/** `?, ?, ?`: the placeholders of an `IN (…)` list of `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}
