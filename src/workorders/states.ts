/**
 * The work-order state machine as one table: every move an order makes,
 * who makes it, the states it may start from and the state it ends in. The
 * table is the documentation, the guard and the error message: a new state
 * or action is added here (and to `WORK_ORDER_STATES` in the entity), and
 * {@link WorkOrderStates.transition} does the rest.
 *
 * Each transition is one transaction: the guarded update (`… WHERE id IN
 * (…) AND state IN (allowed sources)`), one history row per order moved
 * (work_order_event, with the state it left) and, into CLOSED, the order's
 * billable event, which the database keeps unique per order.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { WorkOrderState } from '../../entities';
import type { Clock } from '../clock';
import { groupCommitter, WriteConflict, type RowWrite, type Write } from '../db/group-commit';
import { dialectOf, execute, forDialect, toSqlDate, transaction, type Resolved } from '../db/sql';
import { ProvisorError } from '../errors';
import { ADMIN_ACTIONS, type AdminAction } from './api';
import { unbillable } from './billing';
import { billParams, WORK_ORDER_ROWS, WORK_ORDER_SQL, type MoveShape, type TransitionEffect } from './sql';

export type { TransitionEffect } from './sql';

export interface ActionRule {
  /** The states the move may start from. */
  readonly from: readonly WorkOrderState[];
  readonly to: WorkOrderState;
  readonly effect: TransitionEffect;
  /** Refused for an order held for manual processing (only an admin moves those). */
  readonly notHeld: boolean;
  /** The past participle for messages: "it cannot be closed". */
  readonly done: string;
  /** Who makes this move. */
  readonly by: 'automation' | 'admin';
}

/**
 * Every move a work order makes. An order is created NEW by a submission
 * (any channel); from then on only these actions move it.
 */
export const WORK_ORDER_ACTIONS = {
  /** The automation takes a NEW order that is not held and starts its plan. */
  claim: { from: ['NEW'], to: 'IN_PROGRESS', effect: 'run', notHeld: true, done: 'claimed', by: 'automation' },
  /** An admin leaves a NEW order for manual processing (again, when it already is). */
  hold: { from: ['NEW'], to: 'NEW', effect: 'hold', notHeld: false, done: 'held', by: 'admin' },
  /** An admin starts the plan of a NEW order now, held or not. */
  process: { from: ['NEW'], to: 'IN_PROGRESS', effect: 'run', notHeld: false, done: 'processed', by: 'admin' },
  /** An admin starts a FAILED order's plan again. */
  retry: { from: ['FAILED'], to: 'IN_PROGRESS', effect: 'run', notHeld: false, done: 'retried', by: 'admin' },
  /** An admin closes an order by hand (billed); its running plan, if any, is cancelled. */
  close: { from: ['NEW', 'IN_PROGRESS', 'FAILED'], to: 'CLOSED', effect: 'end', notHeld: false, done: 'closed', by: 'admin' },
  /** An admin fails an order by hand; its running plan, if any, is cancelled. */
  fail: { from: ['NEW', 'IN_PROGRESS'], to: 'FAILED', effect: 'end', notHeld: false, done: 'failed', by: 'admin' },
  /** The automation closes an order whose plan completed (billed). */
  finish: { from: ['IN_PROGRESS'], to: 'CLOSED', effect: 'end', notHeld: false, done: 'finished', by: 'automation' },
  /** The automation fails an order whose plan faulted, ended otherwise, could not start, or was not the catalog's. */
  fault: { from: ['IN_PROGRESS'], to: 'FAILED', effect: 'end', notHeld: false, done: 'faulted', by: 'automation' },
} as const satisfies Record<string, ActionRule>;

export type WorkOrderAction = keyof typeof WORK_ORDER_ACTIONS;
export const WORK_ORDER_ACTION_NAMES = Object.keys(WORK_ORDER_ACTIONS) as WorkOrderAction[];

/** The table's move for an admin action: each admin action is one (this fails to compile otherwise). */
export function adminMove(action: AdminAction): WorkOrderAction {
  return action;
}

export function ruleOf(action: WorkOrderAction): ActionRule {
  return WORK_ORDER_ACTIONS[action];
}

/** Whether the table lets `action` move an order in `state` (held: left for manual processing). */
export function allows(action: WorkOrderAction, state: WorkOrderState, held: boolean): boolean {
  const rule = ruleOf(action);
  return rule.from.includes(state) && !(rule.notHeld && held && state === 'NEW');
}

