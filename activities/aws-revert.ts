// AWS revert activity: runs a revert plan (src/revert-plans.ts) with the SDK v3 client of its service, then proves it.
//
// vendors.md §4.4–4.6, risky-changes.md §3. Every plan kind vouch can run has a handler below that
//   1. checks the plan (only known calls, only in the safe direction: remove, revoke, detach, deactivate, enable …),
//   2. reads the resource (before),
//   3. stops when nothing is left to undo ("already reverted", changed: false: a second run is a no-op),
//   4. makes the call(s) (or, with dryRun, EC2's DryRun where the API has it, otherwise nothing: plan only),
//   5. reads the resource again (after) and fails with RevertNotVerified when the change is still there.
// "Not found" answers for the thing being removed count as already reverted. Reverts run under the role session
// `vouch-revert-<eventId>`, so vouch can recognise its own calls in CloudTrail. The handler table is also the source
// of the least-privilege IAM policy (src/iam-policy.ts).
import { ApplicationFailure } from '@temporalio/activity';
import {
  DeleteNetworkAclEntryCommand,
  DeleteRouteCommand,
  DescribeImageAttributeCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSnapshotAttributeCommand,
  DetachInternetGatewayCommand,
  DisableSerialConsoleAccessCommand,
  EC2Client,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
  GetSerialConsoleAccessStatusCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2ClientConfig,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import {
  CloudTrailClient,
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  DeleteGroupPolicyCommand,
  DeleteRolePolicyCommand,
  DeleteUserPolicyCommand,
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  DetachUserPolicyCommand,
  GetGroupCommand,
  GetGroupPolicyCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand as GetBucketPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand as PutBucketPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  GetPublicAccessBlockCommand as GetAccountPublicAccessBlockCommand,
  PutPublicAccessBlockCommand as PutAccountPublicAccessBlockCommand,
  S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { CancelKeyDeletionCommand, DescribeKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetDetectorCommand, GuardDutyClient, UpdateDetectorCommand } from '@aws-sdk/client-guardduty';
import {
  ConfigServiceClient,
  DescribeConfigurationRecorderStatusCommand,
  StartConfigurationRecorderCommand,
} from '@aws-sdk/client-config-service';
import { GetPolicyCommand, LambdaClient, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import {
  DescribeDBClusterSnapshotAttributesCommand,
  DescribeDBSnapshotAttributesCommand,
  ModifyDBClusterSnapshotAttributeCommand,
  ModifyDBSnapshotAttributeCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import {
  FailureTypes,
  type AwsService,
  type RevertInput,
  type RevertPlan,
  type RevertResult,
  type RevertStep,
} from '../workflows/types';
import { canonicalJson, parsePolicyDocument, samePolicy } from '../src/baseline/types';
import { TRAIL_READBACK } from '../src/revert-plans';

// ---- clients ----

/** The SDK v3 client of each service a plan can name. */
export interface AwsClients {
  ec2: EC2Client;
  cloudtrail: CloudTrailClient;
  iam: IAMClient;
  s3: S3Client;
  s3control: S3ControlClient;
  kms: KMSClient;
  guardduty: GuardDutyClient;
  config: ConfigServiceClient;
  lambda: LambdaClient;
  rds: RDSClient;
}

export type AwsClientFor = <S extends AwsService>(
  service: S,
  account: string,
  region: string,
  sessionName: string,
) => AwsClients[S];

export interface AwsDeps {
  /** An EC2 client acting in `account`/`region`, as the role session `sessionName` when roles are used. */
  ec2For(account: string, region: string, sessionName: string): EC2Client;
  /** Any service's client (EC2 plans always go through `ec2For`). Without it, only EC2 plans run. */
  clientFor?: AwsClientFor;
}

export interface AwsClientFactoryOptions {
  /** Role to assume in the target account, `{account}` replaced: `arn:aws:iam::{account}:role/vouch-revert`. */
  roleArnTemplate?: string;
  /** Endpoint override for every service (and STS when a role is assumed), e.g. a local moto_server. */
  endpoint?: string;
  /** Static credentials (the caller of AssumeRole when a template is set); the SDK's default chain otherwise. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}
/** @deprecated name kept for src/worker.ts and src/demo.ts; same options as AwsClientFactoryOptions. */
export type Ec2ClientFactoryOptions = AwsClientFactoryOptions;

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

type Credentials = NonNullable<EC2ClientConfig['credentials']>;

/**
 * Builds `AwsDeps` (`ec2For` and `clientFor`): one client per call, assuming the revert role in the target account
 * when configured. Credential providers are shared per account and session, so one revert assumes the role once.
 */
export function createAwsClientFactory(opts: AwsClientFactoryOptions = {}): Required<AwsDeps> {
  const providers = new Map<string, Credentials>();
  const credentialsFor = (account: string, region: string, sessionName: string): Credentials | undefined => {
    if (!opts.roleArnTemplate) return opts.credentials;
    const key = `${account}|${sessionName}`;
    let provider = providers.get(key);
    if (!provider) {
      provider = fromTemporaryCredentials({
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
      if (providers.size >= 256) providers.delete(providers.keys().next().value as string);
      providers.set(key, provider);
    }
    return provider;
  };

  const clientFor: AwsClientFor = (service, account, region, sessionName) => {
    if (!/^\d{12}$/.test(account)) throw new Error(`not an AWS account id: ${JSON.stringify(account)}`);
    const credentials = credentialsFor(account, region, sessionName);
    const base = {
      region,
      maxAttempts: SDK_MAX_ATTEMPTS,
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(credentials ? { credentials } : {}),
    };
    const make = (): AwsClients[keyof AwsClients] => {
      switch (service) {
        case 'ec2':
          return new EC2Client(base);
        case 'cloudtrail':
          return new CloudTrailClient(base);
        case 'iam':
          return new IAMClient(base);
        case 's3':
          return new S3Client({ ...base, ...(opts.endpoint ? { forcePathStyle: true } : {}) });
        case 's3control': {
          // The endpoint rules put the account id in front of the host ({AccountId}.host), which a local endpoint
          // cannot serve: against an override, send every call to the endpoint as given.
          const endpoint = opts.endpoint;
          return new S3ControlClient({ ...base, ...(endpoint ? { endpointProvider: () => ({ url: new URL(endpoint) }) } : {}) });
        }
        case 'kms':
          return new KMSClient(base);
        case 'guardduty':
          return new GuardDutyClient(base);
        case 'config':
          return new ConfigServiceClient(base);
        case 'lambda':
          return new LambdaClient(base);
        case 'rds':
          return new RDSClient(base);
        default:
          throw new Error(`no client for AWS service ${JSON.stringify(service)}`);
      }
    };
    return make() as AwsClients[typeof service];
  };

  return {
    clientFor,
    ec2For: (account, region, sessionName) => clientFor('ec2', account, region, sessionName),
  };
}

/** The same factory under its original name (src/worker.ts, src/demo.ts): now covers every service. */
export const createEc2ClientFactory = createAwsClientFactory;

// ---- failures ----

function forbidden(message: string): ApplicationFailure {
  return ApplicationFailure.create({ message, type: FailureTypes.RevertForbidden, nonRetryable: true });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

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
  'InvalidSignatureException',
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

/** Maps an SDK error (any service, or STS) to the failure the workflow branches on. */
export function toFailure(err: unknown, step: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  const e = awsError(err);
  const text = `${step}: ${e.code}: ${e.message}`;
  if (e.code === 'UnauthorizedOperation' || e.code.startsWith('AccessDenied') || e.code === 'UnauthorizedAccess') {
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

/** AWS region names: us-east-1, eu-central-2, us-gov-west-1, us-isob-east-1, ap-southeast-5, … */
const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** Runs `fn`; an AWS error whose code is in `codes` becomes `fallback` instead. */
async function unless<T>(codes: readonly string[], fallback: T, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    if (codes.includes(awsError(err).code)) return fallback;
    throw err;
  }
}

/** The resource the revert is about no longer exists: nothing left to revert. */
class Gone extends Error {
  constructor(
    readonly what: string,
    readonly code: string,
  ) {
    super(`${what} no longer exists (${code})`);
  }
}

async function orGone<T>(codes: readonly string[], what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const { code } = awsError(err);
    if (codes.includes(code)) throw new Gone(what, code);
    throw err;
  }
}

// ---- handlers ----

interface RunContext {
  input: RevertInput;
  plan: RevertPlan;
  /** The plan's input (checked). */
  args: Record<string, unknown>;
  client<S extends AwsService>(service: S): AwsClients[S];
  step: string;
}

interface Handler {
  service: AwsService;
  operation: string;
  /** IAM actions the revert role needs: the call(s) made, and the reads that verify them. */
  iam: { write: string[]; read: string[] };
  /** Follow-up steps the plan may carry (`then`), as `service:Operation`. */
  then?: string[];
  /** EC2 calls that accept DryRun: a dry run asks AWS whether the call would be allowed. */
  dryRun?: boolean;
  /** Throws (RevertForbidden) unless the input is one this handler runs safely. */
  check(args: Record<string, unknown>, input: RevertInput): void;
  /** Reads the state the revert is about (before and after). May throw Gone. */
  read(ctx: RunContext): Promise<unknown>;
  /** What is still to undo in `state` (human phrases); empty when there is nothing. */
  pending(state: unknown, ctx: RunContext): string[];
  /** Makes the call(s). `dryRun` only for handlers with `dryRun: true`. */
  apply(ctx: RunContext, state: unknown, dryRun: boolean): Promise<void>;
  /** A handler that runs the whole flow itself (security groups keep their own, tested messages). */
  run?(ctx: RunContext): Promise<RevertResult>;
}

/**
 * A fresh copy of the plan's input for an SDK command: some SDK middleware writes into the input object (the S3
 * flexible-checksums step adds ChecksumAlgorithm), and the plan must stay exactly as planned for the next run.
 */
function sdkInput(ctx: RunContext, extra: Record<string, unknown> = {}): never {
  return structuredClone({ ...ctx.args, ...extra }) as never;
}

function need(args: Record<string, unknown>, key: string, pattern?: RegExp): string {
  const v = args[key];
  if (typeof v !== 'string' || !v || (pattern && !pattern.test(v))) {
    throw forbidden(`revert plan has no valid ${key} (${JSON.stringify(v)})`);
  }
  return v;
}

function onlyKeys(args: Record<string, unknown>, allowed: string[], op: string): void {
  const extra = Object.keys(args).filter((k) => !allowed.includes(k));
  if (extra.length) throw forbidden(`revert plan for ${op} has input vouch never sends: ${extra.join(', ')}`);
}

/** Sends `command` with DryRun: true; AWS answers DryRunOperation when the call would have succeeded. */
async function ec2DryRun(send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (err) {
    if (awsError(err).code === 'DryRunOperation') return;
    throw err;
  }
  throw ApplicationFailure.create({
    message: 'the endpoint ignored DryRun and made the call: treat it as a real revert and check the resource',
    type: 'DryRunIgnored',
    nonRetryable: true,
  });
}

type Grantee = Record<string, string>;

function granteesOf(list: unknown): Grantee[] {
  if (!Array.isArray(list) || list.length === 0) return [];
  return list.map((g: unknown) => {
    if (!isRecord(g)) throw forbidden('revert plan has a malformed permission entry');
    const entries = Object.entries(g).filter(([, v]) => typeof v === 'string' && v);
    if (entries.length !== 1) throw forbidden('revert plan permission entries must name exactly one grantee');
    return Object.fromEntries(entries) as Grantee;
  });
}

function granteeKey(g: Record<string, unknown>): string {
  return Object.entries(g)
    .filter(([, v]) => typeof v === 'string' && v)
    .map(([k, v]) => `${k}=${String(v)}`)
    .sort()
    .join(',');
}

function stillGranted(current: unknown, planned: Grantee[]): string[] {
  const have = new Set((Array.isArray(current) ? current : []).filter(isRecord).map(granteeKey));
  return planned.filter((g) => have.has(granteeKey(g))).map((g) => `still shared with ${Object.values(g)[0]}`);
}

const PAB_FLAGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;

function checkFullPab(args: Record<string, unknown>): void {
  const conf = args.PublicAccessBlockConfiguration;
  if (!isRecord(conf) || !PAB_FLAGS.every((f) => conf[f] === true)) {
    throw forbidden('a public access block revert must turn all four flags on');
  }
}

function pabOff(conf: unknown): string[] {
  const c = isRecord(conf) ? conf : {};
  return PAB_FLAGS.filter((f) => c[f] !== true).map((f) => `${f} off`);
}

async function pages<T>(fetch: (marker?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 50; page++) {
    const res = await fetch(marker);
    out.push(...res.items);
    marker = res.next;
    if (!marker) break;
  }
  return out;
}

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

// Network ACL entries, routes, internet gateways (rows 4–5).

const naclEntry: Handler = {
  service: 'ec2',
  operation: 'DeleteNetworkAclEntry',
  iam: { write: ['ec2:DeleteNetworkAclEntry'], read: ['ec2:DescribeNetworkAcls'] },
  dryRun: true,
  check(a) {
    need(a, 'NetworkAclId', /^acl-[0-9a-z]+$/i);
    if (!Number.isInteger(a.RuleNumber) || typeof a.Egress !== 'boolean') throw forbidden('revert plan needs RuleNumber and Egress');
    onlyKeys(a, ['NetworkAclId', 'RuleNumber', 'Egress'], 'DeleteNetworkAclEntry');
  },
  async read(ctx) {
    const id = ctx.args.NetworkAclId as string;
    const res = await orGone(['InvalidNetworkAclID.NotFound'], `network ACL ${id}`, () =>
      ctx.client('ec2').send(new DescribeNetworkAclsCommand({ NetworkAclIds: [id] })),
    );
    const acl = res.NetworkAcls?.find((a) => a.NetworkAclId === id);
    if (!acl) throw new Gone(`network ACL ${id}`, 'not in DescribeNetworkAcls');
    return (acl.Entries ?? [])
      .map((e) => ({
        ruleNumber: e.RuleNumber,
        egress: e.Egress,
        action: e.RuleAction,
        protocol: e.Protocol,
        cidr: e.CidrBlock ?? e.Ipv6CidrBlock,
        ...(e.PortRange ? { ports: `${String(e.PortRange.From)}-${String(e.PortRange.To)}` } : {}),
      }))
      .sort((x, y) => Number(x.egress) - Number(y.egress) || (x.ruleNumber ?? 0) - (y.ruleNumber ?? 0));
  },
  pending(state, ctx) {
    const found = (state as { ruleNumber?: number; egress?: boolean }[]).some(
      (e) => e.ruleNumber === ctx.args.RuleNumber && e.egress === ctx.args.Egress,
    );
    return found ? [`${ctx.args.Egress ? 'egress' : 'ingress'} entry #${String(ctx.args.RuleNumber)} present`] : [];
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DeleteNetworkAclEntryCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await unless(['InvalidNetworkAclEntry.NotFound'], undefined, async () => void (await send()));
  },
};

const route: Handler = {
  service: 'ec2',
  operation: 'DeleteRoute',
  iam: { write: ['ec2:DeleteRoute'], read: ['ec2:DescribeRouteTables'] },
  dryRun: true,
  check(a) {
    need(a, 'RouteTableId', /^rtb-[0-9a-z]+$/i);
    const dests = ['DestinationCidrBlock', 'DestinationIpv6CidrBlock', 'DestinationPrefixListId'].filter((k) => typeof a[k] === 'string');
    if (dests.length !== 1) throw forbidden('revert plan must name exactly one route destination');
    onlyKeys(a, ['RouteTableId', ...dests], 'DeleteRoute');
  },
  async read(ctx) {
    const id = ctx.args.RouteTableId as string;
    const res = await orGone(['InvalidRouteTableID.NotFound'], `route table ${id}`, () =>
      ctx.client('ec2').send(new DescribeRouteTablesCommand({ RouteTableIds: [id] })),
    );
    const table = res.RouteTables?.find((t) => t.RouteTableId === id);
    if (!table) throw new Gone(`route table ${id}`, 'not in DescribeRouteTables');
    return (table.Routes ?? []).map((r) => ({
      destination: r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId,
      target: r.GatewayId ?? r.NatGatewayId ?? r.TransitGatewayId ?? r.NetworkInterfaceId ?? r.InstanceId ?? r.VpcPeeringConnectionId,
      state: r.State,
    }));
  },
  pending(state, ctx) {
    const dest = ctx.args.DestinationCidrBlock ?? ctx.args.DestinationIpv6CidrBlock ?? ctx.args.DestinationPrefixListId;
    return (state as { destination?: string }[]).some((r) => r.destination === dest) ? [`route ${String(dest)} present`] : [];
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DeleteRouteCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await unless(['InvalidRoute.NotFound'], undefined, async () => void (await send()));
  },
};

const igw: Handler = {
  service: 'ec2',
  operation: 'DetachInternetGateway',
  iam: { write: ['ec2:DetachInternetGateway'], read: ['ec2:DescribeInternetGateways'] },
  dryRun: true,
  check(a) {
    need(a, 'InternetGatewayId', /^igw-[0-9a-z]+$/i);
    need(a, 'VpcId', /^vpc-[0-9a-z]+$/i);
    onlyKeys(a, ['InternetGatewayId', 'VpcId'], 'DetachInternetGateway');
  },
  async read(ctx) {
    const id = ctx.args.InternetGatewayId as string;
    const res = await orGone(['InvalidInternetGatewayID.NotFound'], `internet gateway ${id}`, () =>
      ctx.client('ec2').send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] })),
    );
    const gw = res.InternetGateways?.find((g) => g.InternetGatewayId === id);
    if (!gw) throw new Gone(`internet gateway ${id}`, 'not in DescribeInternetGateways');
    return (gw.Attachments ?? []).map((a) => ({ vpcId: a.VpcId, state: a.State }));
  },
  pending(state, ctx) {
    return (state as { vpcId?: string; state?: string }[]).some((a) => a.vpcId === ctx.args.VpcId && a.state !== 'detached')
      ? [`attached to ${String(ctx.args.VpcId)}`]
      : [];
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DetachInternetGatewayCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await unless(['Gateway.NotAttached'], undefined, async () => void (await send()));
  },
};

// Snapshot and AMI sharing (rows 36–37): only ever Remove.

const snapshotShare: Handler = {
  service: 'ec2',
  operation: 'ModifySnapshotAttribute',
  iam: { write: ['ec2:ModifySnapshotAttribute'], read: ['ec2:DescribeSnapshotAttribute'] },
  dryRun: true,
  check(a) {
    need(a, 'SnapshotId', /^snap-[0-9a-z]+$/i);
    if (a.Attribute !== 'createVolumePermission') throw forbidden('ModifySnapshotAttribute reverts only createVolumePermission');
    const cvp = a.CreateVolumePermission;
    if (!isRecord(cvp) || Object.keys(cvp).some((k) => k !== 'Remove') || !granteesOf(cvp.Remove).length) {
      throw forbidden('a snapshot revert may only Remove create-volume permissions');
    }
    onlyKeys(a, ['SnapshotId', 'Attribute', 'CreateVolumePermission'], 'ModifySnapshotAttribute');
  },
  async read(ctx) {
    const id = ctx.args.SnapshotId as string;
    const res = await orGone(['InvalidSnapshot.NotFound', 'InvalidSnapshotID.Malformed'], `snapshot ${id}`, () =>
      ctx.client('ec2').send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' })),
    );
    return (res.CreateVolumePermissions ?? []).map((p) => ({ ...(p.UserId ? { UserId: p.UserId } : {}), ...(p.Group ? { Group: p.Group } : {}) }));
  },
  pending(state, ctx) {
    return stillGranted(state, granteesOf((ctx.args.CreateVolumePermission as Record<string, unknown>).Remove));
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new ModifySnapshotAttributeCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

const imageShare: Handler = {
  service: 'ec2',
  operation: 'ModifyImageAttribute',
  iam: { write: ['ec2:ModifyImageAttribute'], read: ['ec2:DescribeImageAttribute'] },
  dryRun: true,
  check(a) {
    need(a, 'ImageId', /^ami-[0-9a-z]+$/i);
    if (a.Attribute !== 'launchPermission') throw forbidden('ModifyImageAttribute reverts only launchPermission');
    const lp = a.LaunchPermission;
    if (!isRecord(lp) || Object.keys(lp).some((k) => k !== 'Remove') || !granteesOf(lp.Remove).length) {
      throw forbidden('an AMI revert may only Remove launch permissions');
    }
    onlyKeys(a, ['ImageId', 'Attribute', 'LaunchPermission'], 'ModifyImageAttribute');
  },
  async read(ctx) {
    const id = ctx.args.ImageId as string;
    const res = await orGone(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'], `image ${id}`, () =>
      ctx.client('ec2').send(new DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' })),
    );
    return (res.LaunchPermissions ?? []).map((p) =>
      Object.fromEntries(Object.entries(p).filter(([, v]) => typeof v === 'string' && v)),
    );
  },
  pending(state, ctx) {
    return stillGranted(state, granteesOf((ctx.args.LaunchPermission as Record<string, unknown>).Remove));
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new ModifyImageAttributeCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

// Account switches (row 41).

const ebsEncryption: Handler = {
  service: 'ec2',
  operation: 'EnableEbsEncryptionByDefault',
  iam: { write: ['ec2:EnableEbsEncryptionByDefault'], read: ['ec2:GetEbsEncryptionByDefault'] },
  dryRun: true,
  check: (a) => onlyKeys(a, [], 'EnableEbsEncryptionByDefault'),
  async read(ctx) {
    const res = await ctx.client('ec2').send(new GetEbsEncryptionByDefaultCommand({}));
    return { ebsEncryptionByDefault: res.EbsEncryptionByDefault === true };
  },
  pending: (s) => ((s as { ebsEncryptionByDefault: boolean }).ebsEncryptionByDefault ? [] : ['EBS encryption by default off']),
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new EnableEbsEncryptionByDefaultCommand(dryRun ? { DryRun: true } : {}));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

const serialConsole: Handler = {
  service: 'ec2',
  operation: 'DisableSerialConsoleAccess',
  iam: { write: ['ec2:DisableSerialConsoleAccess'], read: ['ec2:GetSerialConsoleAccessStatus'] },
  dryRun: true,
  check: (a) => onlyKeys(a, [], 'DisableSerialConsoleAccess'),
  async read(ctx) {
    const res = await ctx.client('ec2').send(new GetSerialConsoleAccessStatusCommand({}));
    return { serialConsoleAccessEnabled: res.SerialConsoleAccessEnabled === true };
  },
  pending: (s) => ((s as { serialConsoleAccessEnabled: boolean }).serialConsoleAccessEnabled ? ['serial console access on'] : []),
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DisableSerialConsoleAccessCommand(dryRun ? { DryRun: true } : {}));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

// RDS snapshot sharing (row 38): only ever ValuesToRemove.

function rdsShare(cluster: boolean): Handler {
  const op = cluster ? 'ModifyDBClusterSnapshotAttribute' : 'ModifyDBSnapshotAttribute';
  const idKey = cluster ? 'DBClusterSnapshotIdentifier' : 'DBSnapshotIdentifier';
  return {
    service: 'rds',
    operation: op,
    iam: { write: [`rds:${op}`], read: [cluster ? 'rds:DescribeDBClusterSnapshotAttributes' : 'rds:DescribeDBSnapshotAttributes'] },
    check(a) {
      need(a, idKey);
      if (a.AttributeName !== 'restore') throw forbidden(`${op} reverts only the restore attribute`);
      if (!Array.isArray(a.ValuesToRemove) || !a.ValuesToRemove.length || !a.ValuesToRemove.every((v) => typeof v === 'string')) {
        throw forbidden(`${op} revert needs ValuesToRemove`);
      }
      onlyKeys(a, [idKey, 'AttributeName', 'ValuesToRemove'], op);
    },
    async read(ctx) {
      const id = ctx.args[idKey] as string;
      const rds = ctx.client('rds');
      const what = `${cluster ? 'cluster snapshot' : 'snapshot'} ${id}`;
      const attrs = cluster
        ? (
            await orGone(['DBClusterSnapshotNotFoundFault', 'DBClusterSnapshotNotFound'], what, () =>
              rds.send(new DescribeDBClusterSnapshotAttributesCommand({ DBClusterSnapshotIdentifier: id })),
            )
          ).DBClusterSnapshotAttributesResult?.DBClusterSnapshotAttributes
        : (
            await orGone(['DBSnapshotNotFound', 'DBSnapshotNotFoundFault'], what, () =>
              rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: id })),
            )
          ).DBSnapshotAttributesResult?.DBSnapshotAttributes;
      return { restore: (attrs ?? []).find((x) => x.AttributeName === 'restore')?.AttributeValues ?? [] };
    },
    pending(state, ctx) {
      const now = (state as { restore: string[] }).restore;
      return (ctx.args.ValuesToRemove as string[]).filter((v) => now.includes(v)).map((v) => `still shared with ${v}`);
    },
    async apply(ctx) {
      const rds = ctx.client('rds');
      if (cluster) await rds.send(new ModifyDBClusterSnapshotAttributeCommand(sdkInput(ctx)));
      else await rds.send(new ModifyDBSnapshotAttributeCommand(sdkInput(ctx)));
    },
  };
}

// Logging and detection (rows 6, 10, 13).

const startLogging: Handler = {
  service: 'cloudtrail',
  operation: 'StartLogging',
  iam: { write: ['cloudtrail:StartLogging'], read: ['cloudtrail:GetTrailStatus'] },
  check(a) {
    need(a, 'Name');
    onlyKeys(a, ['Name'], 'StartLogging');
  },
  async read(ctx) {
    const name = ctx.args.Name as string;
    const res = await orGone(['TrailNotFoundException'], `trail ${name}`, () =>
      ctx.client('cloudtrail').send(new GetTrailStatusCommand({ Name: name })),
    );
    return { isLogging: res.IsLogging === true };
  },
  pending: (s) => ((s as { isLogging: boolean }).isLogging ? [] : ['logging stopped']),
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new StartLoggingCommand({ Name: ctx.args.Name as string }));
  },
};

const guardDuty: Handler = {
  service: 'guardduty',
  operation: 'UpdateDetector',
  iam: { write: ['guardduty:UpdateDetector'], read: ['guardduty:GetDetector'] },
  check(a) {
    need(a, 'DetectorId');
    if (a.Enable !== true) throw forbidden('a GuardDuty revert may only enable the detector');
    onlyKeys(a, ['DetectorId', 'Enable'], 'UpdateDetector');
  },
  async read(ctx) {
    const id = ctx.args.DetectorId as string;
    const res = await orGone(['ResourceNotFoundException'], `detector ${id}`, () =>
      ctx.client('guardduty').send(new GetDetectorCommand({ DetectorId: id })),
    );
    return { status: res.Status };
  },
  pending: (s) => ((s as { status?: string }).status === 'ENABLED' ? [] : [`detector ${String((s as { status?: string }).status)}`]),
  async apply(ctx) {
    await ctx.client('guardduty').send(new UpdateDetectorCommand({ DetectorId: ctx.args.DetectorId as string, Enable: true }));
  },
};

const configRecorder: Handler = {
  service: 'config',
  operation: 'StartConfigurationRecorder',
  iam: { write: ['config:StartConfigurationRecorder'], read: ['config:DescribeConfigurationRecorderStatus'] },
  check(a) {
    need(a, 'ConfigurationRecorderName');
    onlyKeys(a, ['ConfigurationRecorderName'], 'StartConfigurationRecorder');
  },
  async read(ctx) {
    const name = ctx.args.ConfigurationRecorderName as string;
    const res = await orGone(['NoSuchConfigurationRecorderException'], `configuration recorder ${name}`, () =>
      ctx.client('config').send(new DescribeConfigurationRecorderStatusCommand({ ConfigurationRecorderNames: [name] })),
    );
    const status = res.ConfigurationRecordersStatus?.find((r) => r.name === name);
    return { recording: status?.recording === true, lastStatus: status?.lastStatus };
  },
  pending: (s) => ((s as { recording: boolean }).recording ? [] : ['recorder stopped']),
  async apply(ctx) {
    await ctx.client('config').send(new StartConfigurationRecorderCommand({ ConfigurationRecorderName: ctx.args.ConfigurationRecorderName as string }));
  },
};

// KMS (rows 17–18): cancel a scheduled deletion, then enable; or enable a disabled key.

async function readKey(ctx: RunContext): Promise<{ keyState?: string; enabled?: boolean }> {
  const id = ctx.args.KeyId as string;
  const res = await orGone(['NotFoundException'], `KMS key ${id}`, () => ctx.client('kms').send(new DescribeKeyCommand({ KeyId: id })));
  return { keyState: res.KeyMetadata?.KeyState, enabled: res.KeyMetadata?.Enabled };
}

function checkKey(a: Record<string, unknown>, op: string): void {
  need(a, 'KeyId', /^(arn:aws[\w-]*:kms:[\w-]+:\d{12}:key\/)?[0-9a-zA-Z-]+$/);
  onlyKeys(a, ['KeyId'], op);
}

const kmsCancelDeletion: Handler = {
  service: 'kms',
  operation: 'CancelKeyDeletion',
  then: ['kms:EnableKey'],
  iam: { write: ['kms:CancelKeyDeletion', 'kms:EnableKey'], read: ['kms:DescribeKey'] },
  check(a) {
    checkKey(a, 'CancelKeyDeletion');
  },
  read: readKey,
  pending(s, ctx) {
    const state = (s as { keyState?: string }).keyState;
    const enableToo = (ctx.plan.then ?? []).some((t) => t.operation === 'EnableKey');
    if (state === 'PendingDeletion') return ['deletion scheduled'];
    return enableToo && state !== 'Enabled' ? [`key ${String(state)}`] : [];
  },
  async apply(ctx, state) {
    const kms = ctx.client('kms');
    const id = ctx.args.KeyId as string;
    if ((state as { keyState?: string }).keyState === 'PendingDeletion') {
      ctx.step = `CancelKeyDeletion ${id}`;
      await kms.send(new CancelKeyDeletionCommand({ KeyId: id }));
    }
    if ((ctx.plan.then ?? []).some((t) => t.operation === 'EnableKey')) {
      ctx.step = `EnableKey ${id}`;
      await kms.send(new EnableKeyCommand({ KeyId: id }));
    }
  },
};

const kmsEnable: Handler = {
  service: 'kms',
  operation: 'EnableKey',
  iam: { write: ['kms:EnableKey'], read: ['kms:DescribeKey'] },
  check: (a) => checkKey(a, 'EnableKey'),
  read: readKey,
  pending: (s) => ((s as { keyState?: string }).keyState === 'Enabled' ? [] : [`key ${String((s as { keyState?: string }).keyState)}`]),
  async apply(ctx) {
    await ctx.client('kms').send(new EnableKeyCommand({ KeyId: ctx.args.KeyId as string }));
  },
};

// IAM (rows 20, 22, and the baseline rows 23, 25).

type Principal = 'User' | 'Role' | 'Group';
const NAME_KEY: Record<Principal, 'UserName' | 'RoleName' | 'GroupName'> = { User: 'UserName', Role: 'RoleName', Group: 'GroupName' };

async function principalExists(ctx: RunContext, type: Principal, name: string): Promise<boolean> {
  const iam = ctx.client('iam');
  return unless(['NoSuchEntity', 'NoSuchEntityException'], false, async () => {
    if (type === 'User') await iam.send(new GetUserCommand({ UserName: name }));
    else if (type === 'Role') await iam.send(new GetRoleCommand({ RoleName: name }));
    else await iam.send(new GetGroupCommand({ GroupName: name, MaxItems: 1 }));
    return true;
  });
}

function detachPolicy(type: Principal): Handler {
  const key = NAME_KEY[type];
  const op = `Detach${type}Policy`;
  return {
    service: 'iam',
    operation: op,
    iam: { write: [`iam:${op}`], read: [`iam:ListAttached${type}Policies`] },
    check(a) {
      need(a, key);
      need(a, 'PolicyArn', /^arn:aws[\w-]*:iam::(aws|\d{12}):policy\//);
      onlyKeys(a, [key, 'PolicyArn'], op);
    },
    async read(ctx) {
      const name = ctx.args[key] as string;
      const iam = ctx.client('iam');
      const arns = await orGone(['NoSuchEntity', 'NoSuchEntityException'], `${type.toLowerCase()} ${name}`, () =>
        pages(async (Marker) => {
          const res =
            type === 'User'
              ? await iam.send(new ListAttachedUserPoliciesCommand({ UserName: name, Marker }))
              : type === 'Role'
                ? await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name, Marker }))
                : await iam.send(new ListAttachedGroupPoliciesCommand({ GroupName: name, Marker }));
          return { items: (res.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? '?'), next: res.IsTruncated ? res.Marker : undefined };
        }),
      );
      return { attached: arns.sort() };
    },
    pending: (s, ctx) => ((s as { attached: string[] }).attached.includes(ctx.args.PolicyArn as string) ? [`${String(ctx.args.PolicyArn)} attached`] : []),
    async apply(ctx) {
      const iam = ctx.client('iam');
      const arn = ctx.args.PolicyArn as string;
      const name = ctx.args[key] as string;
      await unless(['NoSuchEntity', 'NoSuchEntityException'], undefined, async () => {
        if (type === 'User') await iam.send(new DetachUserPolicyCommand({ UserName: name, PolicyArn: arn }));
        else if (type === 'Role') await iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: arn }));
        else await iam.send(new DetachGroupPolicyCommand({ GroupName: name, PolicyArn: arn }));
      });
    },
  };
}

