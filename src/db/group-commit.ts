/**
 * Group commit: the writes that many callers hand in while a commit is under
 * way go together into the next transaction, so a thousand process instances
 * each making one durable transition cost a handful of commits (a disk flush
 * each on MySQL) rather than a thousand. Each caller's statements stay
 * atomic — they are all in one transaction — and its promise resolves only
 * once that transaction has committed, so a caller never goes on from a
 * write that a crash could still lose.
 *
 * One transaction is in flight at a time, so writes commit in the order they
 * were handed in. When a shared transaction fails (a deadlock, one caller's
 * bad statement), each caller's statements are retried in a transaction of
 * their own, so only the caller at fault sees the error.
 */
import { QueryFailedError, type DataSource } from 'typeorm';
import type mysql from 'mysql2/promise';
import type { format as formatSql } from 'mysql2';
import { batchPoolOf } from './data-source';
import { dialectOf, isMysqlSource, retryDeadlocks, transaction, type Dialect } from './sql';

/** mysql2's statement formatter, loaded on the first MySQL batch (a SQLite process never needs mysql2). */
function mysqlFormat(): typeof formatSql {
  return (require('mysql2') as { format: typeof formatSql }).format;
}

/**
 * The rows of one table as the committer inserts them: the table, its
 * columns in the order of a write's values and, for an upsert, the unique
 * key and the columns a duplicate row takes from the new one. A query
 * module declares each shape once ({@link rowShape}); the committer writes
 * the SQL of both dialects from it, and merges single-row writes of one
 * shape into one multi-row statement without reading any SQL.
 */
export interface RowShape {
  readonly table: string;
  readonly columns: readonly string[];
  readonly onConflict?: { readonly key: readonly string[]; readonly update: readonly string[] };
  /** The single-row statement in each dialect. */
  readonly text: { readonly mysql: string; readonly sqlite: string };
  /** The text before the row's tuple (`INSERT INTO t (a, b) VALUES `), the tuple (`(?, ?)`), and what follows it in each dialect (the upsert clause): a multi-row statement repeats the tuple. */
  readonly head: string;
  readonly tuple: string;
  readonly tail: { readonly mysql: string; readonly sqlite: string };
}

/** Identifiers are quoted with backquotes, which MySQL and SQLite both read (`key` is reserved in MySQL). */
function quote(name: string): string {
  return `\`${name}\``;
}

/**
 * A row shape: an insert into `table` of `columns`, or with `onConflict`
 * an upsert (insert, or set the `update` columns of the row with the same
 * unique `key`).
 */
export function rowShape(table: string, columns: readonly string[], onConflict?: { readonly key: readonly string[]; readonly update: readonly string[] }): RowShape {
  const head = `INSERT INTO ${table} (${columns.map(quote).join(', ')}) VALUES `;
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  const tail =
    onConflict === undefined
      ? { mysql: '', sqlite: '' }
      : {
          mysql: ` ON DUPLICATE KEY UPDATE ${onConflict.update.map((c) => `${quote(c)} = VALUES(${quote(c)})`).join(', ')}`,
          sqlite: ` ON CONFLICT (${onConflict.key.map(quote).join(', ')}) DO UPDATE SET ${onConflict.update.map((c) => `${quote(c)} = excluded.${quote(c)}`).join(', ')}`,
        };
  return Object.freeze({ table, columns, onConflict, head, tuple, tail, text: { mysql: head + tuple + tail.mysql, sqlite: head + tuple + tail.sqlite } });
}

/**
 * One row of a {@link RowShape}, its values in the shape's column order.
 * - `commutes`: the row may be written before any statement of the batch on
 *   another table (its caller depends on no order across tables), so it can
 *   join an earlier row of its shape; see {@link compact}.
 * - `alone`: the caller needs this insert's own result (its generated id),
 *   so it is never merged.
 */
export interface RowWrite {
  readonly row: RowShape;
  readonly values: readonly unknown[];
  readonly commutes?: boolean;
  readonly alone?: boolean;
}

