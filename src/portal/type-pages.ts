import type { WorkOrderTypeView } from '../workorders/api';
import { html, type Html } from './html';
import { csrfField, page, type Viewer } from './layout';
import { parameterField, type FieldErrors, type FieldValues } from './task-form';

/** Where a type's task screen lives. */
export function typeHref(name: string): string {
  return `/portal/types/${encodeURIComponent(name)}`;
}

export function orderHref(id: number): string {
  return `/portal/orders/${id}`;
}

function price(type: WorkOrderTypeView): string {
  return `${type.price} ${type.currency}`;
}

/** Whether the viewer can order: customers can; admins belong to no account and only look. */
export function mayOrder(viewer: Viewer): boolean {
  return viewer.principal.role === 'customer' && viewer.principal.accountId !== null;
}

/** The types the viewer may order (for an admin, the catalog to read). */
export function typesPage(viewer: Viewer, types: readonly WorkOrderTypeView[]): Html {
  const ordering = mayOrder(viewer);
  return page(
    { title: ordering ? 'Order a change' : 'Work-order types', viewer },
    html`${!ordering && html`<p class="help" id="catalog-note">The catalog as customers see it, by level. Customers order; an administrator processes their orders on the <a href="/portal/admin">admin desk</a>.</p>`}`,
    types.length === 0
      ? html`<p id="no-types">There is nothing you can order yet.</p>`
      : html`<table id="types">
<thead><tr><th>Work order</th><th>Description</th>${!ordering && html`<th>Level</th>`}<th>Price</th></tr></thead>
<tbody>
${types.map(
  (t) => html`<tr data-type="${t.name}"><td><a href="${typeHref(t.name)}">${t.title}</a></td><td>${t.description}${t.manual && html` <em>(handled by our staff)</em>`}</td>${!ordering && html`<td data-label="Level">${t.minLevel}</td>`}<td class="price" data-label="Price">${price(t)}</td></tr>
`,
)}</tbody>
</table>`,
  );
}

export interface TaskScreenState {
  readonly values: FieldValues;
  readonly errors: FieldErrors;
  /** Problems that name no parameter of the type (e.g. an unknown one). */
  readonly general: readonly string[];
  /** The idempotency key that makes a resubmitted form return the first order. */
  readonly submissionKey: string;
}

/**
 * The task screen: one field per parameter, validated in the browser by HTML
 * attributes and again by the service. A viewer who cannot order (an admin)
 * sees the fields for reading, without a submit button.
 */
export function taskScreen(viewer: Viewer, type: WorkOrderTypeView, state: TaskScreenState): Html {
  const refused = state.errors.size > 0 || state.general.length > 0;
  const ordering = mayOrder(viewer);
  const fields = type.parameters.map((p) => parameterField(p, state.values, state.errors));
  return page(
    { title: type.title, viewer },
    html`<p class="description">${type.description}</p>
<p>Price: <span class="price" id="price">${price(type)}</span></p>
${refused && html`<p class="error" id="error-message" role="alert">The order was not submitted: please correct the fields marked below.</p>`}
${state.general.length > 0 && html`<ul class="error" id="general-errors">${state.general.map((g) => html`<li>${g}</li>`)}</ul>`}
${
  ordering
    ? html`<form method="post" action="${typeHref(type.name)}" id="task-form">
  ${csrfField(viewer.csrfToken)}
  <input type="hidden" name="_key" value="${state.submissionKey}">
  ${fields}
  <button type="submit" id="submit">Submit order</button>
</form>`
    : html`<p class="help" id="catalog-note">Customers of level ${type.minLevel} and above order this with the form below; administrators do not order.</p>
<fieldset disabled class="reading" id="task-fields">${fields}</fieldset>`
}
<p><a href="/portal/types">Back to all work orders</a></p>`,
  );
}

/** After a successful submission. */
export function submittedPage(viewer: Viewer, type: WorkOrderTypeView, workOrderId: number): Html {
  return page(
    { title: 'Order submitted', viewer },
    html`<p class="notice">Your order “${type.title}” was accepted as work order <output id="work-order-id">${workOrderId}</output>.</p>
<p><a id="order-link" href="${orderHref(workOrderId)}">Follow its progress</a> · <a href="/portal/types">Order something else</a></p>`,
  );
}
