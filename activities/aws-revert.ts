// AWS revert activity: undoes a security-group change the policy planned (src/revert-plans.ts), then proves it.
//
// vendors.md §4.4–4.6, risky-changes.md §3: describe the group, revoke, describe again and check that nothing the
// plan named is left. "Not found" answers mean someone already undid it (changed: false), never an error. Reverts run
// under the role session `vouch-revert-<eventId>`, so vouch can recognise its own calls in CloudTrail.
import { ApplicationFailure } from '@temporalio/activity';
import {
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2ClientConfig,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { FailureTypes, type RevertInput, type RevertPlan, type RevertResult } from '../workflows/types';

export interface AwsDeps {
  /** An EC2 client acting in `account`/`region`, as the role session `sessionName` when roles are used. */
  ec2For(account: string, region: string, sessionName: string): EC2Client;
}

export interface Ec2ClientFactoryOptions {
  /** Role to assume in the target account, `{account}` replaced: `arn:aws:iam::{account}:role/vouch-revert`. */
  roleArnTemplate?: string;
  /** Endpoint override for EC2 (and STS when a role is assumed), e.g. a local moto_server. */
  endpoint?: string;
  /** Static credentials (the caller of AssumeRole when a template is set); the SDK's default chain otherwise. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

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

const SESSION_PREFIX = 'vouch-revert-';
/** SDK retries are bounded to one extra attempt: Temporal's retry policy owns the backoff. */
const SDK_MAX_ATTEMPTS = 2;

/** `vouch-revert-<eventId>`, limited to AssumeRole's 2–64 characters of `[\w+=,.@-]`. */
export function revertSessionName(eventId: string): string {
  return sanitizeSessionName(`${SESSION_PREFIX}${eventId}`);
}

function sanitizeSessionName(name: string): string {
  const clean = name.replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return clean.length >= 2 ? clean : `${SESSION_PREFIX}${clean}`.slice(0, 64);
}

/** Builds `AwsDeps.ec2For`: one client per call, assuming the revert role in the target account when configured. */
export function createEc2ClientFactory(opts: Ec2ClientFactoryOptions = {}): AwsDeps {
  return {
    ec2For(account: string, region: string, sessionName: string): EC2Client {
      if (!/^\d{12}$/.test(account)) throw new Error(`not an AWS account id: ${JSON.stringify(account)}`);
      const config: EC2ClientConfig = { region, maxAttempts: SDK_MAX_ATTEMPTS };
      if (opts.endpoint) config.endpoint = opts.endpoint;
      if (opts.roleArnTemplate) {
        config.credentials = fromTemporaryCredentials({
          params: {
            RoleArn: opts.roleArnTemplate.split('{account}').join(account),
            RoleSessionName: sanitizeSessionName(sessionName),
            DurationSeconds: 900,
          },
          ...(opts.credentials ? { masterCredentials: opts.credentials } : {}),
          clientConfig: {
            region,
            maxAttempts: SDK_MAX_ATTEMPTS,
            ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
          },
        });
      } else if (opts.credentials) {
        config.credentials = opts.credentials;
      }
      return new EC2Client(config);
    },
  };
}

// ---- plan checking ----

interface CheckedPlan {
  operation: RevertPlan['operation'];
  direction: 'ingress' | 'egress';
  groupId: string;
  ruleIds: string[] | null;
  permissions: IpPermission[] | null;
}

function forbidden(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FailureTypes.RevertForbidden, nonRetryable: true });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkPermission(p: unknown): IpPermission {
  if (!isRecord(p) || typeof p.IpProtocol !== 'string') throw forbidden('revert plan has an IpPermission without IpProtocol');
  const ranges = ['IpRanges', 'Ipv6Ranges', 'PrefixListIds', 'UserIdGroupPairs'];
  if (!ranges.some((k) => Array.isArray(p[k]) && (p[k] as unknown[]).length > 0)) {
    throw forbidden('revert plan has an IpPermission without any source or destination');
  }
  return p as IpPermission;
}

function checkPlan(plan: RevertPlan): CheckedPlan {
  const operation: string = plan.operation;
  if (plan.service !== 'ec2' || (operation !== 'RevokeSecurityGroupIngress' && operation !== 'RevokeSecurityGroupEgress')) {
    throw forbidden(`vouch does not run ${String(plan.service)}:${operation} as a revert`);
  }
  const input = isRecord(plan.input) ? plan.input : {};
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

// ---- rule summaries and matching ----

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

function targeted(plan: CheckedPlan, rules: RuleSummary[], ids: string[] | null = plan.ruleIds): RuleSummary[] {
  if (ids) return rules.filter((r) => ids.includes(r.id));
  return rules.filter(
    (r) => r.direction === plan.direction && (plan.permissions ?? []).some((p) => ruleMatchesPermission(r, p)),
  );
}

// ---- AWS calls and errors ----

interface AwsErrorShape {
  code: string;
  message: string;
  status?: number;
  fault?: string;
  /** Node's errno code (ECONNREFUSED, ECONNRESET, ETIMEDOUT…) when no HTTP answer came back. */
  network?: string;
}

function awsError(err: unknown): AwsErrorShape {
  const e = isRecord(err) || err instanceof Error ? (err as unknown as Record<string, unknown>) : {};
  const raw = typeof e.Code === 'string' ? e.Code : typeof e.name === 'string' ? e.name : 'Error';
  const meta = isRecord(e.$metadata) ? e.$metadata : undefined;
  return {
    // CloudTrail writes "Client.InvalidPermission.NotFound"; the API answers without the prefix.
    code: raw.replace(/^(Client|Server)\./, ''),
    message: typeof e.message === 'string' ? e.message : String(err),
    status: typeof meta?.httpStatusCode === 'number' ? meta.httpStatusCode : undefined,
    fault: typeof e.$fault === 'string' ? e.$fault : undefined,
    network:
      typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)
        ? e.code
        : raw === 'TimeoutError' || raw === 'AbortError'
          ? raw
          : undefined,
  };
}

const NOT_FOUND_RULE = new Set(['InvalidPermission.NotFound', 'InvalidSecurityGroupRuleId.NotFound']);
const GROUP_GONE = new Set(['InvalidGroup.NotFound', 'InvalidGroupId.NotFound']);
const CREDENTIAL_ERRORS = new Set([
  'AuthFailure',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'ExpiredTokenException',
  'MissingAuthenticationToken',
  'UnrecognizedClientException',
  'InvalidAccessKeyId',
  'CredentialsProviderError',
]);
const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'SlowDown',
  'PriorRequestNotComplete',
]);

