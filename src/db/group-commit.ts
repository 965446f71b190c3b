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
import { format } from 'mysql2';
import type { DataSource } from 'typeorm';
import type mysql from 'mysql2/promise';
import { batchPoolOf } from './data-source';
import { isMysqlSource, retryDeadlocks, transaction } from './sql';

/**
 * One statement and its parameters.
 * - `commutes`: the statement may run before any statement of the batch on
 *   another table (its caller depends on no order across tables), so it can
 *   join an earlier statement of the same text; see {@link compact}.
 * - `expectChanged`: the caller's write holds only if this statement changes
 *   exactly that many rows (a conditional update: "still mine", "still in
 *   that state"); otherwise none of the caller's statements commit and its
 *   write fails with a {@link WriteConflict}.
 */
export type Statement = readonly [sql: string, params: readonly unknown[], options?: StatementOptions];

export interface StatementOptions {
  readonly commutes?: boolean;
  readonly expectChanged?: number;
  /** The caller needs the statement's own result (an insert's generated id): never merged. */
  readonly alone?: boolean;
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

/** Some callers' expectations failed in a shared transaction (rolled back): by caller index. */
class BatchConflict extends Error {
  constructor(readonly conflicts: ReadonlyMap<number, WriteConflict>) {
    super('write conflicts');
  }
}

interface Pending {
  readonly statements: readonly Statement[];
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

  /** MySQL/MariaDB: the pool that takes a whole batch as one query; without one (a DataSource not opened by openDatabase) batches run statement by statement. */
  private readonly batchPool: mysql.Pool | undefined;

  constructor(private readonly dataSource: DataSource) {
    this.batchPool = isMysqlSource(dataSource) ? batchPoolOf(dataSource) : undefined;
  }