const accessKey: Handler = {
  service: 'iam',
  operation: 'UpdateAccessKey',
  iam: { write: ['iam:UpdateAccessKey'], read: ['iam:ListAccessKeys'] },
  check(a) {
    need(a, 'UserName');
    need(a, 'AccessKeyId', /^[A-Z0-9]{16,128}$/);
    if (a.Status !== 'Inactive') throw forbidden('an access-key revert may only deactivate the key');
    onlyKeys(a, ['UserName', 'AccessKeyId', 'Status'], 'UpdateAccessKey');
  },
  async read(ctx) {
    const user = ctx.args.UserName as string;
    const iam = ctx.client('iam');
    const keys = await orGone(['NoSuchEntity', 'NoSuchEntityException'], `user ${user}`, () =>
      pages(async (Marker) => {
        const res = await iam.send(new ListAccessKeysCommand({ UserName: user, Marker }));
        return {
          items: (res.AccessKeyMetadata ?? []).map((k) => ({ accessKeyId: k.AccessKeyId, status: k.Status })),
          next: res.IsTruncated ? res.Marker : undefined,
        };
      }),
    );
    return { keys };
  },
  pending: (s, ctx) =>
    (s as { keys: { accessKeyId?: string; status?: string }[] }).keys.some((k) => k.accessKeyId === ctx.args.AccessKeyId && k.status === 'Active')
      ? [`${String(ctx.args.AccessKeyId)} active`]
      : [],
  async apply(ctx) {
    await ctx.client('iam').send(
      new UpdateAccessKeyCommand({ UserName: ctx.args.UserName as string, AccessKeyId: ctx.args.AccessKeyId as string, Status: 'Inactive' }),
    );
  },
};

