/**
 * An order's end: the move into CLOSED or FAILED (by the automation or an
 * admin) and, once it has committed, the outcome announced to the
 * listeners registered here (the e-mail notifier). A listener's failure is
 * logged, never thrown.
 */
import type { Logger } from '../log';
import type { OrderOutcome } from './api';
import type { WorkOrderQueries } from './queries';
import { ruleOf, type TransitionOptions, type WorkOrderStates } from './states';

/** The moves that end an order. */
export type EndingAction = 'close' | 'fail' | 'finish' | 'fault';

export type OutcomeListener = (outcome: OrderOutcome) => void | Promise<void>;

export class WorkOrderOutcomes {
  private readonly listeners: OutcomeListener[] = [];

  constructor(
    private readonly states: WorkOrderStates,
    private readonly queries: WorkOrderQueries,
    private readonly log: Logger,
  ) {}

  /** Registers a listener, called after each order is CLOSED or FAILED. */
  onOutcome(listener: OutcomeListener): void {
    this.listeners.push(listener);
  }

  /**
   * Ends an order by `action`, `outcome` being the reason recorded; false
   * when the table does not allow it from the order's state (or the order
   * is on another attempt than `options.attempt`).
   */
  async end(workOrderId: number, action: EndingAction, actor: string, outcome: string, options: TransitionOptions = {}): Promise<boolean> {
    const moved = await this.states.transition([workOrderId], action, actor, outcome, options);
    if (moved.length === 0) return false;
    this.log.info(`work order ${ruleOf(action).to === 'CLOSED' ? 'closed' : 'failed'}`, { workOrderId, actor, outcome });
    void this.announce(workOrderId);
    return true;
  }

  private async announce(workOrderId: number): Promise<void> {
    if (this.listeners.length === 0) return;
    try {
      const order = await this.queries.view(workOrderId, true);
      if (order === undefined) return;
      const outcome: OrderOutcome = { order, email: await this.queries.customerEmail(order.customerId) };
      for (const listener of this.listeners) {
        try {
          await listener(outcome);
        } catch (err) {
          this.log.warn('a work-order outcome listener failed', { workOrderId, err: String(err) });
        }
      }
    } catch (err) {
      this.log.warn('could not announce a work-order outcome', { workOrderId, err: String(err) });
    }
  }
}
