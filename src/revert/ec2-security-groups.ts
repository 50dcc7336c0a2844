// Security groups: an ingress or egress rule added by AuthorizeSecurityGroupIngress/Egress is revoked again.
// Plan: from the record. The rule ids AWS returned name exactly what was added and are preferred; without them the
// request's permissions are replayed as IpPermissions (values must match exactly), from either request shape.
// Run: describe the group's rules, revoke those still present, describe again.
import {
  paginateDescribeSecurityGroupRules,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { FailureTypes } from '../core/types';
import { isRecord } from '../core/text';
import { eventPlan, int, items, none, str, type PlanArgs, type PlanDecision } from './plan-common';
import { awsError, forbidden, RevertFailure } from './failures';
import { collect, ec2DryRun, stateChanged, targetGone, type Handler, type ServiceReverts } from './handler';

// ---- plan ----
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

type Direction = 'ingress' | 'egress';

/** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | '-1' (all), or the protocol number as given. */
function normalizeProtocol(p: unknown): string | undefined {
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
  /** What the rule was when AWS answered the call: the live rule must still be this for vouch to revoke it. */
  expect: ExpectedRule;
}

/** A rule as the change made it (from the response), compared field by field with the live rule's summary. */
export type ExpectedRule = Omit<RuleSummary, 'id'>;

function expectedRule(item: Record<string, unknown>, direction: Direction): ExpectedRule {
  const protocol = normProtocol(str(item.ipProtocol) ?? (typeof item.ipProtocol === 'number' ? String(item.ipProtocol) : undefined));
  const e: ExpectedRule = { direction, protocol, ports: portsOf(protocol, int(item.fromPort), int(item.toPort)) };
  const cidr = str(item.cidrIpv4) ?? str(item.cidrIpv6);
  if (cidr) e.cidr = cidr;
  if (str(item.prefixListId)) e.prefixListId = item.prefixListId as string;
  const ref = isRecord(item.referencedGroupInfo) ? str(item.referencedGroupInfo.groupId) : undefined;
  if (ref) e.referencedGroupId = ref;
  return e;
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
    out.push({ id, text: ruleText(item), expect: expectedRule(item, direction) });
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

// ---- the plan ----

function planSecurityGroup({ change, req, res }: PlanArgs, direction: Direction): PlanDecision {
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
      plan: {
        ...eventPlan(
          'ec2',
          operation,
          { GroupId: groupId, SecurityGroupRuleIds: ids },
          `revoke ${direction} ${rules.map((r) => `${r.id} (${r.text})`).join(', ')} from ${groupId}`,
        ),
        expect: { rules: Object.fromEntries(rules.map((r) => [r.id, r.expect])) },
      },
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

// ---- run ----

/** A compact, stable view of one security-group rule, for `RevertResult.before` / `after`. */
export interface RuleSummary {
  id: string;
  direction: 'ingress' | 'egress';
  /** 'tcp' | 'udp' | 'icmp' | '-1' (all traffic) | a protocol number. */
  protocol: string;
  /** 'all', '22' or '1024-65535' (ICMP: 'type-code'). */
  ports: string;
  /** The IPv4 or IPv6 CIDR, when the rule has one. */
  cidr?: string;
  prefixListId?: string;
  referencedGroupId?: string;
}

function portsOf(protocol: string, from?: number, to?: number): string {
  if (protocol === '-1') return 'all';
  if (from === undefined && to === undefined) return 'all';
  if (from === to || to === undefined) return String(from);
  return `${String(from)}-${String(to)}`;
}

/** A protocol as the rules are compared: a missing protocol is "all traffic" (-1). */
function normProtocol(p: string | undefined): string {
  return normalizeProtocol(p) ?? '-1';
}

function summarize(r: SecurityGroupRule): RuleSummary {
  const protocol = normProtocol(r.IpProtocol);
  const s: RuleSummary = {
    id: r.SecurityGroupRuleId ?? '?',
    direction: r.IsEgress ? 'egress' : 'ingress',
    protocol,
    ports: portsOf(protocol, r.FromPort, r.ToPort),
  };
  const cidr = r.CidrIpv4 ?? r.CidrIpv6;
  if (cidr) s.cidr = cidr;
  if (r.PrefixListId) s.prefixListId = r.PrefixListId;
  if (r.ReferencedGroupInfo?.GroupId) s.referencedGroupId = r.ReferencedGroupInfo.GroupId;
  return s;
}

/** Does the rule match one (protocol, ports, target) of the permission? Exact, as AWS matches a revoke. */
function ruleMatchesPermission(rule: RuleSummary, p: IpPermission): boolean {
  const protocol = normProtocol(p.IpProtocol);
  if (rule.protocol !== protocol) return false;
  if (protocol !== '-1' && rule.ports !== portsOf(protocol, p.FromPort, p.ToPort)) return false;
  return (
    (p.IpRanges ?? []).some((r) => r.CidrIp === rule.cidr) ||
    (p.Ipv6Ranges ?? []).some((r) => r.CidrIpv6 === rule.cidr) ||
    (p.PrefixListIds ?? []).some((r) => r.PrefixListId !== undefined && r.PrefixListId === rule.prefixListId) ||
    (p.UserIdGroupPairs ?? []).some((g) => g.GroupId !== undefined && g.GroupId === rule.referencedGroupId)
  );
}

interface CheckedSgPlan {
  operation: 'RevokeSecurityGroupIngress' | 'RevokeSecurityGroupEgress';
  direction: 'ingress' | 'egress';
  groupId: string;
  ruleIds: string[] | null;
  permissions: IpPermission[] | null;
}

function checkPermission(p: unknown): IpPermission {
  if (!isRecord(p) || typeof p.IpProtocol !== 'string') throw forbidden('revert plan has an IpPermission without IpProtocol');
  const ranges = ['IpRanges', 'Ipv6Ranges', 'PrefixListIds', 'UserIdGroupPairs'];
  if (!ranges.some((k) => Array.isArray(p[k]) && (p[k] as unknown[]).length > 0)) {
    throw forbidden('revert plan has an IpPermission without any source or destination');
  }
  return p as IpPermission;
}

function checkSgPlan(operation: CheckedSgPlan['operation'], input: Record<string, unknown>): CheckedSgPlan {
  const groupId = input.GroupId;
  if (typeof groupId !== 'string' || !/^sg-[0-9a-z]+$/i.test(groupId)) {
    throw forbidden(`revert plan names no valid GroupId (${JSON.stringify(groupId)})`);
  }
  const direction = operation === 'RevokeSecurityGroupIngress' ? 'ingress' : 'egress';
  const ids = input.SecurityGroupRuleIds;
  const perms = input.IpPermissions;
  if (Array.isArray(ids) && ids.length > 0) {
    if (!ids.every((id): id is string => typeof id === 'string' && /^sgr-[0-9a-z]+$/i.test(id))) {
      throw forbidden('revert plan has a malformed SecurityGroupRuleIds list');
    }
    return { operation, direction, groupId, ruleIds: [...new Set(ids)], permissions: null };
  }
  if (Array.isArray(perms) && perms.length > 0) {
    return { operation, direction, groupId, ruleIds: null, permissions: perms.map(checkPermission) };
  }
  throw forbidden('revert plan has neither SecurityGroupRuleIds nor IpPermissions');
}

/** The expected rules of a plan by id (plans made before expectations existed have none: then ids alone decide). */
function expectedRules(expect: unknown): Record<string, ExpectedRule> | undefined {
  const rules = isRecord(expect) && isRecord(expect.rules) ? expect.rules : undefined;
  return rules as Record<string, ExpectedRule> | undefined;
}

/** How a live rule differs from the rule the change made; empty when it is the same rule. */
function ruleDiffers(live: RuleSummary, want: ExpectedRule): string[] {
  const fields: (keyof ExpectedRule)[] = ['direction', 'protocol', 'ports', 'cidr', 'prefixListId', 'referencedGroupId'];
  return fields
    .filter((f) => (live[f] ?? null) !== (want[f] ?? null))
    .map((f) => `${live.id} ${f} is ${JSON.stringify(live[f] ?? null)}, the change made ${JSON.stringify(want[f] ?? null)}`);
}

function targeted(plan: CheckedSgPlan, rules: RuleSummary[], ids: string[] | null = plan.ruleIds): RuleSummary[] {
  if (ids) return rules.filter((r) => ids.includes(r.id));
  return rules.filter(
    (r) => r.direction === plan.direction && (plan.permissions ?? []).some((p) => ruleMatchesPermission(r, p)),
  );
}

async function describeRules(ec2: EC2Client, groupId: string): Promise<RuleSummary[]> {
  const rules = await collect(
    paginateDescribeSecurityGroupRules({ client: ec2, pageSize: 1000 }, { Filters: [{ Name: 'group-id', Values: [groupId] }] }),
    (page) => page.SecurityGroupRules,
  );
  // The filter should already do this; a stand-in that ignores it must not leak other groups into the result.
  return rules
    .filter((r) => r.GroupId === undefined || r.GroupId === groupId)
    .map(summarize)
    .sort((a, b) => a.id.localeCompare(b.id));
}

const NOT_FOUND_RULE = ['InvalidPermission.NotFound', 'InvalidSecurityGroupRuleId.NotFound'];
const GROUP_GONE = ['InvalidGroup.NotFound', 'InvalidGroupId.NotFound'];

type RevokeOutcome =
  | { kind: 'revoked'; unknown: number }
  | { kind: 'already-reverted'; code: string }
  | { kind: 'group-gone'; code: string }
  | { kind: 'dry-run' };

async function revoke(ec2: EC2Client, plan: CheckedSgPlan, ruleIds: string[] | null, dryRun: boolean): Promise<RevokeOutcome> {
  const input = {
    ...(ruleIds ? { GroupId: plan.groupId, SecurityGroupRuleIds: ruleIds } : { GroupId: plan.groupId, IpPermissions: plan.permissions ?? [] }),
    ...(dryRun ? { DryRun: true } : {}),
  };
  const send = () =>
    plan.operation === 'RevokeSecurityGroupIngress'
      ? ec2.send(new RevokeSecurityGroupIngressCommand(input))
      : ec2.send(new RevokeSecurityGroupEgressCommand(input));
  try {
    if (dryRun) {
      await ec2DryRun(send);
      return { kind: 'dry-run' };
    }
    const res = await send();
    return { kind: 'revoked', unknown: res.UnknownIpPermissions?.length ?? 0 };
  } catch (err) {
    if (err instanceof RevertFailure) throw err;
    const { code } = awsError(err);
    if (NOT_FOUND_RULE.includes(code)) return { kind: 'already-reverted', code };
    if (GROUP_GONE.includes(code)) return { kind: 'group-gone', code };
    throw err;
  }
}

function names(rules: RuleSummary[]): string {
  return rules.map((r) => r.id).join(', ');
}

function securityGroupHandler(operation: CheckedSgPlan['operation']): Handler {
  const unused = (): never => {
    throw new Error('security-group handler runs its own flow');
  };
  return {
    service: 'ec2',
    operation,
    iam: { write: [`ec2:${operation}`], read: ['ec2:DescribeSecurityGroupRules'] },
    dryRun: true,
    check: (args) => void checkSgPlan(operation, args),
    read: unused,
    pending: unused,
    apply: unused,
    async run(ctx) {
      const plan = checkSgPlan(operation, ctx.args);
      const ec2 = ctx.client('ec2');
      ctx.step = `DescribeSecurityGroupRules ${plan.groupId}`;
      const before = await describeRules(ec2, plan.groupId);
      const found = targeted(plan, before);
      // Act on live state: a rule id whose rule is no longer the one the change made (another CIDR, ports or
      // protocol now) is not revoked.
      const expected = plan.ruleIds ? expectedRules(ctx.plan.expect) : undefined;
      const changedRules = expected ? found.flatMap((r) => (expected[r.id] ? ruleDiffers(r, expected[r.id] as ExpectedRule) : [])) : [];
      const present = expected ? found.filter((r) => !expected[r.id] || ruleDiffers(r, expected[r.id] as ExpectedRule).length === 0) : found;
      if (changedRules.length && present.length === 0) throw stateChanged(ctx, changedRules, before);

      if (ctx.input.dryRun) {
        if (present.length === 0) {
          return { changed: false, before, after: before, dryRun: true, message: `dry run: already reverted, nothing on ${plan.groupId} to revoke` };
        }
        ctx.step = `${plan.operation} ${plan.groupId} (DryRun)`;
        const ids = plan.ruleIds ? present.map((r) => r.id) : null;
        const outcome = await revoke(ec2, plan, ids, true);
        return {
          changed: false,
          before,
          after: before,
          dryRun: true,
          message:
            outcome.kind === 'dry-run'
              ? `dry run: would revoke ${plan.direction} ${names(present)} on ${plan.groupId}; EC2 DryRun says the call is allowed`
              : `dry run: nothing to revoke on ${plan.groupId} (${outcome.kind})`,
        };
      }

      // With rule ids, revoke only those still there (one id already gone would fail the whole call) and still the
      // change's.
      const ids = plan.ruleIds && present.length > 0 ? present.map((r) => r.id) : plan.ruleIds;
      ctx.step = `${plan.operation} ${plan.groupId}`;
      const outcome = await revoke(ec2, plan, ids, false);

      ctx.step = `DescribeSecurityGroupRules ${plan.groupId} (verify)`;
      const after = await describeRules(ec2, plan.groupId);
      const left = targeted(plan, after, ids).filter((r) => present.some((p) => p.id === r.id) || !plan.ruleIds);
      if (left.length > 0) {
        throw new RevertFailure({
          message: `${ctx.plan.description}: still present after the revoke: ${names(left)}`,
          type: FailureTypes.RevertNotVerified,
          nonRetryable: true,
          details: [{ before, after }],
        });
      }
      if (outcome.kind === 'group-gone') throw targetGone(ctx, `security group ${plan.groupId} no longer exists (${outcome.code})`);
      if (changedRules.length) {
        throw new RevertFailure({
          message: `${ctx.plan.description}: revoked ${names(present)} on ${plan.groupId}, but not the rest: it no longer matches the change: ${changedRules.join('; ')}`,
          type: FailureTypes.RevertStateChanged,
          nonRetryable: true,
          details: [{ before, after }],
        });
      }
      const planned = plan.permissions ? plan.permissions.length : (plan.ruleIds ?? []).length;
      if (outcome.kind === 'already-reverted' || (outcome.kind === 'revoked' && outcome.unknown >= planned)) {
        return {
          changed: false,
          before,
          after,
          message: `already reverted: ${plan.direction} rule(s) on ${plan.groupId} were gone before vouch acted`,
        };
      }
      const skipped = plan.ruleIds ? plan.ruleIds.filter((id) => !present.some((r) => r.id === id)) : [];
      return {
        changed: true,
        before,
        after,
        message:
          `revoked ${plan.direction} ${present.length ? names(present) : 'rule(s)'} on ${plan.groupId}; verified gone` +
          (skipped.length ? ` (${skipped.join(', ')} already gone)` : ''),
      };
    },
  };
}

const EC2 = ['ec2.amazonaws.com'];

export const securityGroupReverts: ServiceReverts = {
  planners: {
    AuthorizeSecurityGroupIngress: { eventSources: EC2, from: 'event', produces: ['ec2:RevokeSecurityGroupIngress'], plan: (a) => planSecurityGroup(a, 'ingress') },
    AuthorizeSecurityGroupEgress: { eventSources: EC2, from: 'event', produces: ['ec2:RevokeSecurityGroupEgress'], plan: (a) => planSecurityGroup(a, 'egress') },
  },
  handlers: [securityGroupHandler('RevokeSecurityGroupIngress'), securityGroupHandler('RevokeSecurityGroupEgress')],
};
