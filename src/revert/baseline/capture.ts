// Reading the watched configuration from AWS (read-only calls) and folding it into baseline documents.
//
// Regional: CloudTrail trails whose home is the region (settings + event selectors).
// Global: IAM roles (trust policy + inline policies), users and groups (inline policies), in one paginated
// GetAccountAuthorizationDetails; S3 bucket policies (ListBuckets + GetBucketPolicy).
// One resource read again (a confirmed change) goes through the same reads as the revert handlers of its service
// (getTrail and getEventSelectors in cloudtrail.ts, getBucketPolicy in s3.ts, readPrincipal in iam.ts).
import { DescribeTrailsCommand, type Trail } from '@aws-sdk/client-cloudtrail';
import { paginateGetAccountAuthorizationDetails } from '@aws-sdk/client-iam';
import { paginateListBuckets } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { AwsClientFor } from '../clients';
import { getEventSelectors, getTrail } from '../cloudtrail';
import { collect } from '../handler';
import { readPrincipal, type PrincipalType } from '../iam';
import { getBucketPolicy } from '../s3';
import {
  GLOBAL_SCOPE,
  MAX_VERSIONS,
  canonicalJson,
  parsePolicyDocument,
  resourceKey,
  type BaselineDoc,
  type BaselineVersion,
  type BucketPolicyConfig,
  type PrincipalConfig,
  type ResourceConfig,
  type ResourceKind,
  type TrailConfig,
} from './types';

export interface CapturedResource {
  kind: ResourceKind;
  id: string;
  config: ResourceConfig | null;
}

export interface Clients {
  clientFor: AwsClientFor;
  account: string;
  /** Role session name for the reads (never `vouch-revert-*`: these are not reverts). */
  sessionName?: string;
}

export const REGIONAL_KINDS: ResourceKind[] = ['cloudtrail-trail'];

/** The IAM actions the reads below need (src/cli/iam-policy.ts puts them in the revert role's policy). */
export const CAPTURE_IAM_ACTIONS: readonly string[] = [
  'cloudtrail:DescribeTrails',
  'cloudtrail:GetTrail',
  'cloudtrail:GetEventSelectors',
  'iam:GetAccountAuthorizationDetails',
  'iam:GetRole',
  'iam:ListRolePolicies',
  'iam:GetRolePolicy',
  'iam:GetUser',
  'iam:ListUserPolicies',
  'iam:GetUserPolicy',
  'iam:GetGroup',
  'iam:ListGroupPolicies',
  'iam:GetGroupPolicy',
  's3:ListAllMyBuckets',
  's3:GetBucketPolicy',
];
export const GLOBAL_KINDS: ResourceKind[] = ['s3-bucket-policy', 'iam-role', 'iam-user', 'iam-group'];

function session(c: Clients): string {
  return c.sessionName ?? `vouch-baseline-${Date.now()}`;
}

/** `fn` over every item, at most `limit` at a time; results in the items' order. */
function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const run = pLimit(limit);
  return Promise.all(items.map((item) => run(() => fn(item))));
}

function drop<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '')) as T;
}

function trailConfig(t: Trail, selectors: { EventSelectors?: unknown[]; AdvancedEventSelectors?: unknown[] }): TrailConfig {
  return drop({
    Name: t.Name ?? '?',
    TrailARN: t.TrailARN,
    HomeRegion: t.HomeRegion,
    S3BucketName: t.S3BucketName,
    S3KeyPrefix: t.S3KeyPrefix,
    SnsTopicName: t.SnsTopicName,
    IncludeGlobalServiceEvents: t.IncludeGlobalServiceEvents,
    IsMultiRegionTrail: t.IsMultiRegionTrail,
    LogFileValidationEnabled: t.LogFileValidationEnabled,
    CloudWatchLogsLogGroupArn: t.CloudWatchLogsLogGroupArn,
    CloudWatchLogsRoleArn: t.CloudWatchLogsRoleArn,
    KmsKeyId: t.KmsKeyId,
    IsOrganizationTrail: t.IsOrganizationTrail,
    ...(selectors.EventSelectors?.length ? { EventSelectors: selectors.EventSelectors } : {}),
    ...(selectors.AdvancedEventSelectors?.length ? { AdvancedEventSelectors: selectors.AdvancedEventSelectors } : {}),
  });
}

