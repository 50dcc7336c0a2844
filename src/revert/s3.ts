// S3: a bucket's or the account's public access block (s3control) removed or weakened is turned fully on again
// (from the record); a bucket policy put or deleted gets back its trusted version (from the baseline).
import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand as GetBucketPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand as PutBucketPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  GetPublicAccessBlockCommand as GetAccountPublicAccessBlockCommand,
  PutPublicAccessBlockCommand as PutAccountPublicAccessBlockCommand,
} from '@aws-sdk/client-s3-control';
import { parsePolicyDocument, samePolicy, type BucketPolicyConfig } from './baseline/types';
import {
  baselinePlan,
  bool,
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
import { checkPolicyDocument, need, onlyKeys, policyMismatch, sdkInput, type Handler, type RunContext, type ServiceReverts } from './handler';

// ---- plan ----

const PAB_FLAGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;
const FULL_PUBLIC_ACCESS_BLOCK = Object.fromEntries(PAB_FLAGS.map((f) => [f, true])) as Record<(typeof PAB_FLAGS)[number], true>;

/** The flags a Put*PublicAccessBlock request left off (a missing flag is off). Empty when all four are on. */
function pabFlagsOff(req: Record<string, unknown>): string[] {
  const conf = [req.PublicAccessBlockConfiguration, req.publicAccessBlockConfiguration, req.publicAccessBlock].find(isRecord);
  if (!conf) return [...PAB_FLAGS];
  return PAB_FLAGS.filter((f) => bool(conf[f] ?? conf[f.charAt(0).toLowerCase() + f.slice(1)]) !== true);
}

function planBucketPab(deleted: boolean) {
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

function planAccountPab(deleted: boolean) {
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

function planBucketPolicy(deleted: boolean) {
  return (a: PlanArgs): PlanDecision => {
    const t = trusted<BucketPolicyConfig>(a);
    if (isDecision(t)) return t;
    const bucket = t.target.id;
    const prior = parsePolicyDocument(t.config.Policy);
    if (!deleted && prior !== undefined && samePolicy(prior, a.req.bucketPolicy ?? a.req.policy)) {
      return none(`PutBucketPolicy on ${bucket} set the policy of the ${trustedNote(t.version)}: nothing to revert`);
    }
    // The policy the change left (none, for a delete): the revert runs only while the bucket still has it.
    const left = deleted ? null : parsePolicyDocument(a.req.bucketPolicy ?? a.req.policy);
    const expect = left === undefined ? {} : { expect: { policy: left } };
    if (prior === undefined) {
      if (deleted) return none(`bucket ${bucket} had no policy in the ${trustedNote(t.version)}: nothing to restore`);
      return {
        plan: { ...baselinePlan('s3', 'DeleteBucketPolicy', { Bucket: bucket }, `delete the policy of bucket ${bucket} (it had none when trusted)`), ...expect },
        reason: `the ${trustedNote(t.version)} has no policy on ${bucket}`,
      };
    }
    return {
      plan: { ...baselinePlan('s3', 'PutBucketPolicy', { Bucket: bucket, Policy: JSON.stringify(prior) }, `restore the trusted policy of bucket ${bucket}`), ...expect },
      reason: `policy put back from the ${trustedNote(t.version)}`,
    };
  };
}

// ---- run ----

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

/** A bucket's policy (parsed; null when it has none), or null when the bucket does not exist. Also the baseline's read. */
export function getBucketPolicy(s3: S3Client, bucket: string): Promise<{ policy: unknown } | null> {
  return unless(['NoSuchBucket'], null, async () => {
    const res = await unless(['NoSuchBucketPolicy'], undefined, () => s3.send(new GetBucketPolicyCommand({ Bucket: bucket })));
    return { policy: parsePolicyDocument(res?.Policy) ?? null };
  });
}

async function readBucketPolicy(ctx: RunContext): Promise<{ policy: unknown }> {
  const bucket = ctx.args.Bucket as string;
  const state = await getBucketPolicy(ctx.client('s3'), bucket);
  if (!state) throw new Gone(`bucket ${bucket}`, 'NoSuchBucket');
  return state;
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
  mismatch: (s, ctx) => policyMismatch((s as { policy: unknown }).policy, ctx, 'bucket policy'),
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
  mismatch: (s, ctx) => policyMismatch((s as { policy: unknown }).policy, ctx, 'bucket policy'),
  async apply(ctx) {
    await ctx.client('s3').send(new DeleteBucketPolicyCommand({ Bucket: ctx.args.Bucket as string }));
  },
};

const S3 = ['s3.amazonaws.com'];
const S3_ACCOUNT = ['s3.amazonaws.com', 's3-control.amazonaws.com', 's3control.amazonaws.com'];

export const s3Reverts: ServiceReverts = {
  planners: {
    PutBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(false) },
    DeleteBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(true) },
    PutAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(false) },
    DeleteAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(true) },
    PutBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy'], plan: planBucketPolicy(false) },
    DeleteBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy'], plan: planBucketPolicy(true) },
  },
  handlers: [bucketPab, accountPab, putBucketPolicy, deleteBucketPolicy],
};
