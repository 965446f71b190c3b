import type { Role } from '../../entities';
import { WORK_ORDER_STATES } from '../../entities';
import { ProvisorError } from '../errors';
import type { AdminAction, HistoryEntry, ParameterDefinition, ParameterInput, WorkOrderPage, WorkOrders, WorkOrderTypeView, WorkOrderView } from '../workorders/api';
import type { FieldReader } from '../soap/fields';
import type { SoapOperation, SoapService } from '../soap/service';
import type { XmlObject } from '../xml/writer';
import { wsdlPath } from './provisioning-fields';

/** Who may list types, submit and follow orders; the API limits a customer to its own account. */
export const WORK_ORDER_ROLES: readonly Role[] = ['customer', 'admin'];
/** Who may act on orders by hand and export billing. */
export const WORK_ORDER_ADMIN_ROLES: readonly Role[] = ['admin'];

/** The admin operations and the API action each one performs. */
const ADMIN_OPERATIONS: Readonly<Record<string, AdminAction>> = {
  ProcessWorkOrder: 'process',
  RetryWorkOrder: 'retry',
  CloseWorkOrder: 'close',
  FailWorkOrder: 'fail',
  HoldWorkOrder: 'hold',
};

const INT_MAX = 2_147_483_647;
const TYPE_NAME = { maxLength: 100 } as const;
const PARAMETER_NAME = { maxLength: 200 } as const;
const PARAMETER_VALUE = { maxLength: 65_536 } as const;
const REASON = { maxLength: 2000 } as const;

function workOrderId(fields: FieldReader): number {
  const id = fields.optLong('workOrderId', { min: 1 });
  if (id === undefined) throw new ProvisorError('MissingField', 'workOrderId is required', 'workOrderId');
  return id;
}

function dateTime(fields: FieldReader, name: string): Date {
  const value = fields.optDateTime(name);
  if (value === undefined) throw new ProvisorError('MissingField', `${name} is required`, name);
  return value;
}

/** The repeated `parameter` elements as sent: name and value, order kept; the API judges them. */
function parameters(fields: FieldReader): ParameterInput[] {
  return fields.repeated('parameter').map((p) => {
    const name = p.string('name', PARAMETER_NAME);
    const value = p.optString('value', PARAMETER_VALUE) ?? '';
    p.done();
    return { name, value };
  });
}

