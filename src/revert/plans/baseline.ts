import { canonicalJson, parsePolicyDocument, samePolicy, type BucketPolicyConfig, type PrincipalConfig, type TrailConfig } from '../baseline/types';
import { baselinePlan, bool, isDecision, isRecord, none, str, trusted, trustedNote, type PlanArgs, type PlanDecision } from '../plan-common';
import { PRINCIPAL_KEYS, type PrincipalType } from './iam';

/** UpdateTrail request key → [UpdateTrail input key, GetTrail key, kind]. */
const TRAIL_FIELDS: [string, string, keyof TrailConfig, 'string' | 'boolean'][] = [
  ['s3BucketName', 'S3BucketName', 'S3BucketName', 'string'],
  ['s3KeyPrefix', 'S3KeyPrefix', 'S3KeyPrefix', 'string'],
  ['snsTopicName', 'SnsTopicName', 'SnsTopicName', 'string'],
  ['includeGlobalServiceEvents', 'IncludeGlobalServiceEvents', 'IncludeGlobalServiceEvents', 'boolean'],
  ['isMultiRegionTrail', 'IsMultiRegionTrail', 'IsMultiRegionTrail', 'boolean'],
  ['enableLogFileValidation', 'EnableLogFileValidation', 'LogFileValidationEnabled', 'boolean'],
  ['cloudWatchLogsLogGroupArn', 'CloudWatchLogsLogGroupArn', 'CloudWatchLogsLogGroupArn', 'string'],
  ['cloudWatchLogsRoleArn', 'CloudWatchLogsRoleArn', 'CloudWatchLogsRoleArn', 'string'],
  ['kmsKeyId', 'KmsKeyId', 'KmsKeyId', 'string'],
  ['isOrganizationTrail', 'IsOrganizationTrail', 'IsOrganizationTrail', 'boolean'],
];

/** `UpdateTrail` input key → the `GetTrail` key it is read back from. */
export const TRAIL_READBACK: Record<string, keyof TrailConfig> = Object.fromEntries(TRAIL_FIELDS.map(([, i, g]) => [i, g]));

export function planUpdateTrail(a: PlanArgs): PlanDecision {
  const t = trusted<TrailConfig>(a);
  if (isDecision(t)) return t;
  const input: Record<string, unknown> = { Name: str(a.req.name) ?? t.target.id };
  const restored: string[] = [];
  const kept: string[] = [];
  for (const [reqKey, inputKey, configKey, kind] of TRAIL_FIELDS) {
    if (!(reqKey in a.req)) continue;
    const trustedValue = t.config[configKey];
    const now = kind === 'boolean' ? bool(a.req[reqKey]) : (a.req[reqKey] ?? '');
    if (trustedValue !== undefined) {
      if (trustedValue === now) continue;
      input[inputKey] = trustedValue;
      restored.push(`${inputKey}=${JSON.stringify(trustedValue)}`);
    } else if (kind === 'string' && reqKey !== 'kmsKeyId' && now !== '') {
      input[inputKey] = ''; // unset in the trusted state: clear it
      restored.push(`${inputKey} cleared`);
    } else if (reqKey === 'kmsKeyId') {
      kept.push('KmsKeyId (the trusted trail had no key; encrypting is not undone)');
    }
  }
  if (!restored.length) {
    return none(`UpdateTrail on ${t.target.id} left every setting it names as in the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'cloudtrail',
      'UpdateTrail',
      input,
      `restore trail ${t.target.id}: ${restored.join(', ')}${kept.length ? `; kept ${kept.join(', ')}` : ''}`,
    ),
    reason: `settings the change named, put back from the ${trustedNote(t.version)}`,
  };
}

/** CloudTrail writes request keys in lower camel case; the SDK (and the baseline) use PascalCase. */
function pascalKeys(v: unknown, depth = 0): unknown {
  if (depth > 16) return v;
  if (Array.isArray(v)) return v.map((x) => pascalKeys(x, depth + 1));
  if (isRecord(v)) {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.charAt(0).toUpperCase() + k.slice(1), pascalKeys(x, depth + 1)]),
    );
  }
  return v;
}

export function planEventSelectors(a: PlanArgs): PlanDecision {
  const t = trusted<TrailConfig>(a);
  if (isDecision(t)) return t;
  const trailName = str(a.req.trailName) ?? t.target.id;
  const basic = t.config.EventSelectors ?? [];
  const advanced = t.config.AdvancedEventSelectors ?? [];
  const key = basic.length ? 'EventSelectors' : advanced.length ? 'AdvancedEventSelectors' : undefined;
  if (!key) return none(`the ${trustedNote(t.version)} of trail ${t.target.id} has no event selectors to restore; paging instead`);
  const selectors = key === 'EventSelectors' ? basic : advanced;
  const requested = pascalKeys(key === 'EventSelectors' ? a.req.eventSelectors : a.req.advancedEventSelectors);
  if (requested !== undefined && canonicalJson(requested) === canonicalJson(selectors)) {
    return none(`PutEventSelectors on ${t.target.id} set the selectors of the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'cloudtrail',
      'PutEventSelectors',
      { TrailName: trailName, [key]: selectors },
      `restore the ${selectors.length} ${key === 'EventSelectors' ? 'event' : 'advanced event'} selector(s) of trail ${t.target.id}`,
    ),
    reason: `selectors put back from the ${trustedNote(t.version)}`,
  };
}

