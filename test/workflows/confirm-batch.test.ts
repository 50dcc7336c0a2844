// Noise a human can live with, confirm tier: a burst of confirm-tier changes by one person is one ask and one Duo push,
// and each change keeps its own review and outcome. Played through the intake (environment → review settings →
// pipeline) and the review and batch workflows on a real Temporal dev server, with fake vendor activities that count
// every Slack message, Duo push, page and revert.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';
import { FakeVendors } from '../helpers/fake-vendors';
import { temporalStarter } from '../../src/intake/starter';
import { IntakePipeline } from '../../src/intake/pipeline';
import { fixedJudge } from '../../src/intake/judges';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { loadIntakeConfig, reviewSettings } from '../../src/cli/intake-settings';
import { batchDecisionUpdate, decisionUpdate, statusQuery } from '../../workflows/messages';
import { MAX_CONFIRM_BATCH } from '../../workflows/confirm-batch';
import type { BatchMessageInput, EngineerAnswer, PostMessageInput, ReviewOutcome } from '../../src/core/types';

const ACCOUNT = '111122223333';
const UI = 'http://127.0.0.1:8233';
let client: Client;
let stack: ReviewStack;
const fake = new FakeVendors();
const taskQueue = `confirm-batch-test-${randomUUID()}`;
const deadLetterDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-confirm-batch-'));

/** The pipeline `vouch ingest` builds from the environment, judging every change confirm tier. */
function pipelineFor(env: Record<string, string>, deadlineSeconds = 600): IntakePipeline {
  const config = loadIntakeConfig(env);
  return new IntakePipeline({
    judge: fixedJudge({ tier: 'confirm', score: 60, deadlineSeconds }),
    starter: temporalStarter(client, { taskQueue, uiBaseUrl: UI }),
    deadLetters: new FolderDeadLetterStore(deadLetterDir),
    review: reviewSettings(config),
  });
}

/** IAM user `eng-<k>` opens security group `sg-<k>-<i>` to the world on tcp/22 (the fake maps eng-k to Slack U-k). */
function record(k: string, i: number): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    eventID: `evt-${k}-${i}`,
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    awsRegion: 'eu-west-1',
    recipientAccountId: ACCOUNT,
    userIdentity: { type: 'IAMUser', principalId: 'AIDAEXAMPLE', arn: `arn:aws:iam::${ACCOUNT}:user/eng-${k}`, accountId: ACCOUNT, userName: `eng-${k}` },
    requestParameters: {
      groupId: `sg-${k}-${i}`,
      ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] },
    },
    responseElements: null,
  };
}

async function burst(pipeline: IntakePipeline, k: string, count: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) {
    const res = await pipeline.process({ kind: 'review', source: 'confirm-batch-test', index: i, record: record(k, i) });
    assert.equal(res.status, 'started', JSON.stringify(res));
    ids.push((res as { workflowId: string }).workflowId);
  }
  return ids;
}

async function outcomes(ids: string[]): Promise<ReviewOutcome[]> {
  return Promise.all(ids.map((id) => client.workflow.getHandle(id).result() as Promise<ReviewOutcome>));
}

function batchPosts(k: string): BatchMessageInput[] {
  return fake.callsFor(k, 'postBatchMessage').map((c) => c.args as BatchMessageInput);
}

/** The n-th (0-based) batch message posted to eng-k, once it is out, and its ts (the fake's `<k>.batch<n+1>`). */
async function batchMessage(k: string, n = 0): Promise<{ post: BatchMessageInput; ts: string }> {
  const post = await eventually(() => batchPosts(k)[n], 20_000, `batch message ${n} to eng-${k}`);
  return { post, ts: `${k}.batch${n + 1}` };
}

function answerBatch(k: string, answer: EngineerAnswer, messageTs: string, by = `U-${k}`) {
  return client.workflow
    .getHandle(`vouch-batch-${ACCOUNT}-U-${k}`)
    .executeUpdate(batchDecisionUpdate, { args: [{ slackUserId: by, answer, messageTs }], updateId: randomUUID() });
}

/** Calls about eng-k's person, batch or reviews (the fake keys a review's calls `<k>-<i>`). */
function callsOf(k: string, name: string): Array<{ args: unknown }> {
  return fake.calls.filter((c) => c.name === name && (c.key === k || c.key.startsWith(`${k}-`)));
}

function key(): string {
  return randomUUID().slice(0, 8);
}

before(async () => {
  stack = await startReviewStack(fake.activities(), taskQueue);
  client = stack.env.client;
});

after(async () => {
  await stack?.stop();
  fs.rmSync(deadLetterDir, { recursive: true, force: true });
});

