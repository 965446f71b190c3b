/**
 * The work-order service: the rules behind every channel, as one facade
 * over the parts that each do one job:
 * - `types`: the catalog's types, cached, and what a caller's level allows;
 * - `submit`: a checked order becomes a NEW row;
 * - `queries`: orders as a caller may see them;
 * - `states`: the state table and its one guarded `transition`;
 * - `admin-actions`: an admin's process, retry, close, fail and hold;
 * - `outcomes`: an order's end and the listeners told of it;
 * - `billing`: the billable event and its CSV export.
 * A customer sees the types its level allows and only its own account's
 * orders; every state change is one transaction that also writes the
 * order's history and, on closing, its billable event (unique per order in
 * the database).
 */
import type { DataSource } from 'typeorm';
import type { Principal } from '../auth/principal';
import { plainReason } from './plain-reason';
import type { Clock } from '../clock';
import type { Logger } from '../log';
import { AdminActions, type PlanRunner } from './admin-actions';
import type { AdminAction, SubmitRequest, WorkOrderFilter, WorkOrderPage, WorkOrders, WorkOrderTypeView, WorkOrderView } from './api';
import { BillingExport } from './billing';
import { WorkOrderOutcomes, type OutcomeListener } from './outcomes';
import { WorkOrderQueries } from './queries';
import { WorkOrderStates } from './states';
import { Submissions } from './submit';
import { OrderTypes, type OrderType } from './types';

export { formatAmount } from './billing';
export type { PlanRunner } from './admin-actions';
export type { OrderToRun } from './queries';
export type { RanPlan } from './states';
export type { OrderType } from './types';

/** The parts the service and the automation share. */
export interface WorkOrderParts {
  readonly dataSource: DataSource;
  readonly clock: Clock;
  readonly log: Logger;
  readonly types: OrderTypes;
  readonly states: WorkOrderStates;
  readonly queries: WorkOrderQueries;
  readonly outcomes: WorkOrderOutcomes;
}

/** Builds the shared parts over one database. */
export function workOrderParts(dataSource: DataSource, clock: Clock, log: Logger): WorkOrderParts {
  const states = new WorkOrderStates(dataSource, clock);
  const queries = new WorkOrderQueries(dataSource);
  return { dataSource, clock, log, types: new OrderTypes(dataSource, clock), states, queries, outcomes: new WorkOrderOutcomes(states, queries, log) };
}

/** What the service calls out to; both absent where no automation runs (a command-line tool). */
export interface WorkOrderCollaborators {
  /** Starts and cancels plans (the automation): needed by process and retry. */
  readonly plans?: PlanRunner;
  /** Told after a new order commits, so an in-process automation picks it up at once. */
  readonly onSubmitted?: () => void;
}

export class WorkOrderService implements WorkOrders {
  private readonly submissions: Submissions;
  private readonly admin: AdminActions;
  private readonly billing: BillingExport;

  constructor(
    private readonly parts: WorkOrderParts,
    collaborators: WorkOrderCollaborators = {},
  ) {
    const { dataSource, clock, log, types, states, queries, outcomes } = parts;
    const onSubmitted = collaborators.onSubmitted;
    this.submissions = new Submissions(dataSource, types, clock, log, () => onSubmitted?.());
    this.admin = new AdminActions(states, queries, outcomes, collaborators.plans, log);
    this.billing = new BillingExport(dataSource);
  }

  /** Forgets the cached types (after a catalog load). */
  invalidateTypes(): void {
    this.parts.types.invalidate();
  }

  /** Every type, inactive ones included, by name. */
  allTypes(): Promise<Map<string, OrderType>> {
    return this.parts.types.all();
  }

  listTypes(caller: Principal): Promise<WorkOrderTypeView[]> {
    return this.parts.types.list(caller);
  }

  getType(caller: Principal, name: string): Promise<WorkOrderTypeView> {
    return this.parts.types.get(caller, name);
  }

  submit(caller: Principal, request: SubmitRequest): Promise<{ workOrderId: number }> {
    return this.submissions.submit(caller, request);
  }

  async get(caller: Principal, workOrderId: number): Promise<WorkOrderView> {
    return forViewer(caller, await this.parts.queries.get(caller, workOrderId));
  }

  async list(caller: Principal, filter: WorkOrderFilter): Promise<WorkOrderPage> {
    const page = await this.parts.queries.list(caller, filter);
    return caller.role === 'customer' ? { ...page, orders: page.orders.map((o) => forViewer(caller, o)) } : page;
  }

  /** One order with its history and billing, whoever owns it. */
  view(workOrderId: number, withHistory: boolean): Promise<WorkOrderView | undefined> {
    return this.parts.queries.view(workOrderId, withHistory);
  }

  act(caller: Principal, workOrderId: number, action: AdminAction, reason: string): Promise<WorkOrderView> {
    return this.admin.act(caller, workOrderId, action, reason);
  }

  exportBilling(caller: Principal, from: Date, to: Date): Promise<string> {
    return this.billing.exportBilling(caller, from, to);
  }

  /** Billable events created in [from, to), oldest first, as CSV (RFC 4180) with a header line. */
  billingCsv(from: Date, to: Date): Promise<string> {
    return this.billing.billingCsv(from, to);
  }

  onOutcome(listener: OutcomeListener): void {
    this.parts.outcomes.onOutcome(listener);
  }
}

/**
 * A customer sees why an order failed in plain words; the failed activity's
 * path, the fault's name and the request id are for admins.
 */
export function forViewer(caller: Pick<Principal, 'role'>, order: WorkOrderView): WorkOrderView {
  if (caller.role !== 'customer') return order;
  return {
    ...order,
    outcome: order.outcome === null || order.state !== 'FAILED' ? order.outcome : plainReason(order.outcome),
    failedActivity: null,
    processInstanceId: null,
    history: order.history.map((h) => (h.toState === 'FAILED' && h.reason !== null ? { ...h, reason: plainReason(h.reason) } : h)),
  };
}
