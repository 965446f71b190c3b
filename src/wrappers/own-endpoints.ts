/**
 * Callbacks to this server's own process endpoints.
 *
 * A plan that waits for a request's RequestCompleted callback instead of
 * polling names its own process endpoint as the callback address
 * (`http://127.0.0.1:8080/soap/processes/InstallWithCallback`). The outbound
 * policy refuses Provisor's own ports as destinations, and rightly: a
 * callback address is the caller's to choose, and an HTTP call to this
 * server would reach every service it offers. A process endpoint of this
 * server is delivered to in-process instead, without HTTP: only process
 * endpoints are reached this way, with a message Provisor wrote itself
 * (the request's RequestCompleted), and the delivery is recorded, retried
 * and deduplicated like any other.
 */
import type { Principal } from '../auth/principal';
import { parseIp } from '../net/cidr';
import { isLocalAddress } from '../net/destination-policy';

export const PROCESS_ENDPOINTS = '/soap/processes/';

/** Who delivers a callback in-process: the message box keeps it as this sender's. */
export const CALLBACK_PRINCIPAL: Principal = { userId: 0, name: 'provisor-callbacks', role: 'engine', accountId: null, level: 0 };

/** Whether `host` (a URL's hostname) names this machine: `localhost`, the bound host, loopback, or an address of one of its interfaces. */
function isThisHost(host: string, boundHost: string): boolean {
  const lower = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (lower === 'localhost' || lower === boundHost.toLowerCase()) return true;
  const address = parseIp(lower);
  return address !== undefined && isLocalAddress(address);
}

/**
 * The path of `url` when it is a process endpoint of this server (its HTTP
 * port now `httpPort`, bound to `boundHost`), undefined for any other URL.
 */
export function ownProcessEndpoint(url: string, httpPort: number | null, boundHost: string): string | undefined {
  if (httpPort === null) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'http:' || parsed.username !== '' || parsed.password !== '') return undefined;
  const port = parsed.port === '' ? 80 : Number(parsed.port);
  if (port !== httpPort || !isThisHost(parsed.hostname, boundHost)) return undefined;
  if (!parsed.pathname.startsWith(PROCESS_ENDPOINTS) || parsed.pathname.length === PROCESS_ENDPOINTS.length || parsed.search !== '') return undefined;
  return parsed.pathname;
}
