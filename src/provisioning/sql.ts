/**
 * Every SQL statement of provisioning, on its tables: `provisioning_request`
 * (the deployment engine's queue), `installed_component` and
 * `component_event` (the managed-resource model) and `callback_delivery`
 * (RequestCompleted notifications waiting to go out).
 *
 * Each statement is named after what it does and documented like a command
 * script: what it does, its parameters in order, what it returns or
 * changes. A request's status changes are each one conditional UPDATE
 * headed by its precondition (`WHERE status = …`, and the lease owner for a
 * worker's writes): zero rows changed means someone else moved it. A text
 * that differs between MySQL and SQLite says so here, once; the stores take
 * their dialect's texts with `forDialect`. Templates take the length of an
 * `IN (…)` list.
 */
import { rowShape } from '../db/group-commit';
import { placeholders, type QuerySet } from '../db/sql';
import { OWNER_LEASE_HOLDS, ownerAbandoned } from '../leases/sql';

/** The columns of a request row as the engine and the API read it. */
const REQUEST_COLUMNS =
  'seq, id, operation, systemName, component, version, task, conflictKey, status, message, output, submittedBy, idempotencyKey, requestHash, callbackUrl, submittedAt, startedAt, endedAt, leaseOwner, leaseExpiresAt, cancelRequested';

/** Rows the group committer writes. */
export const PROVISIONING_ROWS = {
  /**
   * A new request: id, operation, systemName, component, version, task,
   * conflictKey, status, submittedBy, idempotencyKey, requestHash,
   * callbackUrl, submittedAt, cancelRequested, origin. A reused
   * (submittedBy, idempotencyKey) is a unique violation.
   */
  request: rowShape('provisioning_request', ['id', 'operation', 'systemName', 'component', 'version', 'task', 'conflictKey', 'status', 'submittedBy', 'idempotencyKey', 'requestHash', 'callbackUrl', 'submittedAt', 'cancelRequested', 'origin']),
  /** A component's record, replaced whole: systemId, name, version, state, history, pid, parameters (JSON or null), updatedAt. */
  component: rowShape('installed_component', ['systemId', 'name', 'version', 'state', 'history', 'pid', 'parameters', 'updatedAt'], {
    key: ['systemId', 'name'],
    update: ['version', 'state', 'history', 'pid', 'parameters', 'updatedAt'],
  }),
  /** What a task did to a component: systemId, component, operation, version, state, requestId, at. */
  componentEvent: rowShape('component_event', ['systemId', 'component', 'operation', 'version', 'state', 'requestId', 'at']),
  /** A notification to send: requestId, url, status, attempts, nextAttemptAt. */
  callback: rowShape('callback_delivery', ['requestId', 'url', 'status', 'attempts', 'nextAttemptAt']),
} as const;

