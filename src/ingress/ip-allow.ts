// Source-address allowlist: CIDR matching for IPv4 and IPv6 (IPv4-mapped IPv6 included) and trusted-proxy X-Forwarded-For.
import { isIP } from 'node:net';

/** One parsed CIDR: every address is held as 16 bytes, IPv4 as `::ffff:a.b.c.d`, so mapped and plain IPv4 match alike. */
interface Cidr {
  bytes: Uint8Array;
  prefix: number;
}

/** Most `X-Forwarded-For` entries looked at: the header is client-controlled, so its walk is bounded. */
const MAX_FORWARDED_HOPS = 32;

/** Parse an IPv4 or IPv6 address (brackets and zone ids tolerated) into 16 bytes, or undefined when it is not one. */
export function parseAddress(text: string): Uint8Array | undefined {
  let s = text.trim();
  if (s.startsWith('[')) s = s.slice(1, s.indexOf(']') < 0 ? undefined : s.indexOf(']'));
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return v4Mapped(s);
  if (family === 6) return parseV6(s);
  return undefined;
}

function v4Mapped(s: string): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  const parts = s.split('.');
  for (let i = 0; i < 4; i++) out[12 + i] = Number(parts[i]);
  return out;
}

/** Expand a syntactically valid IPv6 address (checked by `isIP`) into 16 bytes. */
function parseV6(text: string): Uint8Array {
  let s = text;
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    // Embedded IPv4 (e.g. ::ffff:1.2.3.4): rewrite its four bytes as two hex groups.
    const v4 = v4Mapped(s.slice(lastColon + 1));
    s = `${s.slice(0, lastColon + 1)}${((v4[12]! << 8) | v4[13]!).toString(16)}:${((v4[14]! << 8) | v4[15]!).toString(16)}`;
  }
  const groups = (x: string | undefined) =>
    x === undefined || x === '' ? [] : x.split(':').map((g) => parseInt(g, 16));
  const gap = s.indexOf('::');
  const left = groups(gap < 0 ? s : s.slice(0, gap));
  const right = gap < 0 ? [] : groups(s.slice(gap + 2));
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (all[i]! >> 8) & 0xff;
    out[i * 2 + 1] = all[i]! & 0xff;
  }
  return out;
}

/** Parse `10.0.0.0/8`, `2001:db8::/32`, `::ffff:10.0.0.0/104` or a bare address (a /32 or /128). Throws on anything else. */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const bytes = parseAddress(addrText);
  if (!bytes) throw new Error(`"${text}" is not an IP address or CIDR`);
  const isV4 = isIP(addrText.trim()) === 4;
  const max = isV4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1).trim();
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > max)
    throw new Error(`"${text}" has an invalid prefix length (0-${max})`);
  return { bytes, prefix: isV4 ? prefix + 96 : prefix };
}

function inCidr(addr: Uint8Array, cidr: Cidr): boolean {
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (addr[i] !== cidr.bytes[i]) return false;
  const bits = cidr.prefix & 7;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (addr[full]! & mask) === (cidr.bytes[full]! & mask);
}

/** A set of CIDRs that answers "is this address in it?". */
export class CidrSet {
  private readonly cidrs: Cidr[];

  /** Throws with the offending entry when one is not a CIDR or address. */
  constructor(entries: readonly string[]) {
    this.cidrs = entries.map(parseCidr);
  }

  get size(): number {
    return this.cidrs.length;
  }

  /** True when the 16-byte (or 4-byte) address is inside any CIDR of the set. */
  has(addr: Uint8Array | undefined): boolean {
    if (!addr) return false;
    const a = addr.length === 4 ? v4Mapped(Array.from(addr).join('.')) : addr;
    for (const c of this.cidrs) if (inCidr(a, c)) return true;
    return false;
  }
}

/**
 * Decides whether a request's source may post. The source is the TCP peer, or, when the peer is a trusted proxy,
 * the right-most `X-Forwarded-For` address that is not itself a trusted proxy (left-most entries are client-forgeable).
 *
 * @example
 * const guard = new IpAllow(['10.0.0.0/8', '2001:db8::/32'], ['127.0.0.1']);
 * guard.allows(peerBytes, req.getHeader('x-forwarded-for'));
 */
export class IpAllow {
  private readonly allow: CidrSet;
  private readonly proxies: CidrSet;

  constructor(allowIps: readonly string[], trustProxy: readonly string[]) {
    this.allow = new CidrSet(allowIps);
    this.proxies = new CidrSet(trustProxy);
  }

  /** False when there is an allowlist at all: only then does ingress need the peer address and forwarded header. */
  get allowsAll(): boolean {
    return this.allow.size === 0;
  }

  /** Whether a request from `peer` (binary address, 4 or 16 bytes) carrying `forwardedFor` (may be '') may post. */
  allows(peer: Uint8Array, forwardedFor: string): boolean {
    if (this.allow.size === 0) return true;
    return this.allow.has(this.clientAddress(peer, forwardedFor));
  }

  /** The address the allowlist is checked against, or undefined when a forwarded entry is not an address. */
  clientAddress(peer: Uint8Array, forwardedFor: string): Uint8Array | undefined {
    if (forwardedFor === '' || this.proxies.size === 0 || !this.proxies.has(peer)) return peer;
    const hops = forwardedFor.split(',');
    let candidate: Uint8Array | undefined = peer;
    for (let i = hops.length - 1, seen = 0; i >= 0 && seen < MAX_FORWARDED_HOPS; i--, seen++) {
      candidate = parseAddress(stripPort(hops[i]!));
      if (!candidate || !this.proxies.has(candidate)) return candidate;
    }
    // Every hop was a trusted proxy (or the walk hit its bound): the last one looked at is the best answer.
    return candidate;
  }
}

/** `1.2.3.4:5678` → `1.2.3.4`, `[::1]:80` → `[::1]`; bare IPv6 is left alone. */
function stripPort(hop: string): string {
  const s = hop.trim();
  if (s.startsWith('[')) return s.slice(0, s.indexOf(']') + 1);
  const colon = s.indexOf(':');
  return colon > 0 && colon === s.lastIndexOf(':') ? s.slice(0, colon) : s;
}
