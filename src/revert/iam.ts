// IAM: a managed policy attached to a user, role or group is detached; an access key created for another user is
// deactivated (from the record). A role's trust policy or a principal's inline policy that was changed gets back its
// trusted version (from the baseline), or is deleted when the trusted principal did not have it. The reads of a
// principal's policies here are also the baseline capture's (baseline/capture.ts).
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
  paginateListAccessKeys,
  paginateListAttachedGroupPolicies,
  paginateListAttachedRolePolicies,
  paginateListAttachedUserPolicies,
  paginateListGroupPolicies,
  paginateListRolePolicies,
  paginateListUserPolicies,
  PutGroupPolicyCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  UpdateAccessKeyCommand,
  UpdateAssumeRolePolicyCommand,
  type AttachedPolicy,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { parsePolicyDocument, samePolicy, type PrincipalConfig } from './baseline/types';
import {
  baselinePlan,
  eventPlan,
  isDecision,
  none,
  str,
  trusted,
  trustedNote,
  type PlanArgs,
  type PlanDecision,
} from './plan-common';
import { isRecord } from '../core/text';
import { forbidden, Gone, orGone, unless } from './failures';
import { checkPolicyDocument, collect, need, onlyKeys, policyMismatch, type Handler, type RunContext, type ServiceReverts } from './handler';

// ---- principals: the same calls for users, roles and groups, with a different noun ----

export type PrincipalType = 'User' | 'Role' | 'Group';

interface PrincipalCalls {
  /** The CloudTrail request key naming the principal. */
  req: 'userName' | 'roleName' | 'groupName';
  /** The SDK input key naming the principal. */
  input: 'UserName' | 'RoleName' | 'GroupName';
  get(iam: IAMClient, name: string): Promise<{ Arn?: string; AssumeRolePolicyDocument?: string } | undefined>;
  policyNames(iam: IAMClient, name: string): AsyncIterable<{ PolicyNames?: string[] }>;
  attached(iam: IAMClient, name: string): AsyncIterable<{ AttachedPolicies?: AttachedPolicy[] }>;
  getPolicy(iam: IAMClient, name: string, PolicyName: string): Promise<{ PolicyDocument?: string }>;
  putPolicy(iam: IAMClient, name: string, PolicyName: string, PolicyDocument: string): Promise<unknown>;
  deletePolicy(iam: IAMClient, name: string, PolicyName: string): Promise<unknown>;
  detach(iam: IAMClient, name: string, PolicyArn: string): Promise<unknown>;
}

const PRINCIPALS: Record<PrincipalType, PrincipalCalls> = {
  User: {
    req: 'userName',
    input: 'UserName',
    get: async (iam, UserName) => (await iam.send(new GetUserCommand({ UserName }))).User,
    policyNames: (client, UserName) => paginateListUserPolicies({ client }, { UserName }),
    attached: (client, UserName) => paginateListAttachedUserPolicies({ client }, { UserName }),
    getPolicy: (iam, UserName, PolicyName) => iam.send(new GetUserPolicyCommand({ UserName, PolicyName })),
    putPolicy: (iam, UserName, PolicyName, PolicyDocument) => iam.send(new PutUserPolicyCommand({ UserName, PolicyName, PolicyDocument })),
    deletePolicy: (iam, UserName, PolicyName) => iam.send(new DeleteUserPolicyCommand({ UserName, PolicyName })),
    detach: (iam, UserName, PolicyArn) => iam.send(new DetachUserPolicyCommand({ UserName, PolicyArn })),
  },
  Role: {
    req: 'roleName',
    input: 'RoleName',
    get: async (iam, RoleName) => (await iam.send(new GetRoleCommand({ RoleName }))).Role,
    policyNames: (client, RoleName) => paginateListRolePolicies({ client }, { RoleName }),
    attached: (client, RoleName) => paginateListAttachedRolePolicies({ client }, { RoleName }),
    getPolicy: (iam, RoleName, PolicyName) => iam.send(new GetRolePolicyCommand({ RoleName, PolicyName })),
    putPolicy: (iam, RoleName, PolicyName, PolicyDocument) => iam.send(new PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument })),
    deletePolicy: (iam, RoleName, PolicyName) => iam.send(new DeleteRolePolicyCommand({ RoleName, PolicyName })),
    detach: (iam, RoleName, PolicyArn) => iam.send(new DetachRolePolicyCommand({ RoleName, PolicyArn })),
  },
  Group: {
    req: 'groupName',
    input: 'GroupName',
    get: async (iam, GroupName) => (await iam.send(new GetGroupCommand({ GroupName, MaxItems: 1 }))).Group,
    policyNames: (client, GroupName) => paginateListGroupPolicies({ client }, { GroupName }),
    attached: (client, GroupName) => paginateListAttachedGroupPolicies({ client }, { GroupName }),
    getPolicy: (iam, GroupName, PolicyName) => iam.send(new GetGroupPolicyCommand({ GroupName, PolicyName })),
    putPolicy: (iam, GroupName, PolicyName, PolicyDocument) => iam.send(new PutGroupPolicyCommand({ GroupName, PolicyName, PolicyDocument })),
    deletePolicy: (iam, GroupName, PolicyName) => iam.send(new DeleteGroupPolicyCommand({ GroupName, PolicyName })),
    detach: (iam, GroupName, PolicyArn) => iam.send(new DetachGroupPolicyCommand({ GroupName, PolicyArn })),
  },
};

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