function checkPolicyDocument(a: Record<string, unknown>, key: string): void {
  const doc = need(a, key);
  if (parsePolicyDocument(doc) === undefined || typeof parsePolicyDocument(doc) !== 'object') {
    throw forbidden(`revert plan's ${key} is not a JSON policy document`);
  }
}

const assumeRolePolicy: Handler = {
  service: 'iam',
  operation: 'UpdateAssumeRolePolicy',
  iam: { write: ['iam:UpdateAssumeRolePolicy'], read: ['iam:GetRole'] },
  check(a) {
    need(a, 'RoleName');
    checkPolicyDocument(a, 'PolicyDocument');
    onlyKeys(a, ['RoleName', 'PolicyDocument'], 'UpdateAssumeRolePolicy');
  },
  async read(ctx) {
    const name = ctx.args.RoleName as string;
    const res = await orGone(['NoSuchEntity', 'NoSuchEntityException'], `role ${name}`, () =>
      ctx.client('iam').send(new GetRoleCommand({ RoleName: name })),
    );
    return { assumeRolePolicy: parsePolicyDocument(res.Role?.AssumeRolePolicyDocument) ?? null };
  },
  pending: (s, ctx) => (samePolicy((s as { assumeRolePolicy: unknown }).assumeRolePolicy, ctx.args.PolicyDocument) ? [] : ['trust policy differs from the trusted one']),
  async apply(ctx) {
    await ctx.client('iam').send(
      new UpdateAssumeRolePolicyCommand({ RoleName: ctx.args.RoleName as string, PolicyDocument: ctx.args.PolicyDocument as string }),
    );
  },
};

