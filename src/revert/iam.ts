// IAM: a managed policy attached to a user, role or group is detached; an access key created for another user is
// deactivated (from the record). A role's trust policy or a principal's inline policy that was changed gets back its
// trusted version (from the baseline), or is deleted when the trusted principal did not have it.
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
import { parsePolicyDocument, samePolicy, type PrincipalConfig } from './baseline/types';
import {
  baselinePlan,
  eventPlan,
  isDecision,
  isRecord,
  none,
  str,
  trusted,
  trustedNote,
  type PlanArgs,
  type PlanDecision,
} from './plan-common';
import { forbidden, Gone, orGone, unless } from './failures';
import { checkPolicyDocument, need, onlyKeys, pages, type Handler, type RunContext, type ServiceReverts } from './handler';

// ---- plan ----

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

// ---- run ----

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

export function detachPolicy(type: Principal): Handler {
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

export const accessKey: Handler = {
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

export const assumeRolePolicy: Handler = {
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

export function putInlinePolicy(type: Principal): Handler {
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

export function deleteInlinePolicy(type: Principal): Handler {
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

const IAM = ['iam.amazonaws.com'];

export const iamReverts: ServiceReverts = {
  planners: {
    AttachUserPolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachUserPolicy'], plan: planDetach('User') },
    AttachRolePolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachRolePolicy'], plan: planDetach('Role') },
    AttachGroupPolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachGroupPolicy'], plan: planDetach('Group') },
    CreateAccessKey: { eventSources: IAM, from: 'event', produces: ['iam:UpdateAccessKey'], plan: planAccessKey },
    UpdateAssumeRolePolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:UpdateAssumeRolePolicy'], plan: planAssumeRolePolicy },
    PutRolePolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'], plan: planInlinePolicy('Role') },
    PutUserPolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutUserPolicy', 'iam:DeleteUserPolicy'], plan: planInlinePolicy('User') },
    PutGroupPolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutGroupPolicy', 'iam:DeleteGroupPolicy'], plan: planInlinePolicy('Group') },
  },
  handlers: [
    detachPolicy('User'),
    detachPolicy('Role'),
    detachPolicy('Group'),
    accessKey,
    assumeRolePolicy,
    putInlinePolicy('User'),
    putInlinePolicy('Role'),
    putInlinePolicy('Group'),
    deleteInlinePolicy('User'),
    deleteInlinePolicy('Role'),
    deleteInlinePolicy('Group'),
  ],
};
