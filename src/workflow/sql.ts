/**
 * Every SQL statement of the workflow engine, on its tables:
 * `process_definition`, `process_instance`, `activity_instance`,
 * `process_variable`, `link_state` and `process_timer`.
 *
 * Each statement is named after what it does and documented like a command
 * script: what it does, its parameters in order, and what it returns or
 * changes; writes that move an instance are headed by their precondition
 * (`WHERE … AND status = 'RUNNING' AND leaseOwner = ?`), so zero rows
 * changed means someone else moved it. A text that differs between MySQL and
 * SQLite says so here, once; the engine's files take their dialect's texts
 * with `forDialect` and never branch on the dialect. Templates take the
 * length of an `IN (…)` list.
 */
import { rowShape, type GuardShape } from '../db/group-commit';
import { placeholders, type QuerySet } from '../db/sql';
import { OWNER_LEASE_HOLDS, ownerAbandoned } from '../leases/sql';

/** The instance states from which retention may prune an instance's detail rows. */
const FINISHED = "status IN ('COMPLETED', 'FAULTED', 'TERMINATED')";

/** The tables holding an instance's execution detail, all keyed by instanceId (and with an `id` column). */
export const DETAIL_TABLES = ['activity_instance', 'process_variable', 'link_state', 'process_timer', 'process_correlation', 'process_message', 'process_start_claim'] as const;
export type DetailTable = (typeof DETAIL_TABLES)[number];

/**
 * Rows the group committer writes (and merges across instances). Every
 * activity, variable and link write is an upsert of the whole row, so the
 * writes of one table share one shape whatever the row.
 */
export const WORKFLOW_ROWS = {
  /** An instance row: id, definitionId, processName, status, startedBy, idempotencyKey, createdAt, cancelRequested, leaseOwner, leaseExpiresAt. */
  instance: rowShape('process_instance', ['id', 'definitionId', 'processName', 'status', 'startedBy', 'idempotencyKey', 'createdAt', 'cancelRequested', 'leaseOwner', 'leaseExpiresAt']),
  /** An activity execution, replaced whole: instanceId, key, kind, name, state, startedAt, endedAt, completionSeq, fault, data. */
  activity: rowShape('activity_instance', ['instanceId', 'key', 'kind', 'name', 'state', 'startedAt', 'endedAt', 'completionSeq', 'fault', 'data'], {
    key: ['instanceId', 'key'],
    update: ['state', 'endedAt', 'completionSeq', 'fault', 'data'],
  }),
  /** A variable's value: instanceId, scopeKey, name, value. */
  variable: rowShape('process_variable', ['instanceId', 'scopeKey', 'name', 'value'], { key: ['instanceId', 'scopeKey', 'name'], update: ['value'] }),
  /** A link's status: instanceId, key, value (1 true, 0 false). */
  link: rowShape('link_state', ['instanceId', 'key', 'value'], { key: ['instanceId', 'key'], update: ['value'] }),
  /**
   * A durable timer: instanceId, key, kind (`wait` | `alarm`), dueAt,
   * firedAt. Written first with no firedAt, later again with it: a row that
   * exists takes only firedAt, so the due time is never rewritten.
   */
  timer: rowShape('process_timer', ['instanceId', 'key', 'kind', 'dueAt', 'firedAt'], { key: ['instanceId', 'key'], update: ['firedAt'] }),
  /** A correlation set's values, once initiated (never changed afterwards): instanceId, processName, setName, correlationKey, value. */
  correlation: rowShape('process_correlation', ['instanceId', 'processName', 'setName', 'correlationKey', 'value'], { key: ['instanceId', 'setName'], update: ['correlationKey', 'value'] }),
  /**
   * A start claim, a plain insert: processName, correlationKey, instanceId.
   * Its unique (processName, correlationKey) refuses a second instance for
   * values another instance claimed (see ProcessInstances.startJoining).
   */
  startClaim: rowShape('process_start_claim', ['processName', 'correlationKey', 'instanceId']),
} as const;

