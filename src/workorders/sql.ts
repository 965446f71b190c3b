/**
 * Every SQL statement of the work orders, on their tables: `work_order`,
 * `work_order_event` (each order's history), `billable_event`, and the
 * joins they read with (`app_user`, `account`, `work_order_type`, and the
 * workflow's `process_instance` and `process_definition` for the plans the
 * orders run).
 *
 * Each statement is named after what it does and documented like a command
 * script: what it does, its parameters in order, what it returns or
 * changes. A move between states is one conditional UPDATE headed by its
 * precondition (the state it leaves, the attempt, not held); zero rows
 * changed means someone else moved it. A text that differs between MySQL
 * and SQLite says so here, once; the work-order files take their dialect's
 * texts with `forDialect`.
 */
import { rowShape } from '../db/group-commit';
import { placeholders, type QuerySet } from '../db/sql';
import { OWNER_LEASE_HOLDS, ownerAbandoned } from '../leases/sql';

/**
 * What a move does besides changing the state:
 * - `run`: a new attempt of the order's plan (attempt + 1, the previous
 *   run's instance, outcome and plan forgotten, no longer manual);
 * - `hold`: left for manual processing;
 * - `end`: the outcome (the reason) and failing activity recorded,
 *   `closedAt` set; into CLOSED, billed.
 */
export type TransitionEffect = 'run' | 'hold' | 'end';

/** Which parameters a move's SET clause takes, besides the state and the time. */
export interface MoveShape {
  readonly effect: TransitionEffect;
  /** `run`: the order is leased to a process (its owner is a parameter); otherwise its lease is cleared. */
  readonly leased: boolean;
  /** `end`: the plan version that ran is recorded (two parameters). */
  readonly withPlan: boolean;
}

/**
 * The SET clause of a move. Params: state, updatedAt, then by effect —
 * run: leaseOwner (when leased); hold: none; end: outcome, failedActivity,
 * planVersion and planDigest (when withPlan), closedAt.
 */
function moveSet(move: MoveShape): string {
  const sets = ['state = ?', 'updatedAt = ?'];
  switch (move.effect) {
    case 'run':
      sets.push('attempt = attempt + 1', 'processInstanceId = NULL', 'outcome = NULL', 'failedActivity = NULL', 'manual = 0', 'planVersion = NULL', 'planDigest = NULL', move.leased ? 'leaseOwner = ?' : 'leaseOwner = NULL');
      break;
    case 'hold':
      sets.push('manual = 1');
      break;
    case 'end':
      sets.push('outcome = ?', 'failedActivity = ?', ...(move.withPlan ? ['planVersion = ?', 'planDigest = ?'] : []), 'closedAt = ?');
      break;
  }
  return sets.join(', ');
}

/** An order's row as a view reads it, with its customer's and account's names. */
const ORDER_COLUMNS =
  'wo.id, wo.typeName, wo.customerId, wo.accountId, wo.parameters, wo.state, wo.channel, wo.manual, wo.attempt, wo.processInstanceId, wo.outcome, wo.failedActivity, wo.createdAt, wo.updatedAt, wo.closedAt, u.name AS customerName, a.name AS accountName';
const ORDER_FROM = 'work_order wo JOIN app_user u ON u.id = wo.customerId JOIN account a ON a.id = wo.accountId';

/** Which conditions a page of orders is filtered by; each present one takes a parameter, in this order (`manual` none: it is written in). */
export interface OrderFilterShape {
  readonly accountId: boolean;
  readonly accountName: boolean;
  readonly state: boolean;
  readonly manual?: boolean;
}

function orderWhere(filter: OrderFilterShape): string {
  const where = [
    ...(filter.accountId ? ['wo.accountId = ?'] : []),
    ...(filter.accountName ? ['a.name = ?'] : []),
    ...(filter.state ? ['wo.state = ?'] : []),
    ...(filter.manual === undefined ? [] : [`wo.manual = ${filter.manual ? 1 : 0}`]),
  ];
  return where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
}

/** Rows the group committer writes. */
export const WORK_ORDER_ROWS = {
  /**
   * A new order: typeName, customerId, accountId, parameters, state,
   * channel, manual, attempt, idempotencyKey, createdAt, updatedAt. A
   * reused (customerId, idempotencyKey) is a unique violation.
   */
  order: rowShape('work_order', ['typeName', 'customerId', 'accountId', 'parameters', 'state', 'channel', 'manual', 'attempt', 'idempotencyKey', 'createdAt', 'updatedAt']),
  /** A history entry: workOrderId, at, fromState, toState, actor, reason. */
  event: rowShape('work_order_event', ['workOrderId', 'at', 'fromState', 'toState', 'actor', 'reason']),
} as const;

