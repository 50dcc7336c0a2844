import { eventPlan, int, isRecord, items, none, str, type PlanArgs, type PlanDecision } from '../plan-common';

/** The `IpPermissions` shape of `@aws-sdk/client-ec2` (only the fields a revoke needs). */
export interface IpPermissionInput {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: { CidrIp: string }[];
  Ipv6Ranges?: { CidrIpv6: string }[];
  PrefixListIds?: { PrefixListId: string }[];
  UserIdGroupPairs?: { GroupId?: string; GroupName?: string; UserId?: string }[];
}

export type Direction = 'ingress' | 'egress';

/** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | '-1' (all), or the protocol number as given. */
export function normalizeProtocol(p: unknown): string | undefined {
  const s = typeof p === 'number' ? String(p) : str(p)?.toLowerCase();
  if (s === undefined) return undefined;
  const byNumber: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' };
  return byNumber[s] ?? s;
}

function portsFor(protocol: string, from: unknown, to: unknown): { FromPort?: number; ToPort?: number } {
  // "All traffic" ignores ports; CloudTrail may write 0/0 or -1/-1 for it, which a revoke must not repeat.
  if (protocol === '-1') return {};
  const out: { FromPort?: number; ToPort?: number } = {};
  const f = int(from);
  const t = int(to);
  if (f !== undefined) out.FromPort = f;
  if (t !== undefined) out.ToPort = t;
  return out;
}

function permissionFrom(raw: Record<string, unknown>): IpPermissionInput | null {
  const protocol = normalizeProtocol(raw.ipProtocol);
  if (!protocol) return null;
  const perm: IpPermissionInput = { IpProtocol: protocol, ...portsFor(protocol, raw.fromPort, raw.toPort) };
  const ipRanges = items(raw.ipRanges).flatMap((r) => (str(r.cidrIp) ? [{ CidrIp: r.cidrIp as string }] : []));
  const ipv6Ranges = items(raw.ipv6Ranges).flatMap((r) =>
    str(r.cidrIpv6) ? [{ CidrIpv6: r.cidrIpv6 as string }] : [],
  );
  const prefixLists = items(raw.prefixListIds).flatMap((r) =>
    str(r.prefixListId) ? [{ PrefixListId: r.prefixListId as string }] : [],
  );
  const groups = items(raw.groups).flatMap((g) => {
    const pair: { GroupId?: string; GroupName?: string; UserId?: string } = {};
    if (str(g.groupId)) pair.GroupId = g.groupId as string;
    else if (str(g.groupName)) pair.GroupName = g.groupName as string;
    else return [];
    if (str(g.userId)) pair.UserId = g.userId as string;
    return [pair];
  });
  if (ipRanges.length) perm.IpRanges = ipRanges;
  if (ipv6Ranges.length) perm.Ipv6Ranges = ipv6Ranges;
  if (prefixLists.length) perm.PrefixListIds = prefixLists;
  if (groups.length) perm.UserIdGroupPairs = groups;
  return ipRanges.length + ipv6Ranges.length + prefixLists.length + groups.length > 0 ? perm : null;
}

/** The request's permissions in SDK form, from either CloudTrail shape. Empty when there are none. */
export function ipPermissionsFromRequest(request: Record<string, unknown>): IpPermissionInput[] {
  const perms = items(request.ipPermissions).flatMap((raw) => {
    const p = permissionFrom(raw);
    return p ? [p] : [];
  });
  // Flat form (the API's legacy top-level CidrIp/IpProtocol/FromPort/ToPort). Without a protocol there is no exact
  // match to replay, and a wrong guess would come back as "not found", i.e. a false "already reverted".
  const flatCidr = str(request.cidrIp);
  if (flatCidr && normalizeProtocol(request.ipProtocol)) {
    const flat = permissionFrom({
      ipProtocol: request.ipProtocol,
      fromPort: request.fromPort,
      toPort: request.toPort,
      ipRanges: [{ cidrIp: flatCidr }],
    });
    if (flat) perms.push(flat);
  }
  return perms;
}