/** Maps an SDK (EC2 or STS) error to the failure the workflow branches on. */
function toFailure(err: unknown, step: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = awsError(err);
  const text = `${step}: ${e.code}: ${e.message}`;
  if (e.code === 'UnauthorizedOperation' || e.code.startsWith('AccessDenied')) {
    return ApplicationFailure.create({ message: text, type: FailureTypes.RevertForbidden, nonRetryable: true });
  }
  if (CREDENTIAL_ERRORS.has(e.code)) {
    return ApplicationFailure.create({ message: text, type: FailureTypes.InvalidCredentials, nonRetryable: true });
  }
  if (THROTTLING.has(e.code) || e.status === 429) {
    return ApplicationFailure.create({ message: text, type: FailureTypes.RateLimited, nextRetryDelay: '5 seconds' });
  }
  const cause = err instanceof Error ? err : undefined;
  if ((e.status !== undefined && e.status >= 500) || e.fault === 'server' || e.network) {
    // 5xx, or no HTTP answer at all (connection refused, reset, timeout): worth another attempt.
    const message = e.network ? `${step}: ${e.network}: ${e.message}` : text;
    return ApplicationFailure.create({ message, type: 'AwsUnavailable', nonRetryable: false, cause });
  }
  if (e.status === undefined) {
    // Not an AWS answer (a bug or an unexpected runtime error): retryable, bounded by the activity retry policy.
    return ApplicationFailure.create({ message: text, type: e.code, nonRetryable: false, cause });
  }
  return ApplicationFailure.create({ message: text, type: FailureTypes.VendorRejected, nonRetryable: true });
}

async function describeRules(ec2: EC2Client, groupId: string): Promise<RuleSummary[]> {
  const out: RuleSummary[] = [];
  let NextToken: string | undefined;
  for (let page = 0; page < 50; page++) {
    const res = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: 'group-id', Values: [groupId] }],
        MaxResults: 1000,
        NextToken,
      }),
    );
    for (const r of res.SecurityGroupRules ?? []) {
      // The filter should already do this; a stand-in that ignores it must not leak other groups into the result.
      if (r.GroupId === undefined || r.GroupId === groupId) out.push(summarize(r));
    }
    NextToken = res.NextToken;
    if (!NextToken) break;
  }
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

type RevokeOutcome =
  | { kind: 'revoked'; unknown: number }
  | { kind: 'already-reverted'; code: string }
  | { kind: 'group-gone'; code: string };

async function revoke(ec2: EC2Client, plan: CheckedPlan, ruleIds: string[] | null): Promise<RevokeOutcome> {
  const input = ruleIds
    ? { GroupId: plan.groupId, SecurityGroupRuleIds: ruleIds }
    : { GroupId: plan.groupId, IpPermissions: plan.permissions ?? [] };
  try {
    const res =
      plan.operation === 'RevokeSecurityGroupIngress'
        ? await ec2.send(new RevokeSecurityGroupIngressCommand(input))
        : await ec2.send(new RevokeSecurityGroupEgressCommand(input));
    return { kind: 'revoked', unknown: res.UnknownIpPermissions?.length ?? 0 };
  } catch (err) {
    const { code } = awsError(err);
    if (NOT_FOUND_RULE.has(code)) return { kind: 'already-reverted', code };
    if (GROUP_GONE.has(code)) return { kind: 'group-gone', code };
    throw err;
  }
}

function names(rules: RuleSummary[]): string {
  return rules.map((r) => r.id).join(', ');
}

export function createAwsActivities(deps: AwsDeps) {
  return {
    /** Undoes a planned security-group change and verifies it; idempotent (a second run reports changed: false). */
    async revertChange(input: RevertInput): Promise<RevertResult> {
      const plan = checkPlan(input.plan);
      let ec2: EC2Client;
      try {
        ec2 = deps.ec2For(input.account, input.region, revertSessionName(input.eventId));
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        throw forbidden(`no EC2 client for ${input.account}/${input.region}: ${why}`);
      }
      let step = `DescribeSecurityGroupRules ${plan.groupId}`;
      try {
        const before = await describeRules(ec2, plan.groupId);
        const present = targeted(plan, before);

        // With rule ids, revoke only those still there: one id already gone would fail the whole call.
        const ids = plan.ruleIds && present.length > 0 ? present.map((r) => r.id) : plan.ruleIds;
        step = `${plan.operation} ${plan.groupId}`;
        const outcome = await revoke(ec2, plan, ids);

        step = `DescribeSecurityGroupRules ${plan.groupId} (verify)`;
        const after = await describeRules(ec2, plan.groupId);
        const left = targeted(plan, after);
        if (left.length > 0) {
          throw ApplicationFailure.create({
            message: `${input.plan.description}: still present after the revoke: ${names(left)}`,
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
      } catch (err) {
        throw toFailure(err, step);
      }
    },
  };
}