async function readInline(ctx: RunContext, type: Principal): Promise<{ policy: unknown }> {
  const name = ctx.args[NAME_KEY[type]] as string;
  const policyName = ctx.args.PolicyName as string;
  const iam = ctx.client('iam');
  const doc = await unless(['NoSuchEntity', 'NoSuchEntityException'], null, async () => {
    const res =
      type === 'User'
        ? await iam.send(new GetUserPolicyCommand({ UserName: name, PolicyName: policyName }))
        : type === 'Role'
          ? await iam.send(new GetRolePolicyCommand({ RoleName: name, PolicyName: policyName }))
          : await iam.send(new GetGroupPolicyCommand({ GroupName: name, PolicyName: policyName }));
    return parsePolicyDocument(res.PolicyDocument) ?? null;
  });
  if (doc === null && !(await principalExists(ctx, type, name))) throw new Gone(`${type.toLowerCase()} ${name}`, 'NoSuchEntity');
  return { policy: doc };
}

function putInlinePolicy(type: Principal): Handler {
  const key = NAME_KEY[type];
  const op = `Put${type}Policy`;
  return {
    service: 'iam',
    operation: op,
    iam: { write: [`iam:${op}`], read: [`iam:Get${type}Policy`, `iam:Get${type}`] },
    check(a) {
      need(a, key);
      need(a, 'PolicyName');
      checkPolicyDocument(a, 'PolicyDocument');
      onlyKeys(a, [key, 'PolicyName', 'PolicyDocument'], op);
    },
    read: (ctx) => readInline(ctx, type),
    pending: (s, ctx) => (samePolicy((s as { policy: unknown }).policy, ctx.args.PolicyDocument) ? [] : [`inline policy ${String(ctx.args.PolicyName)} differs from the trusted one`]),
    async apply(ctx) {
      const iam = ctx.client('iam');
      const input = { PolicyName: ctx.args.PolicyName as string, PolicyDocument: ctx.args.PolicyDocument as string };
      const name = ctx.args[key] as string;
      if (type === 'User') await iam.send(new PutUserPolicyCommand({ ...input, UserName: name }));
      else if (type === 'Role') await iam.send(new PutRolePolicyCommand({ ...input, RoleName: name }));
      else await iam.send(new PutGroupPolicyCommand({ ...input, GroupName: name }));
    },
  };
}

