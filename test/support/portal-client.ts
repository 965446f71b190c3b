/**
 * A browser-less portal client over fetch: keeps the portal's cookies, reads
 * the CSRF token from the last form it saw, and posts forms as a browser does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { TEST_CATALOG } from './workorders';

export interface PortalResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

export class PortalClient {
  constructor(
    readonly baseUrl: string,
    /** Cookie name → value, as the browser would keep them for /portal; clients given one jar act as one browser. */
    readonly cookies = new Map<string, string>(),
  ) {}

  /** The value of the first `_csrf` field of a page. */
  static csrfOf(body: string): string {
    const token = /name="_csrf" value="([^"]*)"/.exec(body)?.[1];
    if (token === undefined) throw new Error(`no CSRF field in the page:\n${body.slice(0, 2000)}`);
    return token;
  }

  async get(pathname: string): Promise<PortalResponse> {
    return this.request(pathname, { method: 'GET' });
  }

  /** Posts urlencoded fields; `headers` can add an Origin and the like. */
  async post(pathname: string, fields: Record<string, string> | string, headers: Record<string, string> = {}): Promise<PortalResponse> {
    const body = typeof fields === 'string' ? fields : new URLSearchParams(fields).toString();
    return this.request(pathname, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  /** Opens a form page and posts it with that page's CSRF token. */
  async submitForm(formPage: string, action: string, fields: Record<string, string>): Promise<PortalResponse> {
    const page = await this.get(formPage);
    return this.post(action, { _csrf: PortalClient.csrfOf(page.body), ...fields });
  }

  /** Logs in through the log-in form; throws unless it is accepted. */
  async logIn(name: string, password: string): Promise<void> {
    const form = await this.get('/portal/login');
    const r = await this.post('/portal/login', { _csrf: PortalClient.csrfOf(form.body), name, password });
    if (r.status !== 303) throw new Error(`log-in as ${name} answered ${r.status}:\n${r.body}`);
  }

  private async request(pathname: string, init: { method: string; body?: string; headers?: Record<string, string> }): Promise<PortalResponse> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('; ');
    const r = await fetch(`${this.baseUrl}${pathname}`, { ...init, redirect: 'manual', headers: { ...(init.headers ?? {}), ...(cookie === '' ? {} : { cookie }) } });
    for (const line of r.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = decodeURIComponent(pair.slice(eq + 1).trim());
      if (attributes.some((a) => /^\s*max-age=0\s*$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return { status: r.status, headers: r.headers, body: await r.text() };
  }
}

/** A hostile title for escaping tests. */
export const SCRIPT_TITLE = '<script>alert("title")</script> Volume';

/**
 * The test catalog plus a type whose title and help carry markup (level 1),
 * written next to the server's data; returns the file to load.
 */
export function portalCatalog(dataDir: string): string {
  const catalog = JSON.parse(fs.readFileSync(TEST_CATALOG, 'utf8')) as { types: Array<Record<string, unknown>> };
  const plan = path.join(path.dirname(TEST_CATALOG), 'echo.bpel');
  for (const type of catalog.types) type.plan = plan;
  catalog.types.push({
    name: 'Markup',
    title: SCRIPT_TITLE,
    description: 'A <b>description</b> & more',
    minLevel: 1,
    price: '1.00',
    plan,
    parameters: [{ name: 'label', type: 'xsd:string', required: true, maxLength: 100, help: 'Any <i>text</i>' }],
  });
  const file = path.join(dataDir, 'portal-catalog.json');
  fs.writeFileSync(file, JSON.stringify(catalog, null, 2));
  return file;
}

/** How many rows a table has (optionally filtered). */
export async function countRows(dataSource: { query(sql: string, params?: unknown[]): Promise<unknown> }, table: string, where = '1 = 1', params: unknown[] = []): Promise<number> {
  const rows = (await dataSource.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`, params)) as Array<{ n: unknown }>;
  return Number(rows[0]?.n);
}