/**
 * The admin actions the table lets an admin take on an order in `state`
 * (held: left for manual processing), in the order of `ADMIN_ACTIONS`; what
 * the portal offers. Holding an order already held is left out: it would
 * change nothing.
 */
export function adminActionsFor(state: WorkOrderState, held: boolean): AdminAction[] {
  return ADMIN_ACTIONS.filter((action) => {
    const move = adminMove(action);
    return allows(move, state, held) && !(ruleOf(move).effect === 'hold' && held);
  });
}

/** The table's refusal: names the order's state and the ones the action allows. */
export function refusal(workOrderId: number, action: WorkOrderAction, state: WorkOrderState, held: boolean): ProvisorError {
  const rule = ruleOf(action);
  const heldNote = held && state === 'NEW' ? ' (held for manual processing)' : '';
  const sources = rule.from.join(' or ');
  const allowed = `only ${/^[AEIOU]/.test(sources) ? 'an' : 'a'} ${sources} order${rule.notHeld ? ' not held for manual processing' : ''} can be`;
  return new ProvisorError('InvalidState', `work order ${workOrderId} is ${state}${heldNote}: it cannot be ${rule.done}; ${allowed}`, 'workOrderId');
}

/** The plan version an order's run executed (recorded when it ends). */
export interface RanPlan {
  readonly version: number;
  /** Null for a version deployed before digests were recorded. */
  readonly digest: string | null;
}

export interface TransitionOptions {
  /** Only an order still on this attempt moves (the automation ending the run it started). */
  readonly attempt?: number;
  /** `end`: the activity that failed. */
  readonly failedActivity?: string;
  /** `end`: the plan version the run executed. */
  readonly plan?: RanPlan;
  /** `run`: the process that owns the run (the claiming automation); none otherwise. */
  readonly leaseOwner?: string;
  /**
   * Only while the order is still claimed by this owner and its node lease
   * holds (the automation ending a run it owns): a stale owner moves nothing.
   * Applies to the move of one order from a single source state.
   */
  readonly fence?: { readonly owner: string };
}

/** An order as it was before a move: its id and the state it leaves. */
interface Leaving {
  readonly id: number;
  readonly state: WorkOrderState;
}