function deleteInlinePolicy(type: Principal): Handler {
  const key = NAME_KEY[type];
  const op = `Delete${type}Policy`;
  return {
    service: 'iam',
    operation: op,
    iam: { write: [`iam:${op}`], read: [`iam:Get${type}Policy`, `iam:Get${type}`] },
    check(a) {
      need(a, key);
      need(a, 'PolicyName');
      onlyKeys(a, [key, 'PolicyName'], op);
    },
    read: (ctx) => readInline(ctx, type),
    pending: (s, ctx) => ((s as { policy: unknown }).policy !== null ? [`inline policy ${String(ctx.args.PolicyName)} present`] : []),
    async apply(ctx) {
      const iam = ctx.client('iam');
      const input = { PolicyName: ctx.args.PolicyName as string };
      const name = ctx.args[key] as string;
      await unless(['NoSuchEntity', 'NoSuchEntityException'], undefined, async () => {
        if (type === 'User') await iam.send(new DeleteUserPolicyCommand({ ...input, UserName: name }));
        else if (type === 'Role') await iam.send(new DeleteRolePolicyCommand({ ...input, RoleName: name }));
        else await iam.send(new DeleteGroupPolicyCommand({ ...input, GroupName: name }));
      });
    },
  };
}

// Lambda (row 42).