/**
 * Any other write, as SQL of the caller's dialect, never merged.
 * - `table`: the one table it writes; rows of that table never move past it.
 * - `expectChanged`: the caller's write holds only if this statement changes
 *   exactly that many rows (a conditional update: "still mine", "still in
 *   that state"); otherwise none of the caller's writes commit and its
 *   write fails with a {@link WriteConflict}.
 * - `guard`: the statement is one row's guard of a {@link GuardShape}
 *   (`expectChanged` 1), which on MySQL/MariaDB may run as one statement
 *   with other callers' guards of that shape; see {@link compact}.
 * - `onlyRow`: the statement changes at most the row of `table` with this
 *   key (its primary key, the column a guard shape of the table names), so
 *   guards of other rows may move past it.
 */
export interface SqlWrite {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly table: string;
  readonly expectChanged?: number;
  readonly guard?: GuardOf;
  readonly onlyRow?: unknown;
}

/**
 * A guard many callers carry, each for one row of `table` (by its `key`
 * column): a conditional update whose outcome depends only on that row and
 * on the tables in `reads`, such as the instance fence ("still running,
 * still mine, my lease holds"). Guards of one shape in a batch run as one
 * statement over all their keys, expected to change as many rows as there
 * are keys; see {@link compact}.
 */
export interface GuardShape {
  readonly table: string;
  readonly key: string;
  readonly reads: readonly string[];
  /** The statement guarding `keys` (distinct) with the shared values `shared`. */
  statement(shared: readonly unknown[], keys: readonly unknown[]): { readonly sql: string; readonly params: readonly unknown[] };
  /** The shared values of two guards run as one, or undefined when they cannot be (another owner). */
  combine(a: readonly unknown[], b: readonly unknown[]): readonly unknown[] | undefined;
}

/** One caller's guard of a {@link GuardShape}: the row's key and the values every guard of the statement shares. */
export interface GuardOf {
  readonly shape: GuardShape;
  readonly key: unknown;
  readonly shared: readonly unknown[];
}

/** What callers hand the committer: rows it may merge, and statements it runs as they are. */
export type Write = RowWrite | SqlWrite;

function isRow(write: Write): write is RowWrite {
  return 'row' in write;
}

/** A write's statement in `dialect` (a row on its own). */
export function statementOf(write: Write, dialect: Dialect): { sql: string; params: readonly unknown[] } {
  return isRow(write) ? { sql: write.row.text[dialect], params: write.values } : { sql: write.sql, params: write.params };
}

/** What one statement did: rows changed (NaN when it ran merged with others) and, for an insert, the id it generated. */
export interface StatementResult {
  readonly changed: number;
  readonly insertId: number;
}

const MERGED: StatementResult = { changed: NaN, insertId: NaN };

/** A write whose `expectChanged` statement changed another number of rows; nothing of it was committed. */
export class WriteConflict extends Error {
  override readonly name = 'WriteConflict';
  constructor(
    readonly sql: string,
    readonly changed: number,
    readonly expected: number,
  ) {
    super(`expected ${expected} row(s) changed, not ${changed}, by: ${sql}`);
  }
}

/** A statement running the guards of several callers changed fewer rows than it guards: one of them did not hold (rolled back). */
class MergedGuardFailed extends Error {
  constructor() {
    super('a guard run with others did not hold');
  }
}

/** Some callers' expectations failed in a shared transaction (rolled back): by caller index. */
class BatchConflict extends Error {
  constructor(readonly conflicts: ReadonlyMap<number, WriteConflict>) {
    super('write conflicts');
  }
}

interface Pending {
  readonly statements: readonly Write[];
  readonly resolve: (results: StatementResult[]) => void;
  readonly reject: (err: unknown) => void;
}

/** Statements in one shared transaction, at most. */
const MAX_STATEMENTS = 2000;

export class GroupCommitter {
  private queue: Pending[] = [];
  private busy = false;
  /** Shared transactions committed, and the callers they carried (for tests and metrics). */
  commits = 0;
  writes = 0;
  /** Batches run again with each guard in its place, after guards run as one found a row that did not hold. */
  guardRetries = 0;

  /** MySQL/MariaDB: the pool that takes a whole batch as one query; without one (a DataSource not opened by openDatabase) batches run statement by statement. */
  private readonly batchPool: mysql.Pool | undefined;
  private readonly dialect: Dialect;