export const WORKFLOW_SQL = {
  // ── definitions ────────────────────────────────────────────────────────

  /** The highest version deployed under a name. Params: name. Rows: v (NULL when none). */
  latestVersionNumber: 'SELECT MAX(version) AS v FROM process_definition WHERE name = ?',

  /** The latest version of a name and the digest recorded with it (null before digests were recorded). Rows: v, digest. */
  latestVersionDigest: 'SELECT version AS v, digest FROM process_definition WHERE name = ? ORDER BY version DESC LIMIT 1',

  /** The names of the deployed processes, any version. Rows: name. */
  definitionNames: 'SELECT DISTINCT name FROM process_definition',

  // ── one instance's state (the instance store) ──────────────────────────

  /** An instance's activity executions. Params: instanceId. Rows: key, kind, name, state, startedAt, endedAt, completionSeq, fault, data. */
  loadActivities: 'SELECT `key`, kind, name, state, startedAt, endedAt, completionSeq, fault, data FROM activity_instance WHERE instanceId = ?',

  /** An instance's variables. Params: instanceId. Rows: scopeKey, name, value. */
  loadVariables: 'SELECT scopeKey, name, value FROM process_variable WHERE instanceId = ?',

  /** An instance's link statuses. Params: instanceId. Rows: key, value. */
  loadLinks: 'SELECT `key`, value FROM link_state WHERE instanceId = ?',

  /** An instance's timers. Params: instanceId. Rows: key, kind, dueAt, firedAt. */
  loadTimers: 'SELECT `key`, kind, dueAt, firedAt FROM process_timer WHERE instanceId = ?',

  /** An instance's initiated correlation sets. Params: instanceId. Rows: setName, correlationKey, value. */
  loadCorrelations: 'SELECT setName, correlationKey, value FROM process_correlation WHERE instanceId = ?',
  /** The instance holding a start claim, and whether it still runs. Params: processName, correlationKey. Rows: instanceId, status (null without an instance row). */
  startClaimHolder:
    'SELECT c.instanceId, i.status FROM process_start_claim c LEFT JOIN process_instance i ON i.id = c.instanceId WHERE c.processName = ? AND c.correlationKey = ?',
  /** Drops a claim whose instance ended, if it is still that one's. Params: processName, correlationKey, instanceId. */
  dropStaleStartClaim: 'DELETE FROM process_start_claim WHERE processName = ? AND correlationKey = ? AND instanceId = ?',
  /** A scope instance ended: its correlation set no longer routes messages to the instance. */
  releaseCorrelation: 'DELETE FROM process_correlation WHERE instanceId = ? AND setName = ?',

  // ── the message box ────────────────────────────────────────────────────

  /** Whether a RUNNING instance of a process holds correlation values. Params: processName, correlationKey. Rows: instanceId. */
  correlatedInstance:
    "SELECT c.instanceId FROM process_correlation c JOIN process_instance i ON i.id = c.instanceId WHERE c.processName = ? AND c.correlationKey = ? AND i.status IN ('RUNNING', 'SUSPENDED') LIMIT 1",

  /**
   * A message received, before it is acknowledged. Params: processName,
   * operation, correlationKey, sourceKey (null: none), message, receivedAt,
   * expiresAt (null: an instance holds its values). Changes: one row (its id
   * is the insert id), or none when a message of that sourceKey is stored
   * already (a sender's retry).
   */
  insertMessage: {
    mysql: 'INSERT INTO process_message (processName, operation, correlationKey, sourceKey, message, receivedAt, expiresAt) VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id',
    sqlite: 'INSERT INTO process_message (processName, operation, correlationKey, sourceKey, message, receivedAt, expiresAt) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (processName, sourceKey) DO NOTHING',
  },

  /** The message a sender's retry repeats. Params: processName, sourceKey. Rows: id. */
  messageBySource: 'SELECT id FROM process_message WHERE processName = ? AND sourceKey = ?',

  /**
   * The message an activity execution took (found again after a crash).
   * Params: instanceId, consumerKey. Rows: id, operation, message.
   */
  takenMessage: 'SELECT id, operation, message FROM process_message WHERE instanceId = ? AND consumerKey = ? ORDER BY id LIMIT 1',

  /**
   * The oldest message not yet taken for one of `count` operations of a
   * process with correlation values, not expired. Params: processName,
   * correlationKey, now, ...operations. Rows: id, operation.
   */
  waitingMessages: (count: number) =>
    `SELECT id, operation FROM process_message WHERE processName = ? AND correlationKey = ? AND instanceId IS NULL AND (expiresAt IS NULL OR expiresAt > ?) AND operation IN (${placeholders(count)}) ORDER BY id LIMIT 1`,

  /**
   * Which of `count` correlation keys of a process have a message no instance
   * took yet (the shared poll for messages another server received).
   * Params: processName, now, ...correlationKeys. Rows: correlationKey.
   */
  keysWithMessages: (count: number) =>
    `SELECT DISTINCT correlationKey FROM process_message WHERE processName = ? AND instanceId IS NULL AND (expiresAt IS NULL OR expiresAt > ?) AND correlationKey IN (${placeholders(count)})`,

  /**
   * Takes a message for an activity execution. Precondition: nobody took it.
   * Params: instanceId, consumerKey, id. Changes: 1 row, or 0 when taken already.
   */
  takeMessage: 'UPDATE process_message SET instanceId = ?, consumerKey = ? WHERE id = ? AND instanceId IS NULL',

  /** Records the instance's reply to a message it took. Params: reply, id, instanceId. */
  replyToMessage: 'UPDATE process_message SET reply = ? WHERE id = ? AND instanceId = ?',

  /** A message's reply, whether it was taken, and by which instance. Params: id. Rows: reply, instanceId. */
  messageReply: 'SELECT reply, instanceId FROM process_message WHERE id = ?',

  /** Expired messages nobody took, oldest first. Params: now, limit. Rows: id. */
  expiredMessages: 'SELECT id FROM process_message WHERE instanceId IS NULL AND expiresAt < ? ORDER BY id LIMIT ?',

  // ── instances as callers see them ──────────────────────────────────────

  /** The instance a caller started under an idempotency key. Params: startedBy, idempotencyKey. Rows: id, processName. */
  instanceByKey: 'SELECT id, processName FROM process_instance WHERE startedBy = ? AND idempotencyKey = ?',

  /** An instance's first completed reply to the message that created it (replies to later messages are recorded with the message), if any. Params: instanceId. Rows: data. */
  firstReply: "SELECT data FROM activity_instance WHERE instanceId = ? AND kind = 'reply' AND state = 'COMPLETED' AND data NOT LIKE '{\"repliedTo\"%' ORDER BY id LIMIT 1",

  /** An instance's status and fault. Params: id. Rows: status, fault. */
  instanceOutcome: 'SELECT status, fault FROM process_instance WHERE id = ?',

  /** An instance with its definition's version. Params: id. Rows: id, processName, status, fault, faultPath, createdAt, endedAt, version. */
  instanceView: 'SELECT i.id, i.processName, i.status, i.fault, i.faultPath, i.createdAt, i.endedAt, d.version FROM process_instance i JOIN process_definition d ON d.id = i.definitionId WHERE i.id = ?',

  /** Every activity of an instance in the order they started. Params: instanceId. Rows: key, kind, name, state, startedAt, endedAt, fault. */
  activitiesOf: 'SELECT `key`, kind, name, state, startedAt, endedAt, fault FROM activity_instance WHERE instanceId = ? ORDER BY id',

  /** A page of them. Params: instanceId, limit, offset. Rows: as `activitiesOf`. */
  activityPage: 'SELECT `key`, kind, name, state, startedAt, endedAt, fault FROM activity_instance WHERE instanceId = ? ORDER BY id LIMIT ? OFFSET ?',

  /**
   * The data of some of an instance's activities (the status reads invokes' and scopes' only, so the
   * listing above need not carry every row's data). Template: the number of keys.
   * Params: instanceId, then the keys. Rows: key, data.
   */
  activityData: (count: number) => `SELECT \`key\`, data FROM activity_instance WHERE instanceId = ? AND \`key\` IN (${placeholders(count)}) AND data IS NOT NULL`,

  /** An instance's decided links, in key order. Params: instanceId. Rows: key, value. */
  linksOf: 'SELECT `key`, value FROM link_state WHERE instanceId = ? ORDER BY `key`',

  /** An instance's first 1,000 variables, by scope then name (the input message included). Params: instanceId. Rows: scopeKey, name, value. */
  variablesOf: 'SELECT scopeKey, name, value FROM process_variable WHERE instanceId = ? ORDER BY scopeKey, name LIMIT 1001',

  /** How many activities an instance has. Params: instanceId. Rows: n. */
  activityCount: 'SELECT COUNT(*) AS n FROM activity_instance WHERE instanceId = ?',

  /**
   * The newest instances, optionally of one process and in one status.
   * Params: processName (when `byName`), status (when `byStatus`), limit.
   * Rows: id, processName, status, createdAt, endedAt, version.
   */
  listInstances: (byName: boolean, byStatus: boolean) => {
    const where = [...(byName ? ['i.processName = ?'] : []), ...(byStatus ? ['i.status = ?'] : [])];
    return `SELECT i.id, i.processName, i.status, i.createdAt, i.endedAt, d.version FROM process_instance i JOIN process_definition d ON d.id = i.definitionId ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')} `}ORDER BY i.createdAt DESC LIMIT ?`;
  },

  /**
   * Ends a SUSPENDED instance at once (it runs nowhere). Precondition: SUSPENDED.
   * Params: endedAt, cancelRequested (1 cancel, 2 cancel and compensate), id.
   */
  terminateSuspended: "UPDATE process_instance SET status = 'TERMINATED', endedAt = ?, cancelRequested = ? WHERE id = ? AND status = 'SUSPENDED'",

  /** Asks a RUNNING instance's runner to stop it. Precondition: RUNNING. Params: cancelRequested (1 or 2), id. */
  requestCancel: "UPDATE process_instance SET cancelRequested = ? WHERE id = ? AND status = 'RUNNING'",

  /** Lets a SUSPENDED instance run again, its crash count started over. Precondition: SUSPENDED. Params: id. */
  resumeSuspended: "UPDATE process_instance SET status = 'RUNNING', recoveries = 0, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'SUSPENDED'",

  // ── the runner: claim, lease, end ──────────────────────────────────────

  /** Lease owners of running instances matching a LIKE pattern (this host's). Params: pattern. Rows: leaseOwner. */
  runningOwnersLike: "SELECT DISTINCT leaseOwner FROM process_instance WHERE status = 'RUNNING' AND leaseOwner LIKE ?",

  /**
   * RUNNING instances nobody holds: unleased, their owner's node lease gone
   * (`node_lease`), held by one of `deadOwners` dead processes, or, with
   * `own`, held by this process itself (instances it stopped running without
   * ending them: a lost lease, a refused write); oldest first.
   * Params: now, owner (when `own`), ...deadOwners, limit. Rows: id, leaseOwner.
   */
  claimCandidates: (deadOwners: number, own: boolean) =>
    `SELECT id, leaseOwner FROM process_instance WHERE status = 'RUNNING' AND (${ownerAbandoned('leaseOwner')}${own ? ' OR leaseOwner = ?' : ''}${deadOwners === 0 ? '' : ` OR leaseOwner IN (${placeholders(deadOwners)})`}) ORDER BY createdAt LIMIT ?`,

  /**
   * Claims `count` candidates for `owner`, each only if still nobody's (the
   * candidates' precondition again). Taking one from a holder that did not
   * let go of it counts as a recovery (assigned first, while leaseOwner is
   * still the old one). `leaseExpiresAt` records until when the claimer's
   * lease held at the claim (for people reading the table; the node lease
   * decides).
   * Params: owner, owner, leaseExpiresAt, ...ids, now, owner (when `own`), ...deadOwners.
   */
  claimInstances: (count: number, deadOwners: number, own: boolean) =>
    `UPDATE process_instance SET recoveries = recoveries + CASE WHEN leaseOwner IS NULL OR leaseOwner = ? THEN 0 ELSE 1 END, leaseOwner = ?, leaseExpiresAt = ? WHERE id IN (${placeholders(count)}) AND status = 'RUNNING' AND (${ownerAbandoned('leaseOwner')}${own ? ' OR leaseOwner = ?' : ''}${deadOwners === 0 ? '' : ` OR leaseOwner IN (${placeholders(deadOwners)})`})`,

  /** Which of `count` instances `owner` holds now, with their crash counts. Params: owner, ...ids. Rows: id, recoveries. */
  heldWithRecoveries: (count: number) => `SELECT id, recoveries FROM process_instance WHERE leaseOwner = ? AND status = 'RUNNING' AND id IN (${placeholders(count)})`,

  /** Suspends a crash-looping instance. Precondition: RUNNING, held by owner. Params: id, owner. */
  suspend: "UPDATE process_instance SET status = 'SUSPENDED', leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'RUNNING' AND leaseOwner = ?",

  /** What a runner needs to resume an instance. Params: id. Rows: definitionId, startedBy, cancelRequested. */
  instanceToRun: 'SELECT definitionId, startedBy, cancelRequested FROM process_instance WHERE id = ?',

  /** An instance's cancellation request (0 none, 1 cancel, 2 cancel and compensate). Params: id. Rows: cancelRequested. */
  cancelRequested: 'SELECT cancelRequested FROM process_instance WHERE id = ?',

  /**
   * Ends an instance. Precondition: RUNNING, held by owner (only the lease
   * holder records the end). Params: status, fault, faultPath, endedAt, id, owner.
   */
  finishInstance: "UPDATE process_instance SET status = ?, fault = ?, faultPath = ?, endedAt = ?, leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND status = 'RUNNING' AND leaseOwner = ?",

  /**
   * The fence every commit of an instance's rows carries first: it changes
   * the instance's row only while `owner` holds it and owner's node lease
   * holds, and the commit is refused unless it changed one row. So a process
   * paused past its lease, whose instance another process took over, writes
   * nothing of it. Precondition: RUNNING, held by owner, owner's lease holds.
   * Params: leaseExpiresAt, id, owner, owner, now.
   */
  fenceInstance: `UPDATE process_instance SET leaseExpiresAt = ? WHERE id = ? AND status = 'RUNNING' AND leaseOwner = ? AND ${OWNER_LEASE_HOLDS}`,

  /** The fences of `count` instances (distinct ids) as one statement, which must change `count` rows. Params: leaseExpiresAt, ...ids, owner, owner, now. */
  fenceInstances: (count: number) =>
    `UPDATE process_instance SET leaseExpiresAt = ? WHERE id IN (${placeholders(count)}) AND status = 'RUNNING' AND leaseOwner = ? AND ${OWNER_LEASE_HOLDS}`,

  /** Holder and cancellation request of `count` instances. Params: ...ids. Rows: id, leaseOwner, cancelRequested. */
  leaseStates: (count: number) => `SELECT id, leaseOwner, cancelRequested FROM process_instance WHERE id IN (${placeholders(count)})`,

  /** Lets go of `count` instances at shutdown; the next claim is a plain resume. Precondition: RUNNING, held by owner. Params: owner, ...ids. */
  releaseInstances: (count: number) => `UPDATE process_instance SET leaseOwner = NULL, leaseExpiresAt = NULL, recoveries = 0 WHERE leaseOwner = ? AND status = 'RUNNING' AND id IN (${placeholders(count)})`,

  // ── retention ──────────────────────────────────────────────────────────

  /** Finished instances that ended before a cutoff and still have detail rows, oldest first. Params: cutoff, limit. Rows: id. */
  prunable: `SELECT id FROM process_instance WHERE ${FINISHED} AND endedAt < ? AND prunedAt IS NULL ORDER BY endedAt LIMIT ?`,

  /** Marks `count` finished instances pruned (their rows stay). Params: prunedAt, ...ids. */
  markPruned: (count: number) => `UPDATE process_instance SET prunedAt = ? WHERE id IN (${placeholders(count)}) AND ${FINISHED}`,

  /** Up to `limit` detail rows of `count` instances in one detail table. Params: ...instanceIds, limit. Rows: id. */
  detailRows: (table: DetailTable, count: number) => `SELECT id FROM ${table} WHERE instanceId IN (${placeholders(count)}) LIMIT ?`,

  /** Deletes `count` detail rows by id. Params: ...ids. */
  deleteDetailRows: (table: DetailTable, count: number) => `DELETE FROM ${table} WHERE id IN (${placeholders(count)})`,
} satisfies QuerySet;

/**
 * The instance fence as a guard the group committer may run for many
 * instances at once (`fenceInstances`): its outcome depends on the
 * instance's row and the node lease only. Shared values: leaseExpiresAt,
 * owner, now (SQL dates); two fences of one owner run as one with the later
 * expiry and the later now, the stricter check of the lease.
 */
export const INSTANCE_FENCE: GuardShape = {
  table: 'process_instance',
  key: 'id',
  reads: ['node_lease'],
  statement: (shared, keys) => {
    const [expiresAt, owner, now] = shared;
    return { sql: WORKFLOW_SQL.fenceInstances(keys.length), params: [expiresAt, ...keys, owner, owner, now] };
  },
  combine: (a, b) => {
    if (a[1] !== b[1]) return undefined;
    return [later(a[0], b[0]), a[1], later(a[2], b[2])];
  },
};

/** The later of two SQL dates (their text sorts as they do). */
function later(a: unknown, b: unknown): unknown {
  return String(a) >= String(b) ? a : b;
}

