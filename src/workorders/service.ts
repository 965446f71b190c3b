/**
 * The work-order service: the rules behind every channel. A customer sees
 * the types its level allows and only its own account's orders; every
 * state change is one transaction that also writes the order's history
 * and, on closing, its billable event (unique per order in the database).
 */
import type { DataSource, EntityManager } from 'typeorm';
import { INTAKE_CHANNELS, WORK_ORDER_STATES, WorkOrderType, type IntakeChannel, type WorkOrderState } from '../../entities';
import type { Principal } from '../auth/principal';
import type { Clock } from '../clock';
import { groupCommitter, WriteConflict, type Statement } from '../db/group-commit';
import { execute, fromSqlDate, isMysqlSource, isUniqueViolation, toSqlDate, transaction } from '../db/sql';
import { ProvisorError } from '../errors';
import type { Logger } from '../log';
import {
  InvalidParametersError,
  type AdminAction,
  type HistoryEntry,
  type OrderOutcome,
  type ParameterDefinition,
  type ParameterInput,
  type SubmitRequest,
  type WorkOrderFilter,
  type WorkOrderPage,
  type WorkOrders,
  type WorkOrderTypeView,
  type WorkOrderView,
} from './api';
import { checkParameters } from './parameters';

/** A type as the service uses it. */
export interface OrderType extends WorkOrderTypeView {
  readonly id: number;
  readonly priceMinor: number;
  readonly planName: string;
  readonly active: boolean;
}

/** What the automation needs to start an order's plan. */
export interface OrderToRun {
  readonly id: number;
  readonly attempt: number;
  readonly typeName: string;
  readonly accountName: string;
  readonly storagePool: string | null;
  readonly parameters: readonly ParameterInput[];
}

/** The plan version an order's run executed (recorded when it ends). */
export interface RanPlan {
  readonly version: number;
  /** Null for a version deployed before digests were recorded. */
  readonly digest: string | null;
}

/** Starts an order's plan (the automation); resolves with the process instance id. */
export type PlanStarter = (order: OrderToRun, actor: string) => Promise<void>;
/** Stops an order's running plan (closing or failing it by hand). */
export type PlanCanceller = (processInstanceId: string) => Promise<void>;

const TYPE_CACHE_MS = 2000;
const ORDER_COLUMNS =
  'wo.id, wo.typeName, wo.customerId, wo.accountId, wo.parameters, wo.state, wo.channel, wo.manual, wo.attempt, wo.processInstanceId, wo.outcome, wo.failedActivity, wo.createdAt, wo.updatedAt, wo.closedAt, u.name AS customerName, a.name AS accountName';
const ORDER_FROM = 'work_order wo JOIN app_user u ON u.id = wo.customerId JOIN account a ON a.id = wo.accountId';