  /** SQLite through better-sqlite3: its connection, which runs a statement at once (see {@link runOnSqlite}). */
  private readonly sqlite: SqliteConnection | undefined;

  constructor(private readonly dataSource: DataSource) {
    this.batchPool = isMysqlSource(dataSource) ? batchPoolOf(dataSource) : undefined;
    this.dialect = dialectOf(dataSource);
    this.sqlite = sqliteConnectionOf(dataSource);
  }

  /**
   * Commits `writes` atomically, together with whatever other callers
   * hand in meanwhile. Resolves with what each write did, in order.
   */
  write(writes: readonly Write[]): Promise<StatementResult[]> {
    if (writes.length === 0) return Promise.resolve([]);
    return new Promise<StatementResult[]>((resolve, reject) => {
      this.queue.push({ statements: writes, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        // Let the callers that are ready in this turn of the event loop join.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch: Pending[] = [];
      let count = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0] as Pending;
        if (batch.length > 0 && count + next.statements.length > MAX_STATEMENTS) break;
        batch.push(next);
        count += next.statements.length;
        this.queue.shift();
      }
      await this.commit(batch);
      // Let the event loop turn before the next batch. SQLite's driver answers without I/O, so
      // callers that go on from their commit and write again would otherwise keep this loop
      // going in microtasks, and nothing else (timers, sockets) would run; and those that
      // write in the next turn join the batch.
      if (this.queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.busy = false;
  }

  private async commit(batch: readonly Pending[]): Promise<void> {
    let failure: unknown;
    try {
      const changed = await this.run(batch);
      this.commits++;
      this.writes += batch.length;
      batch.forEach((p, i) => p.resolve(changed[i] ?? []));
      return;
    } catch (err) {
      failure = err;
    }
    if (failure instanceof BatchConflict) {
      // Those whose expectation failed fail; the others go again without them.
      for (const [i, conflict] of failure.conflicts) batch[i]?.reject(conflict);
      const rest = batch.filter((_, i) => !failure.conflicts.has(i));
      if (rest.length > 0) await this.commit(rest);
      return;
    }
    if (batch.length === 1) {
      batch[0]?.reject(failure);
      return;
    }
    for (const p of batch) await this.commit([p]);
  }

  /** Runs the batch in one transaction; the rows changed, per caller and statement. */
  private async run(batch: readonly Pending[]): Promise<StatementResult[][]> {
    const pool = this.batchPool;
    if (pool !== undefined) {
      try {
        return await retryDeadlocks(() => this.runAtOnce(pool, batch, true));
      } catch (err) {
        if (!(err instanceof MergedGuardFailed)) throw err;
        this.guardRetries++;
        return retryDeadlocks(() => this.runAtOnce(pool, batch, false));
      }
    }
    const connection = this.sqlite;
    if (connection !== undefined) return transaction(this.dataSource, () => Promise.resolve(runOnSqlite(connection, batch)));
    // SQLite: the statements in the order compact() gives, but a group of rows of one shape runs
    // as its single-row statement once per row. SQLite has no round trip to save, and a merged
    // statement's text changes with its row count, so each would be compiled afresh (about twice
    // the cost per row of running one cached single-row statement again).
    return transaction(this.dataSource, async (manager) => {
      const { statements, origin } = compact(batch.map((p) => p.statements), 'sqlite');
      const changed: StatementResult[][] = batch.map((p) => p.statements.map(() => MERGED));
      for (const [i, [sql, params]] of statements.entries()) {
        const from = origin[i] ?? [];
        if (from.length > 1) {
          for (const [caller, index] of from) {
            const write = batch[caller]?.statements[index];
            if (write === undefined) continue;
            const one = statementOf(write, 'sqlite');
            await manager.queryRunner?.query(one.sql, one.params as unknown[], true);
          }
          continue;
        }
        const result = (await manager.queryRunner?.query(sql, params as unknown[], true)) as { affected?: number; raw?: unknown } | undefined;
        if (from.length !== 1) continue;
        const [caller, index] = from[0] as [number, number];
        const n = result?.affected ?? 0;
        (changed[caller] as StatementResult[])[index] = { changed: n, insertId: Number(result?.raw ?? NaN) };
        const write = batch[caller]?.statements[index];
        const expected = write === undefined ? undefined : expectationOf(write);
        // Stop at the first: the transaction rolls back and the rest go again.
        if (expected !== undefined && n !== expected) throw new BatchConflict(new Map([[caller, new WriteConflict(sql, n, expected)]]));
      }
      return changed;
    });
  }

  /**
   * MySQL: the whole transaction as one multi-statement query, one round
   * trip. The server stops at a failing statement and leaves the transaction
   * open, so a failure is followed by a ROLLBACK on the same connection.
   *
   * A statement with an expectation (a guard) is followed by two of the
   * committer's own: one keeps its count in a session variable, the next
   * fails ("subquery returns more than 1 row") when the count is not the
   * one expected, which stops the server there. So a guard that fails runs
   * none of the statements after it (its caller's bill, its history, nor
   * anyone else's), and the COMMIT at the end is only reached when every
   * guard held; the variables then say which guard failed.
   */
  private async runAtOnce(pool: mysql.Pool, batch: readonly Pending[], mergeGuards: boolean): Promise<StatementResult[][]> {
    const { statements, origin, expected: mergedExpected } = compact(
      batch.map((p) => p.statements),
      'mysql',
      { mergeGuards },
    );
    const texts: string[] = ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'START TRANSACTION'];
    /** Where each output statement's result is in the server's list of results. */
    const resultAt: number[] = [];
    const guards: Array<{ caller: number; write: Write | undefined; expected: number }> = [];
    statements.forEach(([sql, params], i) => {
      resultAt.push(texts.length);
      texts.push(mysqlFormat()(sql, params.map(literal) as Parameters<typeof formatSql>[1]));
      const from = origin[i] ?? [];
      const [caller, index] = (from.length === 1 ? from[0] : undefined) ?? [-1, -1];
      // A statement of several callers' guards has no single write (and its expectation is the count of its rows).
      const write = batch[caller]?.statements[index];
      const expected = mergedExpected[i] ?? (write === undefined ? undefined : expectationOf(write));
      if (expected === undefined) return;
      const variable = `@provisor_guard_${guards.length}`;
      guards.push({ caller, write, expected });
      texts.push(`SET ${variable} = ROW_COUNT()`, `SELECT (SELECT 1 FROM DUAL WHERE ${variable} <> ${expected} UNION ALL SELECT 2 FROM DUAL WHERE ${variable} <> ${expected}) AS guard_failed`);
    });
    texts.push('COMMIT');
    const runner = await pool.getConnection();
    const changed: StatementResult[][] = batch.map((p) => p.statements.map(() => MERGED));
    try {
      let results: unknown;
      try {
        [results] = (await runner.query(texts.join(';\n'))) as [unknown, unknown];
      } catch (err) {
        if (guards.length === 0 || (err as { errno?: number }).errno !== SUBQUERY_MORE_THAN_ONE_ROW) throw err;
        throw await this.failedGuard(runner, guards);
      }
      const list = Array.isArray(results) ? results : [];
      origin.forEach((from, i) => {
        // Guards run as one held, each where it stood: one row each.
        if (mergedExpected[i] !== undefined) for (const [caller, index] of from) (changed[caller] as StatementResult[])[index] = { changed: 1, insertId: NaN };
        if (from.length !== 1) return;
        const [caller, index] = from[0] as [number, number];
        const result = list[resultAt[i] ?? -1] as { affectedRows?: number; insertId?: number } | undefined;
        (changed[caller] as StatementResult[])[index] = { changed: Number(result?.affectedRows ?? NaN), insertId: Number(result?.insertId ?? NaN) };
      });
    } catch (err) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      runner.release();
    }
    return changed;
  }

  /** After a guard stopped a batch: which one, from the counts the batch kept (the first that is not the one expected). */
  private async failedGuard(runner: mysql.PoolConnection, guards: ReadonlyArray<{ caller: number; write: Write | undefined; expected: number }>): Promise<Error> {
    const [rows] = (await runner.query(`SELECT ${guards.map((_, k) => `@provisor_guard_${k} AS g${k}`).join(', ')}`)) as [Array<Record<string, unknown>>, unknown];
    const counts = rows[0] ?? {};
    for (const [k, guard] of guards.entries()) {
      const n = Number(counts[`g${k}`]);
      if (n === guard.expected) continue;
      // Some guard run with others failed, which one the count does not say: the batch goes again with each guard in its place.
      if (guard.write === undefined) return new MergedGuardFailed();
      return new BatchConflict(new Map([[guard.caller, new WriteConflict(statementOf(guard.write, 'mysql').sql, n, guard.expected)]]));
    }
    // Not one of ours after all: each caller goes again alone.
    return new Error('a batch stopped on "subquery returns more than 1 row" with every guard holding');
  }
}

/** A better-sqlite3 prepared statement, as the committer uses it. */
interface SqliteStatement {
  readonly reader: boolean;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  all(...params: unknown[]): unknown[];
}

/** A better-sqlite3 connection, with the committer's cache of its prepared statements. */
interface SqliteConnection {
  readonly database: { prepare(sql: string): SqliteStatement };
  readonly statements: Map<string, SqliteStatement>;
}

/** Prepared statements kept per connection (the texts of row shapes and of the statements written with them: a few dozen). */
const SQLITE_STATEMENT_CACHE = 200;

/** The connection of a DataSource on better-sqlite3 (one connection, which every query runner shares); undefined on any other driver. */
function sqliteConnectionOf(dataSource: DataSource): SqliteConnection | undefined {
  if (dataSource.options.type !== 'better-sqlite3') return undefined;
  const database = (dataSource.driver as unknown as { databaseConnection?: { prepare?: unknown } }).databaseConnection;
  if (database === undefined || typeof database.prepare !== 'function') return undefined;
  return { database: database as SqliteConnection['database'], statements: new Map() };
}

/**
 * SQLite: a batch's statements, each caller's in the order handed in, run
 * on the driver's connection inside the committer's transaction. The driver
 * answers without I/O, so they run synchronously, one prepared statement
 * each, without the promise, logging and events a query runner wraps every
 * statement in. Nothing else runs on the connection meanwhile. A failing
 * statement fails as through a query runner (a QueryFailedError holding
 * the driver's error), which rolls the transaction back.
 */
function runOnSqlite(connection: SqliteConnection, batch: readonly Pending[]): StatementResult[][] {
  return batch.map((pending, caller) =>
    pending.statements.map((write) => {
      const sql = isRow(write) ? write.row.text.sqlite : write.sql;
      const params = isRow(write) ? write.values : write.params;
      // better-sqlite3 binds no booleans (a query runner turns them into 0 and 1 as well).
      const values = params.some((p) => typeof p === 'boolean') ? params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p)) : params;
      let result: StatementResult;
      try {
        const statement = sqliteStatement(connection, sql);
        // An array binds its values in order, as many arguments would.
        if (statement.reader) {
          statement.all(values);
          result = { changed: 0, insertId: NaN };
        } else {
          const ran = statement.run(values);
          result = { changed: ran.changes, insertId: Number(ran.lastInsertRowid) };
        }
      } catch (err) {
        throw new QueryFailedError(sql, [...values], err as Error);
      }
      const expected = expectationOf(write);
      // Stop at the first: the transaction rolls back and the rest go again.
      if (expected !== undefined && result.changed !== expected) throw new BatchConflict(new Map([[caller, new WriteConflict(sql, result.changed, expected)]]));
      return result;
    }),
  );
}

