// Security-group rules from CloudTrail records, in one shape whatever the request or response form: the policy's
// `permissions` facts and the one-line summary of a change both read them.
import { isRecord } from './records';

/** The prefix length of a CIDR (`203.0.113.9/0` → 0), or undefined when the value is not one. */
export function prefixLength(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /\/(\d{1,3})$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

/** One security-group rule, whatever shape it came in. `fromPort`/`toPort` span 0–65535 for "all traffic". */
export interface SecurityGroupRule {
  direction: 'ingress' | 'egress';
  protocol: string;
  fromPort: number;
  toPort: number;
  allPorts: boolean;
  cidr?: string;
  prefixLength?: number;
  /** A managed prefix list the rule opens to instead of a CIDR (its entries are not in the record). */
  prefixListId?: string;
  groupId?: string;
  ports: string;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

function protoName(p: unknown): string {
  const s = typeof p === 'number' ? String(p) : typeof p === 'string' ? p.toLowerCase() : '-1';
  return ({ '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' } as Record<string, string>)[s] ?? s;
}

function portsText(protocol: string, from: number, to: number, all: boolean): string {
  if (all) return 'all ports';
  if (protocol === 'icmp' || protocol === 'icmpv6') return protocol;
  const prefix = protocol === 'tcp' ? '' : `${protocol} `;
  return from === to ? `${prefix}port ${from}` : `${prefix}ports ${from}-${to}`;
}

function makeRule(
  direction: SecurityGroupRule['direction'],
  raw: { protocol: unknown; from: unknown; to: unknown; cidr?: unknown; prefixListId?: unknown; groupId?: unknown },
): SecurityGroupRule {
  const protocol = protoName(raw.protocol ?? '-1');
  let from = num(raw.from);
  let to = num(raw.to);
  const all = protocol === '-1' || ((from === undefined || from === -1) && (to === undefined || to === -1) && protocol !== 'icmp' && protocol !== 'icmpv6');
  if (all || from === undefined || from < 0) from = 0;
  if (all || to === undefined || to < 0) to = 65535;
  const cidr = typeof raw.cidr === 'string' && raw.cidr !== '' ? raw.cidr : undefined;
  return {
    direction,
    protocol,
    fromPort: from,
    toPort: to,
    allPorts: all || (from === 0 && to === 65535),
    ...(cidr ? { cidr, prefixLength: prefixLength(cidr) } : {}),
    ...(typeof raw.prefixListId === 'string' && raw.prefixListId !== '' ? { prefixListId: raw.prefixListId } : {}),
    ...(typeof raw.groupId === 'string' ? { groupId: raw.groupId } : {}),
    ports: portsText(protocol, from, to, all),
  };
}

function listOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isRecord(v) && Array.isArray(v.items)) return v.items;
  if (isRecord(v) && Object.keys(v).length > 0 && !('items' in v)) return [v];
  return [];
}

/**
 * Every security-group rule the record names: the flat request (`cidrIp`, `fromPort` … at the top, CLI style), the
 * nested request (`ipPermissions.items[].ipRanges.items[].cidrIp`, SDK/console style), ModifySecurityGroupRules'
 * request, and the response's `securityGroupRuleSet` (the most reliable: one entry per rule AWS created).
 */
export function securityGroupRules(change: { eventName: string; request: unknown; response: unknown }): SecurityGroupRule[] {
  const out: SecurityGroupRule[] = [];
  const name = change.eventName;
  const direction: SecurityGroupRule['direction'] = /Egress/.test(name) ? 'egress' : 'ingress';
  const req = isRecord(change.request) ? change.request : {};
  const groupId = typeof req.groupId === 'string' ? req.groupId : undefined;
  for (const key of ['cidrIp', 'cidrIpv6'] as const) {
    if (typeof req[key] === 'string') {
      out.push(makeRule(direction, { protocol: req.ipProtocol, from: req.fromPort, to: req.toPort, cidr: req[key], groupId }));
    }
  }
  for (const p of listOf(req.ipPermissions)) {
    if (!isRecord(p)) continue;
    const cidrs = [
      ...listOf(p.ipRanges).map((r) => (isRecord(r) ? r.cidrIp : undefined)),
      ...listOf(p.ipv6Ranges).map((r) => (isRecord(r) ? r.cidrIpv6 : undefined)),
    ].filter((c) => typeof c === 'string');
    const lists = listOf(p.prefixListIds)
      .map((r) => (isRecord(r) ? r.prefixListId : undefined))
      .filter((id) => typeof id === 'string' && id !== '');
    if (cidrs.length === 0 && lists.length === 0) out.push(makeRule(direction, { protocol: p.ipProtocol, from: p.fromPort, to: p.toPort, groupId }));
    for (const cidr of cidrs) out.push(makeRule(direction, { protocol: p.ipProtocol, from: p.fromPort, to: p.toPort, cidr, groupId }));
    for (const prefixListId of lists) out.push(makeRule(direction, { protocol: p.ipProtocol, from: p.fromPort, to: p.toPort, prefixListId, groupId }));
  }
  // ModifySecurityGroupRules: {ModifySecurityGroupRulesRequest:{GroupId, SecurityGroupRule:{SecurityGroupRule:{…}}}}
  const modify = isRecord(req.ModifySecurityGroupRulesRequest) ? req.ModifySecurityGroupRulesRequest : undefined;
  if (modify) {
    for (const wrapper of listOf(modify.SecurityGroupRule)) {
      const r = isRecord(wrapper) && isRecord(wrapper.SecurityGroupRule) ? wrapper.SecurityGroupRule : wrapper;
      if (!isRecord(r)) continue;
      const isEgress = r.IsEgress === true || r.IsEgress === 'true';
      out.push(
        makeRule(isEgress ? 'egress' : 'ingress', {
          protocol: r.IpProtocol,
          from: r.FromPort,
          to: r.ToPort,
          cidr: r.CidrIpv4 ?? r.CidrIpv6,
          prefixListId: r.PrefixListId,
          groupId: modify.GroupId,
        }),
      );
    }
  }
  const res = isRecord(change.response) ? change.response : {};
  for (const item of listOf(res.securityGroupRuleSet)) {
    if (!isRecord(item)) continue;
    out.push(
      makeRule(item.isEgress === true ? 'egress' : 'ingress', {
        protocol: item.ipProtocol,
        from: item.fromPort,
        to: item.toPort,
        cidr: item.cidrIpv4 ?? item.cidrIpv6,
        prefixListId: item.prefixListId,
        groupId: item.groupId,
      }),
    );
  }
  return out;
}
