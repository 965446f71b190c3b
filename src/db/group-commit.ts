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
import type { DataSource } from 'typeorm';
import { transaction } from './sql';

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

  constructor(private readonly dataSource: DataSource) {}

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
    return transaction(this.dataSource, async (manager) => {
      for (const p of batch) for (const [sql, params] of p.statements) await manager.query(sql, params as unknown[]);
    });
  }
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
