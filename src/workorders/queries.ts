/**
 * Reading orders: one order with its history and billing, pages of orders
 * as a caller may see them, and the plan inputs of orders the automation
 * runs. A customer sees only its own account's orders.
 */
import type { DataSource } from 'typeorm';
import { WORK_ORDER_STATES, type IntakeChannel, type WorkOrderState } from '../../entities';
import type { Principal } from '../auth/principal';
import { fromSqlDate } from '../db/sql';
import { ProvisorError } from '../errors';
import type { HistoryEntry, ParameterInput, WorkOrderFilter, WorkOrderPage, WorkOrderView } from './api';
import { formatAmount } from './billing';
import { WORK_ORDER_SQL, type OrderFilterShape } from './sql';

/** What the automation needs to start an order's plan. */
export interface OrderToRun {
  readonly id: number;
  readonly attempt: number;
  readonly typeName: string;
  readonly accountName: string;
  readonly storagePool: string | null;
  readonly parameters: readonly ParameterInput[];
}

export class WorkOrderQueries {
  constructor(private readonly dataSource: DataSource) {}

  /** UnknownWorkOrder when it does not exist or belongs to another account. */
  async get(caller: Principal, workOrderId: number): Promise<WorkOrderView> {
    const view = await this.view(workOrderId, true);
    if (view === undefined || (caller.role !== 'admin' && view.accountId !== caller.accountId)) {
      throw new ProvisorError('UnknownWorkOrder', `there is no work order ${workOrderId} in your account`, 'workOrderId');
    }
    return view;
  }

  async list(caller: Principal, filter: WorkOrderFilter): Promise<WorkOrderPage> {
    const limit = filter.limit ?? 50;
    const offset = filter.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ProvisorError('InvalidField', `limit must be from 1 to 1000, got ${limit}`, 'limit');
    if (!Number.isInteger(offset) || offset < 0) throw new ProvisorError('InvalidField', `offset must be 0 or more, got ${offset}`, 'offset');
    if (filter.state !== undefined && !WORK_ORDER_STATES.includes(filter.state)) throw new ProvisorError('InvalidField', `unknown state "${String(filter.state)}"`, 'state');
    const params: unknown[] = [];
    if (caller.role !== 'admin') {
      if (caller.accountId === null) return { orders: [], total: 0, offset, limit };
      params.push(caller.accountId);
    } else if (filter.account !== undefined) params.push(filter.account);
    if (filter.state !== undefined) params.push(filter.state);
    const shape: OrderFilterShape = { accountId: caller.role !== 'admin', accountName: caller.role === 'admin' && filter.account !== undefined, state: filter.state !== undefined, manual: filter.manual };
    const [count] = (await this.dataSource.query(WORK_ORDER_SQL.countOrders(shape), params)) as Array<{ n: unknown }>;
    const rows = (await this.dataSource.query(WORK_ORDER_SQL.orderPage(shape), [...params, limit, offset])) as OrderRow[];
    const billing = await this.billingOf(rows.map((r) => Number(r.id)));
    return { orders: rows.map((r) => toView(r, [], billing.get(Number(r.id)) ?? null)), total: Number(count?.n ?? 0), offset, limit };
  }

  /** One order with its history and billing, whoever owns it. */
  async view(workOrderId: number, withHistory: boolean): Promise<WorkOrderView | undefined> {
    if (!Number.isSafeInteger(workOrderId) || workOrderId < 1) return undefined;
    const rows = (await this.dataSource.query(WORK_ORDER_SQL.orderView, [workOrderId])) as OrderRow[];
    const row = rows[0];
    if (row === undefined) return undefined;
    const history = withHistory
      ? ((await this.dataSource.query(WORK_ORDER_SQL.history, [workOrderId])) as Array<Record<string, unknown>>).map(
          (e): HistoryEntry => ({ at: fromSqlDate(e.at) ?? new Date(0), fromState: (e.fromState ?? null) as WorkOrderState | null, toState: e.toState as WorkOrderState, actor: String(e.actor), reason: (e.reason ?? null) as string | null }),
        )
      : [];
    const billing = await this.billingOf([workOrderId]);
    return toView(row, history, billing.get(workOrderId) ?? null);
  }

  /** The plan inputs of orders (IN_PROGRESS ones, as the automation claims them). */
  async ordersToRun(ids: readonly number[]): Promise<OrderToRun[]> {
    if (ids.length === 0) return [];
    const rows = (await this.dataSource.query(WORK_ORDER_SQL.ordersToRun(ids.length), [...ids])) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      id: Number(r.id),
      attempt: Number(r.attempt),
      typeName: String(r.typeName),
      accountName: String(r.accountName),
      storagePool: (r.storagePool ?? null) as string | null,
      parameters: Object.entries(JSON.parse(String(r.parameters)) as Record<string, string>).map(([name, value]) => ({ name, value })),
    }));
  }

  /** The e-mail address of an order's customer, when one is registered. */
  async customerEmail(customerId: number): Promise<string | null> {
    const rows = (await this.dataSource.query(WORK_ORDER_SQL.customerEmail, [customerId])) as Array<{ email: string | null }>;
    return rows[0]?.email ?? null;
  }

  private async billingOf(ids: readonly number[]): Promise<Map<number, WorkOrderView['billing']>> {
    if (ids.length === 0) return new Map();
    const rows = (await this.dataSource.query(WORK_ORDER_SQL.billingOf(ids.length), [...ids])) as Array<Record<string, unknown>>;
    return new Map(rows.map((r) => [Number(r.workOrderId), { amount: formatAmount(Number(r.amountMinor)), currency: String(r.currency), at: fromSqlDate(r.createdAt) ?? new Date(0) }]));
  }
}

interface OrderRow {
  id: unknown;
  typeName: string;
  customerId: unknown;
  accountId: unknown;
  parameters: string;
  state: WorkOrderState;
  channel: IntakeChannel;
  manual: unknown;
  attempt: unknown;
  processInstanceId: string | null;
  outcome: string | null;
  failedActivity: string | null;
  createdAt: unknown;
  updatedAt: unknown;
  closedAt: unknown;
  customerName: string;
  accountName: string;
}

function toView(r: OrderRow, history: HistoryEntry[], billing: WorkOrderView['billing']): WorkOrderView {
  return {
    workOrderId: Number(r.id),
    type: r.typeName,
    state: r.state,
    customerId: Number(r.customerId),
    customer: r.customerName,
    accountId: Number(r.accountId),
    account: r.accountName,
    channel: r.channel,
    manual: Boolean(Number(r.manual)),
    parameters: Object.entries(JSON.parse(r.parameters) as Record<string, string>).map(([name, value]) => ({ name, value })),
    attempt: Number(r.attempt),
    processInstanceId: r.processInstanceId ?? null,
    outcome: r.outcome ?? null,
    failedActivity: r.failedActivity ?? null,
    createdAt: fromSqlDate(r.createdAt) ?? new Date(0),
    updatedAt: fromSqlDate(r.updatedAt) ?? new Date(0),
    closedAt: fromSqlDate(r.closedAt),
    history,
    billing,
  };
}
