// After the first high-urgency page, the review connects security's on-call engineer with the engineer (once), without
// delaying the question to the engineer; confirmed reviews and info pages connect nobody.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startReview } from '../../src/intake/starter';
import { decisionUpdate, statusQuery } from '../../workflows/messages';
import type { ReviewInput, Verdict } from '../../src/core/types';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput } from '../helpers/review-input';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';

const ACCOUNT = '111122223333';
const taskQueue = `oncall-wf-${randomUUID()}`;
const fake = new FakeVendors();
let env: TestWorkflowEnvironment;
let client: Client;
let stack: ReviewStack;

function input(k: string, tier: Verdict['tier'], actorType: 'AssumedRole' | 'Root' = 'AssumedRole'): Omit<ReviewInput, 'reviewUrl'> {
  return reviewInput(k, {
    tier,
    account: ACCOUNT,
    actorType,
    change: { request: {} },
    verdict: { score: 80, rules: ['sg-open-world'], reasons: ['r'], deadlineSeconds: 60 },
  });
}

async function start(k: string, tier: Verdict['tier'], actorType?: 'AssumedRole' | 'Root') {
  return (await startReview(client, input(k, tier, actorType), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' })).handle;
}

before(async () => {
  stack = await startReviewStack(fake.activities(), taskQueue);
  env = stack.env;
  client = env.client;
});
after(async () => {
  await stack?.stop();
});

describe('connect on-call after a page', () => {
  test('"not me": one conversation with on-call and the engineer, in the timeline', async () => {
    const k = randomUUID().slice(0, 8);
    const h = await start(k, 'confirm');
    await eventually(async () => (await h.query(statusQuery)).phase === 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'no' }] });
    const out = await h.result();
    assert.equal(out.outcome, 'DENIED');
    const calls = fake.callsFor(k, 'connectOnCall').map((c) => c.args as { engineerSlackUserId?: string; reviewUrl: string; summary: string });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.engineerSlackUserId, `U-${k}`);
    assert.match(calls[0]?.summary ?? '', /not theirs/);
    // The timeline says what the on-call activity answered (the fake connected U-ONCALL), once.
    assert.deepEqual(
      out.timeline.filter((t) => t.step.startsWith('oncall.')).map((t) => [t.step, t.result]),
      [['oncall.connected', 'connected on-call U-ONCALL']],
    );
  });

  test('page tier: connects once, and the engineer is still asked; confirmation does not connect again', async () => {
    const k = randomUUID().slice(0, 8);
    const h = await start(k, 'page');
    await eventually(async () => (await h.query(statusQuery)).phase === 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes' }] });
    const out = await h.result();
    assert.equal(out.outcome, 'CONFIRMED');
    assert.equal(fake.callsFor(k, 'connectOnCall').length, 1, 'the info page after Duo does not connect again');
  });

  test('root: on-call is told with nobody else to add', async () => {
    const k = randomUUID().slice(0, 8);
    const h = await start(k, 'confirm', 'Root');
    assert.equal((await h.result()).outcome, 'ESCALATED');
    const calls = fake.callsFor(k, 'connectOnCall').map((c) => c.args as { engineerSlackUserId?: string });
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.engineerSlackUserId, undefined);
  });

  test('confirmed without a page connects nobody', async () => {
    const k = randomUUID().slice(0, 8);
    const h = await start(k, 'confirm');
    await eventually(async () => (await h.query(statusQuery)).phase === 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes' }] });
    assert.equal((await h.result()).outcome, 'CONFIRMED');
    assert.equal(fake.callsFor(k, 'connectOnCall').length, 0);
  });
});
