/**
 * Where Provisor may call out: callbacks, partner links and the change
 * manager feed. A destination is a host name resolved once; every address it
 * resolves to is checked, and the connection goes to the address that was
 * checked (see outbound-http.ts), so a second, different DNS answer cannot
 * slip a forbidden address in between the check and the connection.
 */
import dns from 'node:dns';
import os from 'node:os';
import { contains, formatIp, parseIp, parseNetwork, type IpAddress, type Network } from './cidr';

export interface DestinationSettings {
  /** Networks that may be reached; empty: every network no rule denies. */
  readonly allowNetworks: readonly string[];
  /** Networks never reached, whatever the allow list says. */
  readonly denyNetworks: readonly string[];
  /** Whether calls to Provisor's own listening ports on this host are allowed. */
  readonly allowOwnPorts: boolean;
}

/**
 * Denied unless an allow rule names them: link-local networks (where cloud
 * metadata services answer) and the "this host" addresses, which reach the
 * local machine like loopback does.
 */
export const DENIED_BY_DEFAULT: readonly string[] = ['169.254.0.0/16', 'fe80::/10', '0.0.0.0/8', '::/128'];

/** The outcome for one address and port, with the rule that decided it (for the caller's fault and the log). */
export interface Decision {
  readonly allowed: boolean;
  readonly rule: string;
}

/** A destination the policy refuses; `rule` says why. */
export class DestinationDeniedError extends Error {
  override readonly name = 'DestinationDeniedError';
  readonly code = 'DestinationDenied';
  constructor(
    readonly destination: string,
    readonly address: string,
    readonly rule: string,
  ) {
    super(address === '' ? `${destination} is refused by the outbound policy: ${rule}` : `${destination} (address ${address}) is refused by the outbound policy: ${rule}`);
  }
}

/** A URL as messages and logs show it: without user info or query, which may carry credentials. */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/** The same for a URL held as text (a stored callback); text that is no URL is not shown. */
export function displayUrlText(text: string): string {
  try {
    return displayUrl(new URL(text));
  } catch {
    return '(not a URL)';
  }
}

/** A destination that passed the policy: connect to `address`, speak to `host`. */
export interface CheckedDestination {
  readonly url: URL;
  /** The host name as written in the URL (for the Host header and TLS). */
  readonly host: string;
  readonly port: number;
  /** The checked address to connect to. */
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has. */
export type Resolver = (host: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

const systemResolver: Resolver = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

const LOOPBACK = ['127.0.0.0/8', '::1/128'].map(parseNetwork);
const UNSPECIFIED = ['0.0.0.0/32', '::/128'].map(parseNetwork);

/** This machine's interface addresses, read once. */
let interfaceAddresses: readonly IpAddress[] | undefined;

/** Loopback, or an address of one of this machine's interfaces. */
export function isLocalAddress(address: IpAddress): boolean {
  if (LOOPBACK.some((n) => contains(n, address))) return true;
  interfaceAddresses ??= Object.values(os.networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((i) => parseIp(i.address))
    .filter((a): a is IpAddress => a !== undefined);
  return interfaceAddresses.some((a) => a.family === address.family && a.value === address.value);
}

function parseAll(texts: readonly string[]): Network[] {
  return texts.map(parseNetwork);
}

export class DestinationPolicy {
  private readonly allow: readonly Network[];
  private readonly deny: readonly Network[];
  private readonly deniedByDefault = parseAll(DENIED_BY_DEFAULT);

  /**
   * @param ownPorts the ports Provisor listens on now (HTTP, SMTP); read at each decision, since a port
   *   chosen by the system (port 0) is only known once listening.
   */
  constructor(
    private readonly settings: DestinationSettings,
    private readonly ownPorts: () => readonly number[],
    private readonly resolve: Resolver = systemResolver,
  ) {
    this.allow = parseAll(settings.allowNetworks);
    this.deny = parseAll(settings.denyNetworks);
  }

  /**
   * Decides for one address and port. In order: a deny rule refuses; Provisor's own listening
   * port on this host is refused (unless allowed by setting); an allow rule admits; link-local and
   * "this host" addresses are refused; with an allow list, anything outside it is refused.
   */
  decide(addressText: string, port: number): Decision {
    const address = parseIp(addressText);
    if (address === undefined) return { allowed: false, rule: `"${addressText}" is not an IP address` };
    const denied = this.deny.find((n) => contains(n, address));
    if (denied !== undefined) return { allowed: false, rule: `deny rule ${denied.text} (PROVISOR_OUTBOUND_DENY)` };
    if (!this.settings.allowOwnPorts && this.ownPorts().includes(port) && this.isThisHost(address)) {
      return { allowed: false, rule: `port ${port} on this host is one of Provisor's own listening ports (PROVISOR_OUTBOUND_ALLOW_OWN_PORTS)` };
    }
    const allowed = this.allow.find((n) => contains(n, address));
    if (allowed !== undefined) return { allowed: true, rule: `allow rule ${allowed.text} (PROVISOR_OUTBOUND_ALLOW)` };
    const builtIn = this.deniedByDefault.find((n) => contains(n, address));
    if (builtIn !== undefined) return { allowed: false, rule: `${builtIn.text} is denied by default (link-local or "this host"; PROVISOR_OUTBOUND_ALLOW may admit it)` };
    if (this.allow.length > 0) return { allowed: false, rule: `${formatIp(address)} is in no allowed network (PROVISOR_OUTBOUND_ALLOW)` };
    return { allowed: true, rule: 'no rule denies it' };
  }

  /**
   * Resolves the URL's host once and checks every address it resolves to. Throws a
   * DestinationDeniedError when the URL is not http(s), the host does not resolve, or any address is
   * refused; otherwise returns the address to connect to.
   */
  async check(target: string | URL): Promise<CheckedDestination> {
    let url: URL;
    try {
      url = typeof target === 'string' ? new URL(target) : target;
    } catch {
      throw new DestinationDeniedError(String(target), '', 'it is not an absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DestinationDeniedError(displayUrl(url), '', `only http and https are called, not ${url.protocol}`);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    let addresses: ReadonlyArray<{ address: string; family: number }>;
    const literal = parseIp(host);
    if (literal !== undefined) {
      addresses = [{ address: host, family: literal.family }];
    } else {
      try {
        addresses = await this.resolve(host);
      } catch (err) {
        throw new DestinationDeniedError(displayUrl(url), '', `the host name ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      }
      if (addresses.length === 0) throw new DestinationDeniedError(displayUrl(url), '', `the host name ${host} has no address`);
    }
    for (const { address } of addresses) {
      const decision = this.decide(address, port);
      if (!decision.allowed) throw new DestinationDeniedError(displayUrl(url), address, decision.rule);
    }
    const first = addresses[0];
    if (first === undefined) throw new DestinationDeniedError(displayUrl(url), '', `the host name ${host} has no address`);
    return { url, host, port, address: first.address, family: first.family === 6 ? 6 : 4 };
  }

  /** Loopback, unspecified, or an address of one of this machine's interfaces. */
  private isThisHost(address: IpAddress): boolean {
    return UNSPECIFIED.some((n) => contains(n, address)) || isLocalAddress(address);
  }
}
