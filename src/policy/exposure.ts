// Network exposure of one record, by address coverage: for each port span a record opens, the union of every range
// that reaches it (CIDRs of all its rules, IPv4 and IPv6, and the entries of the prefix lists it names when they are
// known), scored as the share of the public internet it reaches (ip-coverage.ts). Opening SSH to 0.0.0.0/1 and
// 128.0.0.0/1 in two rules is opening it to the world; a /2 is about a quarter of it. Managed prefix lists that a
// record creates or fills are measured the same way, since every rule that uses them opens to their entries.
import { isRecord } from '../core/records';
import type { SecurityGroupRule } from '../core/security-group-rules';
import { coverage, describeShare } from './ip-coverage';

export interface ExposureSpan {
  direction: 'ingress' | 'egress' | 'prefix-list';
  protocol: string;
  fromPort: number;
  toPort: number;
  allPorts: boolean;
  ports: string;
  /** Share of the public internet reached (0–1), over IPv4 or IPv6, whichever reaches more. */
  share: number;
  ipv4: number;
  ipv6: number;
  /** "the whole internet", "about 28% of the internet". */
  reach: string;
  /** " (about 28% of the internet)" when the ranges fall short of the whole internet; absent when they do not. */
  partial?: string;
  /** What the rules name: CIDRs and prefix-list ids, as written. */
  sources: string[];
  /** Every CIDR reached, prefix-list entries included. */
  cidrs: string[];
  /** Prefix lists whose entries vouch does not know (they may hold anything). */
  unknownPrefixLists: string[];
  groupId?: string;
}

/** The entries of a managed prefix list, when known (e.g. from the trusted baseline); undefined when not. */
export type PrefixListEntries = (id: string) => readonly string[] | undefined;

function covers(rule: SecurityGroupRule, span: SecurityGroupRule): boolean {
  if (rule.protocol === '-1') return true;
  if (rule.protocol !== span.protocol) return false;
  return rule.fromPort <= span.fromPort && rule.toPort >= span.toPort;
}

function list(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isRecord(v) && Array.isArray(v.items)) return v.items;
  return v === undefined || v === null ? [] : [v];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The rules a record opens, one span per distinct direction, protocol and ports, each with every range that reaches it. */
export function exposureOfRules(rules: readonly SecurityGroupRule[], entries?: PrefixListEntries): ExposureSpan[] {
  const out: ExposureSpan[] = [];
  const seen = new Set<string>();
  for (const span of rules) {
    if (span.cidr === undefined && span.prefixListId === undefined) continue;
    const key = `${span.direction}|${span.protocol}|${span.fromPort}|${span.toPort}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const sources: string[] = [];
    const cidrs: string[] = [];
    const unknown: string[] = [];
    for (const r of rules) {
      if (r.direction !== span.direction || !covers(r, span)) continue;
      if (r.cidr !== undefined) {
        sources.push(r.cidr);
        cidrs.push(r.cidr);
      }
      if (r.prefixListId !== undefined) {
        sources.push(r.prefixListId);
        const known = entries?.(r.prefixListId);
        if (known) cidrs.push(...known);
        else unknown.push(r.prefixListId);
      }
    }
    const c = coverage(cidrs);
    out.push({
      direction: span.direction,
      protocol: span.protocol,
      fromPort: span.fromPort,
      toPort: span.toPort,
      allPorts: span.allPorts,
      ports: span.ports,
      share: c.share,
      ipv4: c.ipv4,
      ipv6: c.ipv6,
      reach: describeShare(c.share),
      ...(c.share < 0.999 ? { partial: ` (${describeShare(c.share)})` } : {}),
      sources: [...new Set(sources)],
      cidrs: [...new Set(cidrs)],
      unknownPrefixLists: [...new Set(unknown)],
      ...(span.groupId ? { groupId: span.groupId } : {}),
    });
  }
  return out;
}

/**
 * CreateManagedPrefixList / ModifyManagedPrefixList: the entries the record puts in the list (EC2's query
 * parameters `Entry.N.Cidr` and `AddEntry.N.Cidr`, as CloudTrail writes them under the `…Request` wrapper).
 */
export function prefixListExposure(eventName: string, request: unknown): ExposureSpan[] {
  if (eventName !== 'CreateManagedPrefixList' && eventName !== 'ModifyManagedPrefixList') return [];
  const req = isRecord(request) ? request : {};
  const wrapper = isRecord(req[`${eventName}Request`]) ? (req[`${eventName}Request`] as Record<string, unknown>) : req;
  const raw = list(wrapper.Entry ?? wrapper.AddEntry ?? wrapper.entries ?? wrapper.addEntries);
  const cidrs = raw.flatMap((e) => {
    const c = isRecord(e) ? (str(e.Cidr) ?? str(e.cidr)) : str(e);
    return c ? [c] : [];
  });
  if (cidrs.length === 0) return [];
  const c = coverage(cidrs);
  const id = str(wrapper.PrefixListId) ?? str(wrapper.PrefixListName) ?? 'a prefix list';
  return [
    {
      direction: 'prefix-list',
      protocol: '-1',
      fromPort: 0,
      toPort: 65535,
      allPorts: true,
      ports: 'every port a rule using it opens',
      share: c.share,
      ipv4: c.ipv4,
      ipv6: c.ipv6,
      reach: describeShare(c.share),
      ...(c.share < 0.999 ? { partial: ` (${describeShare(c.share)})` } : {}),
      sources: [id],
      cidrs: [...new Set(cidrs)],
      unknownPrefixLists: [],
    },
  ];
}
