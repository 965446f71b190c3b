/**
 * Every SQL statement of the change manager that is not a plain repository
 * read, on its tables: `change_request` (each request for change and its
 * life), `change_plan_part` (the plan outcome's JSON in ordered parts),
 * `change_policy` (admin-defined policies) and `change_fragment` (saved
 * graph fragments). Named and documented like the other parts' query
 * modules: what it does, its parameters in order, and its precondition. A
 * state change is one guarded UPDATE (`… WHERE state = ?`): it changes one
 * row or none, and none means someone else moved the change first.
 */
import type { QuerySet } from '../db/sql';

/** The columns of a change read whole. */
export const CHANGE_COLUMNS = 'id, caller, state, request, priority, dryRun, deadline, planAttempts, rejectionCode, rejectionMessage, processName, instanceId, outcome, createdAt, updatedAt, plannedAt, endedAt';
/** The same without the request document. */
const SUMMARY_COLUMNS = CHANGE_COLUMNS.replace('request, ', '');

export const CHANGE_SQL = {
  /**
   * A new change, PLANNING. A (caller, idempotencyKey) already used is a unique violation.
   * Params: id, caller, idempotencyKey, requestDigest, request, priority, dryRun, deadline, createdAt, updatedAt.
   */
  insertChange:
    "INSERT INTO change_request (id, caller, idempotencyKey, requestDigest, request, state, priority, dryRun, deadline, planAttempts, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, 'PLANNING', ?, ?, ?, 0, ?, ?)",

  /** The change a caller's key made. Params: caller, idempotencyKey. */
  changeByKey: 'SELECT id, requestDigest FROM change_request WHERE caller = ? AND idempotencyKey = ?',

  /** One change, whole. Params: id. */
  changeById: `SELECT ${CHANGE_COLUMNS} FROM change_request WHERE id = ?`,

  /** How many changes (in one state when `filtered`). Params: [state]. */
  countChanges: (filtered: boolean) => `SELECT COUNT(*) AS n FROM change_request ${filtered ? 'WHERE state = ?' : ''}`,

  /** A page of changes, newest first, with the request to count its changes (in one state when `filtered`). Params: [state], limit, offset. */
  listChanges: (filtered: boolean) => `SELECT ${SUMMARY_COLUMNS}, request FROM change_request ${filtered ? 'WHERE state = ?' : ''} ORDER BY createdAt DESC, id DESC LIMIT ? OFFSET ?`,

  /** A change's plan parts in order. Params: changeId. */
  planParts: 'SELECT content FROM change_plan_part WHERE changeId = ? ORDER BY seq',

  /** Up to five PLANNING changes nobody holds (or whose lease ran out), highest priority and oldest first. Params: now. */
  planningCandidates: "SELECT id FROM change_request WHERE state = 'PLANNING' AND (leaseExpiresAt IS NULL OR leaseExpiresAt < ?) ORDER BY priority DESC, createdAt, id LIMIT 5",

  /** Leases a PLANNING change for planning, if nobody holds it still. Params: leaseOwner, leaseExpiresAt, updatedAt, id, now. */
  claimPlanning:
    "UPDATE change_request SET leaseOwner = ?, leaseExpiresAt = ?, planAttempts = planAttempts + 1, updatedAt = ? WHERE id = ? AND state = 'PLANNING' AND (leaseExpiresAt IS NULL OR leaseExpiresAt < ?)",

  /** Gives a planning lease back. Params: id, leaseOwner. */
  releasePlanning: "UPDATE change_request SET leaseOwner = NULL, leaseExpiresAt = NULL WHERE id = ? AND state = 'PLANNING' AND leaseOwner = ?",

  /** PLANNING → PLANNED under this lease. Params: processName, plannedAt, updatedAt, id, leaseOwner. */
  markPlanned:
    "UPDATE change_request SET state = 'PLANNED', processName = ?, leaseOwner = NULL, leaseExpiresAt = NULL, plannedAt = ?, updatedAt = ? WHERE id = ? AND state = 'PLANNING' AND leaseOwner = ?",

  /** PLANNING → REJECTED under this lease, with the reason. Params: rejectionCode, rejectionMessage, plannedAt, updatedAt, id, leaseOwner. */
  markRejected:
    "UPDATE change_request SET state = 'REJECTED', rejectionCode = ?, rejectionMessage = ?, leaseOwner = NULL, leaseExpiresAt = NULL, plannedAt = ?, updatedAt = ? WHERE id = ? AND state = 'PLANNING' AND leaseOwner = ?",

  /** PLANNING → REJECTED without a plan, whoever holds it. Params: rejectionCode, rejectionMessage, updatedAt, id. */
  rejectUnplanned: "UPDATE change_request SET state = 'REJECTED', rejectionCode = ?, rejectionMessage = ?, leaseOwner = NULL, leaseExpiresAt = NULL, updatedAt = ? WHERE id = ? AND state = 'PLANNING'",

  /** PLANNED changes that are not dry runs, to deploy and start, highest priority and oldest first. Params: limit. */
  toLaunch: `SELECT ${CHANGE_COLUMNS} FROM change_request WHERE state = 'PLANNED' AND dryRun = 0 ORDER BY priority DESC, createdAt, id LIMIT ?`,

  /** PLANNED → RUNNING with its instance. Params: processName, instanceId, updatedAt, id. */
  markRunning: "UPDATE change_request SET state = 'RUNNING', processName = ?, instanceId = ?, updatedAt = ? WHERE id = ? AND state = 'PLANNED' AND dryRun = 0",

  /** RUNNING changes with their instances, least recently updated first. Params: limit. */
  running: "SELECT id, instanceId FROM change_request WHERE state = 'RUNNING' AND instanceId IS NOT NULL ORDER BY updatedAt LIMIT ?",

  /** RUNNING → COMPLETED or FAILED. Params: state, outcome, endedAt, updatedAt, id. */
  finishRun: "UPDATE change_request SET state = ?, outcome = ?, endedAt = ?, updatedAt = ? WHERE id = ? AND state = 'RUNNING'",

  /** PLANNED → FAILED: its plan could not be deployed or started. Params: outcome, endedAt, updatedAt, id. */
  failLaunch: "UPDATE change_request SET state = 'FAILED', outcome = ?, endedAt = ?, updatedAt = ? WHERE id = ? AND state = 'PLANNED'",

  /** A state → CANCELLED, with who and why. Params: outcome, endedAt, updatedAt, id, state. */
  cancel: "UPDATE change_request SET state = 'CANCELLED', outcome = ?, leaseOwner = NULL, leaseExpiresAt = NULL, endedAt = ?, updatedAt = ? WHERE id = ? AND state = ?",

  /** A PLANNED dry run becomes a change to launch. Params: updatedAt, id. */
  clearDryRun: "UPDATE change_request SET dryRun = 0, updatedAt = ? WHERE id = ? AND state = 'PLANNED' AND dryRun = 1",

  /** PLANNED or REJECTED → PLANNING again, its plan's traces cleared. Params: updatedAt, id, state. */
  replan:
    "UPDATE change_request SET state = 'PLANNING', rejectionCode = NULL, rejectionMessage = NULL, processName = NULL, planAttempts = 0, leaseOwner = NULL, leaseExpiresAt = NULL, plannedAt = NULL, updatedAt = ? WHERE id = ? AND state = ?",

  /** Drops a change's plan. Params: changeId. */
  deletePlanParts: 'DELETE FROM change_plan_part WHERE changeId = ?',

  /** One part of a change's plan. Params: changeId, seq, content. */
  insertPlanPart: 'INSERT INTO change_plan_part (changeId, seq, content) VALUES (?, ?, ?)',

  /** How many policies there are. */
  countPolicies: 'SELECT COUNT(*) AS n FROM change_policy',

  /** A new policy; a name already taken is a unique violation. Params: name, kind, parameters, scopes, enabled, createdBy, createdAt, updatedAt. */
  insertPolicy: 'INSERT INTO change_policy (name, kind, parameters, scopes, enabled, createdBy, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',

  /** Every policy by name. */
  listPolicies: 'SELECT name, kind, parameters, scopes, enabled, createdBy, createdAt FROM change_policy ORDER BY name',

  /** Removes a policy. Params: name. */
  deletePolicy: 'DELETE FROM change_policy WHERE name = ?',

  /** Replaces a saved fragment's content. Params: description, definition, updatedAt, name. */
  updateFragment: 'UPDATE change_fragment SET description = ?, definition = ?, updatedAt = ? WHERE name = ?',

  /** How many fragments there are. */
  countFragments: 'SELECT COUNT(*) AS n FROM change_fragment',

  /** A new fragment. Params: name, description, definition, createdBy, createdAt, updatedAt. */
  insertFragment: 'INSERT INTO change_fragment (name, description, definition, createdBy, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?)',

  /** One fragment. Params: name. */
  fragmentByName: 'SELECT definition, createdBy, createdAt FROM change_fragment WHERE name = ?',

  /** Every fragment by name. */
  listFragments: 'SELECT definition, createdBy, createdAt FROM change_fragment ORDER BY name',

  /**
   * The most recent successful software tasks that ended since a moment, newest
   * first, with their times (what the planner learns durations from). Reads the
   * provisioning engine's `provisioning_request` rows (the task document only
   * for a Stop, to tell a drained one); its (status, seq) index serves the
   * order. Params: endedSince, limit.
   */
  observedTasks:
    "SELECT component, version, operation, CASE WHEN operation = 'Stop' THEN task END AS task, startedAt, endedAt FROM provisioning_request WHERE status = 'COMPLETED_SUCCESS' AND component IS NOT NULL AND startedAt IS NOT NULL AND endedAt IS NOT NULL AND endedAt >= ? ORDER BY seq DESC LIMIT ?",
} satisfies QuerySet;