interface ResponseRule {
  id: string;
  text: string;
}

function ruleText(item: Record<string, unknown>): string {
  const protocol = normalizeProtocol(item.ipProtocol) ?? '?';
  const from = int(item.fromPort);
  const to = int(item.toPort);
  const ports =
    protocol === '-1' ? 'all' : from === undefined || from === to ? `${from ?? '?'}` : `${from}-${to ?? '?'}`;
  const target =
    str(item.cidrIpv4) ??
    str(item.cidrIpv6) ??
    str(item.prefixListId) ??
    (isRecord(item.referencedGroupInfo) ? str(item.referencedGroupInfo.groupId) : undefined) ??
    '?';
  return protocol === '-1' ? `all traffic ${target}` : `${protocol}/${ports} ${target}`;
}

function ruleIdsFromResponse(
  response: Record<string, unknown> | null,
  direction: Direction,
  groupId: string | undefined,
): ResponseRule[] {
  if (!response) return [];
  const seen = new Set<string>();
  const out: ResponseRule[] = [];
  for (const item of items(response.securityGroupRuleSet)) {
    const id = str(item.securityGroupRuleId);
    if (!id || seen.has(id)) continue;
    // A rule of the other direction or another group is never ours to revoke.
    if (typeof item.isEgress === 'boolean' && item.isEgress !== (direction === 'egress')) continue;
    if (groupId && str(item.groupId) && item.groupId !== groupId) continue;
    seen.add(id);
    out.push({ id, text: ruleText(item) });
  }
  return out;
}

function permissionText(p: IpPermissionInput): string {
  const ports =
    p.IpProtocol === '-1'
      ? 'all traffic'
      : p.FromPort === undefined
        ? p.IpProtocol
        : p.FromPort === p.ToPort
          ? `${p.IpProtocol}/${p.FromPort}`
          : `${p.IpProtocol}/${p.FromPort}-${p.ToPort ?? '?'}`;
  const targets = [
    ...(p.IpRanges ?? []).map((r) => r.CidrIp),
    ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6),
    ...(p.PrefixListIds ?? []).map((r) => r.PrefixListId),
    ...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId ?? g.GroupName ?? '?'),
  ];
  return `${ports} ${targets.join(', ')}`;
}

// ---- security groups (rows 1–2) ----

export function planSecurityGroup({ change, req, res }: PlanArgs, direction: Direction): PlanDecision {
  const operation = direction === 'ingress' ? 'RevokeSecurityGroupIngress' : 'RevokeSecurityGroupEgress';
  const requestGroupId = str(req.groupId);
  const rules = ruleIdsFromResponse(res, direction, requestGroupId);
  const responseGroupId = res
    ? items(res.securityGroupRuleSet)
        .map((i) => str(i.groupId))
        .find((g) => g !== undefined)
    : undefined;
  const groupId = requestGroupId ?? responseGroupId;
  if (!groupId) {
    return none(`${change.eventName} names no security group id (groupName only): cannot revert safely`);
  }
  if (rules.length > 0) {
    const ids = rules.map((r) => r.id);
    return {
      plan: eventPlan(
        'ec2',
        operation,
        { GroupId: groupId, SecurityGroupRuleIds: ids },
        `revoke ${direction} ${rules.map((r) => `${r.id} (${r.text})`).join(', ')} from ${groupId}`,
      ),
      reason: `rule ids from the response (${ids.join(', ')})`,
    };
  }
  const perms = ipPermissionsFromRequest(req);
  if (perms.length > 0) {
    return {
      plan: eventPlan(
        'ec2',
        operation,
        { GroupId: groupId, IpPermissions: perms },
        `revoke ${direction} ${perms.map(permissionText).join('; ')} from ${groupId}`,
      ),
      reason: 'no rule ids in the response: IpPermissions replayed from the request',
    };
  }
  return none(`${change.eventName} on ${groupId} has neither rule ids in the response nor permissions in the request`);
}