export class WorkOrderStates {
  private readonly sql: Resolved<typeof WORK_ORDER_SQL>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    this.sql = forDialect(WORK_ORDER_SQL, dialectOf(dataSource));
  }

  /**
   * Moves the orders `ids` by `action`, each only when the table allows it
   * from the state the order is in (and on `options.attempt`, when given),
   * recording `actor` and `reason` in its history; resolves with the ids
   * that moved, in the order given. One order from a single source state is
   * one group-committed conditional write that needs nothing read first;
   * otherwise the orders are read (and locked) first, since the history row
   * needs the state each one left.
   */
  async transition(ids: readonly number[], action: WorkOrderAction, actor: string, reason: string, options: TransitionOptions = {}): Promise<number[]> {
    const rule = ruleOf(action);
    const only = rule.from.length === 1 ? rule.from[0] : undefined;
    const [single] = ids;
    if (ids.length === 1 && single !== undefined && only !== undefined) return (await this.moveOne(single, only, action, actor, reason, options)) ? [single] : [];
    if (options.fence !== undefined) throw new ProvisorError('Internal', `a fenced move is one order from one state; ${action} of ${ids.length} order(s) from ${rule.from.join(', ')} is not`);
    if (ids.length === 0) return [];
    return transaction(this.dataSource, async (manager) => {
      const rows = (await manager.query(this.sql.lockOrders(ids.length), [...ids])) as Array<{ id: unknown; state: WorkOrderState; attempt: unknown; manual: unknown }>;
      const movable = rows
        .filter((r) => allows(action, r.state, Boolean(Number(r.manual))) && (options.attempt === undefined || Number(r.attempt) === options.attempt))
        .map((r): Leaving => ({ id: Number(r.id), state: r.state }));
      const moved = await this.apply(manager, movable, action, actor, reason, options);
      return ids.filter((id) => moved.includes(id));
    });
  }

  /**
   * The automation's claim: up to `limit` NEW orders not held, oldest
   * first, moved by `claim` for `owner` in one transaction. On MySQL the
   * orders another process is claiming are skipped (SKIP LOCKED), so
   * several processes share the queue.
   */
  async claim(limit: number, owner: string, actor: string, reason: string): Promise<number[]> {
    return transaction(
      this.dataSource,
      async (manager) => {
        const rows = (await manager.query(this.sql.claimable, [limit])) as Array<{ id: unknown }>;
        return this.apply(manager, rows.map((r): Leaving => ({ id: Number(r.id), state: 'NEW' })), 'claim', actor, reason, { leaseOwner: owner });
      },
      { readCommitted: true },
    );
  }

  /** The table's refusal for an order that did not move, from the state it is in now. */
  async refusal(workOrderId: number, action: WorkOrderAction): Promise<ProvisorError> {
    const rows = (await this.dataSource.query(this.sql.orderState, [workOrderId])) as Array<{ state: WorkOrderState; manual: unknown }>;
    const row = rows[0];
    if (row === undefined) return new ProvisorError('UnknownWorkOrder', `there is no work order ${workOrderId}`, 'workOrderId');
    return refusal(workOrderId, action, row.state, Boolean(Number(row.manual)));
  }

  /** One order from the action's one source state: the group-committed fast path. */
  private async moveOne(id: number, from: WorkOrderState, action: WorkOrderAction, actor: string, reason: string, options: TransitionOptions): Promise<boolean> {
    const rule = ruleOf(action);
    const now = toSqlDate(this.clock.date());
    const { move, params } = assignments(rule, reason, now, options);
    const fence = options.fence === undefined ? [] : [options.fence.owner, options.fence.owner, now];
    const statements: Write[] = [
      {
        sql: this.sql.moveOne(move, options.attempt !== undefined, rule.notHeld, options.fence !== undefined),
        params: [...params, id, from, ...(options.attempt === undefined ? [] : [options.attempt]), ...fence],
        table: 'work_order',
        expectChanged: 1,
      },
      eventStatement(id, from, rule.to, actor, reason, now),
    ];
    if (rule.to === 'CLOSED') statements.push({ sql: this.sql.bill, params: billParams(now, id), table: 'billable_event', expectChanged: 1 });
    try {
      await groupCommitter(this.dataSource).write(statements);
      return true;
    } catch (err) {
      if (!(err instanceof WriteConflict)) throw err;
      if (err.sql === this.sql.bill) throw unbillable(id);
      return false;
    }
  }

  /** Moves orders known (and locked) to be in the states given, inside `manager`'s transaction; the ids that moved. */
  private async apply(manager: EntityManager, orders: readonly Leaving[], action: WorkOrderAction, actor: string, reason: string, options: TransitionOptions): Promise<number[]> {
    if (orders.length === 0) return [];
    const rule = ruleOf(action);
    const now = toSqlDate(this.clock.date());
    const { move, params } = assignments(rule, reason, now, options);
    const ids = orders.map((o) => o.id);
    const changed = await execute(manager, this.sql.moveMany(move, ids.length, rule.from.length, rule.notHeld), [...params, ...ids, ...rule.from]);
    // The orders were read under lock in this transaction, so every one of them moves.
    if (changed !== ids.length) throw new ProvisorError('Internal', `work orders ${ids.join(', ')} changed under a lock: ${changed} of ${ids.length} moved`);
    await manager.query(
      this.sql.events(orders.length),
      orders.flatMap((o) => [o.id, now, o.state, rule.to, actor, reason.slice(0, 4000)]),
    );
    if (rule.to === 'CLOSED') {
      for (const id of ids) if ((await execute(manager, this.sql.bill, billParams(now, id))) !== 1) throw unbillable(id);
    }
    return ids;
  }
}

/** A move's shape (which SET clause) and that clause's parameters: the state, the time, and what its effect changes (see MoveShape). */
function assignments(rule: ActionRule, reason: string, now: string, options: TransitionOptions): { move: MoveShape; params: unknown[] } {
  const move: MoveShape = { effect: rule.effect, leased: rule.effect === 'run' && options.leaseOwner !== undefined, withPlan: rule.effect === 'end' && options.plan !== undefined };
  const params: unknown[] = [rule.to, now];
  switch (rule.effect) {
    case 'run':
      if (options.leaseOwner !== undefined) params.push(options.leaseOwner);
      break;
    case 'hold':
      break;
    case 'end':
      params.push(reason.slice(0, 4000), options.failedActivity === undefined ? null : options.failedActivity.slice(0, 500));
      if (options.plan !== undefined) params.push(options.plan.version, options.plan.digest);
      params.push(now);
      break;
  }
  return { move, params };
}

/** An order's history entry; entries of different orders are independent, so it commutes in a group commit. */
function eventStatement(workOrderId: number, from: WorkOrderState, to: WorkOrderState, actor: string, reason: string, at: string): RowWrite {
  return { row: WORK_ORDER_ROWS.event, values: [workOrderId, at, from, to, actor, reason.slice(0, 4000)], commutes: true };
}