export function planBucketPolicy(deleted: boolean) {
  return (a: PlanArgs): PlanDecision => {
    const t = trusted<BucketPolicyConfig>(a);
    if (isDecision(t)) return t;
    const bucket = t.target.id;
    const prior = parsePolicyDocument(t.config.Policy);
    if (!deleted && prior !== undefined && samePolicy(prior, a.req.bucketPolicy ?? a.req.policy)) {
      return none(`PutBucketPolicy on ${bucket} set the policy of the ${trustedNote(t.version)}: nothing to revert`);
    }
    if (prior === undefined) {
      if (deleted) return none(`bucket ${bucket} had no policy in the ${trustedNote(t.version)}: nothing to restore`);
      return {
        plan: baselinePlan('s3', 'DeleteBucketPolicy', { Bucket: bucket }, `delete the policy of bucket ${bucket} (it had none when trusted)`),
        reason: `the ${trustedNote(t.version)} has no policy on ${bucket}`,
      };
    }
    return {
      plan: baselinePlan('s3', 'PutBucketPolicy', { Bucket: bucket, Policy: JSON.stringify(prior) }, `restore the trusted policy of bucket ${bucket}`),
      reason: `policy put back from the ${trustedNote(t.version)}`,
    };
  };
}

export function planAssumeRolePolicy(a: PlanArgs): PlanDecision {
  const t = trusted<PrincipalConfig>(a);
  if (isDecision(t)) return t;
  const prior = parsePolicyDocument(t.config.AssumeRolePolicyDocument);
  if (prior === undefined) return none(`the ${trustedNote(t.version)} holds no trust policy for role ${t.target.id}; paging instead`);
  if (samePolicy(prior, a.req.policyDocument)) {
    return none(`UpdateAssumeRolePolicy on ${t.target.id} set the trust policy of the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'iam',
      'UpdateAssumeRolePolicy',
      { RoleName: t.target.id, PolicyDocument: JSON.stringify(prior) },
      `restore the trusted trust policy of role ${t.target.id}`,
    ),
    reason: `trust policy put back from the ${trustedNote(t.version)}`,
  };
}

export function planInlinePolicy(type: PrincipalType) {
  return (a: PlanArgs): PlanDecision => {
    const t = trusted<PrincipalConfig>(a);
    if (isDecision(t)) return t;
    const policyName = str(a.req.policyName);
    if (!policyName) return none(`Put${type}Policy without policyName`);
    const nameKey = PRINCIPAL_KEYS[type].input;
    const who = `${type.toLowerCase()} ${t.target.id}`;
    const prior = parsePolicyDocument((t.config.InlinePolicies ?? {})[policyName]);
    if (prior === undefined) {
      return {
        plan: baselinePlan(
          'iam',
          `Delete${type}Policy`,
          { [nameKey]: t.target.id, PolicyName: policyName },
          `delete inline policy ${policyName} from ${who} (not in the trusted baseline)`,
        ),
        reason: `the ${trustedNote(t.version)} of ${who} has no inline policy ${policyName}`,
      };
    }
    if (samePolicy(prior, a.req.policyDocument)) {
      return none(`Put${type}Policy ${policyName} on ${who} set the document of the ${trustedNote(t.version)}: nothing to revert`);
    }
    return {
      plan: baselinePlan(
        'iam',
        `Put${type}Policy`,
        { [nameKey]: t.target.id, PolicyName: policyName, PolicyDocument: JSON.stringify(prior) },
        `restore the trusted inline policy ${policyName} of ${who}`,
      ),
      reason: `inline policy put back from the ${trustedNote(t.version)}`,
    };
  };
}
