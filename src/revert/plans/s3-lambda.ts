import { bool, eventPlan, isRecord, none, str, type PlanArgs, type PlanDecision } from '../plan-common';

// ---- S3 public access block (row 34) ----

const PAB_FLAGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;
export const FULL_PUBLIC_ACCESS_BLOCK = Object.fromEntries(PAB_FLAGS.map((f) => [f, true])) as Record<(typeof PAB_FLAGS)[number], true>;

/** The flags a Put*PublicAccessBlock request left off (a missing flag is off). Empty when all four are on. */
function pabFlagsOff(req: Record<string, unknown>): string[] {
  const conf = [req.PublicAccessBlockConfiguration, req.publicAccessBlockConfiguration, req.publicAccessBlock].find(isRecord);
  if (!conf) return [...PAB_FLAGS];
  return PAB_FLAGS.filter((f) => bool(conf[f] ?? conf[f.charAt(0).toLowerCase() + f.slice(1)]) !== true);
}

export function planBucketPab(deleted: boolean) {
  return ({ req }: PlanArgs): PlanDecision => {
    const bucket = str(req.bucketName);
    if (!bucket) return none('no bucketName in the request');
    const off = deleted ? [...PAB_FLAGS] : pabFlagsOff(req);
    if (!off.length) return none(`the public access block of ${bucket} has all four flags on: nothing to revert`);
    return {
      plan: eventPlan(
        's3',
        'PutPublicAccessBlock',
        { Bucket: bucket, PublicAccessBlockConfiguration: { ...FULL_PUBLIC_ACCESS_BLOCK } },
        `turn the public access block of bucket ${bucket} fully on (was off: ${off.join(', ')})`,
      ),
      reason: 'restored to all four flags on (the safe state; the record does not hold the flags before the change)',
    };
  };
}

export function planAccountPab(deleted: boolean) {
  return ({ change, req }: PlanArgs): PlanDecision => {
    const off = deleted ? [...PAB_FLAGS] : pabFlagsOff(req);
    if (!off.length) return none(`the account public access block of ${change.account} has all four flags on: nothing to revert`);
    return {
      plan: eventPlan(
        's3control',
        'PutPublicAccessBlock',
        { AccountId: change.account, PublicAccessBlockConfiguration: { ...FULL_PUBLIC_ACCESS_BLOCK } },
        `turn the account-level public access block of ${change.account} fully on (was off: ${off.join(', ')})`,
      ),
      reason: 'restored to all four flags on (the safe state; the record does not hold the flags before the change)',
    };
  };
}
