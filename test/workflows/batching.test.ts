// Noise a human can live with: a burst of notify-tier changes by one person is one DM, not one each. Played through
// the intake (environment → review settings → pipeline) and the review and digest workflows on a real Temporal dev
// server, with fake vendor activities that count every Slack message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { startReviewStack, type ReviewStack } from '../helpers/temporal';
import { FakeVendors } from '../helpers/fake-vendors';
import { temporalStarter } from '../../src/intake/starter';
import { IntakePipeline } from '../../src/intake/pipeline';
import { fixedJudge } from '../../src/intake/judges';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { loadIntakeConfig, reviewSettings } from '../../src/cli/intake-settings';
import { statusQuery } from '../../workflows/messages';
import type { ReviewOutcome } from '../../src/core/types';

const ACCOUNT = '111122223333';
const CHANNEL = 'C0SECNOTE';
const UI = 'http://127.0.0.1:8233';
let client: Client;
let stack: ReviewStack;
const fake = new FakeVendors();
const taskQueue = `batching-test-${randomUUID()}`;
const deadLetterDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-batching-'));

/** The pipeline `vouch ingest` builds from the environment, judging every change notify tier. */
function pipelineFor(env: Record<string, string>): IntakePipeline {
  const config = loadIntakeConfig({ VOUCH_NOTIFY_CHANNEL: CHANNEL, ...env });
  return new IntakePipeline({
    judge: fixedJudge({ tier: 'notify', score: 20, deadlineSeconds: 600 }),
    starter: temporalStarter(client, { taskQueue, uiBaseUrl: UI }),
    deadLetters: new FolderDeadLetterStore(deadLetterDir),
    review: reviewSettings(config),
  });
}

/** IAM user `eng-<k>` opens security group `sg-<k>-<i>` to the world on tcp/443 (the fake maps eng-k to Slack U-k). */
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
      ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 443, toPort: 443, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] },
    },
    responseElements: null,
  };
}

/** Feeds `count` changes by eng-k through `pipeline`; resolves the review ids. */
async function burst(pipeline: IntakePipeline, k: string, count: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = from; i < from + count; i++) {
    const res = await pipeline.process({ kind: 'review', source: 'batching-test', index: i, record: record(k, i) });
    assert.equal(res.status, 'started', JSON.stringify(res));
    ids.push((res as { workflowId: string }).workflowId);
  }
  return ids;
}

async function outcomes(ids: string[]): Promise<ReviewOutcome[]> {
  return Promise.all(ids.map((id) => client.workflow.getHandle(id).result() as Promise<ReviewOutcome>));
}

function dmsTo(k: string): string[] {
  return fake.callsFor(k, 'notifyPerson').map((c) => (c.args as { text: string }).text);
}

