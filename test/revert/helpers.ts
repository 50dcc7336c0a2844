// Shared by the revert tests: moto_server with SDK clients, CloudTrail records built the way CloudTrail writes them
// (lower camel case request parameters; EC2 lists wrapped in {items:[…]}), normalised by vouch's real normaliser,
// and a helper that runs a revert twice (the second run must find nothing to undo).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { normalise } from '../../src/intake/normalise';
import { createAwsClientFactory, planRevert, type AwsClients, type PlanContext } from '../../src/revert';
import { createAwsActivities } from '../../activities/aws-revert';
import type { AwsService, Change, RevertInput, RevertPlan, RevertResult } from '../../src/core/types';

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012'; // moto's default account for plain credentials
export const CREDS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface Aws {
  moto: MotoServer;
  /** A client acting as the engineer (making risky changes, reading state back). */
  admin<S extends AwsService>(service: S): AwsClients[S];
  revert(input: RevertInput): Promise<RevertResult>;
  stop(): Promise<void>;
}

export async function startAws(): Promise<Aws> {
  const moto = await startMoto();
  const factory = createAwsClientFactory({ endpoint: moto.endpoint, credentials: CREDS });
  const made = new Map<AwsService, { destroy(): void }>();
  const acts = createAwsActivities(factory);
  return {
    moto,
    admin<S extends AwsService>(service: S): AwsClients[S] {
      let c = made.get(service) as AwsClients[S] | undefined;
      if (!c) {
        c = factory.clientFor(service, ACCOUNT, REGION, 'test-admin');
        made.set(service, c);
      }
      return c;
    },
    revert: (input) => acts.revertChange(input),
    async stop() {
      for (const c of made.values()) c.destroy();
      await moto.stop();
    },
  };
}

export interface RecordOptions {
  errorCode?: string;
  userIdentity?: Record<string, unknown>;
  eventTime?: string;
  region?: string;
}

const ALICE = {
  type: 'IAMUser',
  principalId: 'AIDAEXAMPLEALICE0001',
  arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
  accountId: ACCOUNT,
  accessKeyId: 'AKIAEXAMPLEALICE0001',
  userName: 'alice',
};

/** A CloudTrail record as CloudTrail delivers it (one element of `Records`). */
export function record(
  eventSource: string,
  eventName: string,
  requestParameters: Record<string, unknown> | null,
  responseElements: Record<string, unknown> | null,
  o: RecordOptions = {},
): Record<string, unknown> {
  return {
    eventVersion: '1.10',
    userIdentity: o.userIdentity ?? ALICE,
    eventTime: o.eventTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource,
    eventName,
    awsRegion: o.region ?? REGION,
    sourceIPAddress: '198.51.100.7',
    userAgent: 'aws-sdk-js/3 vouch-test',
    requestParameters,
    responseElements,
    ...(o.errorCode ? { errorCode: o.errorCode, errorMessage: `scripted ${o.errorCode}` } : {}),
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: 'Management',
  };
}

/** The record through vouch's real normaliser (redaction included), as the planner sees it in production. */
export function changeOf(rec: Record<string, unknown>): Change {
  return normalise(rec, 'test', 0);
}

export function planOf(change: Change, ctx?: PlanContext): RevertPlan {
  const { plan, reason } = planRevert(change, ctx);
  return plan ?? assert.fail(`no plan for ${change.eventName}: ${reason}`);
}

export function inputFor(change: Change, plan: RevertPlan, dryRun = false): RevertInput {
  return { plan, account: change.account, region: change.region, eventId: change.eventId, ...(dryRun ? { dryRun: true } : {}) };
}

/** Reverts, checks it changed something, reverts again and checks that the second run is a no-op. */
export async function revertTwice(aws: Aws, change: Change, plan: RevertPlan = planOf(change)): Promise<RevertResult> {
  const first = await aws.revert(inputFor(change, plan));
  assert.equal(first.changed, true, `first revert: ${first.message}`);
  assert.notDeepEqual(first.before, first.after, 'before and after must differ when something was undone');
  const second = await aws.revert(inputFor(change, plan));
  assert.equal(second.changed, false, `second revert: ${second.message}`);
  assert.match(second.message, /already reverted|nothing/);
  assert.deepEqual(second.before, first.after);
  return first;
}

/** EC2's CloudTrail list wrapper. */
export function items<T>(list: T[]): { items: T[] } {
  return { items: list };
}
