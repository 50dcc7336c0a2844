import { parsePolicyDocument, samePolicy, type BucketPolicyConfig } from '../baseline/types';
import { baselinePlan, isDecision, none, trusted, trustedNote, type PlanArgs, type PlanDecision } from '../plan-common';

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