function channelMessages(): string[] {
  return fake.calls.filter((c) => c.name === 'notifyChannel').map((c) => (c.args as { text: string }).text);
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

describe('notify-tier digest', { timeout: 180_000 }, () => {
  test('thirty notify-tier changes by one person within the window: one DM and one channel message, thirty reviews NOTIFIED', async () => {
    const k = key();
    const channelBefore = channelMessages().length;
    const ids = await burst(pipelineFor({ VOUCH_NOTIFY_DIGEST_SECONDS: '8' }), k, 30);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(30).fill('NOTIFIED'), JSON.stringify(done.map((o) => o.reason)));
    for (const o of done) assert.match(o.reason, new RegExp(`^told eng-${k} in one digest DM of 30 notify-tier changes`));

    const dms = dmsTo(k);
    assert.equal(dms.length, 1, `one DM, not ${dms.length}: ${JSON.stringify(dms)}`);
    const [dm = ''] = dms;
    assert.match(dm, new RegExp(`^FYI from vouch: 30 notify-tier changes by eng-${k} within 8 s`));
    // Every change is listed (with its own review) or counted, each once.
    const listed = [...dm.matchAll(new RegExp(`sg-${k}-(\\d+) opened`, 'g'))].map((m) => Number(m[1]));
    assert.equal(new Set(listed).size, listed.length, 'no change listed twice');
    for (const i of listed) assert.ok(dm.includes(`${UI}/namespaces/default/workflows/${encodeURIComponent(ids[i] ?? '')}`) || dm.includes(ids[i] ?? '?'), `change ${i} links its own review`);
    const more = Number(/…and (\d+) more/.exec(dm)?.[1] ?? 0);
    assert.equal(listed.length + more, 30, dm);
    assert.ok(listed.length >= 15, `at least fifteen listed: ${listed.length}\n${dm}`);
    assert.ok(dm.length <= 4000, `fits one Slack message: ${dm.length}`);

    const channel = channelMessages().slice(channelBefore).filter((t) => t.includes(`eng-${k}`));
    assert.deepEqual(channel, [dm], 'security channel told once, with the same list');

    // Each change keeps its own review, and its timeline names the digest.
    const s = await client.workflow.getHandle(ids[17] ?? '').query(statusQuery);
    assert.equal(s.outcome, 'NOTIFIED');
    assert.ok(s.timeline.some((t) => t.step === 'digest.joined' && t.result.startsWith(`vouch-digest-${ACCOUNT}-U-${k}:`)), JSON.stringify(s.timeline));
    assert.ok(s.timeline.some((t) => t.step === 'slack.notified' && t.result.includes('one DM of 30 changes')), JSON.stringify(s.timeline));
  });

  test('a lone notify-tier change: the digest DM is exactly the FYI it always was', async () => {
    const k = key();
    const [id = ''] = await burst(pipelineFor({ VOUCH_NOTIFY_DIGEST_SECONDS: '2' }), k, 1);
    const [out] = await outcomes([id]);
    assert.equal(out?.outcome, 'NOTIFIED');
    assert.equal(out?.reason, `told eng-${k}`);
    const url = `${UI}/namespaces/default/workflows/${encodeURIComponent(id)}`;
    const dms = dmsTo(k);
    assert.equal(dms.length, 1);
    const [dm = ''] = dms;
    const summary = `sg-${k}-0 opened to 0.0.0.0/0 on tcp/443`;
    assert.equal(
      dm,
      `FYI from vouch: AuthorizeSecurityGroupIngress in ${ACCOUNT}/eu-west-1 by eng-${k}: ${summary}. ` +
        `${summary} (tier notify set on the command line). Review: ${url}`,
    );
  });

  test('two people in the same window: two DMs, and neither lists the other person\'s change', async () => {
    const a = key();
    const b = key();
    const pipeline = pipelineFor({ VOUCH_NOTIFY_DIGEST_SECONDS: '5' });
    const ids = [...(await burst(pipeline, a, 3)), ...(await burst(pipeline, b, 2)), ...(await burst(pipeline, a, 1, 3))];
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(6).fill('NOTIFIED'));
    const [dmA = '', ...moreA] = dmsTo(a);
    const [dmB = '', ...moreB] = dmsTo(b);
    assert.deepEqual([moreA, moreB], [[], []], 'one DM each');
    assert.match(dmA, new RegExp(`^FYI from vouch: 4 notify-tier changes by eng-${a}`));
    assert.match(dmB, new RegExp(`^FYI from vouch: 2 notify-tier changes by eng-${b}`));
    assert.ok(!dmA.includes(`sg-${b}-`) && !dmB.includes(`sg-${a}-`), `no change of one person in the other's DM:\n${dmA}\n${dmB}`);
  });

  test('a change after the window closed goes out in the next DM, not lost and not twice', async () => {
    const k = key();
    const pipeline = pipelineFor({ VOUCH_NOTIFY_DIGEST_SECONDS: '2' });
    const first = await burst(pipeline, k, 2);
    await outcomes(first);
    const later = await burst(pipeline, k, 2, 2);
    await outcomes(later);
    const dms = dmsTo(k);
    assert.equal(dms.length, 2, JSON.stringify(dms));
    assert.ok(dms[0]?.includes(`sg-${k}-0 `) && dms[0].includes(`sg-${k}-1 `) && !dms[0].includes(`sg-${k}-2 `), dms[0]);
    assert.ok(dms[1]?.includes(`sg-${k}-2 `) && dms[1].includes(`sg-${k}-3 `) && !dms[1].includes(`sg-${k}-0 `), dms[1]);
  });

  test('changes arriving across a window boundary: every change is listed exactly once, in some DM, and each review ends NOTIFIED', async () => {
    const k = key();
    const pipeline = pipelineFor({ VOUCH_NOTIFY_DIGEST_SECONDS: '1' });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      ids.push(...(await burst(pipeline, k, 1, i)));
      await new Promise((r) => setTimeout(r, 250));
    }
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(12).fill('NOTIFIED'), JSON.stringify(done.map((o) => o.reason)));
    const dms = dmsTo(k);
    assert.ok(dms.length >= 2 && dms.length < 12, `a few DMs, not one per change: ${dms.length}`);
    // (A DM of one change is the plain FYI, whose reason repeats the summary: count each change once per DM.)
    const listed = dms.flatMap((dm) => [...new Set([...dm.matchAll(new RegExp(`sg-${k}-(\\d+) opened`, 'g'))].map((m) => Number(m[1])))]);
    assert.deepEqual([...listed].sort((a, b) => a - b), [...Array(12).keys()], `each change once: ${JSON.stringify(dms)}`);
  });

  test('a digest DM Slack refuses: every review still ends NOTIFIED, says the DM failed, and security\'s channel is told once', async () => {
    const k = key();
    fake.script(k, { notify: 'fails' });
    const channelBefore = channelMessages().length;
    const ids = await burst(pipelineFor({ VOUCH_NOTIFY_DIGEST_SECONDS: '2' }), k, 3);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.outcome), Array(3).fill('NOTIFIED'));
    assert.equal(dmsTo(k).length, 1, 'one attempt at one DM (VendorRejected is not retried)');
    for (const o of done) {
      const failed = o.timeline.find((t) => t.step === 'slack.failed');
      assert.match(failed?.result ?? '', /the digest DM to eng-.* failed: Slack chat.postMessage rejected the request: user_disabled/, JSON.stringify(o.timeline));
      assert.match(o.reason, /^the digest DM to eng-.* failed/, 'the outcome does not claim the person was told');
    }
    assert.equal(channelMessages().slice(channelBefore).filter((t) => t.includes(`eng-${k}`)).length, 1);
  });

  test('VOUCH_NOTIFY_DIGEST_SECONDS=0: one DM per change, as before', async () => {
    const k = key();
    const config = loadIntakeConfig({ VOUCH_NOTIFY_DIGEST_SECONDS: '0' });
    assert.equal(reviewSettings(config).notifyDigestSeconds, undefined);
    assert.equal(reviewSettings(loadIntakeConfig({})).notifyDigestSeconds, 60, 'the default window is 60 s');
    assert.throws(() => loadIntakeConfig({ VOUCH_NOTIFY_DIGEST_SECONDS: 'soon' }), /VOUCH_NOTIFY_DIGEST_SECONDS/);
    const ids = await burst(pipelineFor({ VOUCH_NOTIFY_DIGEST_SECONDS: '0' }), k, 3);
    const done = await outcomes(ids);
    assert.deepEqual(done.map((o) => o.reason), Array(3).fill(`told eng-${k}`));
    assert.equal(dmsTo(k).length, 3);
    assert.equal(fake.callsFor(k, 'joinNotifyDigest').length, 0);
  });
});
