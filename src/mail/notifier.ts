/**
 * Tells customers by e-mail when their work order ends: CLOSED (with the
 * amount billed) or FAILED (with the reason and the failing activity).
 */
import type { Logger } from '../log';
import type { OrderOutcome, WorkOrders } from '../workorders/api';
import type { Mailer } from './mailer';
import { outcomeNotification } from './messages';

export class MailNotifier {
  constructor(
    private readonly mailer: Pick<Mailer, 'send'>,
    private readonly log: Logger,
  ) {}

  /** Listens to every order that ends from now on. */
  subscribe(workOrders: Pick<WorkOrders, 'onOutcome'>): this {
    workOrders.onOutcome((outcome) => this.notify(outcome));
    return this;
  }

  /** Queues the mail and returns at once (the mailer sends it in the background). */
  notify(outcome: OrderOutcome): void {
    const { order } = outcome;
    if (order.state !== 'CLOSED' && order.state !== 'FAILED') return;
    if (outcome.email === null) {
      this.log.info('notification skipped: the customer has no e-mail address', { workOrderId: order.workOrderId, customer: order.customer, state: order.state });
      return;
    }
    this.mailer.send({ to: outcome.email, ...outcomeNotification(outcome), kind: 'notification', workOrderId: order.workOrderId });
  }
}