export const PROVISIONING_SQL = {
  // ── requests ───────────────────────────────────────────────────────────

  /** A request by id. Params: id. Rows: a request row. */
  requestById: `SELECT ${REQUEST_COLUMNS} FROM provisioning_request WHERE id = ?`,

  /**
   * The latest requests, newest first, optionally of one system and of one
   * status (a null filter matches every row).
   * Params: system, system, status, status, limit. Rows: request rows.
   */
  listRequests: `SELECT ${REQUEST_COLUMNS} FROM provisioning_request WHERE (? IS NULL OR systemName = ?) AND (? IS NULL OR status = ?) ORDER BY submittedAt DESC, seq DESC LIMIT ?`,

  /** A caller's request under an idempotency key. Params: submittedBy, idempotencyKey. Rows: a request row. */
  requestByKey: `SELECT ${REQUEST_COLUMNS} FROM provisioning_request WHERE submittedBy = ? AND idempotencyKey = ?`,

  /**
   * The head of each conflict key's queue (one index entry per key, however
   * long the queues behind them), unless that key has a task running, or
   * its head was queued for another engine less than the affinity ago.
   * Params: owner, queuedBefore (now − affinity), limit. Rows: seq.
   */
  queueHeads:
    "SELECT q.seq FROM (SELECT conflictKey, MIN(seq) AS seq FROM provisioning_request WHERE status = 'QUEUED' GROUP BY conflictKey) q " +
    'JOIN provisioning_request r ON r.seq = q.seq WHERE (r.origin IS NULL OR r.origin = ? OR r.submittedAt < ?) ' +
    "AND NOT EXISTS (SELECT 1 FROM provisioning_request o WHERE o.status = 'IN_PROGRESS' AND o.conflictKey = q.conflictKey) ORDER BY q.seq LIMIT ?",

  /**
   * Those of `count` heads still QUEUED. MySQL locks them, skipping the heads
   * another process is claiming (several processes claim disjoint sets);
   * SQLite has a single writer, so there is nothing to skip.
   * Params: ...seqs. Rows: seq.
   */
  lockQueued: (count: number) => ({
    mysql: `SELECT seq FROM provisioning_request WHERE seq IN (${placeholders(count)}) AND status = 'QUEUED' FOR UPDATE SKIP LOCKED`,
    sqlite: `SELECT seq FROM provisioning_request WHERE seq IN (${placeholders(count)}) AND status = 'QUEUED'`,
  }),

  /**
   * Starts `count` requests for an engine: they are its own while its node
   * lease holds (`leaseExpiresAt` records until when it held at the claim,
   * for people reading the table). A request queued after the claim took
   * its time, while the claim ran, starts at its submission, never before
   * it. Precondition: QUEUED. Params: startedAt, owner, leaseExpiresAt, ...seqs.
   */
  startRequests: (count: number) => ({
    mysql: `UPDATE provisioning_request SET status = 'IN_PROGRESS', startedAt = GREATEST(?, submittedAt), leaseOwner = ?, leaseExpiresAt = ? WHERE status = 'QUEUED' AND seq IN (${placeholders(count)})`,
    sqlite: `UPDATE provisioning_request SET status = 'IN_PROGRESS', startedAt = MAX(?, submittedAt), leaseOwner = ?, leaseExpiresAt = ? WHERE status = 'QUEUED' AND seq IN (${placeholders(count)})`,
  }),

  /** The `count` requests an owner has just started, in queue order. Params: owner, ...seqs. Rows: request rows. */
  startedRequests: (count: number) => `SELECT ${REQUEST_COLUMNS} FROM provisioning_request WHERE leaseOwner = ? AND status = 'IN_PROGRESS' AND seq IN (${placeholders(count)}) ORDER BY seq`,

  /** Which of `count` requests an owner still holds, and whether their cancellation was asked for. Params: owner, ...ids. Rows: id, cancelRequested. */
  heldRequests: (count: number) => `SELECT id, cancelRequested FROM provisioning_request WHERE leaseOwner = ? AND status = 'IN_PROGRESS' AND id IN (${placeholders(count)})`,

  /**
   * Ends a running request, fenced: it lands only while owner holds the
   * request and owner's node lease holds. Precondition: IN_PROGRESS, held by
   * owner, owner's lease holds. Params: status, message, output, endedAt, id, owner, owner, now.
   */
  finishRequest: `UPDATE provisioning_request SET status = ?, message = ?, output = ?, endedAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'IN_PROGRESS' AND leaseOwner = ? AND ${OWNER_LEASE_HOLDS}`,

  /** Cancels a request before it started. Precondition: QUEUED. Params: message, endedAt, id. */
  cancelQueued: "UPDATE provisioning_request SET status = 'COMPLETED_FAILURE', message = ?, endedAt = ? WHERE id = ? AND status = 'QUEUED'",

  /** Asks the engine running a request to stop it. Precondition: IN_PROGRESS. Params: id. */
  requestCancel: "UPDATE provisioning_request SET cancelRequested = 1 WHERE id = ? AND status = 'IN_PROGRESS'",

  /**
   * Running requests whose owner's node lease is gone, or held by one of
   * `owners` dead processes. Params: now, ...owners. Rows: request rows.
   */
  lostRequests: (owners: number) => `SELECT ${REQUEST_COLUMNS} FROM provisioning_request WHERE status = 'IN_PROGRESS' AND (${ownerAbandoned('leaseOwner')}${owners === 0 ? '' : ` OR leaseOwner IN (${placeholders(owners)})`})`,

  /** Lease owners of running requests matching a LIKE pattern (this host's). Params: pattern. Rows: leaseOwner. */
  runningOwnersLike: "SELECT DISTINCT leaseOwner FROM provisioning_request WHERE status = 'IN_PROGRESS' AND leaseOwner LIKE ?",

  /**
   * Marks a lost request UNKNOWN. Precondition: IN_PROGRESS, still held by
   * the owner that was lost, and (unless that owner is a process known dead)
   * its node lease still gone: an owner that took its lease again meanwhile
   * keeps its request. Params: message, endedAt, id, owner, now (unless `ownerDead`).
   */
  markUnknown: (ownerDead: boolean) =>
    `UPDATE provisioning_request SET status = 'UNKNOWN', message = ?, endedAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'IN_PROGRESS' AND leaseOwner = ?${ownerDead ? '' : ' AND NOT EXISTS (SELECT 1 FROM node_lease nl WHERE nl.owner = provisioning_request.leaseOwner AND nl.expiresAt > ?)'}`,

  /** How many requests wait and run. Rows: status, n. */
  countActive: "SELECT status, COUNT(*) AS n FROM provisioning_request WHERE status IN ('QUEUED', 'IN_PROGRESS') GROUP BY status",

  // ── the managed-resource model ─────────────────────────────────────────

  /** The records of `count` components of one system (distinct names). Params: systemId, ...names. Rows: id, systemId, name, version, state, history, pid, parameters, updatedAt. */
  componentsByNames: (count: number) =>
    `SELECT id, systemId, name, version, state, history, pid, parameters, updatedAt FROM installed_component WHERE systemId = ? AND name IN (${placeholders(count)})`,

  /** Forgets an uninstalled component. Params: systemId, name. */
  deleteComponent: 'DELETE FROM installed_component WHERE systemId = ? AND name = ?',

  // ── callback deliveries ────────────────────────────────────────────────

  /** Deliveries due and not leased, oldest first. Params: now, now, limit. Rows: id, requestId, url, attempts. */
  dueCallbacks: "SELECT id, requestId, url, attempts FROM callback_delivery WHERE status = 'PENDING' AND nextAttemptAt <= ? AND (leaseExpiresAt IS NULL OR leaseExpiresAt < ?) ORDER BY nextAttemptAt LIMIT ?",

  /** Leases a delivery to a sender. Precondition: PENDING and not leased. Params: owner, leaseExpiresAt, id, now. */
  leaseCallback: "UPDATE callback_delivery SET leaseOwner = ?, leaseExpiresAt = ? WHERE id = ? AND status = 'PENDING' AND (leaseExpiresAt IS NULL OR leaseExpiresAt < ?)",

  // The three ends of an attempt are fenced by the delivery's lease: only its
  // holder records them, so a sender whose lease ran out (another took the
  // delivery over) changes nothing (zero rows).

  /** A delivery acknowledged. Precondition: PENDING, leased to owner. Params: attempts, id, owner. */
  callbackDelivered: "UPDATE callback_delivery SET status = 'DELIVERED', attempts = ?, lastError = NULL, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'PENDING' AND leaseOwner = ?",

  /** A delivery given up. Precondition: PENDING, leased to owner. Params: attempts, lastError, id, owner. */
  callbackFailed: "UPDATE callback_delivery SET status = 'FAILED', attempts = ?, lastError = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'PENDING' AND leaseOwner = ?",

  /** A delivery to try again later. Precondition: PENDING, leased to owner. Params: attempts, lastError, nextAttemptAt, id, owner. */
  callbackRetryLater: "UPDATE callback_delivery SET attempts = ?, lastError = ?, nextAttemptAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'PENDING' AND leaseOwner = ?",

  /** A request's delivery state. Params: requestId. Rows: status, attempts, lastError, nextAttemptAt. */
  callbackOf: 'SELECT status, attempts, lastError, nextAttemptAt FROM callback_delivery WHERE requestId = ?',
} satisfies QuerySet;
