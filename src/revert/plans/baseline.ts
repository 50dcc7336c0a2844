import { parsePolicyDocument, samePolicy, type BucketPolicyConfig, type PrincipalConfig } from '../baseline/types';
import { baselinePlan, isDecision, none, str, trusted, trustedNote, type PlanArgs, type PlanDecision } from '../plan-common';
import { PRINCIPAL_KEYS, type PrincipalType } from './iam';

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
