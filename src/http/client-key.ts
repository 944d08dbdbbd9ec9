import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key every per-client limit shares for input that is not an IP address. Every such client
 * shares this one budget: a spelling nobody can parse must never mint a fresh budget of its own.
 * It cannot collide with an address key (those are dotted quads or contain `:`).
 */
export const UNPARSABLE_CLIENT_KEY = 'unparsable';

/** The IPv6 prefix length a client is keyed by unless configured: one /64 is one subscriber. */
export const DEFAULT_IPV6_PREFIX_LENGTH = 64;

/**
 * The key per-client limits count by, from a client address as express (`req.ip`) or a socket
 * reports it.
 *
 * - IPv4 → its dotted-quad spelling (`203.0.113.7`).
 * - IPv4-mapped IPv6 (`::ffff:203.0.113.7`, `::ffff:cb00:7107`) → the IPv4 key: one client, one budget
 *   whichever socket family it came in on.
 * - IPv6 → the network of its first `ipv6PrefixLength` bits in the RFC 5952 spelling with the length
 *   (`2001:db8:1:2::/64`): every address of one prefix, and every spelling of one address, share a key.
 * - `ip:port`, `[v6]:port` and `[v6]` (as some load balancers write the forwarded address) → the address;
 *   a zone id (`fe80::1%eth0`) is dropped.
 * - Anything else → {@link UNPARSABLE_CLIENT_KEY}, one budget shared by every unparsable address.
 *
 * @throws TypeError when `ipv6PrefixLength` is not a whole number from 0 to 128.
 */
export function clientKeyOf(address: string, ipv6PrefixLength: number = DEFAULT_IPV6_PREFIX_LENGTH): string {
  if (!Number.isInteger(ipv6PrefixLength) || ipv6PrefixLength < 0 || ipv6PrefixLength > 128) {
    throw new TypeError(`ipv6PrefixLength: expected a whole number from 0 to 128, got ${ipv6PrefixLength}`);
  }
  const host = hostOf(address.trim());
  if (host === undefined) return UNPARSABLE_CLIENT_KEY;
  if (isIPv4(host)) return host;
  const groups = parseIPv6(host);
  if (!groups) return UNPARSABLE_CLIENT_KEY;
  if (isIPv4Mapped(groups)) return ipv4OfGroups(groups[6] ?? 0, groups[7] ?? 0);
  return `${formatIPv6(maskGroups(groups, ipv6PrefixLength))}/${ipv6PrefixLength}`;
}

/** The address without a port, brackets or zone id; undefined when it has no recognisable shape. */
function hostOf(address: string): string | undefined {
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(address);
  if (bracketed) return withoutZone(bracketed[1] ?? '');
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(address);
  if (v4WithPort) return v4WithPort[1];
  if (address.includes(':')) return withoutZone(address);
  return address;
}

function withoutZone(host: string): string {
  const percent = host.indexOf('%');
  return percent === -1 ? host : host.slice(0, percent);
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail included), or undefined. */
function parseIPv6(host: string): number[] | undefined {
  if (!isIPv6(host)) return undefined;
  let text = host.toLowerCase();
  const dotted = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (dotted) {
    const octets = (dotted[1] ?? '').split('.').map(Number);
    const [a = 0, b = 0, c = 0, d = 0] = octets;
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const side = (part: string | undefined) =>
    part ? part.split(':').map((group) => parseInt(group, 16)) : [];
  const head = side(halves[0]);
  const tail = side(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
  return groups.length === 8 && groups.every((group) => group >= 0 && group <= 0xffff) ? groups : undefined;
}

function isIPv4Mapped(groups: readonly number[]): boolean {
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}

function ipv4OfGroups(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

function maskGroups(groups: readonly number[], prefixLength: number): number[] {
  return groups.map((group, index) => {
    const bits = Math.min(16, Math.max(0, prefixLength - index * 16));
    return bits === 0 ? 0 : group & (0xffff << (16 - bits)) & 0xffff;
  });
}

/** RFC 5952 §4: lowercase hex without leading zeros; the longest run of two or more zero groups (the first on a tie) becomes `::`. */
function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let start = 0; start < groups.length;) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestLength < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