describe('confirm-tier batch', { timeout: 180_000 }, () => {
  test('five confirm-tier changes by one person within the window: one ask, one Duo push, five reviews CONFIRMED', async () => {
    const k = key();
    const ids = await burst(pipelineFor({ VOUCH_CONFIRM_BATCH_SECONDS: '3' }), k, 5);
    const { post, ts } = await batchMessage(k);
    assert.deepEqual(post.entries.map((e) => e.reviewId).sort(), [...ids].sort(), 'the message lists exactly the five reviews');
    assert.equal(post.slackUserId, `U-${k}`);
    for (const e of post.entries) {
      const i = ids.indexOf(e.reviewId);
      assert.match(e.what, new RegExp(`^AuthorizeSecurityGroupIngress in ${ACCOUNT}/eu-west-1: sg-${k}-${i} opened`));
      assert.equal(e.reviewUrl, `${UI}/namespaces/default/workflows/${encodeURIComponent(ids[i] ?? '')}`);
    }
    const res = await answerBatch(k, 'yes', ts);
    assert.match(res.message, /one Duo push on your phone to confirm these 5 changes/);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(5).fill('CONFIRMED'), JSON.stringify(done.map((o) => o.reason)));
    for (const o of done) assert.match(o.reason, new RegExp(`^eng-${k} confirmed with Duo, one push for 5 changes`));

    assert.equal(batchPosts(k).length, 1, 'one batch message');
    assert.equal(callsOf(k, 'postReviewMessage').length, 0, 'no per-change message');
    const pushes = callsOf(k, 'sendDuoPush').map((c) => c.args as { purpose?: string; change: { eventName: string } });
    assert.equal(pushes.length, 1, 'one Duo push');
    assert.match(pushes[0]?.purpose ?? '', /confirm 5 AWS changes/);
    assert.equal(pushes[0]?.change.eventName, '5 changes');
    assert.equal(callsOf(k, 'triggerIncident').length, 0, 'nobody paged');
    assert.equal(callsOf(k, 'acceptTrustedChange').length, 5, 'each confirmed change becomes trusted on its own');
    // Each change keeps its own review in the Web UI, its timeline naming the batch.
    const s = await client.workflow.getHandle(ids[3] ?? '').query(statusQuery);
    assert.equal(s.outcome, 'CONFIRMED');
    assert.ok(s.timeline.some((t) => t.step === 'batch.joined' && t.result.startsWith(`vouch-batch-${ACCOUNT}-U-${k}:`)), JSON.stringify(s.timeline));
    // A second click on the answered message does nothing.
    await assert.rejects(answerBatch(k, 'no', ts), /not on an open batch message|already completed/);
  });

  test('a flood of changes in one window: each message asks about at most MAX_CONFIRM_BATCH, the rest in the next', async () => {
    const k = key();
    const ids = await burst(pipelineFor({ VOUCH_CONFIRM_BATCH_SECONDS: '2' }), k, MAX_CONFIRM_BATCH + 2);
    const first = await batchMessage(k, 0);
    const second = await batchMessage(k, 1);
    assert.equal(first.post.entries.length, MAX_CONFIRM_BATCH);
    assert.equal(second.post.entries.length, 2);
    const listed = [...first.post.entries, ...second.post.entries].map((e) => e.reviewId).sort();
    assert.deepEqual(listed, [...ids].sort(), 'every change is on exactly one message');
    for (const m of [first, second]) await answerBatch(k, 'yes', m.ts);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(ids.length).fill('CONFIRMED'));
  });

  test('"no" on the batch: each change DENIED, paged and reverted on its own', async () => {
    const k = key();
    const ids = await burst(pipelineFor({ VOUCH_CONFIRM_BATCH_SECONDS: '2' }), k, 3);
    const { ts } = await batchMessage(k);
    await answerBatch(k, 'no', ts);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(3).fill('DENIED'), JSON.stringify(done.map((o) => o.reason)));
    for (const o of done) assert.match(o.reason, /not all theirs; change reverted$/);
    assert.equal(callsOf(k, 'sendDuoPush').length, 0, 'no Duo push after "no"');
    const pagedFor = new Set(callsOf(k, 'triggerIncident').map((c) => (c.args as { dedupKey: string }).dedupKey));
    assert.deepEqual([...pagedFor].sort(), [...ids].sort(), 'one incident per change');
    const reverted = callsOf(k, 'revertChange').map((c) => (c.args as { eventId: string }).eventId).sort();
    assert.deepEqual(reverted, [0, 1, 2].map((i) => `evt-${k}-${i}`));
  });

  test('Duo deny of the batch push: each change DENIED', async () => {
    const k = key();
    fake.script(k, { duo: ['deny'] });
    const ids = await burst(pipelineFor({ VOUCH_CONFIRM_BATCH_SECONDS: '2' }), k, 3);
    const { ts } = await batchMessage(k);
    await answerBatch(k, 'yes', ts);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(3).fill('DENIED'), JSON.stringify(done.map((o) => o.reason)));
    for (const o of done) assert.match(o.reason, new RegExp(`^eng-${k} denied the Duo push for 3 changes`));
    assert.equal(callsOf(k, 'sendDuoPush').length, 1);
    assert.equal(new Set(callsOf(k, 'triggerIncident').map((c) => (c.args as { dedupKey: string }).dedupKey)).size, 3);
  });

  test('no answer: each change TIMED_OUT on its own deadline and paged', async () => {
    const k = key();
    const ids = await burst(pipelineFor({ VOUCH_CONFIRM_BATCH_SECONDS: '2' }, 8), k, 3);
    const { ts } = await batchMessage(k);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(3).fill('TIMED_OUT'), JSON.stringify(done.map((o) => o.reason)));
    assert.equal(new Set(callsOf(k, 'triggerIncident').map((c) => (c.args as { dedupKey: string }).dedupKey)).size, 3);
    assert.equal(callsOf(k, 'sendDuoPush').length, 0);
    // The batch takes no answer after the deadline.
    await assert.rejects(answerBatch(k, 'yes', ts), /not on an open batch message|deadline passed|WorkflowNotFound|not found/i);
  });

  test('two people in the same window: two messages, neither lists the other person\'s change', async () => {
    const a = key();
    const b = key();
    const pipeline = pipelineFor({ VOUCH_CONFIRM_BATCH_SECONDS: '3' });
    const idsA = await burst(pipeline, a, 2);
    const idsB = await burst(pipeline, b, 2);
    idsA.push(...(await burst(pipeline, a, 1, 2)));
    const ma = await batchMessage(a);
    const mb = await batchMessage(b);
    assert.deepEqual(ma.post.entries.map((e) => e.reviewId).sort(), [...idsA].sort());
    assert.deepEqual(mb.post.entries.map((e) => e.reviewId).sort(), [...idsB].sort());
    await answerBatch(a, 'yes', ma.ts);
    await answerBatch(b, 'yes', mb.ts);
    const done = await outcomes([...idsA, ...idsB]);
    assert.deepEqual(done.map((o) => o.outcome), Array(5).fill('CONFIRMED'));
    assert.deepEqual([batchPosts(a).length, batchPosts(b).length], [1, 1]);
  });

  test('a batch of one: the review asks exactly as it does without a batch', async () => {
    const k = key();
    const [id = ''] = await burst(pipelineFor({ VOUCH_CONFIRM_BATCH_SECONDS: '1' }), k, 1);
    const post = await eventually(() => callsOf(k, 'postReviewMessage')[0]?.args as PostMessageInput | undefined, 20_000, 'the review DM');
    assert.equal(batchPosts(k).length, 0, 'no batch message');
    const s = await client.workflow.getHandle(id).query(statusQuery);
    // The same message the review posts without a batch: its own ask, its own deadline (set when the review started).
    assert.deepEqual(Object.keys(post).sort(), ['change', 'reviewId', 'reviewUrl', 'slackUserId', 'state', 'verdict']);
    assert.deepEqual(post.state, { kind: 'ask', deadline: s.deadline });
    await client.workflow.getHandle(id).executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}-0.0001` }] });
    const [out] = await outcomes([id]);
    assert.equal(out?.outcome, 'CONFIRMED');
    assert.equal(out?.reason, `eng-${k} confirmed with Duo`);
  });

  test('VOUCH_CONFIRM_BATCH_SECONDS: off by default, 0 is off, junk is refused', async () => {
    assert.equal(reviewSettings(loadIntakeConfig({})).confirmBatchSeconds, undefined, 'off unless set');
    assert.equal(reviewSettings(loadIntakeConfig({ VOUCH_CONFIRM_BATCH_SECONDS: '0' })).confirmBatchSeconds, undefined);
    assert.equal(reviewSettings(loadIntakeConfig({ VOUCH_CONFIRM_BATCH_SECONDS: '30' })).confirmBatchSeconds, 30);
    assert.throws(() => loadIntakeConfig({ VOUCH_CONFIRM_BATCH_SECONDS: 'soon' }), /VOUCH_CONFIRM_BATCH_SECONDS/);
    const k = key();
    const ids = await burst(pipelineFor({}), k, 2);
    await eventually(() => callsOf(k, 'postReviewMessage').length === 2, 20_000, 'two review DMs');
    assert.equal(fake.callsFor(k, 'joinConfirmBatch').length, 0);
    for (const [i, id] of ids.entries()) {
      await client.workflow.getHandle(id).executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}-${i}.0001` }] });
    }
    assert.deepEqual((await outcomes(ids)).map((o) => o.outcome), ['CONFIRMED', 'CONFIRMED']);
  });
});
