import { eventPlan, isRecord, none, str, type PlanArgs, type PlanDecision } from '../plan-common';

// ---- IAM (rows 20, 22) ----

export const PRINCIPAL_KEYS = {
  User: { req: 'userName', input: 'UserName' },
  Role: { req: 'roleName', input: 'RoleName' },
  Group: { req: 'groupName', input: 'GroupName' },
} as const;
export type PrincipalType = keyof typeof PRINCIPAL_KEYS;

export function planDetach(type: PrincipalType) {
  return ({ req }: PlanArgs): PlanDecision => {
    const keys = PRINCIPAL_KEYS[type];
    const name = str(req[keys.req]);
    const arn = str(req.policyArn);
    if (!name || !arn) return none(`Attach${type}Policy without ${keys.req} and policyArn`);
    return {
      plan: eventPlan('iam', `Detach${type}Policy`, { [keys.input]: name, PolicyArn: arn }, `detach ${arn} from ${type.toLowerCase()} ${name}`),
      reason: `${type.toLowerCase()} and policy ARN from the request`,
    };
  };
}

export function planAccessKey({ change, req, res }: PlanArgs): PlanDecision {
  if (change.actor.type === 'Root') return none('an access key created by the root user: root-only task, not auto-reverted (paging instead)');
  const user = str(req.userName);
  if (!user) return none('CreateAccessKey for the caller itself: not a key for another user');
  if (change.actor.type === 'IAMUser' && change.actor.name === user) {
    return none(`CreateAccessKey by ${user} for itself: not a key for another user`);
  }
  const key = isRecord(res?.accessKey) ? str(res.accessKey.accessKeyId) : undefined;
  if (!key) return none(`CreateAccessKey for ${user} has no accessKey.accessKeyId in the response`);
  return {
    plan: eventPlan(
      'iam',
      'UpdateAccessKey',
      { UserName: user, AccessKeyId: key, Status: 'Inactive' },
      `deactivate access key ${key} of ${user}`,
    ),
    reason: `a key created for another user (${user}) by ${change.actor.name}: deactivated, not deleted, so it can be inspected`,
  };
}
