import type { Principal } from '../auth/principal';
import { html, type Html, type Interpolation } from './html';

/** Who is looking at the page, for the navigation and the log-out form. */
export interface Viewer {
  readonly principal: Principal;
  readonly csrfToken: string;
}

export interface PageOptions {
  readonly title: string;
  readonly viewer?: Viewer;
  /** Reload the page every so many seconds (an order that is still moving). */
  readonly refreshSeconds?: number;
}

/** The hidden field every state-changing form carries. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** Where a viewer lands after log-in: an admin on the admin desk, a customer among the types to order. */
export function homeOf(principal: Principal): string {
  return principal.role === 'admin' ? '/portal/admin' : '/portal/types';
}

function navigation(viewer: Viewer): Html {
  const { principal } = viewer;
  const links =
    principal.role === 'admin'
      ? html`<a href="/portal/admin">Admin desk</a>
  <a href="/portal/orders">All orders</a>
  <a href="/portal/admin/systems">Systems</a>
  <a href="/portal/admin/changes">Changes</a>
  <a href="/portal/types">Catalog</a>`
      : html`<a href="/portal/types">Order</a>
  <a href="/portal/orders">My orders</a>
  <a href="/portal/volumes">My volumes</a>`;
  return html`<nav>
  ${links}
  <span class="who">${principal.name} (${principal.role})</span>
  <form method="post" action="/portal/logout" class="inline">${csrfField(viewer.csrfToken)}<button type="submit">Log out</button></form>
</nav>`;
}

/** A whole document. No script: the CSP forbids it, and nothing needs it. */
export function page(options: PageOptions, ...body: Interpolation[]): Html {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds !== undefined && html`<meta http-equiv="refresh" content="${options.refreshSeconds}">`}
<title>${options.title} · Provisor</title>
<link rel="stylesheet" href="/portal/portal.css">
<link rel="icon" href="/portal/favicon.svg" type="image/svg+xml">
</head>
<body>
<header><a class="brand" href="/portal/">Provisor</a>${options.viewer !== undefined && navigation(options.viewer)}</header>
<main>
<h1>${options.title}</h1>
${body}
</main>
</body>
</html>
`;
}

/** A page that explains why a request was refused (4xx) or failed (5xx). */
export function errorPage(status: number, title: string, message: string, viewer?: Viewer, back?: { href: string; label: string }): Html {
  return page(
    { title, viewer },
    html`<p class="error" id="error-message" data-status="${status}">${message}</p>
${back !== undefined && html`<p><a href="${back.href}">${back.label}</a></p>`}`,
  );
}

/** A date for people (UTC, to the second) inside a machine-readable <time>. */
export function when(date: Date | null): Html {
  if (date === null) return html`–`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}