/** A number in xsd:decimal's lexical form (String() would write 1e+21 or 1e-7). */
export function xsdDecimal(n: number | undefined): string | undefined {
  if (n === undefined) return undefined;
  if (!Number.isFinite(n)) throw new Error(`${n} has no xsd:decimal form`);
  const text = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (m === null) return text;
  const [, sign = '', lead = '', fraction = '', exponent = '0'] = m;
  const digits = lead + fraction;
  const e = Number(exponent);
  // |n| >= 1e21 has at most 17 significant digits, so the digits never outrun the exponent.
  return e >= 0 ? sign + digits.padEnd(e + 1, '0') : `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
}

function parameterDefinitionXml(p: ParameterDefinition): XmlObject {
  return {
    name: p.name,
    type: p.type,
    required: p.required,
    allowedValue: p.allowed,
    min: xsdDecimal(p.min),
    max: xsdDecimal(p.max),
    pattern: p.pattern,
    maxLength: p.maxLength,
    default: p.default,
    help: p.help,
    label: p.label,
  };
}

function typeXml(t: WorkOrderTypeView): XmlObject {
  return {
    name: t.name,
    title: t.title,
    description: t.description,
    minLevel: t.minLevel,
    price: t.price,
    currency: t.currency,
    manual: t.manual,
    parameter: t.parameters.map(parameterDefinitionXml),
  };
}

function historyXml(h: HistoryEntry): XmlObject {
  return { at: h.at, fromState: h.fromState, toState: h.toState, actor: h.actor, reason: h.reason };
}

/** A WorkOrder element, fields in schema order (null fields are left out). */
function orderXml(o: WorkOrderView): XmlObject {
  return {
    workOrderId: o.workOrderId,
    type: o.type,
    state: o.state,
    customer: o.customer,
    account: o.account,
    channel: o.channel,
    manual: o.manual,
    parameter: o.parameters.map((p) => ({ name: p.name, value: p.value })),
    attempt: o.attempt,
    processInstanceId: o.processInstanceId,
    outcome: o.outcome,
    failedActivity: o.failedActivity,
    createdAt: o.createdAt,
    updatedAt: o.updatedAt,
    closedAt: o.closedAt,
    history: o.history.map(historyXml),
    billing: o.billing === null ? undefined : { amount: o.billing.amount, currency: o.billing.currency, at: o.billing.at },
  };
}

function pageXml(page: WorkOrderPage): XmlObject {
  return { total: page.total, offset: page.offset, limit: page.limit, workOrder: page.orders.map(orderXml) };
}

/** The paging fields both list operations share, after their own. */
function paging(fields: FieldReader): { account?: string; offset?: number; limit?: number } {
  const account = fields.optString('account', { minLength: 1, maxLength: 200 });
  const offset = fields.optLong('offset', { min: 0, max: INT_MAX });
  const limit = fields.optLong('limit', { min: 1, max: 1000 });
  return { account, offset, limit };
}

/** Records in a CSV text (RFC 4180: quoted fields may hold line breaks), blank lines not counted. */
export function csvRecordCount(csv: string): number {
  let records = 0;
  let quoted = false;
  let empty = true;
  for (const ch of csv) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === '\n' || ch === '\r')) {
      if (!empty) records++;
      empty = true;
    } else {
      empty = false;
    }
  }
  return empty ? records : records + 1;
}

/**
 * The WorkOrderService: customers list the types their level allows, submit
 * orders and follow their own; admins act on orders by hand and export
 * billing. The API enforces who sees what; this layer only reads fields and
 * writes views.
 */
export function workOrderService(api: WorkOrders, root: string): SoapService {
  const op = (roles: readonly Role[], handle: SoapOperation['handle']): SoapOperation => ({ roles, handle });
  const adminOperation = (action: AdminAction): SoapOperation =>
    op(WORK_ORDER_ADMIN_ROLES, async (fields, ctx) => {
      const id = workOrderId(fields);
      const reason = fields.string('reason', REASON);
      fields.done();
      if (reason.trim() === '') throw new ProvisorError('MissingField', 'reason must not be blank', 'reason');
      const order = await api.act(ctx.principal, id, action, reason);
      ctx.log.info(`work order ${action}`, { workOrderId: id, state: order.state });
      return { workOrder: orderXml(order) };
    });

  const operations: Record<string, SoapOperation> = {
    ListWorkOrderTypes: op(WORK_ORDER_ROLES, async (fields, ctx) => {
      fields.done();
      const types = await api.listTypes(ctx.principal);
      return { workOrderType: types.map(typeXml) };
    }),
    SubmitWorkOrder: op(WORK_ORDER_ROLES, async (fields, ctx) => {
      const type = fields.string('type', TYPE_NAME);
      const submitted = parameters(fields);
      // Like the provisioning services: an explicit key wins, else the WS-Addressing MessageID.
      const idempotencyKey = fields.optString('idempotencyKey', { minLength: 1, maxLength: 200 }) ?? ctx.messageId?.slice(0, 200);
      fields.done();
      const { workOrderId: id } = await api.submit(ctx.principal, { type, parameters: submitted, channel: 'soap', idempotencyKey });
      ctx.log.info('work order submitted', { workOrderId: id, type });
      return { workOrderId: id };
    }),
    GetWorkOrder: op(WORK_ORDER_ROLES, async (fields, ctx) => {
      const id = workOrderId(fields);
      fields.done();
      return { workOrder: orderXml(await api.get(ctx.principal, id)) };
    }),
    ListWorkOrders: op(WORK_ORDER_ROLES, async (fields, ctx) => {
      const state = fields.optEnum('state', WORK_ORDER_STATES);
      const page = paging(fields);
      fields.done();
      return pageXml(await api.list(ctx.principal, { state, ...page }));
    }),
    ListFailedWorkOrders: op(WORK_ORDER_ADMIN_ROLES, async (fields, ctx) => {
      const page = paging(fields);
      fields.done();
      return pageXml(await api.list(ctx.principal, { state: 'FAILED', ...page }));
    }),
    ExportBillableEvents: op(WORK_ORDER_ADMIN_ROLES, async (fields, ctx) => {
      const from = dateTime(fields, 'from');
      const to = dateTime(fields, 'to');
      fields.done();
      const csv = await api.exportBilling(ctx.principal, from, to);
      // The first record is the header line.
      return { events: Math.max(0, csvRecordCount(csv) - 1), csv };
    }),
  };
  for (const [name, action] of Object.entries(ADMIN_OPERATIONS)) operations[name] = adminOperation(action);
  return { name: 'WorkOrder', namespace: 'urn:provisor:workorder:1', wsdlFile: wsdlPath(root, 'workorder'), operations };
}
