/**
 * An admin's actions on an order (process, retry, close, fail, hold), each
 * with a reason recorded with who did it. Whether the order's state allows
 * the action is the state table's answer ({@link WORK_ORDER_ACTIONS}).
 */
import type { Principal } from '../auth/principal';
import { ProvisorError } from '../errors';
import type { Logger } from '../log';
import type { AdminAction, WorkOrderView } from './api';
import type { WorkOrderOutcomes } from './outcomes';
import type { OrderToRun, WorkOrderQueries } from './queries';
import { adminMove, allows, refusal, ruleOf, type WorkOrderAction, type WorkOrderStates } from './states';

/** Starts and stops orders' plans: the automation, which owns plan starting and watching. */
export interface PlanRunner {
  /** Starts an order's plan (idempotently per attempt) and records its instance; a plan that cannot start fails the order. */
  startPlan(order: OrderToRun, actor: string): Promise<void>;
  /** Stops an order's running plan (closing or failing it by hand). */
  cancelPlan(processInstanceId: string): Promise<void>;
}

export class AdminActions {
  constructor(
    private readonly states: WorkOrderStates,
    private readonly queries: WorkOrderQueries,
    private readonly outcomes: WorkOrderOutcomes,
    /** Absent where no automation runs (a command-line tool): process and retry are then Unavailable. */
    private readonly plans: PlanRunner | undefined,
    private readonly log: Logger,
  ) {}

  /** Admins only. InvalidState, from the state table, when the order's state does not allow the action. */
  async act(caller: Principal, workOrderId: number, action: AdminAction, reason: string): Promise<WorkOrderView> {
    if (caller.role !== 'admin') throw new ProvisorError('Forbidden', `only an admin may ${action} a work order`);
    const why = reason.trim();
    if (why === '') throw new ProvisorError('MissingField', `a reason is required to ${action} a work order`, 'reason');
    if (why.length > 2000) throw new ProvisorError('InvalidField', 'the reason is longer than 2000 characters', 'reason');
    const order = await this.queries.view(workOrderId, false);
    if (order === undefined) throw new ProvisorError('UnknownWorkOrder', `there is no work order ${workOrderId}`, 'workOrderId');
    const move = adminMove(action);
    const rule = ruleOf(move);
    if (!allows(move, order.state, order.manual)) throw refusal(workOrderId, move, order.state, order.manual);
    const actor = caller.name;
    switch (action) {
      case 'hold':
        await this.require(await this.states.transition([workOrderId], action, actor, `held for manual processing: ${why}`), workOrderId, move);
        break;
      case 'process':
      case 'retry': {
        await this.require(await this.states.transition([workOrderId], action, actor, `${rule.done} by hand: ${why}`), workOrderId, move);
        const [run] = await this.queries.ordersToRun([workOrderId]);
        if (run === undefined) throw new ProvisorError('UnknownWorkOrder', `there is no work order ${workOrderId}`, 'workOrderId');
        if (this.plans === undefined) throw new ProvisorError('Unavailable', 'the work-order automation is not running in this process');
        await this.plans.startPlan(run, actor);
        break;
      }
      case 'close':
      case 'fail': {
        await this.require((await this.outcomes.end(workOrderId, action, actor, `${rule.done} by hand: ${why}`)) ? [workOrderId] : [], workOrderId, move);
        if (order.state === 'IN_PROGRESS' && order.processInstanceId !== null) {
          await this.plans?.cancelPlan(order.processInstanceId).catch((err: unknown) => this.log.warn('could not cancel the plan of a work order closed by hand', { workOrderId, err: String(err) }));
        }
        break;
      }
    }
    this.log.info('work order changed by hand', { workOrderId, action, actor });
    const view = await this.queries.view(workOrderId, true);
    if (view === undefined) throw new ProvisorError('UnknownWorkOrder', `there is no work order ${workOrderId}`, 'workOrderId');
    return view;
  }

  /** The order moved, or someone moved it first: the table's refusal from the state it is in now. */
  private async require(moved: readonly number[], workOrderId: number, move: WorkOrderAction): Promise<void> {
    if (!moved.includes(workOrderId)) throw await this.states.refusal(workOrderId, move);
  }
}
