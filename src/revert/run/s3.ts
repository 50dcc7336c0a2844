import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  GetPublicAccessBlockCommand as GetBucketPublicAccessBlockCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand as PutBucketPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import {
  GetPublicAccessBlockCommand as GetAccountPublicAccessBlockCommand,
  PutPublicAccessBlockCommand as PutAccountPublicAccessBlockCommand,
} from '@aws-sdk/client-s3-control';
import { parsePolicyDocument, samePolicy } from '../baseline/types';
import { forbidden, isRecord, orGone, unless } from '../failures';
import { checkPolicyDocument, need, onlyKeys, sdkInput, type Handler, type RunContext } from '../handler';

// S3 (row 34 from the event; row 32 from the baseline).
const PAB_FLAGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;

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

export const bucketPab: Handler = {
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

export const accountPab: Handler = {
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

async function readBucketPolicy(ctx: RunContext): Promise<{ policy: unknown }> {
  const bucket = ctx.args.Bucket as string;
  const res = await orGone(['NoSuchBucket'], `bucket ${bucket}`, () =>
    unless(['NoSuchBucketPolicy'], undefined, () => ctx.client('s3').send(new GetBucketPolicyCommand({ Bucket: bucket }))),
  );
  return { policy: parsePolicyDocument(res?.Policy) ?? null };
}

export const putBucketPolicy: Handler = {
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
  async apply(ctx) {
    await ctx.client('s3').send(new PutBucketPolicyCommand({ Bucket: ctx.args.Bucket as string, Policy: ctx.args.Policy as string }));
  },
};

export const deleteBucketPolicy: Handler = {
  service: 's3',
  operation: 'DeleteBucketPolicy',
  iam: { write: ['s3:DeleteBucketPolicy'], read: ['s3:GetBucketPolicy'] },
  check(a) {
    need(a, 'Bucket');
    onlyKeys(a, ['Bucket'], 'DeleteBucketPolicy');
  },
  read: readBucketPolicy,
  pending: (s) => ((s as { policy: unknown }).policy !== null ? ['a bucket policy is set (the trusted state has none)'] : []),
  async apply(ctx) {
    await ctx.client('s3').send(new DeleteBucketPolicyCommand({ Bucket: ctx.args.Bucket as string }));
  },
};