function sqliteStatement(connection: SqliteConnection, sql: string): SqliteStatement {
  let statement = connection.statements.get(sql);
  if (statement === undefined) {
    statement = connection.database.prepare(sql);
    if (connection.statements.size >= SQLITE_STATEMENT_CACHE) connection.statements.clear();
    connection.statements.set(sql, statement);
  }
  return statement;
}

/** MySQL's "Subquery returns more than 1 row": how a guard's check stops a batch. */
const SUBQUERY_MORE_THAN_ONE_ROW = 1242;

function expectationOf(write: Write): number | undefined {
  return isRow(write) ? undefined : write.expectChanged;
}

/**
 * The writes of a batch (callers in order) as statements of `dialect`,
 * fewer: rows of one shape become one multi-row statement, which the
 * database runs with one statement's overhead.
 *
 * - Adjacent rows of one shape always merge: nothing moves past anything.
 * - A row marked `commutes` also joins an earlier row of its shape when no
 *   other write has touched its table in between: it moves only past
 *   writes on other tables, which its caller allows.
 * - With `mergeGuards`, a guard ({@link SqlWrite.guard}) joins the earlier
 *   guard of its shape when nothing in between can change its outcome: no
 *   write to a table it reads, no statement on its table other than guards
 *   of its shape or statements on other rows (`onlyRow`), and no row of its
 *   table with its key. It then runs where
 *   that first guard ran, with the others, before writes it followed; those
 *   are on other tables, or rows of its table with other keys, so it finds
 *   what it would have found in its place. The statement is expected to
 *   change one row per distinct key (`expected[i]`): when it does, every
 *   guard in it held where it stood.
 *
 * `origin[i]` lists the [caller, write] pairs that output statement `i`
 * carries.
 */
