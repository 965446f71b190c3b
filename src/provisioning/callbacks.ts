import type { DataSource, EntityManager } from 'typeorm';
import { statementOf, type RowWrite } from '../db/group-commit';
import { dialectOf, execute, fromSqlDate, toSqlDate } from '../db/sql';
import { PROVISIONING_ROWS, PROVISIONING_SQL } from './sql';

export const CALLBACK_NS = 'urn:provisor:callback:1';

/**
 * Told when a request with a callback has ended, so the queued notification
 * goes out now rather than at the next poll. The provisioning core only
 * writes callback rows; their delivery is the wrappers' CallbackDispatcher.
 */
export interface CallbackWaker {
  wake(): void;
}

/** Queues a RequestCompleted notification, in the transaction that ends the request. */
export async function queueCallback(manager: EntityManager, requestId: string, url: string, now: Date): Promise<void> {
  const { sql, params } = statementOf(callbackStatement(requestId, url, now), dialectOf(manager.connection));
  await manager.query(sql, params as unknown[]);
}

/** The same, as a row for a group-committed write. */
export function callbackStatement(requestId: string, url: string, now: Date): RowWrite {
  return { row: PROVISIONING_ROWS.callback, values: [requestId, url, 'PENDING', 0, toSqlDate(now)] };
}

/** A notification waiting to go out. */
export interface CallbackDelivery {
  readonly id: number;
  readonly requestId: string;
  readonly url: string;
  /** Attempts made so far. */
  readonly attempts: number;
}

/**
 * The `callback_delivery` rows, for whoever sends them: due deliveries
 * leased one at a time (a lease another sender holds is skipped), and each
 * attempt's outcome recorded.
 */
export class CallbackDeliveries {
  constructor(private readonly dataSource: DataSource) {}

  /** Up to `limit` due deliveries, each leased to `owner` until `leaseUntil` (those another sender took meanwhile are left out). */
  async lease(owner: string, now: Date, leaseUntil: Date, limit: number): Promise<CallbackDelivery[]> {
    const rows = (await this.dataSource.query(PROVISIONING_SQL.dueCallbacks, [toSqlDate(now), toSqlDate(now), limit])) as Array<{ id: unknown; requestId: string; url: string; attempts: unknown }>;
    const leased: CallbackDelivery[] = [];
    for (const row of rows) {
      const got = await execute(this.dataSource, PROVISIONING_SQL.leaseCallback, [owner, toSqlDate(leaseUntil), Number(row.id), toSqlDate(now)]);
      if (got === 1) leased.push({ id: Number(row.id), requestId: row.requestId, url: row.url, attempts: Number(row.attempts) });
    }
    return leased;
  }

  /** Acknowledged after `attempts` attempts; false (nothing changed) when `owner` no longer holds the delivery's lease. */
  async delivered(id: number, attempts: number, owner: string): Promise<boolean> {
    return (await execute(this.dataSource, PROVISIONING_SQL.callbackDelivered, [attempts, id, owner])) === 1;
  }

  /** Given up after `attempts` attempts, the last one failing with `error`; false when `owner` no longer holds the lease. */
  async failed(id: number, attempts: number, error: string, owner: string): Promise<boolean> {
    return (await execute(this.dataSource, PROVISIONING_SQL.callbackFailed, [attempts, error, id, owner])) === 1;
  }

  /** Failed with `error`; tried again at `next`. False when `owner` no longer holds the lease. */
  async retryLater(id: number, attempts: number, error: string, next: Date, owner: string): Promise<boolean> {
    return (await execute(this.dataSource, PROVISIONING_SQL.callbackRetryLater, [attempts, error, toSqlDate(next), id, owner])) === 1;
  }

  /** Delivery state of a request's callback (for tests and operators). */
  async state(requestId: string): Promise<{ status: string; attempts: number; lastError: string | null; nextAttemptAt: Date | null } | null> {
    const rows = (await this.dataSource.query(PROVISIONING_SQL.callbackOf, [requestId])) as Array<Record<string, unknown>>;
    const r = rows[0];
    return r === undefined ? null : { status: String(r.status), attempts: Number(r.attempts), lastError: (r.lastError as string | null) ?? null, nextAttemptAt: fromSqlDate(r.nextAttemptAt) };
  }
}
