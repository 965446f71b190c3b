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
import { isMysqlSource, retryDeadlocks, transaction } from './sql';

export type Statement = readonly [sql: string, params: readonly unknown[]];

interface Pending {
  readonly statements: readonly Statement[];
  readonly resolve: () => void;
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

  private readonly mysql: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.mysql = isMysqlSource(dataSource);
  }

  /** Commits `statements` atomically, together with whatever other callers hand in meanwhile. */
  write(statements: readonly Statement[]): Promise<void> {
    if (statements.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
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
    try {
      await this.run(batch);
      this.commits++;
      this.writes += batch.length;
      for (const p of batch) p.resolve();
      return;
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
    }
    for (const p of batch) {
      try {
        await this.run([p]);
        this.commits++;
        this.writes++;
        p.resolve();
      } catch (err) {
        p.reject(err);
      }
    }
  }

  private run(batch: readonly Pending[]): Promise<void> {
    if (this.mysql) return retryDeadlocks(() => this.runAtOnce(batch));
    return transaction(this.dataSource, async (manager) => {
      for (const p of batch) for (const [sql, params] of p.statements) await manager.query(sql, params as unknown[]);
    });
  }

  /**
   * MySQL: the whole transaction as one multi-statement query, one round
   * trip. The server stops at a failing statement and leaves the transaction
   * open, so a failure is followed by a ROLLBACK on the same connection.
   */
  private async runAtOnce(batch: readonly Pending[]): Promise<void> {
    const statements = mergeInserts(batch.flatMap((p) => p.statements)).map(([sql, params]) => format(sql, params as Parameters<typeof format>[1]));
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.query(['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'START TRANSACTION', ...statements, 'COMMIT'].join(';\n'));
    } catch (err) {
      await runner.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      await runner.release();
    }
  }
}

/** `INSERT INTO t (a, b) VALUES (?, ?)`: one row, placeholders only, nothing after. */
const SINGLE_ROW_INSERT = /^INSERT INTO [^()]+\([^()]*\) VALUES (\((?:\?, )*\?\))$/;

/**
 * Adjacent single-row inserts with the same text become one multi-row insert
 * (MySQL does one statement's work for all of them). Only adjacent ones: no
 * statement moves past another, so each caller's order is kept.
 */
export function mergeInserts(statements: readonly Statement[]): Statement[] {
  const out: Statement[] = [];
  let run: { sql: string; row: string; params: unknown[]; rows: number } | undefined;
  const flush = (): void => {
    if (run === undefined) return;
    out.push([run.rows === 1 ? run.sql : `${run.sql}${`, ${run.row}`.repeat(run.rows - 1)}`, run.params]);
    run = undefined;
  };
  for (const [sql, params] of statements) {
    const row = SINGLE_ROW_INSERT.exec(sql)?.[1];
    if (row !== undefined && run !== undefined && run.sql === sql) {
      run.params.push(...params);
      run.rows++;
      continue;
    }
    flush();
    if (row !== undefined) run = { sql, row, params: [...params], rows: 1 };
    else out.push([sql, params]);
  }
  flush();
  return out;
}

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
