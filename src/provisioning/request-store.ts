import type { DataSource, EntityManager } from 'typeorm';
import type { RequestStatus } from '../../entities';
import { groupCommitter, type SqlWrite } from '../db/group-commit';
import type mysql from 'mysql2/promise';
import { batchPoolOf } from '../db/data-source';
import { dialectOf, execute, forDialect, fromSqlDate, retryDeadlocks, toSqlDate, transaction, type Resolved } from '../db/sql';
import { PROVISIONING_ROWS, PROVISIONING_SQL } from './sql';

/** A provisioning request row as the engine and the API read it. */
export interface RequestRow {
  readonly seq: number;
  readonly id: string;
  readonly operation: string;
  readonly systemName: string;
  readonly component: string | null;
  readonly version: string | null;
  readonly task: string;
  readonly conflictKey: string;
  readonly status: RequestStatus;
  readonly message: string | null;
  readonly output: string | null;
  readonly submittedBy: string;
  readonly idempotencyKey: string | null;
  readonly requestHash: string;
  readonly callbackUrl: string | null;
  readonly submittedAt: Date;
  readonly startedAt: Date | null;
  readonly endedAt: Date | null;
  readonly leaseOwner: string | null;
  readonly leaseExpiresAt: Date | null;
  readonly cancelRequested: boolean;
}

export type NewRequest = Pick<
  RequestRow,
  'id' | 'operation' | 'systemName' | 'component' | 'version' | 'task' | 'conflictKey' | 'submittedBy' | 'idempotencyKey' | 'requestHash' | 'callbackUrl' | 'submittedAt'
> & {
  /** The engine that claims it first (see DeploymentEngine.origin); null or absent: any engine at once. */
  readonly origin?: string | null;
};

function toRow(raw: Record<string, unknown>): RequestRow {
  return {
    seq: Number(raw.seq),
    id: String(raw.id),
    operation: String(raw.operation),
    systemName: String(raw.systemName),
    component: (raw.component as string | null) ?? null,
    version: (raw.version as string | null) ?? null,
    task: String(raw.task),
    conflictKey: String(raw.conflictKey),
    status: raw.status as RequestStatus,
    message: (raw.message as string | null) ?? null,
    output: (raw.output as string | null) ?? null,
    submittedBy: String(raw.submittedBy),
    idempotencyKey: (raw.idempotencyKey as string | null) ?? null,
    requestHash: String(raw.requestHash),
    callbackUrl: (raw.callbackUrl as string | null) ?? null,
    submittedAt: fromSqlDate(raw.submittedAt) ?? new Date(0),
    startedAt: fromSqlDate(raw.startedAt),
    endedAt: fromSqlDate(raw.endedAt),
    leaseOwner: (raw.leaseOwner as string | null) ?? null,
    leaseExpiresAt: fromSqlDate(raw.leaseExpiresAt),
    cancelRequested: raw.cancelRequested === true || Number(raw.cancelRequested) === 1,
  };
}

/**
 * Provisioning requests' rows (the statements are in `./sql`). Every status
 * change is one conditional UPDATE headed by its precondition (`WHERE
 * status = …`, and the lease owner for a worker's writes): zero rows
 * changed means someone else moved it.
 */
export class RequestStore {
  private readonly sql: Resolved<typeof PROVISIONING_SQL>;

  constructor(private readonly dataSource: DataSource) {
    this.sql = forDialect(PROVISIONING_SQL, dialectOf(dataSource));
  }

  /**
   * Inserts a QUEUED request. Rejects with a unique violation when
   * (submittedBy, idempotencyKey) exists. The row is committed when this
   * resolves (on SQLite the insert waits for open transactions, so it can
   * never be rolled back with one of them).
   */
  async insert(request: NewRequest): Promise<void> {
    // Group-committed with the other writes of the moment: one commit (one
    // disk flush on MySQL) for many concurrent submissions; it resolves
    // once committed, and a failure (a reused idempotency key) is this
    // caller's alone.
    await groupCommitter(this.dataSource, 'provisioning').write([
      {
        row: PROVISIONING_ROWS.request,
        values: [
          request.id,
          request.operation,
          request.systemName,
          request.component,
          request.version,
          request.task,
          request.conflictKey,
          'QUEUED',
          request.submittedBy,
          request.idempotencyKey,
          request.requestHash,
          request.callbackUrl,
          toSqlDate(request.submittedAt),
          0,
          request.origin ?? null,
        ],
      },
    ]);
  }