export function compact(
  callers: ReadonlyArray<readonly Write[]>,
  dialect: Dialect = 'mysql',
  options: { readonly mergeGuards?: boolean } = {},
): { statements: Array<readonly [string, readonly unknown[]]>; origin: Array<Array<[number, number]>>; expected: Array<number | undefined> } {
  interface Group {
    readonly shape: RowShape;
    readonly params: unknown[];
    readonly origin: Array<[number, number]>;
  }
  interface Guards {
    readonly guard: GuardShape;
    shared: readonly unknown[];
    readonly keys: Set<unknown>;
    /** Keys of rows of the guard's table written since the group's place: a guard of one of them may not move before them. */
    readonly rowsSince: Set<unknown>;
    readonly origin: Array<[number, number]>;
  }
  const out: Array<Group | Guards | readonly [string, readonly unknown[]]> = [];
  const origins: Array<Array<[number, number]>> = [];
  /** The group a commuting row of this shape may join. */
  const open = new Map<RowShape, Group>();
  /** The shapes with an open group, by table. */
  const openByTable = new Map<string, Set<RowShape>>();
  /** The guard group a guard of this shape may join. */
  const openGuards = new Map<GuardShape, Guards>();
  let last: Group | undefined;
  const close = (table: string, except?: RowShape): void => {
    for (const shape of openByTable.get(table) ?? []) if (shape !== except) open.delete(shape);
    openByTable.set(table, except === undefined || !open.has(except) ? new Set() : new Set([except]));
  };
  /** What a write other than a joining guard does to the open guard groups. */
  const passGuards = (write: Write): void => {
    if (openGuards.size === 0) return;
    const table = isRow(write) ? write.row.table : write.table;
    for (const [shape, group] of openGuards) {
      if (shape.reads.includes(table)) openGuards.delete(shape);
      else if (table !== shape.table) continue;
      else if (!isRow(write)) {
        if (write.onlyRow === undefined) openGuards.delete(shape);
        else group.rowsSince.add(write.onlyRow);
      } else {
        const at = write.row.columns.indexOf(shape.key);
        if (at === -1) openGuards.delete(shape);
        else group.rowsSince.add(write.values[at]);
      }
    }
  };
  callers.forEach((writes, caller) => {
    writes.forEach((write, index) => {
      if (isRow(write) && write.alone !== true) {
        passGuards(write);
        const shape = write.row;
        const group = last !== undefined && last.shape === shape ? last : write.commutes === true ? open.get(shape) : undefined;
        if (group !== undefined) {
          group.params.push(...write.values);
          group.origin.push([caller, index]);
          last = group;
          close(shape.table, shape);
          return;
        }
        const fresh: Group = { shape, params: [...write.values], origin: [[caller, index]] };
        out.push(fresh);
        origins.push(fresh.origin);
        close(shape.table);
        if (write.commutes === true) {
          open.set(shape, fresh);
          openByTable.get(shape.table)?.add(shape);
        }
        last = fresh;
        return;
      }
      const guard = options.mergeGuards === true && !isRow(write) && write.expectChanged === 1 ? write.guard : undefined;
      if (guard !== undefined) {
        const earlier = openGuards.get(guard.shape);
        // Another shape's guard group on its table, opened since, would see its update move.
        const crossed = [...openGuards.keys()].some((other) => other !== guard.shape && (other.table === guard.shape.table || other.reads.includes(guard.shape.table)));
        const shared = earlier === undefined || crossed || earlier.rowsSince.has(guard.key) ? undefined : guard.shape.combine(earlier.shared, guard.shared);
        if (earlier !== undefined && shared !== undefined) {
          earlier.shared = shared;
          earlier.keys.add(guard.key);
          earlier.origin.push([caller, index]);
          return;
        }
        passGuards(write);
        const fresh: Guards = { guard: guard.shape, shared: guard.shared, keys: new Set([guard.key]), rowsSince: new Set(), origin: [[caller, index]] };
        openGuards.set(guard.shape, fresh);
        close(guard.shape.table);
        out.push(fresh);
        origins.push(fresh.origin);
        last = undefined;
        return;
      }
      passGuards(write);
      // Anything else ends the groups of the table it writes.
      const { sql, params } = statementOf(write, dialect);
      close(isRow(write) ? write.row.table : write.table);
      out.push([sql, params]);
      origins.push([[caller, index]]);
      last = undefined;
    });
  });
  const expected: Array<number | undefined> = [];
  const statements = out.map((s): readonly [string, readonly unknown[]] => {
    if (Array.isArray(s)) {
      expected.push(undefined);
      return s as readonly [string, readonly unknown[]];
    }
    if ('guard' in s) {
      const guards = s as Guards;
      if (guards.origin.length === 1) {
        // One guard alone: its own statement, with its own expectation.
        const [caller, index] = guards.origin[0] as [number, number];
        expected.push(undefined);
        const { sql, params } = statementOf(callers[caller]?.[index] as SqlWrite, dialect);
        return [sql, params];
      }
      expected.push(guards.keys.size);
      const { sql, params } = guards.guard.statement(guards.shared, [...guards.keys]);
      return [sql, params];
    }
    const { shape, params, origin } = s as Group;
    expected.push(undefined);
    return [`${shape.head}${shape.tuple}${`, ${shape.tuple}`.repeat(origin.length - 1)}${shape.tail[dialect]}`, params];
  });
  return { statements, origin: origins, expected };
}

