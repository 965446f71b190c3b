import { WORK_ORDER_STATES, type WorkOrderState } from '../../entities';
import type { AdminAction, WorkOrderPage, WorkOrderTypeView, WorkOrderView } from '../workorders/api';
import { adminActionsFor } from '../workorders/states';
import { html, type Html } from './html';
import { csrfField, page, when, type Viewer } from './layout';
import { labelOf } from './task-form';
import { orderHref, typeHref } from './type-pages';

/** The catalog's types by name, for titles and parameter labels; an order of a type not in it shows names. */
export type TypeIndex = ReadonlyMap<string, WorkOrderTypeView>;

function titleOf(types: TypeIndex, name: string): string {
  return types.get(name)?.title ?? name;
}

function parameterLabel(types: TypeIndex, typeName: string, name: string): string {
  const definition = types.get(typeName)?.parameters.find((p) => p.name === name);
  return labelOf(definition ?? { name });
}

/** What an order is about, at a glance: its first parameter (the volume, for the storage types), labelled. */
function mainParameter(types: TypeIndex, order: WorkOrderView): Html {
  const first = order.parameters[0];
  if (first === undefined) return html``;
  return html`<span class="main-parameter" title="${parameterLabel(types, order.type, first.name)}">${first.value}</span>`;
}

/** Orders still moving: their page reloads itself to show progress. */
const REFRESH_SECONDS = 5;

const ACTION_LABELS: Record<AdminAction, string> = { process: 'Process', retry: 'Retry', close: 'Close', fail: 'Fail', hold: 'Hold' };

function stillMoving(order: WorkOrderView): boolean {
  return order.state === 'IN_PROGRESS' || (order.state === 'NEW' && !order.manual);
}

/**
 * An admin's form for one order: a reason and one button per action the
 * work-order state table allows from the order's state (the reason is
 * required by the browser and by the server).
 */
export function actionForm(viewer: Viewer, order: WorkOrderView): Html {
  const actions = adminActionsFor(order.state, order.manual);
  if (actions.length === 0) return html``;
  return html`<form method="post" action="/portal/admin/orders/${order.workOrderId}" class="actions" data-order="${order.workOrderId}">
  ${csrfField(viewer.csrfToken)}
  <input name="reason" required maxlength="1000" placeholder="Reason (recorded)" aria-label="Reason for order ${order.workOrderId}">
  ${actions.map((a) => html`<button type="submit" name="action" value="${a}">${ACTION_LABELS[a]}</button> `)}
</form>`;
}

export interface OrderListQuery {
  readonly state?: WorkOrderState;
  /** 1-based. */
  readonly page: number;
  readonly pageSize: number;
}

function listHref(query: OrderListQuery, pageNumber: number): string {
  const params = new URLSearchParams();
  if (query.state !== undefined) params.set('state', query.state);
  params.set('page', String(pageNumber));
  return `/portal/orders?${params.toString()}`;
}

function orderRows(viewer: Viewer, types: TypeIndex, orders: readonly WorkOrderView[]): Html {
  const admin = viewer.principal.role === 'admin';
  return html`<thead><tr><th>Order</th><th>Type</th><th>For</th><th>State</th>${admin && html`<th>Account</th>`}<th>Created</th><th>Updated</th></tr></thead>
<tbody>
${orders.map(
  (o) => html`<tr data-order="${o.workOrderId}"><td><a href="${orderHref(o.workOrderId)}">${o.workOrderId}</a></td><td data-label="Type">${titleOf(types, o.type)}</td><td data-label="For" class="main">${mainParameter(types, o)}</td><td class="state" data-label="State">${o.state}${o.manual && o.state === 'NEW' && html` (manual)`}</td>${admin && html`<td data-label="Account">${o.account}</td>`}<td data-label="Created">${when(o.createdAt)}</td><td data-label="Updated">${when(o.updatedAt)}</td></tr>
`,
)}</tbody>`;
}

/** The viewer's orders (an admin's: everyone's), newest first, filtered by state, a page at a time. */
export function ordersPage(viewer: Viewer, types: TypeIndex, query: OrderListQuery, result: WorkOrderPage): Html {
  const pages = Math.max(1, Math.ceil(result.total / query.pageSize));
  return page(
    { title: viewer.principal.role === 'admin' ? 'All orders' : 'My orders', viewer },
    html`<form method="get" action="/portal/orders" id="filter">
  <label for="state">State</label>
  <select id="state" name="state">
    <option value="">Any</option>
    ${WORK_ORDER_STATES.map((s) => html`<option value="${s}"${s === query.state && html` selected`}>${s}</option>`)}
  </select>
  <button type="submit">Filter</button>
</form>
${
  result.orders.length === 0
    ? html`<p id="no-orders">No orders${query.state !== undefined && html` in state ${query.state}`}.</p>`
    : html`<table id="orders">${orderRows(viewer, types, result.orders)}</table>`
}
<p class="paging">Page <span id="page-number">${query.page}</span> of ${pages} (${result.total} orders)
${query.page > 1 && html` · <a rel="prev" href="${listHref(query, query.page - 1)}">Newer</a>`}
${query.page < pages && html` · <a rel="next" href="${listHref(query, query.page + 1)}">Older</a>`}</p>`,
  );
}