  async findById(id: string, manager?: EntityManager): Promise<RequestRow | null> {
    const rows = (await (manager ?? this.dataSource).query(this.sql.requestById, [id])) as Array<Record<string, unknown>>;
    const first = rows[0];
    return first === undefined ? null : toRow(first);
  }

  /** The latest requests, newest first, filtered by system and status when given. */
  async list(filter: { readonly system?: string; readonly status?: string; readonly limit: number }): Promise<RequestRow[]> {
    const system = filter.system ?? null;
    const status = filter.status ?? null;
    const rows = (await this.dataSource.query(this.sql.listRequests, [system, system, status, status, filter.limit])) as Array<Record<string, unknown>>;
    return rows.map(toRow);
  }

  async findByKey(submittedBy: string, idempotencyKey: string): Promise<RequestRow | null> {
    const rows = (await this.dataSource.query(this.sql.requestByKey, [submittedBy, idempotencyKey])) as Array<Record<string, unknown>>;
    const first = rows[0];
    return first === undefined ? null : toRow(first);
  }

  /**
   * Claims up to `limit` QUEUED requests for `owner`, oldest first, skipping
   * any whose conflict key has an IN_PROGRESS request or an older QUEUED one
   * (so tasks on one component run one at a time, in order). On MySQL the
   * candidates are locked with SKIP LOCKED, so several processes claim
   * disjoint sets; SQLite has a single writer.
   */
  async claim(owner: string, limit: number, now: Date, leaseMs: number, affinityMs = 0): Promise<RequestRow[]> {
    const lease = toSqlDate(new Date(now.getTime() + leaseMs));
    const pool = batchPoolOf(this.dataSource);
    if (pool !== undefined) return retryDeadlocks(() => this.claimAtOnce(pool, owner, limit, now, lease, affinityMs));
    const claimed = await transaction(this.dataSource, async (manager) => {
      const heads = ((await manager.query(this.sql.queueHeads, [owner, toSqlDate(new Date(now.getTime() - affinityMs)), limit])) as Array<{ seq: unknown }>).map((r) => Number(r.seq));
      if (heads.length === 0) return [];
      // Lock them (on MySQL a head another process is claiming is skipped); a
      // head that has moved on since is no longer QUEUED in the current read.
      const seqs = ((await manager.query(this.sql.lockQueued(heads.length), heads)) as Array<{ seq: unknown }>).map((r) => Number(r.seq));
      if (seqs.length === 0) return [];
      await execute(manager, this.sql.startRequests(seqs.length), [toSqlDate(now), owner, lease, ...seqs]);
      return seqs;
    }, { readCommitted: true });
    if (claimed.length === 0) return [];
    const rows = (await this.dataSource.query(this.sql.startedRequests(claimed.length), [owner, ...claimed])) as Array<Record<string, unknown>>;
    return rows.map(toRow);
  }

  /**
   * The claim on MySQL in three round trips on the multi-statement pool,
   * where a transaction through a query runner takes seven (isolation level,
   * begin, heads, lock, start, commit, read back), each of which waits for a
   * turn of the event loop when the process is busy: begin and read the
   * queue heads; lock those still queued, skipping those another process is
   * claiming; start them, read them back and commit.
   */
  private async claimAtOnce(pool: mysql.Pool, owner: string, limit: number, now: Date, lease: string, affinityMs: number): Promise<RequestRow[]> {
    const connection = await pool.getConnection();
    try {
      const [begun] = (await connection.query(`SET TRANSACTION ISOLATION LEVEL READ COMMITTED; START TRANSACTION; ${this.sql.queueHeads}`, [
        owner,
        toSqlDate(new Date(now.getTime() - affinityMs)),
        limit,
      ])) as [unknown[], unknown];
      const heads = ((begun[2] ?? []) as Array<{ seq: unknown }>).map((r) => Number(r.seq));
      const seqs = heads.length === 0 ? [] : ((await connection.query(this.sql.lockQueued(heads.length), heads)) as [Array<{ seq: unknown }>, unknown])[0].map((r) => Number(r.seq));
      if (seqs.length === 0) {
        await connection.query('COMMIT');
        return [];
      }
      const [done] = (await connection.query(`${this.sql.startRequests(seqs.length)}; ${this.sql.startedRequests(seqs.length)}; COMMIT`, [toSqlDate(now), owner, lease, ...seqs, owner, ...seqs])) as [unknown[], unknown];
      return ((done[1] ?? []) as Array<Record<string, unknown>>).map(toRow);
    } catch (err) {
      await connection.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      connection.release();
    }
  }