/**
 * A long string as a MySQL string literal, escaped in one native pass.
 * Inside single quotes only the quote, the backslash, NUL and Ctrl-Z need
 * escaping (the server's default, backslash-escaping SQL mode); mysql2's
 * own escaping also escapes double quotes and control characters, one
 * concatenation each, which for a JSON document is hundreds of small
 * strings per value. Short strings and other values go to mysql2 as they are.
 */
function literal(value: unknown): unknown {
  if (typeof value !== 'string' || value.length < 64) return value;
  const escaped = UNSAFE_IN_LITERAL.test(value) ? value.replace(UNSAFE_IN_LITERAL_ALL, (c) => LITERAL_ESCAPES[c] as string) : value;
  return { toSqlString: () => `'${escaped}'` };
}

const UNSAFE_IN_LITERAL = /[\0'\\\x1a]/;
const UNSAFE_IN_LITERAL_ALL = /[\0'\\\x1a]/g;
const LITERAL_ESCAPES: Record<string, string> = { '\0': '\\0', "'": "\\'", '\\': '\\\\', '\x1a': '\\Z' };

/**
 * The committers of a DataSource, one per lane. Writes of one lane commit
 * in the order they were handed in; lanes commit side by side (on SQLite one
 * transaction after another). The provisioning engine's lane carries
 * requests' submissions and ends: a task's end frees its slot for the next
 * task, so it must not wait behind a backlog of workflow rows written behind.
 * Nothing orders a provisioning write after a workflow one, or the reverse.
 */
export type CommitLane = 'main' | 'provisioning';

const committers = new WeakMap<DataSource, Map<CommitLane, GroupCommitter>>();

/** The DataSource's group committer of `lane`. */
export function groupCommitter(dataSource: DataSource, lane: CommitLane = 'main'): GroupCommitter {
  let lanes = committers.get(dataSource);
  if (lanes === undefined) {
    lanes = new Map();
    committers.set(dataSource, lanes);
  }
  let committer = lanes.get(lane);
  if (committer === undefined) {
    committer = new GroupCommitter(dataSource);
    lanes.set(lane, committer);
  }
  return committer;
}