/** The principal (its ARN; a role's trust policy as IAM returns it), or null when it does not exist. */
function getPrincipal(iam: IAMClient, type: PrincipalType, name: string): Promise<{ Arn?: string; AssumeRolePolicyDocument?: string } | null> {
  return unless(NO_SUCH_ENTITY, null, async () => (await PRINCIPALS[type].get(iam, name)) ?? {});
}

/** One inline policy document (parsed), or null when the principal or the policy does not exist. */
function getInlinePolicy(iam: IAMClient, type: PrincipalType, name: string, policyName: string): Promise<unknown> {
  return unless(NO_SUCH_ENTITY, null, async () => parsePolicyDocument((await PRINCIPALS[type].getPolicy(iam, name, policyName)).PolicyDocument) ?? null);
}

/** A principal's policy state as the baseline keeps it, read now; null when it does not exist. */
export async function readPrincipal(iam: IAMClient, type: PrincipalType, name: string): Promise<PrincipalConfig | null> {
  const principal = await getPrincipal(iam, type, name);
  if (!principal) return null;
  const calls = PRINCIPALS[type];
  const names = await collect(calls.policyNames(iam, name), (page) => page.PolicyNames);
  const InlinePolicies: Record<string, unknown> = {};
  for (const policyName of names) {
    InlinePolicies[policyName] = parsePolicyDocument((await calls.getPolicy(iam, name, policyName)).PolicyDocument) ?? null;
  }
  return {
    Name: name,
    ...(principal.Arn ? { Arn: principal.Arn } : {}),
    ...(type === 'Role' ? { AssumeRolePolicyDocument: parsePolicyDocument(principal.AssumeRolePolicyDocument) ?? null } : {}),
    InlinePolicies,
  };
}

// ---- plan ----

/** The document the change set, as the plan's expectation (the revert runs only while it is still in force). */
function expectPolicy(doc: unknown): { expect?: Record<string, unknown> } {
  const parsed = parsePolicyDocument(doc);
  return isRecord(parsed) ? { expect: { policy: parsed } } : {};
}

function planDetach(type: PrincipalType) {
  return ({ req }: PlanArgs): PlanDecision => {
    const keys = PRINCIPALS[type];
    const name = str(req[keys.req]);
    const arn = str(req.policyArn);
    if (!name || !arn) return none(`Attach${type}Policy without ${keys.req} and policyArn`);
    return {
      plan: eventPlan('iam', `Detach${type}Policy`, { [keys.input]: name, PolicyArn: arn }, `detach ${arn} from ${type.toLowerCase()} ${name}`),
      reason: `${type.toLowerCase()} and policy ARN from the request`,
    };
  };
}