export function formatAmount(minor: number): string {
  const sign = minor < 0 ? '-' : '';
  const abs = Math.abs(minor);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

function isAdmin(caller: Principal): boolean {
  return caller.role === 'admin';
}

export class WorkOrderService implements WorkOrders {
  private types: { at: number; byName: Map<string, OrderType> } | undefined;
  private readonly listeners: Array<(outcome: OrderOutcome) => void | Promise<void>> = [];
  private readonly mysql: boolean;
  /** Wired by the automation (it owns plan starting and watching). */
  starter: PlanStarter | undefined;
  canceller: PlanCanceller | undefined;
  /** Called after a submission commits, so an in-process automation picks it up at once. */
  onSubmitted: (() => void) | undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.mysql = isMysqlSource(dataSource);
  }

  // ---- types

  /** Forgets the cached types (after a catalog load). */
  invalidateTypes(): void {
    this.types = undefined;
  }

  async allTypes(): Promise<Map<string, OrderType>> {
    const now = Date.now();
    if (this.types !== undefined && now - this.types.at < TYPE_CACHE_MS) return this.types.byName;
    const rows = await this.dataSource.getRepository(WorkOrderType).find({ order: { minLevel: 'ASC', name: 'ASC' } });
    const byName = new Map(
      rows.map((t): [string, OrderType] => [
        t.name,
        {
          id: t.id,
          name: t.name,
          title: t.title,
          description: t.description,
          minLevel: t.minLevel,
          price: formatAmount(t.priceMinor),
          priceMinor: t.priceMinor,
          currency: t.currency,
          manual: t.manual,
          planName: t.planName,
          active: t.active,
          parameters: JSON.parse(t.parameters) as ParameterDefinition[],
        },
      ]),
    );
    this.types = { at: now, byName };
    return byName;
  }

  async listTypes(caller: Principal): Promise<WorkOrderTypeView[]> {
    return [...(await this.allTypes()).values()].filter((t) => t.active && this.allows(caller, t)).map(publicType);
  }

  async getType(caller: Principal, name: string): Promise<WorkOrderTypeView> {
    return publicType(await this.orderableType(caller, name));
  }

  private allows(caller: Principal, type: OrderType): boolean {
    return isAdmin(caller) || caller.level >= type.minLevel;
  }

  /** The same answer for a type that does not exist and one above the caller's level: it does not learn which. */
  private async orderableType(caller: Principal, name: string): Promise<OrderType> {
    const type = (await this.allTypes()).get(name);
    if (type === undefined || !type.active || !this.allows(caller, type)) {
      throw new ProvisorError('UnknownWorkOrderType', `there is no work-order type "${name}" you can order`, 'type');
    }
    return type;
  }

  // ---- submission

  async submit(caller: Principal, request: SubmitRequest): Promise<{ workOrderId: number }> {
    if (caller.accountId === null) throw new ProvisorError('Forbidden', `user "${caller.name}" belongs to no account, so it cannot order work`);
    if (!INTAKE_CHANNELS.includes(request.channel)) throw new ProvisorError('InvalidField', `unknown channel "${String(request.channel)}"`);
    const type = await this.orderableType(caller, request.type);
    const checked = checkParameters(type.parameters, request.parameters);
    if (!checked.ok) throw new InvalidParametersError(checked.problems);
    const parameters = JSON.stringify(Object.fromEntries(checked.values.map((v) => [v.name, v.value])));
    const now = toSqlDate(this.clock.date());
    const key = request.idempotencyKey === undefined || request.idempotencyKey === '' ? null : request.idempotencyKey.slice(0, 200);
    const accountId = caller.accountId;
    let id: number;
    try {
      // The row and its first history entry, group-committed: the entry takes
      // the id the insert just generated, on the same connection.
      const [inserted] = await groupCommitter(this.dataSource).write([
        [
          'INSERT INTO work_order (typeName, customerId, accountId, parameters, state, channel, manual, attempt, idempotencyKey, createdAt, updatedAt) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)',
          [type.name, caller.userId, accountId, parameters, 'NEW', request.channel, type.manual ? 1 : 0, key, now, now],
          { alone: true },
        ],
        [
          `INSERT INTO work_order_event (workOrderId, at, fromState, toState, actor, reason) VALUES (${this.mysql ? 'LAST_INSERT_ID()' : 'last_insert_rowid()'}, ?, NULL, 'NEW', ?, ?)`,
          [now, caller.name, `submitted by ${request.channel}${type.manual ? ' (manual processing)' : ''}`],
        ],
      ]);
      id = Number(inserted?.insertId);
      if (!Number.isInteger(id) || id <= 0) throw new ProvisorError('Internal', 'the new work order was given no id');
    } catch (err) {
      if (key === null || !isUniqueViolation(err)) throw err;
      return { workOrderId: await this.replay(caller, key, type.name, parameters) };
    }
    this.log.info('work order submitted', { workOrderId: id, type: type.name, customer: caller.name, channel: request.channel });
    this.onSubmitted?.();
    return { workOrderId: id };
  }

  /** A retried submission: the first order, when it asked for the same thing. */
  private async replay(caller: Principal, key: string, typeName: string, parameters: string): Promise<number> {
    const rows = (await this.dataSource.query('SELECT id, typeName, parameters FROM work_order WHERE customerId = ? AND idempotencyKey = ?', [caller.userId, key])) as Array<{ id: number; typeName: string; parameters: string }>;
    const first = rows[0];
    if (first === undefined) throw new ProvisorError('Internal', 'an idempotent submission collided with an order that cannot be found');
    if (first.typeName !== typeName || first.parameters !== parameters) {
      throw new ProvisorError('IdempotencyConflict', `idempotency key "${key}" was used for work order ${first.id}, which asked for something else`, 'idempotencyKey');
    }
    return Number(first.id);
  }

  // ---- reading

  async get(caller: Principal, workOrderId: number): Promise<WorkOrderView> {
    const view = await this.view(workOrderId, true);
    if (view === undefined || (!isAdmin(caller) && view.accountId !== caller.accountId)) {
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
    const where: string[] = [];
    const params: unknown[] = [];
    if (!isAdmin(caller)) {
      if (caller.accountId === null) return { orders: [], total: 0, offset, limit };
      where.push('wo.accountId = ?');
      params.push(caller.accountId);
    } else if (filter.account !== undefined) {
      where.push('a.name = ?');
      params.push(filter.account);
    }
    if (filter.state !== undefined) {
      where.push('wo.state = ?');
      params.push(filter.state);
    }
    if (filter.manual !== undefined) where.push(`wo.manual = ${filter.manual ? 1 : 0}`);
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const [count] = (await this.dataSource.query(`SELECT COUNT(*) AS n FROM ${ORDER_FROM} ${clause}`, params)) as Array<{ n: unknown }>;
    const rows = (await this.dataSource.query(`SELECT ${ORDER_COLUMNS} FROM ${ORDER_FROM} ${clause} ORDER BY wo.id DESC LIMIT ? OFFSET ?`, [...params, limit, offset])) as OrderRow[];
    const billing = await this.billingOf(rows.map((r) => Number(r.id)));
    return { orders: rows.map((r) => toView(r, [], billing.get(Number(r.id)) ?? null)), total: Number(count?.n ?? 0), offset, limit };
  }

  /** One order with its history and billing, whoever owns it. */
  async view(workOrderId: number, withHistory: boolean): Promise<WorkOrderView | undefined> {
    if (!Number.isSafeInteger(workOrderId) || workOrderId < 1) return undefined;
    const rows = (await this.dataSource.query(`SELECT ${ORDER_COLUMNS} FROM ${ORDER_FROM} WHERE wo.id = ?`, [workOrderId])) as OrderRow[];
    const row = rows[0];
    if (row === undefined) return undefined;
    const history = withHistory
      ? ((await this.dataSource.query('SELECT at, fromState, toState, actor, reason FROM work_order_event WHERE workOrderId = ? ORDER BY id', [workOrderId])) as Array<Record<string, unknown>>).map(
          (e): HistoryEntry => ({ at: fromSqlDate(e.at) ?? new Date(0), fromState: (e.fromState ?? null) as WorkOrderState | null, toState: e.toState as WorkOrderState, actor: String(e.actor), reason: (e.reason ?? null) as string | null }),
        )
      : [];
    const billing = await this.billingOf([workOrderId]);
    return toView(row, history, billing.get(workOrderId) ?? null);
  }

  private async billingOf(ids: readonly number[]): Promise<Map<number, WorkOrderView['billing']>> {
    if (ids.length === 0) return new Map();
    const rows = (await this.dataSource.query(`SELECT workOrderId, amountMinor, currency, createdAt FROM billable_event WHERE workOrderId IN (${ids.map(() => '?').join(', ')})`, [...ids])) as Array<Record<string, unknown>>;
    return new Map(rows.map((r) => [Number(r.workOrderId), { amount: formatAmount(Number(r.amountMinor)), currency: String(r.currency), at: fromSqlDate(r.createdAt) ?? new Date(0) }]));
  }

  // ---- admin actions

  async act(caller: Principal, workOrderId: number, action: AdminAction, reason: string): Promise<WorkOrderView> {
    if (!isAdmin(caller)) throw new ProvisorError('Forbidden', `only an admin may ${action} a work order`);
    const why = reason.trim();
    if (why === '') throw new ProvisorError('MissingField', `a reason is required to ${action} a work order`, 'reason');
    if (why.length > 2000) throw new ProvisorError('InvalidField', 'the reason is longer than 2000 characters', 'reason');
    const order = await this.view(workOrderId, false);
    if (order === undefined) throw new ProvisorError('UnknownWorkOrder', `there is no work order ${workOrderId}`, 'workOrderId');
    const actor = caller.name;
    const refuse = (): never => {
      throw new ProvisorError('InvalidState', `work order ${workOrderId} is ${order.state}${order.manual && order.state === 'NEW' ? ' (held for manual processing)' : ''}: it cannot be ${pastTense(action)}`, 'workOrderId');
    };
    switch (action) {
      case 'hold':
        if (order.state !== 'NEW') refuse();
        if (!(await this.changeState(workOrderId, ['NEW'], 'NEW', actor, `held for manual processing: ${why}`, { manual: true }))) refuse();
        break;
      case 'process':
      case 'retry': {
        if (action === 'process' ? order.state !== 'NEW' : order.state !== 'FAILED') refuse();
        const run = await this.startRun(workOrderId, action === 'process' ? ['NEW'] : ['FAILED'], actor, `${action === 'process' ? 'processed' : 'retried'} by hand: ${why}`);
        if (run === undefined) refuse();
        else await this.requireStarter()(run, actor);
        break;
      }
      case 'close':
      case 'fail': {
        if (order.state === 'CLOSED' || (action === 'fail' && order.state === 'FAILED')) refuse();
        const from: WorkOrderState[] = action === 'close' ? ['NEW', 'IN_PROGRESS', 'FAILED'] : ['NEW', 'IN_PROGRESS'];
        const done = await this.finish(workOrderId, from, action === 'close' ? 'CLOSED' : 'FAILED', actor, `${pastTense(action)} by hand: ${why}`, {});
        if (!done) refuse();
        if (order.state === 'IN_PROGRESS' && order.processInstanceId !== null) await this.canceller?.(order.processInstanceId).catch((err: unknown) => this.log.warn('could not cancel the plan of a work order closed by hand', { workOrderId, err: String(err) }));
        break;
      }
    }
    this.log.info('work order changed by hand', { workOrderId, action, actor });
    const view = await this.view(workOrderId, true);
    if (view === undefined) throw new ProvisorError('UnknownWorkOrder', `there is no work order ${workOrderId}`, 'workOrderId');
    return view;
  }

  private requireStarter(): PlanStarter {
    if (this.starter === undefined) throw new ProvisorError('Unavailable', 'the work-order automation is not running in this process');
    return this.starter;
  }

  /**
   * Moves one order from one of `from` to IN_PROGRESS with a new attempt,
   * recording who and why; returns what its plan needs, or undefined when
   * the order was not in one of those states.
   */
  async startRun(workOrderId: number, from: readonly WorkOrderState[], actor: string, reason: string): Promise<OrderToRun | undefined> {
    const moved = await this.changeState(workOrderId, from, 'IN_PROGRESS', actor, reason, { newAttempt: true });
    if (!moved) return undefined;
    return (await this.ordersToRun([workOrderId]))[0];
  }

  /** The plan inputs of orders (IN_PROGRESS ones, as the automation claims them). */
  async ordersToRun(ids: readonly number[]): Promise<OrderToRun[]> {
    if (ids.length === 0) return [];
    const rows = (await this.dataSource.query(
      `SELECT wo.id, wo.attempt, wo.typeName, wo.parameters, a.name AS accountName, a.storagePool FROM work_order wo JOIN account a ON a.id = wo.accountId WHERE wo.id IN (${ids.map(() => '?').join(', ')}) ORDER BY wo.id`,
      [...ids],
    )) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      id: Number(r.id),
      attempt: Number(r.attempt),
      typeName: String(r.typeName),
      accountName: String(r.accountName),
      storagePool: (r.storagePool ?? null) as string | null,
      parameters: Object.entries(JSON.parse(String(r.parameters)) as Record<string, string>).map(([name, value]) => ({ name, value })),
    }));
  }

  /** Ends an order (CLOSED bills it); false when it was no longer in one of `from` (or on another attempt). */
  async finish(workOrderId: number, from: readonly WorkOrderState[], to: 'CLOSED' | 'FAILED', actor: string, outcome: string, opts: { attempt?: number; failedActivity?: string; plan?: RanPlan }): Promise<boolean> {
    const done = await this.changeState(workOrderId, from, to, actor, outcome, { outcome, failedActivity: opts.failedActivity ?? null, attempt: opts.attempt, bill: to === 'CLOSED', closed: true, plan: opts.plan });
    if (done) {
      this.log.info(`work order ${to === 'CLOSED' ? 'closed' : 'failed'}`, { workOrderId, actor, outcome });
      void this.announce(workOrderId);
    }
    return done;
  }

  private async announce(workOrderId: number): Promise<void> {
    if (this.listeners.length === 0) return;
    try {
      const order = await this.view(workOrderId, true);
      if (order === undefined) return;
      const rows = (await this.dataSource.query('SELECT email FROM app_user WHERE id = ?', [order.customerId])) as Array<{ email: string | null }>;
      const outcome: OrderOutcome = { order, email: rows[0]?.email ?? null };
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

  /**
   * One state change in one transaction: the conditional update (the row
   * must still be in one of `from`, and on `attempt` when given), its history
   * entry and, when billing, its billable event. From a single state the
   * change needs nothing read first: it is one group-committed write, shared
   * with whatever else commits at that moment.
   */
  private async changeState(
    workOrderId: number,
    from: readonly WorkOrderState[],
    to: WorkOrderState,
    actor: string,
    reason: string,
    change: { newAttempt?: boolean; manual?: boolean; outcome?: string; failedActivity?: string | null; attempt?: number; bill?: boolean; closed?: boolean; plan?: RanPlan },
  ): Promise<boolean> {
    const now = toSqlDate(this.clock.date());
    const sets = ['state = ?', 'updatedAt = ?'];
    const params: unknown[] = [to, now];
    if (change.newAttempt === true) sets.push('attempt = attempt + 1', 'processInstanceId = NULL', 'outcome = NULL', 'failedActivity = NULL', 'manual = 0', 'leaseOwner = NULL', 'planVersion = NULL', 'planDigest = NULL');
    if (change.manual !== undefined) sets.push(`manual = ${change.manual ? 1 : 0}`);
    if (change.outcome !== undefined) {
      sets.push('outcome = ?');
      params.push(change.outcome.slice(0, 4000));
    }
    if (change.failedActivity !== undefined) {
      sets.push('failedActivity = ?');
      params.push(change.failedActivity === null ? null : change.failedActivity.slice(0, 500));
    }
    if (change.plan !== undefined) {
      sets.push('planVersion = ?', 'planDigest = ?');
      params.push(change.plan.version, change.plan.digest);
    }
    if (change.closed === true) {
      sets.push('closedAt = ?');
      params.push(now);
    }
    const only = from.length === 1 ? from[0] : undefined;
    if (only !== undefined) {
      const attempt = change.attempt === undefined ? '' : ' AND attempt = ?';
      const statements: Statement[] = [
        [`UPDATE work_order SET ${sets.join(', ')} WHERE id = ? AND state = ?${attempt}`, [...params, workOrderId, only, ...(change.attempt === undefined ? [] : [change.attempt])], { expectChanged: 1 }],
        eventStatement(workOrderId, only, to, actor, reason, now),
      ];
      if (change.bill === true) statements.push([BILL, [now, workOrderId], { expectChanged: 1 }]);
      try {
        await groupCommitter(this.dataSource).write(statements);
        return true;
      } catch (err) {
        if (!(err instanceof WriteConflict)) throw err;
        if (err.sql === BILL) throw unbillable(workOrderId);
        return false;
      }
    }
    return transaction(this.dataSource, async (manager) => {
      const rows = (await manager.query(`SELECT state, attempt FROM work_order WHERE id = ?${this.mysql ? ' FOR UPDATE' : ''}`, [workOrderId])) as Array<{ state: WorkOrderState; attempt: number }>;
      const row = rows[0];
      if (row === undefined || !from.includes(row.state) || (change.attempt !== undefined && Number(row.attempt) !== change.attempt)) return false;
      await execute(manager, `UPDATE work_order SET ${sets.join(', ')} WHERE id = ?`, [...params, workOrderId]);
      await this.insertEvent(manager, workOrderId, row.state, to, actor, reason, now);
      if (change.bill === true) {
        const billed = await execute(manager, BILL, [now, workOrderId]);
        if (billed !== 1) throw unbillable(workOrderId);
      }
      return true;
    });
  }

  private async insertEvent(manager: EntityManager, workOrderId: number, from: WorkOrderState | null, to: WorkOrderState, actor: string, reason: string, at: string): Promise<void> {
    const [sql, params] = eventStatement(workOrderId, from, to, actor, reason, at);
    await manager.query(sql, params as unknown[]);
  }

  // ---- billing export

  async exportBilling(caller: Principal, from: Date, to: Date): Promise<string> {
    if (!isAdmin(caller)) throw new ProvisorError('Forbidden', 'only an admin may export billable events');
    return this.billingCsv(from, to);
  }

  /** Billable events created in [from, to), oldest first, as CSV (RFC 4180) with a header line. */
  async billingCsv(from: Date, to: Date): Promise<string> {
    if (!(from.getTime() < to.getTime())) throw new ProvisorError('InvalidField', `the period is empty: from ${from.toISOString()} is not before to ${to.toISOString()}`, 'to');
    const rows = (await this.dataSource.query(
      'SELECT id, workOrderId, createdAt, customerId, customerName, accountId, accountName, typeName, amountMinor, currency FROM billable_event WHERE createdAt >= ? AND createdAt < ? ORDER BY createdAt, id',
      [toSqlDate(from), toSqlDate(to)],
    )) as Array<Record<string, unknown>>;
    const lines = [['eventId', 'workOrderId', 'time', 'customerId', 'customer', 'accountId', 'account', 'type', 'amount', 'currency']];
    for (const r of rows) {
      lines.push([
        String(r.id),
        String(r.workOrderId),
        (fromSqlDate(r.createdAt) ?? new Date(0)).toISOString(),
        String(r.customerId),
        String(r.customerName),
        String(r.accountId),
        String(r.accountName),
        String(r.typeName),
        formatAmount(Number(r.amountMinor)),
        String(r.currency),
      ]);
    }
    return lines.map((l) => l.map(csvField).join(',')).join('\r\n') + '\r\n';
  }

  onOutcome(listener: (outcome: OrderOutcome) => void | Promise<void>): void {
    this.listeners.push(listener);
  }

}

function csvField(value: string): string {
  // A leading =, +, - or @ would be a formula in a spreadsheet.
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-?\d+(\.\d+)?$/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function pastTense(action: AdminAction): string {
  return { process: 'processed', retry: 'retried', close: 'closed', fail: 'failed', hold: 'held' }[action];
}

function publicType(t: OrderType): WorkOrderTypeView {
  return { name: t.name, title: t.title, description: t.description, minLevel: t.minLevel, price: t.price, currency: t.currency, manual: t.manual, parameters: t.parameters };
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

/** An order's billable event, from the order, its customer, account and type (one row, or none when the type is gone). */
const BILL =
  'INSERT INTO billable_event (workOrderId, customerId, customerName, accountId, accountName, typeName, amountMinor, currency, createdAt) ' +
  'SELECT wo.id, wo.customerId, u.name, wo.accountId, a.name, wo.typeName, t.priceMinor, t.currency, ? FROM work_order wo JOIN app_user u ON u.id = wo.customerId JOIN account a ON a.id = wo.accountId JOIN work_order_type t ON t.name = wo.typeName WHERE wo.id = ?';

function unbillable(workOrderId: number): ProvisorError {
  return new ProvisorError('Internal', `work order ${workOrderId} could not be billed: its type is missing`);
}

/** An order's history entry; entries of different orders are independent, so it commutes in a group commit. */
function eventStatement(workOrderId: number, from: WorkOrderState | null, to: WorkOrderState, actor: string, reason: string, at: string): Statement {
  return ['INSERT INTO work_order_event (workOrderId, at, fromState, toState, actor, reason) VALUES (?, ?, ?, ?, ?, ?)', [workOrderId, at, from, to, actor, reason.slice(0, 4000)], { commutes: true }];
}
