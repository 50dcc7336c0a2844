// Network rules for the policy language: security-group rules in one shape, CIDR prefix lengths, port lists.
import type { Change } from '../core/types';
import type { Problem } from './paths';

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function prefixLength(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /\/(\d{1,3})$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

/** One security-group rule, whatever shape it came in. `from`/`to` span 0–65535 for "all traffic". */
export interface Permission {
  direction: 'ingress' | 'egress';
  protocol: string;
  fromPort: number;
  toPort: number;
  allPorts: boolean;
  cidr?: string;
  prefixLength?: number;
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

function makePermission(
  direction: Permission['direction'],
  raw: { protocol: unknown; from: unknown; to: unknown; cidr?: unknown; groupId?: unknown },
): Permission {
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
    ...(typeof raw.groupId === 'string' ? { groupId: raw.groupId } : {}),
    ports: portsText(protocol, from, to, all),
  };
}

function listOf(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObj(v) && Array.isArray(v.items)) return v.items;
  if (isObj(v) && Object.keys(v).length > 0 && !('items' in v)) return [v];
  return [];
}

/**
 * Every security-group rule the record names: the flat request (`cidrIp`, `fromPort` … at the top, CLI style), the
 * nested request (`ipPermissions.items[].ipRanges.items[].cidrIp`, SDK/console style), ModifySecurityGroupRules'
 * request, and the response's `securityGroupRuleSet` (the most reliable: one entry per rule AWS created).
 */
export function securityGroupRules(change: Change): Permission[] {
  const out: Permission[] = [];
  const name = change.eventName;
  const direction: Permission['direction'] = /Egress/.test(name) ? 'egress' : 'ingress';
  const req = isObj(change.request) ? change.request : {};
  const groupId = typeof req.groupId === 'string' ? req.groupId : undefined;
  for (const key of ['cidrIp', 'cidrIpv6'] as const) {
    if (typeof req[key] === 'string') {
      out.push(makePermission(direction, { protocol: req.ipProtocol, from: req.fromPort, to: req.toPort, cidr: req[key], groupId }));
    }
  }
  for (const p of listOf(req.ipPermissions)) {
    if (!isObj(p)) continue;
    const cidrs = [
      ...listOf(p.ipRanges).map((r) => (isObj(r) ? r.cidrIp : undefined)),
      ...listOf(p.ipv6Ranges).map((r) => (isObj(r) ? r.cidrIpv6 : undefined)),
    ].filter((c) => typeof c === 'string');
    if (cidrs.length === 0) out.push(makePermission(direction, { protocol: p.ipProtocol, from: p.fromPort, to: p.toPort, groupId }));
    for (const cidr of cidrs) out.push(makePermission(direction, { protocol: p.ipProtocol, from: p.fromPort, to: p.toPort, cidr, groupId }));
  }
  // ModifySecurityGroupRules: {ModifySecurityGroupRulesRequest:{GroupId, SecurityGroupRule:{SecurityGroupRule:{…}}}}
  const modify = isObj(req.ModifySecurityGroupRulesRequest) ? req.ModifySecurityGroupRulesRequest : undefined;
  if (modify) {
    for (const wrapper of listOf(modify.SecurityGroupRule)) {
      const r = isObj(wrapper) && isObj(wrapper.SecurityGroupRule) ? wrapper.SecurityGroupRule : wrapper;
      if (!isObj(r)) continue;
      const isEgress = r.IsEgress === true || r.IsEgress === 'true';
      out.push(
        makePermission(isEgress ? 'egress' : 'ingress', {
          protocol: r.IpProtocol,
          from: r.FromPort,
          to: r.ToPort,
          cidr: r.CidrIpv4 ?? r.CidrIpv6,
          groupId: modify.GroupId,
        }),
      );
    }
  }
  const res = isObj(change.response) ? change.response : {};
  for (const item of listOf(res.securityGroupRuleSet)) {
    if (!isObj(item)) continue;
    out.push(
      makePermission(item.isEgress === true ? 'egress' : 'ingress', {
        protocol: item.ipProtocol,
        from: item.fromPort,
        to: item.toPort,
        cidr: item.cidrIpv4 ?? item.cidrIpv6,
        groupId: item.groupId,
      }),
    );
  }
  return out;
}

export type PortSpec = { from: number; to: number } | 'all';

export function compilePorts(arg: unknown, at: (string | number)[], problems: Problem[]): PortSpec[] | null {
  const list = Array.isArray(arg) ? arg : [arg];
  const out: PortSpec[] = [];
  for (const [i, p] of list.entries()) {
    if (p === 'all') out.push('all');
    else if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 65535) out.push({ from: p, to: p });
    else if (typeof p === 'string' && /^\d{1,5}-\d{1,5}$/.test(p)) {
      const [a, b] = p.split('-').map(Number) as [number, number];
      if (a > b || b > 65535) problems.push({ path: [...at, i], message: `port range "${p}" is not low-high within 0-65535` });
      out.push({ from: a, to: b });
    } else problems.push({ path: [...at, i], message: `must be a port (0-65535), a range "low-high" or "all", got ${JSON.stringify(p)}` });
  }
  return out;
}
