// The least-privilege IAM policy of vouch's revert role, generated from what vouch can actually run: every revert
// handler's calls and the reads that verify them (src/revert/catalogue.ts), plus the read-only calls of the baseline
// capture (src/revert/baseline/capture.ts). `vouch iam-policy` prints it; `--store s3://bucket/prefix` prints instead the
// policy vouch's own principal needs for an S3 baseline store.
import { Command } from 'commander';
import { revertCatalogue } from '../revert';
import { CAPTURE_IAM_ACTIONS } from '../revert/baseline/capture';
import { act, UsageError, type CommandIo } from './program';

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: { Sid: string; Effect: 'Allow'; Action: string[]; Resource: string | string[]; Condition?: Record<string, unknown> }[];
}

function sorted(actions: Iterable<string>): string[] {
  return [...new Set(actions)].sort((a, b) => a.localeCompare(b));
}

export interface RevertPolicyOptions {
  /** Include the baseline capture's reads (default true: the scheduled refresh assumes the same role). */
  baseline?: boolean;
}

/** The revert role's policy: the revert calls, the read-back calls, and (by default) the baseline reads. */
export function revertRolePolicy(opts: RevertPolicyOptions = {}): PolicyDocument {
  const catalogue = revertCatalogue();
  const write = sorted(catalogue.flatMap((c) => c.iamActions));
  const read = sorted(catalogue.flatMap((c) => c.readActions).filter((a) => !write.includes(a)));
  const statements: PolicyDocument['Statement'] = [
    { Sid: 'VouchRevert', Effect: 'Allow', Action: write, Resource: '*' },
    { Sid: 'VouchVerifyRevert', Effect: 'Allow', Action: read, Resource: '*' },
  ];
  if (opts.baseline !== false) {
    const already = new Set([...write, ...read]);
    const capture = sorted(CAPTURE_IAM_ACTIONS.filter((a) => !already.has(a)));
    if (capture.length) statements.push({ Sid: 'VouchBaselineCapture', Effect: 'Allow', Action: capture, Resource: '*' });
  }
  return { Version: '2012-10-17', Statement: statements };
}

/** What vouch's own principal needs on an S3 baseline store: read and conditional write of its prefix, list it. */
export function baselineStorePolicy(location: string): PolicyDocument {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(location);
  if (!m) throw new Error(`not an s3://bucket/prefix location: ${location}`);
  const bucket = m[1] as string;
  const prefix = m[2] ?? '';
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'VouchBaselineObjects', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `arn:aws:s3:::${bucket}/${prefix}*` },
      {
        Sid: 'VouchBaselineList',
        Effect: 'Allow',
        Action: ['s3:ListBucket'],
        Resource: `arn:aws:s3:::${bucket}`,
        ...(prefix ? { Condition: { StringLike: { 's3:prefix': [`${prefix}*`] } } } : {}),
      },
    ],
  };
}

/** `vouch iam-policy [--no-baseline] [--store s3://bucket/prefix]`: prints the policy JSON. */
export function iamPolicyCommand(io: CommandIo = {}): Command {
  const cmd = new Command('iam-policy')
    .description("print the least-privilege IAM policy of vouch's revert role")
    .option('--no-baseline', "leave out the baseline capture's read-only calls")
    .option('--store <location>', "print instead the policy vouch's own principal needs on an S3 baseline store (s3://bucket/prefix)");
  return act(cmd, (opts: { baseline: boolean; store?: string }) => {
    let doc: PolicyDocument;
    try {
      doc = opts.store ? baselineStorePolicy(opts.store) : revertRolePolicy({ baseline: opts.baseline });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    (io.stdout ?? process.stdout).write(`${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  });
}
