import { ApplicationFailure } from '@temporalio/activity';
import {
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { FailureTypes } from '../../core/types';
import { type RuleSummary } from '../clients';
import { awsError, forbidden, isRecord } from '../failures';
import { ec2DryRun, pages, type Handler } from '../handler';

// Security groups: describe, revoke the still-present rules, describe again (rows 1–2).

function portsOf(protocol: string, from?: number, to?: number): string {
  if (protocol === '-1') return 'all';
  if (from === undefined && to === undefined) return 'all';
  if (from === to || to === undefined) return String(from);
  return `${String(from)}-${String(to)}`;
}

function normProtocol(p: string | undefined): string {
  const s = (p ?? '-1').toLowerCase();
  return ({ '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' } as Record<string, string>)[s] ?? s;
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

function targeted(plan: CheckedSgPlan, rules: RuleSummary[], ids: string[] | null = plan.ruleIds): RuleSummary[] {
  if (ids) return rules.filter((r) => ids.includes(r.id));
  return rules.filter(
    (r) => r.direction === plan.direction && (plan.permissions ?? []).some((p) => ruleMatchesPermission(r, p)),
  );
}

async function describeRules(ec2: EC2Client, groupId: string): Promise<RuleSummary[]> {
  const out = await pages(async (NextToken) => {
    const res = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }], MaxResults: 1000, NextToken }),
    );
    // The filter should already do this; a stand-in that ignores it must not leak other groups into the result.
    const items = (res.SecurityGroupRules ?? []).filter((r) => r.GroupId === undefined || r.GroupId === groupId).map(summarize);
    return { items, next: res.NextToken };
  });
  return out.sort((a, b) => a.id.localeCompare(b.id));
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
    if (err instanceof ApplicationFailure) throw err;
    const { code } = awsError(err);
    if (NOT_FOUND_RULE.includes(code)) return { kind: 'already-reverted', code };
    if (GROUP_GONE.includes(code)) return { kind: 'group-gone', code };
    throw err;
  }
}

function names(rules: RuleSummary[]): string {
  return rules.map((r) => r.id).join(', ');
}

export function securityGroupHandler(operation: CheckedSgPlan['operation']): Handler {
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
      const present = targeted(plan, before);

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

      // With rule ids, revoke only those still there: one id already gone would fail the whole call.
      const ids = plan.ruleIds && present.length > 0 ? present.map((r) => r.id) : plan.ruleIds;
      ctx.step = `${plan.operation} ${plan.groupId}`;
      const outcome = await revoke(ec2, plan, ids, false);

      ctx.step = `DescribeSecurityGroupRules ${plan.groupId} (verify)`;
      const after = await describeRules(ec2, plan.groupId);
      const left = targeted(plan, after);
      if (left.length > 0) {
        throw ApplicationFailure.create({
          message: `${ctx.plan.description}: still present after the revoke: ${names(left)}`,
          type: FailureTypes.RevertNotVerified,
          nonRetryable: true,
          details: [{ before, after }],
        });
      }
      if (outcome.kind === 'group-gone') {
        return {
          changed: false,
          before,
          after,
          message: `security group ${plan.groupId} no longer exists (${outcome.code}): nothing left to revert`,
        };
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
