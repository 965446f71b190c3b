import net from 'node:net';

/** An IP address as a number, with its family. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are IPv4. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A network in CIDR notation, parsed: `text` is how the configuration wrote it. */
export interface Network {
  readonly text: string;
  readonly family: 4 | 6;
  readonly base: bigint;
  readonly prefix: number;
}

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(text: string): bigint {
  let head = text;
  let tail = '';
  // An embedded IPv4 tail (::ffff:10.0.0.1) is two groups.
  const lastColon = head.lastIndexOf(':');
  if (head.includes('.', lastColon)) {
    const v4 = ipv4Value(head.slice(lastColon + 1));
    tail = `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
    head = head.slice(0, lastColon + 1) + tail;
  }
  const [left = '', right] = head.split('::');
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** Parses an IPv4 or IPv6 address (a zone index such as %eth0 is ignored); undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  const bare = text.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 4) return { family: 4, value: ipv4Value(bare) };
  if (family !== 6) return undefined;
  const value = ipv6Value(bare);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/** Parses `address/prefix` (or a single address); throws naming the text when it is not a network. */
export function parseNetwork(text: string): Network {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const addressText = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const address = parseIp(addressText);
  if (address === undefined) throw new Error(`"${text}" is not an IPv4 or IPv6 network (address/prefix)`);
  // A mapped IPv4 network written in IPv6 form keeps its prefix relative to the IPv4 part.
  const mapped = address.family === 4 && net.isIP(addressText.replace(/%.*$/, '')) === 6;
  const bits = address.family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash !== -1) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) throw new Error(`"${text}" has no valid prefix length`);
    prefix = Number(prefixText) - (mapped ? 96 : 0);
    if (prefix < 0 || prefix > bits) throw new Error(`"${text}" has a prefix length outside 0-${mapped ? 128 : bits}`);
  }
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { text: trimmed, family: address.family, base: address.value & mask, prefix };
}

/** True when the address lies in the network. */
export function contains(network: Network, address: IpAddress): boolean {
  if (network.family !== address.family) return false;
  const bits = network.family === 4 ? 32 : 128;
  const shift = BigInt(bits - network.prefix);
  return address.value >> shift === network.base >> shift;
}

/** The address written back in its usual form (an IPv4-mapped one as plain IPv4). */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((address.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((address.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}
