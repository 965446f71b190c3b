import { WORK_ORDER_STATES, type WorkOrderState } from '../../entities';
import type { AdminAction, WorkOrderPage, WorkOrderView } from '../workorders/api';
import { adminActionsFor } from '../workorders/states';
import { html, type Html } from './html';
import { csrfField, page, when, type Viewer } from './layout';
import { orderHref, typeHref } from './type-pages';

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

function orderRows(viewer: Viewer, orders: readonly WorkOrderView[]): Html {
  const admin = viewer.principal.role === 'admin';
  return html`<thead><tr><th>Order</th><th>Type</th><th>State</th>${admin && html`<th>Account</th>`}<th>Created</th><th>Updated</th></tr></thead>
<tbody>
${orders.map(
  (o) => html`<tr data-order="${o.workOrderId}"><td><a href="${orderHref(o.workOrderId)}">${o.workOrderId}</a></td><td>${o.type}</td><td class="state">${o.state}${o.manual && o.state === 'NEW' && html` (manual)`}</td>${admin && html`<td>${o.account}</td>`}<td>${when(o.createdAt)}</td><td>${when(o.updatedAt)}</td></tr>
`,
)}</tbody>`;
}

/** The viewer's orders (an admin's: everyone's), newest first, filtered by state, a page at a time. */
export function ordersPage(viewer: Viewer, query: OrderListQuery, result: WorkOrderPage): Html {
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
    : html`<table id="orders">${orderRows(viewer, result.orders)}</table>`
}
<p class="paging">Page <span id="page-number">${query.page}</span> of ${pages} (${result.total} orders)
${query.page > 1 && html` · <a rel="prev" href="${listHref(query, query.page - 1)}">Newer</a>`}
${query.page < pages && html` · <a rel="next" href="${listHref(query, query.page + 1)}">Older</a>`}</p>`,
  );
}

/** One order: state, parameters, history, outcome and billing; for admins the hand actions. */
export function orderPage(viewer: Viewer, order: WorkOrderView, notice?: string): Html {
  const moving = stillMoving(order);
  return page(
    { title: `Work order ${order.workOrderId}`, viewer, refreshSeconds: moving ? REFRESH_SECONDS : undefined },
    html`${notice !== undefined && html`<p class="notice" id="notice" role="status">${notice}</p>`}
<dl id="order" data-order="${order.workOrderId}">
  <dt>State</dt><dd class="state" id="order-state">${order.state}${order.manual && order.state === 'NEW' && html` (waiting for our staff)`}</dd>
  <dt>Type</dt><dd id="order-type"><a href="${typeHref(order.type)}">${order.type}</a></dd>
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
${order.parameters.map((p) => html`<tr><th scope="row">${p.name}</th><td>${p.value}</td></tr>`)}
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
export function adminPage(viewer: Viewer, failed: WorkOrderPage, manual: readonly WorkOrderView[]): Html {
  const table = (id: string, orders: readonly WorkOrderView[]): Html =>
    html`<table id="${id}">
<thead><tr><th>Order</th><th>Type</th><th>Account</th><th>Updated</th><th>Outcome</th><th>Action</th></tr></thead>
<tbody>
${orders.map(
  (o) => html`<tr data-order="${o.workOrderId}"><td><a href="${orderHref(o.workOrderId)}">${o.workOrderId}</a></td><td>${o.type}</td><td>${o.account}</td><td>${when(o.updatedAt)}</td><td>${o.outcome ?? ''}</td><td>${actionForm(viewer, o)}</td></tr>
`,
)}</tbody>
</table>`;
  return page(
    { title: 'Admin', viewer },
    html`<h2>Failed orders (${failed.total})</h2>
${failed.orders.length === 0 ? html`<p id="no-failed">No failed orders.</p>` : table('failed-orders', failed.orders)}
${failed.total > failed.orders.length && html`<p><a href="/portal/orders?state=FAILED">All ${failed.total} failed orders</a></p>`}
<h2>Waiting for manual processing (${manual.length})</h2>
${manual.length === 0 ? html`<p id="no-manual">No manual orders waiting.</p>` : table('manual-orders', manual)}`,
  );
}