/** Trails whose home region is `region`. */
async function captureTrails(c: Clients, region: string): Promise<CapturedResource[]> {
  const ct = c.clientFor('cloudtrail', c.account, region, session(c));
  const res = await ct.send(new DescribeTrailsCommand({ includeShadowTrails: false }));
  const trails = (res.trailList ?? []).filter((t) => t.Name && (!t.HomeRegion || t.HomeRegion === region));
  return mapLimit(trails, 4, async (t) => ({
    kind: 'cloudtrail-trail' as const,
    id: t.Name as string,
    config: trailConfig(t, await getEventSelectors(ct, t.Name as string)),
  }));
}

function inline(list: { PolicyName?: string; PolicyDocument?: string }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of list ?? []) if (p.PolicyName) out[p.PolicyName] = parsePolicyDocument(p.PolicyDocument) ?? null;
  return out;
}

/** Every role, user and group with its policies, in one paginated call. */
async function captureIam(c: Clients, kinds: ResourceKind[] = ['iam-role', 'iam-user', 'iam-group']): Promise<CapturedResource[]> {
  const iam = c.clientFor('iam', c.account, 'us-east-1', session(c));
  const filter = [
    ...(kinds.includes('iam-role') ? ['Role' as const] : []),
    ...(kinds.includes('iam-user') ? ['User' as const] : []),
    ...(kinds.includes('iam-group') ? ['Group' as const] : []),
  ];
  if (!filter.length) return [];
  const out: CapturedResource[] = [];
  for await (const res of paginateGetAccountAuthorizationDetails({ client: iam, pageSize: 1000 }, { Filter: filter })) {
    for (const r of res.RoleDetailList ?? []) {
      if (!r.RoleName) continue;
      const config: PrincipalConfig = {
        Name: r.RoleName,
        ...(r.Arn ? { Arn: r.Arn } : {}),
        AssumeRolePolicyDocument: parsePolicyDocument(r.AssumeRolePolicyDocument) ?? null,
        InlinePolicies: inline(r.RolePolicyList),
      };
      out.push({ kind: 'iam-role', id: r.RoleName, config });
    }
    for (const u of res.UserDetailList ?? []) {
      if (!u.UserName) continue;
      out.push({ kind: 'iam-user', id: u.UserName, config: { Name: u.UserName, ...(u.Arn ? { Arn: u.Arn } : {}), InlinePolicies: inline(u.UserPolicyList) } });
    }
    for (const g of res.GroupDetailList ?? []) {
      if (!g.GroupName) continue;
      out.push({ kind: 'iam-group', id: g.GroupName, config: { Name: g.GroupName, ...(g.Arn ? { Arn: g.Arn } : {}), InlinePolicies: inline(g.GroupPolicyList) } });
    }
  }
  return out;
}

async function bucketPolicy(c: Clients, bucket: string): Promise<BucketPolicyConfig | null> {
  const state = await getBucketPolicy(c.clientFor('s3', c.account, 'us-east-1', session(c)), bucket);
  return state ? { Bucket: bucket, Policy: state.policy } : null;
}

/** Every bucket's policy (null when it has none). */
async function captureBucketPolicies(c: Clients): Promise<CapturedResource[]> {
  const s3 = c.clientFor('s3', c.account, 'us-east-1', session(c));
  const buckets = (await collect(paginateListBuckets({ client: s3, pageSize: 1000 }, {}), (page) => page.Buckets?.map((b) => b.Name ?? ''))).filter(Boolean);
  const configs = await mapLimit(buckets, 8, (b) => bucketPolicy(c, b));
  return buckets.map((id, i) => ({ kind: 's3-bucket-policy' as const, id, config: configs[i] ?? null }));
}

const PRINCIPAL_OF: Record<'iam-role' | 'iam-user' | 'iam-group', PrincipalType> = { 'iam-role': 'Role', 'iam-user': 'User', 'iam-group': 'Group' };

