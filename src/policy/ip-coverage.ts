// How much of the public internet a set of address ranges reaches: the union of IPv4 and IPv6 CIDRs (parsed with
// ipaddr.js), measured against the public address space. 0.0.0.0/1 + 128.0.0.0/1 is the world (1), a /2 about a
// quarter, 10.0.0.0/8 nothing. Exact arithmetic on BigInt intervals; pure.
import ipaddr from 'ipaddr.js';

export interface Range {
  v: 4 | 6;
  start: bigint;
  /** Inclusive. */
  end: bigint;
}

const BITS = { 4: 32n, 6: 128n } as const;

function toBigInt(bytes: number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/**
 * A CIDR (`203.0.113.9/0`: host bits are ignored, as AWS does), or a bare address (one host); null when it is
 * neither. IPv4-mapped IPv6 addresses stay IPv6.
 */
export function parseRange(text: unknown): Range | null {
  if (typeof text !== 'string') return null;
  const t = text.trim();
  try {
    const [addr, len] = t.includes('/') ? ipaddr.parseCIDR(t) : [ipaddr.parse(t), ipaddr.parse(t).kind() === 'ipv4' ? 32 : 128];
    const v = addr.kind() === 'ipv4' ? 4 : 6;
    const bits = BITS[v];
    const host = bits - BigInt(len);
    const n = toBigInt(addr.toByteArray());
    const start = (n >> host) << host;
    return { v, start, end: start + (1n << host) - 1n };
  } catch {
    return null;
  }
}

/** Sorted, merged ranges of one family. */
function merge(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1n) {
      if (r.end > last.end) last.end = r.end;
    } else out.push({ ...r });
  }
  return out;
}

function size(ranges: Range[]): bigint {
  return ranges.reduce((s, r) => s + (r.end - r.start + 1n), 0n);
}

function intersect(a: Range[], b: Range[]): Range[] {
  const out: Range[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as Range;
    const y = b[j] as Range;
    const start = x.start > y.start ? x.start : y.start;
    const end = x.end < y.end ? x.end : y.end;
    if (start <= end) out.push({ v: x.v, start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

function subtract(whole: Range[], holes: Range[]): Range[] {
  let out = whole.map((r) => ({ ...r }));
  for (const h of merge(holes)) {
    const next: Range[] = [];
    for (const r of out) {
      if (h.end < r.start || h.start > r.end) next.push(r);
      else {
        if (h.start > r.start) next.push({ v: r.v, start: r.start, end: h.start - 1n });
        if (h.end < r.end) next.push({ v: r.v, start: h.end + 1n, end: r.end });
      }
    }
    out = next;
  }
  return out;
}

function ranges(list: string[]): Range[] {
  return list.map((c) => parseRange(c) as Range);
}

/**
 * The public internet: IPv4 less the special-purpose blocks of the IANA registry (RFC 6890: this network, private,
 * shared, loopback, link-local, documentation, benchmarking, multicast, reserved), and IPv6 global unicast (2000::/3)
 * less its documentation block.
 */
const PUBLIC: Record<4 | 6, Range[]> = {
  4: subtract(ranges(['0.0.0.0/0']), ranges(['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4'])),
  6: subtract(ranges(['2000::/3']), ranges(['2001:db8::/32'])),
};
const PUBLIC_SIZE = { 4: size(PUBLIC[4]), 6: size(PUBLIC[6]) };

export interface Coverage {
  /** Share of the public IPv4 internet reached (0–1). */
  ipv4: number;
  /** Share of the public IPv6 internet reached (0–1). */
  ipv6: number;
  /** The larger of the two: how much of the internet can reach in over either family. */
  share: number;
  /** Texts that were not CIDRs or addresses (kept out of the sums). */
  invalid: string[];
}

function fraction(part: bigint, whole: bigint): number {
  return part === whole ? 1 : Number(part) / Number(whole);
}

const memo = new Map<string, Coverage>();

/** The share of the public internet the union of these CIDRs reaches (remembered: records repeat the same few). */
export function coverage(cidrs: readonly string[]): Coverage {
  const key = cidrs.join(' ');
  const hit = memo.get(key);
  if (hit) return hit;
  const c = computeCoverage(cidrs);
  if (memo.size >= 5_000) memo.clear();
  memo.set(key, c);
  return c;
}

function computeCoverage(cidrs: readonly string[]): Coverage {
  const by: Record<4 | 6, Range[]> = { 4: [], 6: [] };
  const invalid: string[] = [];
  for (const c of cidrs) {
    const r = parseRange(c);
    if (r) by[r.v].push(r);
    else invalid.push(c);
  }
  const ipv4 = fraction(size(intersect(merge(by[4]), PUBLIC[4])), PUBLIC_SIZE[4]);
  const ipv6 = fraction(size(intersect(merge(by[6]), PUBLIC[6])), PUBLIC_SIZE[6]);
  return { ipv4, ipv6, share: Math.max(ipv4, ipv6), invalid };
}

/** "the whole internet", "about 25% of the internet", "less than 0.01% of the internet". */
export function describeShare(share: number): string {
  if (share >= 0.999) return 'the whole internet';
  if (share === 0) return 'no public address';
  if (share < 0.0001) return 'a few public addresses';
  const pct = share * 100;
  return `about ${pct >= 1 ? Math.round(pct) : pct.toFixed(2)}% of the internet`;
}