const lambdaPermission: Handler = {
  service: 'lambda',
  operation: 'RemovePermission',
  iam: { write: ['lambda:RemovePermission'], read: ['lambda:GetPolicy'] },
  check(a) {
    need(a, 'FunctionName');
    need(a, 'StatementId');
    if (a.Qualifier !== undefined) need(a, 'Qualifier');
    onlyKeys(a, ['FunctionName', 'StatementId', 'Qualifier'], 'RemovePermission');
  },
  async read(ctx) {
    const res = await unless(['ResourceNotFoundException'], undefined, () =>
      ctx.client('lambda').send(
        new GetPolicyCommand({
          FunctionName: ctx.args.FunctionName as string,
          ...(ctx.args.Qualifier ? { Qualifier: ctx.args.Qualifier as string } : {}),
        }),
      ),
    );
    const doc = parsePolicyDocument(res?.Policy);
    const statements = isRecord(doc) && Array.isArray(doc.Statement) ? doc.Statement : [];
    return { statementIds: statements.filter(isRecord).map((s) => String(s.Sid ?? '')).sort() };
  },
  pending: (s, ctx) => ((s as { statementIds: string[] }).statementIds.includes(ctx.args.StatementId as string) ? [`statement ${String(ctx.args.StatementId)} present`] : []),
  async apply(ctx) {
    await unless(['ResourceNotFoundException'], undefined, async () => {
      await ctx.client('lambda').send(new RemovePermissionCommand(sdkInput(ctx)));
    });
  },
};

