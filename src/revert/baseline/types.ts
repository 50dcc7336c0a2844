// The trusted baseline: the last trusted configuration of the AWS resources vouch watches, per account and region.
// Pure types and helpers only (the revert planner imports them; it must stay free of I/O).
//
// One document per account and "scope": a region for regional resources (CloudTrail trails), `global` for IAM roles,
// users and groups and for S3 bucket policies (bucket names are global). Each resource keeps a short history of
// versions with the time they were read, so a plan can pick the state that was trusted *before* the change it
// undoes, even when a scheduled refresh read the resource again after the change (README, "Trusted baseline").

export const BASELINE_FORMAT = 'vouch-baseline/1';
export const GLOBAL_SCOPE = 'global';
/** Versions kept per resource (oldest dropped first). */
export const MAX_VERSIONS = 10;

export type ResourceKind = 'cloudtrail-trail' | 's3-bucket-policy' | 'iam-role' | 'iam-user' | 'iam-group';
export const RESOURCE_KINDS: readonly ResourceKind[] = ['cloudtrail-trail', 's3-bucket-policy', 'iam-role', 'iam-user', 'iam-group'];

/** CloudTrail GetTrail + GetEventSelectors, as the SDK returns them (PascalCase), trimmed to what a revert restores. */
export interface TrailConfig {
  Name: string;
  TrailARN?: string;
  HomeRegion?: string;
  S3BucketName?: string;
  S3KeyPrefix?: string;
  SnsTopicName?: string;
  IncludeGlobalServiceEvents?: boolean;
  IsMultiRegionTrail?: boolean;
  LogFileValidationEnabled?: boolean;
  CloudWatchLogsLogGroupArn?: string;
  CloudWatchLogsRoleArn?: string;
  KmsKeyId?: string;
  IsOrganizationTrail?: boolean;
  EventSelectors?: unknown[];
  AdvancedEventSelectors?: unknown[];
}

/** A bucket's policy document (parsed JSON), or null when the bucket had none. */
export interface BucketPolicyConfig {
  Bucket: string;
  Policy: unknown;
}

/** An IAM principal's policy state: inline policies by name (parsed documents); roles also their trust policy. */
export interface PrincipalConfig {
  Name: string;
  Arn?: string;
  AssumeRolePolicyDocument?: unknown;
  InlinePolicies: Record<string, unknown>;
}

export type ResourceConfig = TrailConfig | BucketPolicyConfig | PrincipalConfig;

export interface BaselineVersion {
  /** When vouch read this state (ISO 8601). A version is usable for a change only if read before the change. */
  capturedAt: string;
  /** `capture`: read by `vouch baseline capture` or the scheduled refresh; `accepted`: a confirmed change. */
  source: 'capture' | 'accepted';
  /** The CloudTrail eventID of the confirmed change (source `accepted`). */
  eventId?: string;
  /** The configuration, or null when the resource no longer existed at capturedAt. */
  config: ResourceConfig | null;
}

export interface BaselineResource {
  kind: ResourceKind;
  id: string;
  /** Oldest first. */
  versions: BaselineVersion[];
  /** Last time a capture saw this resource unchanged (ISO 8601). */
  checkedAt?: string;
}

export interface BaselineDoc {
  format: typeof BASELINE_FORMAT;
  account: string;
  /** An AWS region, or `global`. */
  scope: string;
  updatedAt: string;
  /** Keyed by `<kind>:<id>`. */
  resources: Record<string, BaselineResource>;
}

/** Synchronous view of loaded baselines, for the (pure) revert planner. */
export interface BaselineLookup {
  /** The newest version of a resource captured at or before `at` (ISO 8601); undefined when there is none. */
  get(account: string, scope: string, kind: ResourceKind, id: string, at?: string): BaselineVersion | undefined;
  /** True when a baseline document exists for this account and scope (so "no baseline" can name what is missing). */
  has(account: string, scope: string): boolean;
}

export function resourceKey(kind: ResourceKind, id: string): string {
  return `${kind}:${id}`;
}

/** IAM and S3 bucket policies live in the `global` document; trails in their region's. */
export function scopeFor(kind: ResourceKind, region: string): string {
  return kind === 'cloudtrail-trail' ? region : GLOBAL_SCOPE;
}

export function emptyDoc(account: string, scope: string, now: string): BaselineDoc {
  return { format: BASELINE_FORMAT, account, scope, updatedAt: now, resources: {} };
}

/** Newest version at or before `at` (all versions when `at` is undefined). */
export function versionAt(resource: BaselineResource | undefined, at?: string): BaselineVersion | undefined {
  if (!resource) return undefined;
  const limit = at === undefined ? Infinity : Date.parse(at);
  let best: BaselineVersion | undefined;
  for (const v of resource.versions) {
    const t = Date.parse(v.capturedAt);
    if (Number.isNaN(t) || t > limit) continue;
    if (!best || t >= Date.parse(best.capturedAt)) best = v;
  }
  return best;
}

/** A lookup over documents already loaded from a store. */
export function lookupFromDocs(docs: Iterable<BaselineDoc>): BaselineLookup {
  const byKey = new Map<string, BaselineDoc>();
  for (const d of docs) byKey.set(`${d.account}/${d.scope}`, d);
  return {
    get(account, scope, kind, id, at) {
      return versionAt(byKey.get(`${account}/${scope}`)?.resources[resourceKey(kind, id)], at);
    },
    has(account, scope) {
      return byKey.has(`${account}/${scope}`);
    },
  };
}

// ---- policy documents (one copy, in src/core) ----

export { canonicalJson } from '../../core/records';
export { parsePolicyDocument, samePolicy } from '../../core/policy-document';