/** One order: state, parameters, history, outcome and billing; for admins the hand actions. */
export function orderPage(viewer: Viewer, types: TypeIndex, order: WorkOrderView, notice?: string): Html {
  const moving = stillMoving(order);
  return page(
    { title: `Work order ${order.workOrderId}`, viewer, refreshSeconds: moving ? REFRESH_SECONDS : undefined },
    html`${notice !== undefined && html`<p class="notice" id="notice" role="status">${notice}</p>`}
<dl id="order" data-order="${order.workOrderId}">
  <dt>State</dt><dd class="state" id="order-state">${order.state}${order.manual && order.state === 'NEW' && html` (waiting for our staff)`}</dd>
  <dt>Type</dt><dd id="order-type"><a href="${typeHref(order.type)}">${titleOf(types, order.type)}</a></dd>
  <dt>Account</dt><dd>${order.account} (submitted by ${order.customer} via ${order.channel})</dd>
  <dt>Created</dt><dd>${when(order.createdAt)}</dd>
  <dt>Updated</dt><dd>${when(order.updatedAt)}</dd>
  ${order.closedAt !== null && html`<dt>Closed</dt><dd>${when(order.closedAt)}</dd>`}
  ${order.attempt > 1 && html`<dt>Attempts</dt><dd>${order.attempt}</dd>`}
  ${order.outcome !== null && html`<dt>Outcome</dt><dd id="order-outcome">${order.outcome}</dd>`}
  ${order.failedActivity !== null && html`<dt>Failed step</dt><dd>${order.failedActivity}</dd>`}
  <dt>Billing</dt><dd id="order-billing">${order.billing === null ? 'not billed' : html`${order.billing.amount} ${order.billing.currency}, ${when(order.billing.at)}`}</dd>
</dl>
${moving && html`<p class="help">This page refreshes every ${REFRESH_SECONDS} seconds while the order is being processed.</p>`}
<h2>Parameters</h2>
<table id="parameters"><tbody>
${order.parameters.map((p) => html`<tr data-parameter="${p.name}"><th scope="row">${parameterLabel(types, order.type, p.name)}</th><td>${p.value}</td></tr>`)}
</tbody></table>
<h2>History</h2>
<table id="history">
<thead><tr><th>When</th><th>Change</th><th>By</th><th>Why</th></tr></thead>
<tbody>
${order.history.map(
  (h) => html`<tr><td>${when(h.at)}</td><td>${h.fromState ?? 'submitted'} → ${h.toState}</td><td>${h.actor}</td><td>${h.reason ?? ''}</td></tr>
`,
)}</tbody>
</table>
${viewer.principal.role === 'admin' && adminActionsFor(order.state, order.manual).length > 0 && html`<h2>Act on this order</h2>${actionForm(viewer, order)}`}
<p><a href="/portal/orders">All orders</a></p>`,
  );
}

/** The admin's desk: failed orders to retry or close, and manual orders waiting to be processed. */
export function adminPage(viewer: Viewer, types: TypeIndex, failed: WorkOrderPage, manual: readonly WorkOrderView[]): Html {
  const table = (id: string, orders: readonly WorkOrderView[]): Html =>
    html`<table id="${id}">
<thead><tr><th>Order</th><th>Type</th><th>For</th><th>Account</th><th>Updated</th><th>Outcome</th><th>Action</th></tr></thead>
<tbody>
${orders.map(
  (o) => html`<tr data-order="${o.workOrderId}"><td><a href="${orderHref(o.workOrderId)}">${o.workOrderId}</a></td><td data-label="Type">${titleOf(types, o.type)}</td><td data-label="For" class="main">${mainParameter(types, o)}</td><td data-label="Account">${o.account}</td><td data-label="Updated">${when(o.updatedAt)}</td><td data-label="Outcome">${o.outcome ?? ''}</td><td>${actionForm(viewer, o)}</td></tr>
`,
)}</tbody>
</table>`;
  return page(
    { title: 'Admin desk', viewer },
    html`<p class="help">Also: <a href="/portal/orders">all orders</a>, <a href="/portal/admin/systems">systems and provisioning requests</a>, <a href="/portal/admin/changes">changes</a>.</p>
<h2>Failed orders (${failed.total})</h2>
${failed.orders.length === 0 ? html`<p id="no-failed">No failed orders.</p>` : table('failed-orders', failed.orders)}
${failed.total > failed.orders.length && html`<p><a href="/portal/orders?state=FAILED">All ${failed.total} failed orders</a></p>`}
<h2>Waiting for manual processing (${manual.length})</h2>
${manual.length === 0 ? html`<p id="no-manual">No manual orders waiting.</p>` : table('manual-orders', manual)}`,
  );
}