function planAccessKey({ change, req, res }: PlanArgs): PlanDecision {
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

function planAssumeRolePolicy(a: PlanArgs): PlanDecision {
  const t = trusted<PrincipalConfig>(a);
  if (isDecision(t)) return t;
  const prior = parsePolicyDocument(t.config.AssumeRolePolicyDocument);
  if (prior === undefined) return none(`the ${trustedNote(t.version)} holds no trust policy for role ${t.target.id}; paging instead`);
  if (samePolicy(prior, a.req.policyDocument)) {
    return none(`UpdateAssumeRolePolicy on ${t.target.id} set the trust policy of the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: {
      ...baselinePlan(
        'iam',
        'UpdateAssumeRolePolicy',
        { RoleName: t.target.id, PolicyDocument: JSON.stringify(prior) },
        `restore the trusted trust policy of role ${t.target.id}`,
      ),
      ...expectPolicy(a.req.policyDocument),
    },
    reason: `trust policy put back from the ${trustedNote(t.version)}`,
  };
}

function planInlinePolicy(type: PrincipalType) {
  return (a: PlanArgs): PlanDecision => {
    const t = trusted<PrincipalConfig>(a);
    if (isDecision(t)) return t;
    const policyName = str(a.req.policyName);
    if (!policyName) return none(`Put${type}Policy without policyName`);
    const nameKey = PRINCIPALS[type].input;
    const who = `${type.toLowerCase()} ${t.target.id}`;
    const prior = parsePolicyDocument((t.config.InlinePolicies ?? {})[policyName]);
    if (prior === undefined) {
      return {
        plan: {
          ...expectPolicy(a.req.policyDocument),
          ...baselinePlan(
          'iam',
          `Delete${type}Policy`,
          { [nameKey]: t.target.id, PolicyName: policyName },
          `delete inline policy ${policyName} from ${who} (not in the trusted baseline)`,
        ),
        },
        reason: `the ${trustedNote(t.version)} of ${who} has no inline policy ${policyName}`,
      };
    }
    if (samePolicy(prior, a.req.policyDocument)) {
      return none(`Put${type}Policy ${policyName} on ${who} set the document of the ${trustedNote(t.version)}: nothing to revert`);
    }
    return {
      plan: {
        ...baselinePlan(
          'iam',
          `Put${type}Policy`,
          { [nameKey]: t.target.id, PolicyName: policyName, PolicyDocument: JSON.stringify(prior) },
          `restore the trusted inline policy ${policyName} of ${who}`,
        ),
        ...expectPolicy(a.req.policyDocument),
      },
      reason: `inline policy put back from the ${trustedNote(t.version)}`,
    };
  };
}

// ---- run ----

function detachPolicy(type: PrincipalType): Handler {
  const { input: key, ...calls } = PRINCIPALS[type];
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
      const arns = await orGone(NO_SUCH_ENTITY, `${type.toLowerCase()} ${name}`, () =>
        collect(calls.attached(ctx.client('iam'), name), (page) => page.AttachedPolicies?.map((p) => p.PolicyArn ?? '?')),
      );
      return { attached: arns.sort() };
    },
    pending: (s, ctx) => ((s as { attached: string[] }).attached.includes(ctx.args.PolicyArn as string) ? [`${String(ctx.args.PolicyArn)} attached`] : []),
    async apply(ctx) {
      await unless(NO_SUCH_ENTITY, undefined, async () => {
        await calls.detach(ctx.client('iam'), ctx.args[key] as string, ctx.args.PolicyArn as string);
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
    const keys = await orGone(NO_SUCH_ENTITY, `user ${user}`, () =>
      collect(paginateListAccessKeys({ client: ctx.client('iam') }, { UserName: user }), (page) =>
        page.AccessKeyMetadata?.map((k) => ({ accessKeyId: k.AccessKeyId, status: k.Status })),
      ),
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
    const role = await getPrincipal(ctx.client('iam'), 'Role', name);
    if (!role) throw new Gone(`role ${name}`, 'NoSuchEntity');
    return { assumeRolePolicy: parsePolicyDocument(role.AssumeRolePolicyDocument) ?? null };
  },
  pending: (s, ctx) => (samePolicy((s as { assumeRolePolicy: unknown }).assumeRolePolicy, ctx.args.PolicyDocument) ? [] : ['trust policy differs from the trusted one']),
  mismatch: (s, ctx) => policyMismatch((s as { assumeRolePolicy: unknown }).assumeRolePolicy, ctx, 'trust policy'),
  async apply(ctx) {
    await ctx.client('iam').send(
      new UpdateAssumeRolePolicyCommand({ RoleName: ctx.args.RoleName as string, PolicyDocument: ctx.args.PolicyDocument as string }),
    );
  },
};

async function readInline(ctx: RunContext, type: PrincipalType): Promise<{ policy: unknown }> {
  const name = ctx.args[PRINCIPALS[type].input] as string;
  const iam = ctx.client('iam');
  const doc = await getInlinePolicy(iam, type, name, ctx.args.PolicyName as string);
  if (doc === null && !(await getPrincipal(iam, type, name))) throw new Gone(`${type.toLowerCase()} ${name}`, 'NoSuchEntity');
  return { policy: doc };
}

function putInlinePolicy(type: PrincipalType): Handler {
  const { input: key, ...calls } = PRINCIPALS[type];
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
    mismatch: (s, ctx) => policyMismatch((s as { policy: unknown }).policy, ctx, `inline policy ${String(ctx.args.PolicyName)}`),
    async apply(ctx) {
      await calls.putPolicy(ctx.client('iam'), ctx.args[key] as string, ctx.args.PolicyName as string, ctx.args.PolicyDocument as string);
    },
  };
}

function deleteInlinePolicy(type: PrincipalType): Handler {
  const { input: key, ...calls } = PRINCIPALS[type];
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
    mismatch: (s, ctx) => policyMismatch((s as { policy: unknown }).policy, ctx, `inline policy ${String(ctx.args.PolicyName)}`),
    async apply(ctx) {
      await unless(NO_SUCH_ENTITY, undefined, async () => {
        await calls.deletePolicy(ctx.client('iam'), ctx.args[key] as string, ctx.args.PolicyName as string);
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