  /**
   * Commits `statements` atomically, together with whatever other callers
   * hand in meanwhile. Resolves with what each statement did.
   */
  write(statements: readonly Statement[]): Promise<StatementResult[]> {
    if (statements.length === 0) return Promise.resolve([]);
    return new Promise<StatementResult[]>((resolve, reject) => {
      this.queue.push({ statements, resolve, reject });
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
    if (pool !== undefined) return retryDeadlocks(() => this.runAtOnce(pool, batch));
    return transaction(this.dataSource, async (manager) => {
      const changed: StatementResult[][] = [];
      const conflicts = new Map<number, WriteConflict>();
      batch.forEach(() => changed.push([]));
      for (const [i, p] of batch.entries()) {
        for (const [sql, params, options] of p.statements) {
          const result = (await manager.queryRunner?.query(sql, params as unknown[], true)) as { affected?: number; raw?: unknown } | undefined;
          const n = result?.affected ?? 0;
          (changed[i] as StatementResult[]).push({ changed: n, insertId: Number(result?.raw ?? NaN) });
          if (options?.expectChanged !== undefined && n !== options.expectChanged) {
            conflicts.set(i, new WriteConflict(sql, n, options.expectChanged));
            break;
          }
        }
        // Stop at the first: the transaction rolls back and the rest go again.
        if (conflicts.size > 0) throw new BatchConflict(conflicts);
      }
      return changed;
    });
  }

  /**
   * MySQL: the whole transaction as one multi-statement query, one round
   * trip. The server stops at a failing statement and leaves the transaction
   * open, so a failure is followed by a ROLLBACK on the same connection.
   * When a statement carries an expectation, the COMMIT waits for a second
   * round trip, after the counts are checked.
   */
  private async runAtOnce(pool: mysql.Pool, batch: readonly Pending[]): Promise<StatementResult[][]> {
    const { statements, origin } = compact(batch.map((p) => p.statements));
    const texts = statements.map(([sql, params]) => format(sql, params.map(literal) as Parameters<typeof format>[1]));
    const guarded = batch.some((p) => p.statements.some(([, , options]) => options?.expectChanged !== undefined));
    const runner = await pool.getConnection();
    const changed: StatementResult[][] = batch.map((p) => p.statements.map(() => MERGED));
    try {
      const [results] = (await runner.query(['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'START TRANSACTION', ...texts, ...(guarded ? [] : ['COMMIT'])].join(';\n'))) as [unknown, unknown];
      const list = Array.isArray(results) ? results : [];
      origin.forEach((from, i) => {
        if (from.length !== 1) return;
        const [caller, index] = from[0] as [number, number];
        const result = list[i + 2] as { affectedRows?: number; insertId?: number } | undefined;
        (changed[caller] as StatementResult[])[index] = { changed: Number(result?.affectedRows ?? NaN), insertId: Number(result?.insertId ?? NaN) };
      });
      if (guarded) {
        const conflicts = new Map<number, WriteConflict>();
        batch.forEach((p, caller) =>
          p.statements.forEach(([sql, , options], index) => {
            const n = (changed[caller] as StatementResult[])[index]?.changed ?? NaN;
            if (options?.expectChanged !== undefined && n !== options.expectChanged && !conflicts.has(caller)) conflicts.set(caller, new WriteConflict(sql, n, options.expectChanged));
          }),
        );
        if (conflicts.size > 0) throw new BatchConflict(conflicts);
        await runner.query('COMMIT');
      }
    } catch (err) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      runner.release();
    }
    return changed;
  }
}

/** `INSERT INTO t (a, b) VALUES (?, ?)`, optionally `ON DUPLICATE KEY UPDATE …`: one row, placeholders only. */
const SINGLE_ROW_INSERT = /^INSERT INTO (\S+) \([^()]*\) VALUES (\((?:\?, )*\?\))(?: ON DUPLICATE KEY UPDATE [^;]*)?$/;
/** The table a write statement changes. */
const WRITTEN_TABLE = /^(?:INSERT INTO|UPDATE|DELETE FROM|REPLACE INTO)\s+(\S+)/i;

/**
 * The statements of a batch (callers in order) made fewer: single-row
 * inserts (and upserts) of the same text become one multi-row statement,
 * which MySQL runs with one statement's overhead.
 *
 * - Adjacent ones always merge: nothing moves past anything.
 * - A statement marked `commutes` also joins an earlier statement of its
 *   text when no other text has written its table in between: it moves only
 *   past statements on other tables, which its caller allows.
 *
 * `origin[i]` lists the [caller, statement] pairs that output statement `i`
 * carries.
 */
export function compact(callers: ReadonlyArray<readonly Statement[]>): { statements: Statement[]; origin: Array<Array<[number, number]>> } {
  interface Group {
    readonly sql: string;
    readonly row: string;
    readonly params: unknown[];
    readonly origin: Array<[number, number]>;
  }
  const out: Array<Group | Statement> = [];
  const origins: Array<Array<[number, number]>> = [];
  /** The group a statement of this text may join, by text. */
  const open = new Map<string, Group>();
  /** The texts with an open group, by table. */
  const openByTable = new Map<string, Set<string>>();
  let last: Group | undefined;
  const close = (table: string, except?: string): void => {
    for (const sql of openByTable.get(table) ?? []) if (sql !== except) open.delete(sql);
    openByTable.set(table, except === undefined || !open.has(except) ? new Set() : new Set([except]));
  };
  callers.forEach((statements, caller) => {
    statements.forEach(([sql, params, options], index) => {
      const match = options?.expectChanged === undefined && options?.alone !== true ? SINGLE_ROW_INSERT.exec(sql) : null;
      const table = match?.[1] ?? WRITTEN_TABLE.exec(sql)?.[1];
      const row = match?.[2];
      if (row !== undefined && table !== undefined) {
        const group = last !== undefined && last.sql === sql ? last : options?.commutes === true ? open.get(sql) : undefined;
        if (group !== undefined) {
          group.params.push(...params);
          group.origin.push([caller, index]);
          last = group;
          close(table, sql);
          return;
        }
        const fresh: Group = { sql, row, params: [...params], origin: [[caller, index]] };
        out.push(fresh);
        origins.push(fresh.origin);
        close(table);
        if (options?.commutes === true) {
          open.set(sql, fresh);
          openByTable.get(table)?.add(sql);
        }
        last = fresh;
        return;
      }
      // Anything else ends the groups of the table it writes (all of them when it is not a plain write).
      if (table !== undefined) close(table);
      else for (const t of [...openByTable.keys()]) close(t);
      out.push([sql, params]);
      origins.push([[caller, index]]);
      last = undefined;
    });
  });
  const statements = out.map((s): Statement => {
    if (Array.isArray(s)) return s as Statement;
    const g = s as Group;
    const rows = g.origin.length;
    if (rows === 1) return [g.sql, g.params];
    const at = g.sql.indexOf(g.row) + g.row.length;
    return [`${g.sql.slice(0, at)}${`, ${g.row}`.repeat(rows - 1)}${g.sql.slice(at)}`, g.params];
  });
  return { statements, origin: origins };
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

const committers = new WeakMap<DataSource, GroupCommitter>();

/** The DataSource's one group committer. */
export function groupCommitter(dataSource: DataSource): GroupCommitter {
  let committer = committers.get(dataSource);
  if (committer === undefined) {
    committer = new GroupCommitter(dataSource);
    committers.set(dataSource, committer);
  }
  return committer;
}
