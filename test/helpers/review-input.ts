// The one builder of review inputs for tests: a security group opened to the world on tcp/22 by `eng-<k>`, judged on
// the given tier. FakeVendors finds its script by k (actor `eng-k`, event `evt-k`, Slack user `U-k`).
import type { ActorType, Change, ReviewInput, RevertPlan, Verdict } from '../../src/core/types';

const TEST_ACCOUNT = '111122223333';

/** The revert plan of the default change: revoke the rule it added. */
const SG_REVERT_PLAN: RevertPlan = {
  service: 'ec2',
  operation: 'RevokeSecurityGroupIngress',
  input: { GroupId: 'sg-123', SecurityGroupRuleIds: ['sgr-1'] },
  description: 'revoke sgr-1 from sg-123',
};

export interface ReviewInputOptions {
  /** Default 'confirm'. */
  tier?: Verdict['tier'];
  /** Default TEST_ACCOUNT. */
  account?: string;
  /** Default `eng-<k>`. */
  actorName?: string;
  /** Default 'AssumedRole'. */
  actorType?: ActorType;
  /** Default an assumed-role ARN in the account for the actor's name; null for an actor without one. */
  actorArn?: string | null;
  /** Carry SG_REVERT_PLAN (default: no plan). */
  plan?: boolean;
  /** Fields of the change to replace. */
  change?: Partial<Change>;
  /** Fields of the verdict to replace. */
  verdict?: Partial<Verdict>;
  /** Default ['U-SEC']. */
  securityResponders?: string[];
  notifyChannel?: string;
  maxDuoPushes?: number;
  dryRun?: boolean;
}

export function reviewInput(k: string, opts: ReviewInputOptions = {}): Omit<ReviewInput, 'reviewUrl'> {
  const tier = opts.tier ?? 'confirm';
  const account = opts.account ?? TEST_ACCOUNT;
  const name = opts.actorName ?? `eng-${k}`;
  const arn = opts.actorArn === undefined ? `arn:aws:sts::${account}:assumed-role/dev/${name}` : opts.actorArn;
  return {
    change: {
      eventId: `evt-${k}`,
      eventTime: '2026-11-28T12:00:00Z',
      account,
      region: 'eu-west-1',
      eventSource: 'ec2.amazonaws.com',
      eventName: 'AuthorizeSecurityGroupIngress',
      actor: { type: opts.actorType ?? 'AssumedRole', name, ...(arn === null ? {} : { arn }) },
      request: { groupId: 'sg-123', cidrIp: '0.0.0.0/0', fromPort: 22, toPort: 22 },
      response: null,
      summary: 'sg-123 opened to 0.0.0.0/0 on tcp/22',
      ...opts.change,
    },
    verdict: {
      tier,
      score: tier === 'confirm' ? 60 : 90,
      rules: ['sg-open-world', 'admin-port'],
      reasons: ['security group sg-123 opened to 0.0.0.0/0 on port 22'],
      deadlineSeconds: 60,
      revertPlan: opts.plan ? SG_REVERT_PLAN : null,
      ...opts.verdict,
    },
    securityResponders: opts.securityResponders ?? ['U-SEC'],
    ...(opts.notifyChannel !== undefined ? { notifyChannel: opts.notifyChannel } : {}),
    ...(opts.maxDuoPushes !== undefined ? { maxDuoPushes: opts.maxDuoPushes } : {}),
    ...(opts.dryRun !== undefined ? { dryRun: opts.dryRun } : {}),
  };
}