export const WORK_ORDER_SQL = {
  // ── submission ─────────────────────────────────────────────────────────

  /**
   * The first history entry of the order inserted just before, on the same
   * connection (it takes the id that insert generated).
   * Params: at, actor, reason.
   */
  firstEvent: {
    mysql: "INSERT INTO work_order_event (workOrderId, at, fromState, toState, actor, reason) VALUES (LAST_INSERT_ID(), ?, NULL, 'NEW', ?, ?)",
    sqlite: "INSERT INTO work_order_event (workOrderId, at, fromState, toState, actor, reason) VALUES (last_insert_rowid(), ?, NULL, 'NEW', ?, ?)",
  },

  /** A customer's order under an idempotency key. Params: customerId, idempotencyKey. Rows: id, typeName, parameters. */
  orderByKey: 'SELECT id, typeName, parameters FROM work_order WHERE customerId = ? AND idempotencyKey = ?',

  // ── the state table's moves ────────────────────────────────────────────

  /**
   * Moves one order. Precondition: in state `from`, on `attempt` (when
   * byAttempt), not held (when notHeld), and (when fenced) still claimed by
   * the owner moving it, whose node lease still holds: a process paused
   * past its lease, whose order another process adopted, moves nothing.
   * Params: the SET clause's (see MoveShape), id, from, attempt (when
   * byAttempt), then owner, owner, now (when fenced).
   */
  moveOne: (move: MoveShape, byAttempt: boolean, notHeld: boolean, fenced = false) =>
    `UPDATE work_order SET ${moveSet(move)} WHERE id = ? AND state = ?${byAttempt ? ' AND attempt = ?' : ''}${notHeld ? ' AND manual = 0' : ''}${fenced ? ` AND leaseOwner = ? AND ${OWNER_LEASE_HOLDS}` : ''}`,

  /**
   * Moves `count` orders read under lock. Precondition: in one of `sources`
   * states, not held (when notHeld).
   * Params: the SET clause's, ...ids, ...sources.
   */
  moveMany: (move: MoveShape, count: number, sources: number, notHeld: boolean) =>
    `UPDATE work_order SET ${moveSet(move)} WHERE id IN (${placeholders(count)}) AND state IN (${placeholders(sources)})${notHeld ? ' AND manual = 0' : ''}`,

  /** `count` orders' states, locked on MySQL until the transaction ends. Params: ...ids. Rows: id, state, attempt, manual. */
  lockOrders: (count: number) => ({
    mysql: `SELECT id, state, attempt, manual FROM work_order WHERE id IN (${placeholders(count)}) FOR UPDATE`,
    sqlite: `SELECT id, state, attempt, manual FROM work_order WHERE id IN (${placeholders(count)})`,
  }),

  /**
   * Up to `limit` NEW orders not held, oldest first, for the automation's
   * claim; MySQL locks them and skips those another process is claiming.
   * Params: limit. Rows: id.
   */
  claimable: {
    mysql: "SELECT id FROM work_order WHERE state = 'NEW' AND manual = 0 ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED",
    sqlite: "SELECT id FROM work_order WHERE state = 'NEW' AND manual = 0 ORDER BY id LIMIT ?",
  },

  /** `count` history entries at once. Params: (workOrderId, at, fromState, toState, actor, reason) for each. */
  events: (count: number) => `INSERT INTO work_order_event (workOrderId, at, fromState, toState, actor, reason) VALUES ${Array.from({ length: count }, () => '(?, ?, ?, ?, ?, ?)').join(', ')}`,

  /** An order's state and hold, for a refusal's message. Params: id. Rows: state, manual. */
  orderState: 'SELECT state, manual FROM work_order WHERE id = ?',

  /**
   * An order's billable event, from the order, its customer, account and
   * type (one row, or none when the type is gone). It follows the guarded
   * move into CLOSED, which stops the transaction when it fails, so it only
   * runs for the move that won; it also writes nothing for an order already
   * billed, and the unique key holds billing to once whatever happens.
   * Params: createdAt, workOrderId, workOrderId.
   */
  bill:
    'INSERT INTO billable_event (workOrderId, customerId, customerName, accountId, accountName, typeName, amountMinor, currency, createdAt) ' +
    'SELECT wo.id, wo.customerId, u.name, wo.accountId, a.name, wo.typeName, t.priceMinor, t.currency, ? FROM work_order wo JOIN app_user u ON u.id = wo.customerId JOIN account a ON a.id = wo.accountId JOIN work_order_type t ON t.name = wo.typeName ' +
    'WHERE wo.id = ? AND NOT EXISTS (SELECT 1 FROM billable_event b WHERE b.workOrderId = ?)',

  // ── reading orders ─────────────────────────────────────────────────────

  /** How many orders match a filter. Params: the filter's (see OrderFilterShape). Rows: n. */
  countOrders: (filter: OrderFilterShape) => `SELECT COUNT(*) AS n FROM ${ORDER_FROM} ${orderWhere(filter)}`,

  /** A page of them, newest first. Params: the filter's, limit, offset. Rows: order views. */
  orderPage: (filter: OrderFilterShape) => `SELECT ${ORDER_COLUMNS} FROM ${ORDER_FROM} ${orderWhere(filter)} ORDER BY wo.id DESC LIMIT ? OFFSET ?`,

  /** One order. Params: id. Rows: an order view. */
  orderView: `SELECT ${ORDER_COLUMNS} FROM ${ORDER_FROM} WHERE wo.id = ?`,

  /** An order's history, oldest first. Params: workOrderId. Rows: at, fromState, toState, actor, reason. */
  history: 'SELECT at, fromState, toState, actor, reason FROM work_order_event WHERE workOrderId = ? ORDER BY id',

  /** The plan inputs of `count` orders. Params: ...ids. Rows: id, attempt, typeName, parameters, accountName, storagePool. */
  ordersToRun: (count: number) =>
    `SELECT wo.id, wo.attempt, wo.typeName, wo.parameters, a.name AS accountName, a.storagePool FROM work_order wo JOIN account a ON a.id = wo.accountId WHERE wo.id IN (${placeholders(count)}) ORDER BY wo.id`,

  /** A customer's e-mail address. Params: id. Rows: email. */
  customerEmail: 'SELECT email FROM app_user WHERE id = ?',

  /** The billable events of `count` orders. Params: ...workOrderIds. Rows: workOrderId, amountMinor, currency, createdAt. */
  billingOf: (count: number) => `SELECT workOrderId, amountMinor, currency, createdAt FROM billable_event WHERE workOrderId IN (${placeholders(count)})`,

  /** Billable events created in [from, to), in order. Params: from, to. Rows: the export's columns. */
  billingExport: 'SELECT id, workOrderId, createdAt, customerId, customerName, accountId, accountName, typeName, amountMinor, currency FROM billable_event WHERE createdAt >= ? AND createdAt < ? ORDER BY createdAt, id',

  // ── the automation ─────────────────────────────────────────────────────

  /** Records the plan instance an order's run started. Precondition: IN_PROGRESS, on that attempt. Params: processInstanceId, updatedAt, id, attempt. */
  recordInstance: "UPDATE work_order SET processInstanceId = ?, updatedAt = ? WHERE id = ? AND attempt = ? AND state = 'IN_PROGRESS'",

  /** An owner's orders claimed before a time whose plan start was never recorded. Params: owner, updatedBefore, limit. Rows: id. */
  unstarted: "SELECT id FROM work_order WHERE state = 'IN_PROGRESS' AND leaseOwner = ? AND processInstanceId IS NULL AND updatedAt < ? ORDER BY id LIMIT ?",

  /**
   * IN_PROGRESS orders whose owner is gone: none (an admin started the
   * run), or one whose node lease has run out. Decided by the owner's
   * lease, never by the row's age: a live owner's order is its own however
   * long its plan waits. Params: now, limit. Rows: id.
   */
  abandonedRuns: `SELECT id FROM work_order WHERE state = 'IN_PROGRESS' AND ${ownerAbandoned('leaseOwner')} ORDER BY id LIMIT ?`,

  /**
   * Adopts an abandoned order. Precondition: IN_PROGRESS, its owner still
   * gone (two adopters at once: the second finds the first's live lease).
   * Params: owner, id, now. Changes one row, or none.
   */
  adoptRun: `UPDATE work_order SET leaseOwner = ? WHERE id = ? AND state = 'IN_PROGRESS' AND ${ownerAbandoned('leaseOwner')}`,

  /**
   * Orders whose plan has ended (a SUSPENDED plan has not) that an owner
   * claimed or adopted, with the plan that ran and the catalog's digest.
   * Params: owner, limit.
   * Rows: id, attempt, instanceId, status, planName, planVersion, ranDigest, deployedBy, catalogDigest.
   */
  endedRuns:
    'SELECT wo.id, wo.attempt, pi.id AS instanceId, pi.status, pd.name AS planName, pd.version AS planVersion, pd.digest AS ranDigest, pd.deployedBy, t.planDigest AS catalogDigest ' +
    'FROM work_order wo JOIN process_instance pi ON pi.id = wo.processInstanceId JOIN process_definition pd ON pd.id = pi.definitionId LEFT JOIN work_order_type t ON t.name = wo.typeName ' +
    "WHERE wo.state = 'IN_PROGRESS' AND pi.status NOT IN ('RUNNING', 'SUSPENDED') AND wo.leaseOwner = ? ORDER BY wo.id LIMIT ?",
} satisfies QuerySet;

/** The parameters of {@link WORK_ORDER_SQL}.bill. */
export function billParams(at: string, workOrderId: number): unknown[] {
  return [at, workOrderId, workOrderId];
}