  /** Which of `owner`'s running requests it still holds, and those whose cancellation was asked for. */
  async held(owner: string, ids: readonly string[]): Promise<{ kept: string[]; cancel: string[] }> {
    if (ids.length === 0) return { kept: [], cancel: [] };
    const rows = (await this.dataSource.query(this.sql.heldRequests(ids.length), [owner, ...ids])) as Array<{ id: string; cancelRequested: unknown }>;
    return {
      kept: rows.map((r) => r.id),
      cancel: rows.filter((r) => r.cancelRequested === true || Number(r.cancelRequested) === 1).map((r) => r.id),
    };
  }

  /**
   * Ends a running request held by `owner`: a statement for the group
   * committer, expected to change one row (none when the request was taken
   * from owner, or owner's node lease had run out at `endedAt`).
   */
  finishStatement(id: string, owner: string, outcome: { status: RequestStatus; message: string | null; output: string | null; endedAt: Date }): SqlWrite {
    return {
      sql: this.sql.finishRequest,
      params: [outcome.status, outcome.message, outcome.output, toSqlDate(outcome.endedAt), id, owner, owner, toSqlDate(outcome.endedAt)],
      table: 'provisioning_request',
      expectChanged: 1,
    };
  }

  /** Cancels a QUEUED request. False when it was no longer queued. */
  async cancelQueued(manager: EntityManager, id: string, message: string, now: Date): Promise<boolean> {
    const changed = await execute(manager, this.sql.cancelQueued, [message, toSqlDate(now), id]);
    return changed === 1;
  }

  async requestCancel(id: string): Promise<boolean> {
    const changed = await execute(this.dataSource, this.sql.requestCancel, [id]);
    return changed === 1;
  }

  /** IN_PROGRESS requests whose owner's node lease is gone (their worker is gone), or that a named owner held. */
  async findLost(now: Date, owners: readonly string[] = []): Promise<RequestRow[]> {
    const rows = (await this.dataSource.query(this.sql.lostRequests(owners.length), [toSqlDate(now), ...owners])) as Array<Record<string, unknown>>;
    return rows.map(toRow);
  }

  /** Lease owners of running requests matching a LIKE pattern (this host's). */
  async ownersLike(pattern: string): Promise<string[]> {
    const rows = (await this.dataSource.query(this.sql.runningOwnersLike, [pattern])) as Array<{ leaseOwner: string }>;
    return rows.map((r) => r.leaseOwner);
  }

  /**
   * Marks a lost request UNKNOWN, if it is still held by the same owner and
   * that owner is still gone (`ownerDead`: a process known to be dead, whose
   * lease need not be looked at).
   */
  async markUnknown(manager: EntityManager, row: RequestRow, message: string, now: Date, ownerDead = false): Promise<boolean> {
    const changed = await execute(manager, this.sql.markUnknown(ownerDead), [message, toSqlDate(now), row.id, row.leaseOwner, ...(ownerDead ? [] : [toSqlDate(now)])]);
    return changed === 1;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = (await this.dataSource.query(this.sql.countActive)) as Array<{ status: string; n: unknown }>;
    const out: Record<string, number> = { QUEUED: 0, IN_PROGRESS: 0 };
    for (const r of rows) out[r.status] = Number(r.n);
    return out;
  }
}