/** One resource, read now (acceptTrustedChange): null when it no longer exists. */
export async function captureResource(c: Clients, region: string, kind: ResourceKind, id: string): Promise<ResourceConfig | null> {
  switch (kind) {
    case 'cloudtrail-trail': {
      const ct = c.clientFor('cloudtrail', c.account, region, session(c));
      const trail = await getTrail(ct, id);
      return trail ? trailConfig(trail, await getEventSelectors(ct, id)) : null;
    }
    case 's3-bucket-policy':
      return bucketPolicy(c, id);
    default:
      return readPrincipal(c.clientFor('iam', c.account, 'us-east-1', session(c)), PRINCIPAL_OF[kind], id);
  }
}

export interface CaptureResult {
  scope: string;
  resources: CapturedResource[];
  /** The kinds read completely (a resource of these kinds missing from `resources` was deleted). */
  kinds: ResourceKind[];
}

/** Reads the regional kinds of `region`, or the global kinds when `scope` is `global`. */
export async function captureScope(c: Clients, scope: string, kinds: ResourceKind[]): Promise<CaptureResult> {
  const resources: CapturedResource[] = [];
  const done: ResourceKind[] = [];
  if (scope === GLOBAL_SCOPE) {
    const iamKinds = kinds.filter((k) => k.startsWith('iam-'));
    if (iamKinds.length) {
      resources.push(...(await captureIam(c, iamKinds)));
      done.push(...iamKinds);
    }
    if (kinds.includes('s3-bucket-policy')) {
      resources.push(...(await captureBucketPolicies(c)));
      done.push('s3-bucket-policy');
    }
  } else if (kinds.includes('cloudtrail-trail')) {
    resources.push(...(await captureTrails(c, scope)));
    done.push('cloudtrail-trail');
  }
  return { scope, resources, kinds: done };
}

export interface MergeSummary {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
}

function sameConfig(a: ResourceConfig | null | undefined, b: ResourceConfig | null): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b);
}

/** Records one resource's state in the document: a new version when it differs from the latest, else `checkedAt`. */
export function recordVersion(
  doc: BaselineDoc,
  r: CapturedResource,
  at: string,
  source: BaselineVersion['source'] = 'capture',
  eventId?: string,
): 'added' | 'changed' | 'removed' | 'unchanged' {
  const key = resourceKey(r.kind, r.id);
  const existing = doc.resources[key];
  const latest = existing?.versions[existing.versions.length - 1];
  if (existing && latest && sameConfig(latest.config, r.config) && source === 'capture') {
    existing.checkedAt = at;
    return 'unchanged';
  }
  if (!existing && r.config === null) return 'unchanged';
  const version: BaselineVersion = { capturedAt: at, source, ...(eventId ? { eventId } : {}), config: r.config };
  const resource = existing ?? { kind: r.kind, id: r.id, versions: [] };
  resource.versions.push(version);
  if (resource.versions.length > MAX_VERSIONS) resource.versions.splice(0, resource.versions.length - MAX_VERSIONS);
  resource.checkedAt = at;
  doc.resources[key] = resource;
  if (!existing || latest?.config === null) return r.config === null ? 'unchanged' : 'added';
  return r.config === null ? 'removed' : 'changed';
}

/** Folds a capture into the document; resources of a fully read kind that were not seen become "removed". */
export function mergeCapture(doc: BaselineDoc, capture: CaptureResult, at: string): MergeSummary {
  const summary: MergeSummary = { added: [], changed: [], removed: [], unchanged: 0 };
  const seen = new Set<string>();
  const note = (key: string, outcome: ReturnType<typeof recordVersion>): void => {
    if (outcome === 'unchanged') summary.unchanged++;
    else summary[outcome].push(key);
  };
  for (const r of capture.resources) {
    const key = resourceKey(r.kind, r.id);
    seen.add(key);
    note(key, recordVersion(doc, r, at));
  }
  for (const [key, res] of Object.entries(doc.resources)) {
    if (seen.has(key) || !capture.kinds.includes(res.kind)) continue;
    const latest = res.versions[res.versions.length - 1];
    if (latest && latest.config !== null) note(key, recordVersion(doc, { kind: res.kind, id: res.id, config: null }, at));
  }
  return summary;
}