// S3 (row 34 from the event; row 32 from the baseline).

const bucketPab: Handler = {
  service: 's3',
  operation: 'PutPublicAccessBlock',
  iam: { write: ['s3:PutBucketPublicAccessBlock'], read: ['s3:GetBucketPublicAccessBlock'] },
  check(a) {
    need(a, 'Bucket');
    checkFullPab(a);
    onlyKeys(a, ['Bucket', 'PublicAccessBlockConfiguration'], 'PutPublicAccessBlock');
  },
  async read(ctx) {
    const bucket = ctx.args.Bucket as string;
    const res = await orGone(['NoSuchBucket'], `bucket ${bucket}`, () =>
      unless(['NoSuchPublicAccessBlockConfiguration'], undefined, () =>
        ctx.client('s3').send(new GetBucketPublicAccessBlockCommand({ Bucket: bucket })),
      ),
    );
    return { publicAccessBlock: res?.PublicAccessBlockConfiguration ?? null };
  },
  pending: (s) => pabOff((s as { publicAccessBlock: unknown }).publicAccessBlock),
  async apply(ctx) {
    await ctx.client('s3').send(new PutBucketPublicAccessBlockCommand(sdkInput(ctx)));
  },
};

const accountPab: Handler = {
  service: 's3control',
  operation: 'PutPublicAccessBlock',
  iam: { write: ['s3:PutAccountPublicAccessBlock'], read: ['s3:GetAccountPublicAccessBlock'] },
  check(a, input) {
    need(a, 'AccountId', /^\d{12}$/);
    if (a.AccountId !== input.account) throw forbidden(`an account public access block revert must act on ${input.account} only`);
    checkFullPab(a);
    onlyKeys(a, ['AccountId', 'PublicAccessBlockConfiguration'], 'PutPublicAccessBlock');
  },
  async read(ctx) {
    const res = await unless(['NoSuchPublicAccessBlockConfiguration'], undefined, () =>
      ctx.client('s3control').send(new GetAccountPublicAccessBlockCommand({ AccountId: ctx.args.AccountId as string })),
    );
    return { publicAccessBlock: res?.PublicAccessBlockConfiguration ?? null };
  },
  pending: (s) => pabOff((s as { publicAccessBlock: unknown }).publicAccessBlock),
  async apply(ctx) {
    await ctx.client('s3control').send(new PutAccountPublicAccessBlockCommand(sdkInput(ctx)));
  },
};

async function readBucketPolicy(ctx: RunContext): Promise<{ policy: unknown }> {
  const bucket = ctx.args.Bucket as string;
  const res = await orGone(['NoSuchBucket'], `bucket ${bucket}`, () =>
    unless(['NoSuchBucketPolicy'], undefined, () => ctx.client('s3').send(new GetBucketPolicyCommand({ Bucket: bucket }))),
  );
  return { policy: parsePolicyDocument(res?.Policy) ?? null };
}

const putBucketPolicy: Handler = {
  service: 's3',
  operation: 'PutBucketPolicy',
  iam: { write: ['s3:PutBucketPolicy'], read: ['s3:GetBucketPolicy'] },
  check(a) {
    need(a, 'Bucket');
    checkPolicyDocument(a, 'Policy');
    onlyKeys(a, ['Bucket', 'Policy'], 'PutBucketPolicy');
  },
  read: readBucketPolicy,
  pending: (s, ctx) => (samePolicy((s as { policy: unknown }).policy, ctx.args.Policy) ? [] : ['bucket policy differs from the trusted one']),
  async apply(ctx) {
    await ctx.client('s3').send(new PutBucketPolicyCommand({ Bucket: ctx.args.Bucket as string, Policy: ctx.args.Policy as string }));
  },
};

const deleteBucketPolicy: Handler = {
  service: 's3',
  operation: 'DeleteBucketPolicy',
  iam: { write: ['s3:DeleteBucketPolicy'], read: ['s3:GetBucketPolicy'] },
  check(a) {
    need(a, 'Bucket');
    onlyKeys(a, ['Bucket'], 'DeleteBucketPolicy');
  },
  read: readBucketPolicy,
  pending: (s) => ((s as { policy: unknown }).policy !== null ? ['a bucket policy is set (the trusted state has none)'] : []),
  async apply(ctx) {
    await ctx.client('s3').send(new DeleteBucketPolicyCommand({ Bucket: ctx.args.Bucket as string }));
  },
};

// CloudTrail settings from the baseline (rows 8–9).

const TRAIL_INPUT_KEYS = Object.keys(TRAIL_READBACK);

function trailValue(v: unknown): unknown {
  return v === '' || v === null ? undefined : v;
}

const updateTrail: Handler = {
  service: 'cloudtrail',
  operation: 'UpdateTrail',
  iam: { write: ['cloudtrail:UpdateTrail'], read: ['cloudtrail:GetTrail'] },
  check(a) {
    need(a, 'Name');
    onlyKeys(a, ['Name', ...TRAIL_INPUT_KEYS], 'UpdateTrail');
    if (Object.keys(a).length < 2) throw forbidden('UpdateTrail revert restores no setting');
  },
  async read(ctx) {
    const name = ctx.args.Name as string;
    const res = await orGone(['TrailNotFoundException'], `trail ${name}`, () => ctx.client('cloudtrail').send(new GetTrailCommand({ Name: name })));
    const t = (res.Trail ?? {}) as Record<string, unknown>;
    return Object.fromEntries(TRAIL_INPUT_KEYS.map((k) => [TRAIL_READBACK[k], trailValue(t[TRAIL_READBACK[k] as string])]));
  },
  pending(s, ctx) {
    const state = s as Record<string, unknown>;
    return TRAIL_INPUT_KEYS.filter((k) => k in ctx.args)
      .filter((k) => trailValue(state[TRAIL_READBACK[k] as string]) !== trailValue(ctx.args[k]))
      .map((k) => `${k} is ${JSON.stringify(state[TRAIL_READBACK[k] as string] ?? null)}, trusted ${JSON.stringify(ctx.args[k])}`);
  },
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new UpdateTrailCommand(sdkInput(ctx)));
  },
};

const eventSelectors: Handler = {
  service: 'cloudtrail',
  operation: 'PutEventSelectors',
  iam: { write: ['cloudtrail:PutEventSelectors'], read: ['cloudtrail:GetEventSelectors'] },
  check(a) {
    need(a, 'TrailName');
    const keys = ['EventSelectors', 'AdvancedEventSelectors'].filter((k) => Array.isArray(a[k]) && (a[k] as unknown[]).length);
    if (keys.length !== 1) throw forbidden('PutEventSelectors revert needs exactly one of EventSelectors / AdvancedEventSelectors');
    onlyKeys(a, ['TrailName', ...keys], 'PutEventSelectors');
  },
  async read(ctx) {
    const name = ctx.args.TrailName as string;
    const res = await orGone(['TrailNotFoundException'], `trail ${name}`, () =>
      ctx.client('cloudtrail').send(new GetEventSelectorsCommand({ TrailName: name })),
    );
    return { EventSelectors: res.EventSelectors ?? [], AdvancedEventSelectors: res.AdvancedEventSelectors ?? [] };
  },
  pending(s, ctx) {
    const key = ctx.args.EventSelectors ? 'EventSelectors' : 'AdvancedEventSelectors';
    return canonicalJson((s as Record<string, unknown>)[key]) === canonicalJson(ctx.args[key]) ? [] : [`${key} differ from the trusted ones`];
  },
  async apply(ctx) {
    await ctx.client('cloudtrail').send(new PutEventSelectorsCommand(sdkInput(ctx)));
  },
};

