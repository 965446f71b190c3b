import type { EntityManager } from 'typeorm';
import type { Statement } from '../db/group-commit';
import { toSqlDate } from '../db/sql';

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
  const [sql, params] = callbackStatement(requestId, url, now);
  await manager.query(sql, params as unknown[]);
}

/** The same, as a statement for a group-committed write. */
export function callbackStatement(requestId: string, url: string, now: Date): Statement {
  return ['INSERT INTO callback_delivery (requestId, url, status, attempts, nextAttemptAt) VALUES (?, ?, ?, ?, ?)', [requestId, url, 'PENDING', 0, toSqlDate(now)]];
}