const HANDLERS: Handler[] = [
  securityGroupHandler('RevokeSecurityGroupIngress'),
  securityGroupHandler('RevokeSecurityGroupEgress'),
  naclEntry,
  route,
  igw,
  snapshotShare,
  imageShare,
  ebsEncryption,
  serialConsole,
  rdsShare(false),
  rdsShare(true),
  startLogging,
  guardDuty,
  configRecorder,
  kmsCancelDeletion,
  kmsEnable,
  detachPolicy('User'),
  detachPolicy('Role'),
  detachPolicy('Group'),
  accessKey,
  lambdaPermission,
  bucketPab,
  accountPab,
  updateTrail,
  eventSelectors,
  putBucketPolicy,
  deleteBucketPolicy,
  assumeRolePolicy,
  putInlinePolicy('User'),
  putInlinePolicy('Role'),
  putInlinePolicy('Group'),
  deleteInlinePolicy('User'),
  deleteInlinePolicy('Role'),
  deleteInlinePolicy('Group'),
];

const BY_KEY = new Map(HANDLERS.map((h) => [`${h.service}:${h.operation}`, h]));

/** What vouch can run as a revert, with the IAM actions each needs: the source of the revert role's policy. */
export interface CatalogueEntry {
  service: AwsService;
  operation: string;
  then: string[];
  iamActions: string[];
  readActions: string[];
  dryRun: boolean;
}

export function revertCatalogue(): CatalogueEntry[] {
  return HANDLERS.map((h) => ({
    service: h.service,
    operation: h.operation,
    then: h.then ?? [],
    iamActions: [...h.iam.write],
    readActions: [...h.iam.read],
    dryRun: h.dryRun === true,
  }));
}

function handlerFor(plan: RevertPlan): Handler {
  const h = BY_KEY.get(`${String(plan.service)}:${String(plan.operation)}`);
  if (!h) throw forbidden(`vouch does not run ${String(plan.service)}:${String(plan.operation)} as a revert`);
  const allowed = h.then ?? [];
  for (const t of (plan.then ?? []) as RevertStep[]) {
    const key = `${String(t.service)}:${String(t.operation)}`;
    if (!allowed.includes(key)) throw forbidden(`vouch does not run ${key} after ${h.service}:${h.operation}`);
    if (canonicalJson(t.input) !== canonicalJson(plan.input)) throw forbidden(`${key} must act on the same input as ${h.operation}`);
  }
  return h;
}

async function runHandler(h: Handler, ctx: RunContext): Promise<RevertResult> {
  if (h.run) return h.run(ctx);
  const what = `${h.service}:${h.operation}`;
  let before: unknown;
  try {
    ctx.step = `read ${what} (before)`;
    before = await h.read(ctx);
  } catch (err) {
    if (err instanceof Gone) {
      return { changed: false, before: null, after: null, message: `${err.message}: nothing left to revert`, ...(ctx.input.dryRun ? { dryRun: true } : {}) };
    }
    throw err;
  }
  const todo = h.pending(before, ctx);
  if (!todo.length) {
    return {
      changed: false,
      before,
      after: before,
      message: `already reverted: nothing to undo (${ctx.plan.description})`,
      ...(ctx.input.dryRun ? { dryRun: true } : {}),
    };
  }
  if (ctx.input.dryRun) {
    if (h.dryRun) {
      ctx.step = `${what} (DryRun)`;
      await h.apply(ctx, before, true);
    }
    return {
      changed: false,
      before,
      after: before,
      dryRun: true,
      message: `dry run: would ${ctx.plan.description} (${todo.join('; ')})${
        h.dryRun ? '; EC2 DryRun says the call is allowed' : '; plan only, no call made'
      }`,
    };
  }
  ctx.step = what;
  await h.apply(ctx, before, false);
  ctx.step = `read ${what} (verify)`;
  let after: unknown;
  try {
    after = await h.read(ctx);
  } catch (err) {
    if (err instanceof Gone) throw ApplicationFailure.create({ message: `${ctx.plan.description}: ${err.message} after the revert`, type: FailureTypes.RevertNotVerified, nonRetryable: true });
    throw err;
  }
  const left = h.pending(after, ctx);
  if (left.length) {
    throw ApplicationFailure.create({
      message: `${ctx.plan.description}: not verified after the revert: ${left.join('; ')}`,
      type: FailureTypes.RevertNotVerified,
      nonRetryable: true,
      details: [{ before, after }],
    });
  }
  return { changed: true, before, after, message: `${ctx.plan.description}: done and verified (was: ${todo.join('; ')})` };
}

export function createAwsActivities(deps: AwsDeps) {
  return {
    /**
     * Runs a revert plan and verifies it by reading the resource back; idempotent (a second run reports
     * changed: false); with `dryRun`, asks EC2 (DryRun) or only reports what it would do.
     */
    async revertChange(input: RevertInput): Promise<RevertResult> {
      if (!AWS_REGION.test(input.region)) {
        // Not a region AWS has (e.g. an anonymised record): no endpoint will ever answer; say so at once.
        throw ApplicationFailure.create({
          message: `cannot revert in "${input.region}": not an AWS region name`,
          type: FailureTypes.VendorRejected,
          nonRetryable: true,
        });
      }
      const plan = input.plan;
      const h = handlerFor(plan);
      const args = isRecord(plan.input) ? plan.input : {};
      h.check(args, input);
      const session = revertSessionName(input.eventId);
      const clients = new Map<AwsService, unknown>();
      const ctx: RunContext = {
        input,
        plan,
        args,
        step: 'client',
        client<S extends AwsService>(service: S): AwsClients[S] {
          let c = clients.get(service) as AwsClients[S] | undefined;
          if (!c) {
            try {
              if (service === 'ec2') c = deps.ec2For(input.account, input.region, session) as AwsClients[S];
              else if (deps.clientFor) c = deps.clientFor(service, input.account, input.region, session);
              else throw new Error(`no ${service} client configured`);
            } catch (err) {
              throw forbidden(`no ${service} client for ${input.account}/${input.region}: ${err instanceof Error ? err.message : String(err)}`);
            }
            clients.set(service, c);
          }
          return c;
        },
      };
      // Get the client before any call, so a missing or bad account fails as RevertForbidden up front.
      ctx.client(h.service);
      try {
        return await runHandler(h, ctx);
      } catch (err) {
        throw toFailure(err, ctx.step);
      }
    },
  };
}
