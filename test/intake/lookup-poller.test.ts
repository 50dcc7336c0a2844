// The durable LookupEvents poller on a real Temporal dev server, against the LookupEvents stand-in serving real
// records (replayed into the last hour, in accounts of the test's own): every change reviewed once, the checkpoint
// advancing, a worker restart resuming from it, continue-as-new keeping it, the rate limit kept and throttling
// survived, and an unreadable CloudTrailEvent dead-lettered while polling goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { createCloudTrailLookupActivities } from '../../activities/cloudtrail-lookup';
import type { LookupPageResult, LookupTarget } from '../../src/core/lookup';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { createLookupDepsFromEnv } from '../../src/cli/lookup-wiring';
import { pageIngester } from '../../src/intake/lookup';
import { IntakePipeline } from '../../src/intake/pipeline';
import { temporalStarter } from '../../src/intake/starter';
import { startCloudTrailStandIn, type CloudTrailStandIn, type LookupRequestLog } from '../standins/cloudtrail';
import { lookupPollerWorkflowId } from '../../workflows/messages';
import { lookupPollerStatusQuery, lookupPollerWorkflow, type LookupPollerInput } from '../../workflows/lookup-poller';
import { eventually, reviewWorkflowBundle, startDevServer } from '../helpers/temporal';
import { eventIdsOf, waitForReviews } from './helpers/temporal';
import { expectedReviewed, inAccount, loadRecords, randomAccount, retime, testJudge, type Rec } from './helpers/records';

const TASK_QUEUE = `lookup-poller-${process.pid}`;
const REVIEW_QUEUE = `lookup-reviews-${process.pid}`; // no worker: reviews stay PENDING
const { records: loaded } = loadRecords();
const keyOf = (account: string) => `AKIA${account}ABCD`;

let env: TestWorkflowEnvironment;
let standIn: CloudTrailStandIn;
let deadDir: string;
let pipeline: IntakePipeline;
const accounts = new Map<string, string>(); // access key → account

function replay(account: string, latest = Date.now() - 30_000): Rec[] {
  return retime(inAccount(loaded, account), latest);
}

type Running = { worker: Worker; running: Promise<void> };

async function stop(w: Running): Promise<void> {
  if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
  await w.running;
}

async function newWorker(): Promise<Running> {
  const ingest = pageIngester(pipeline, 16);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await reviewWorkflowBundle(),
    activities: createCloudTrailLookupActivities({
      cloudtrailLookup: {
        clientFor: (t: LookupTarget) =>
          new CloudTrailClient({
            region: t.region,
            endpoint: standIn.url,
            maxAttempts: 1,
            credentials: { accessKeyId: keyOf(t.account), secretAccessKey: 'test-secret' },
          }),
        ingestPage: (t, recs) => ingest(t, recs),
      },
    }),
  });
  return { worker, running: worker.run() };
}

function requestsOf(account: string): LookupRequestLog[] {
  return standIn.requests.filter((r) => r.account === account);
}

async function status(account: string, region: string) {
  return env.client.workflow.getHandle(lookupPollerWorkflowId(account, region)).query(lookupPollerStatusQuery);
}

async function startPoller(input: LookupPollerInput) {
  accounts.set(keyOf(input.account), input.account);
  return env.client.workflow.start(lookupPollerWorkflow, {
    taskQueue: TASK_QUEUE,
    workflowId: lookupPollerWorkflowId(input.account, input.region),
    args: [input],
  });
}

/** Every expected event has exactly one review, and nothing else was reviewed in the account. */
async function assertReviewedOnce(account: string, expected: Set<string>): Promise<void> {
  assert.ok(expected.size > 0, 'something to review');
  const byId = await waitForReviews(env.client, account, expected.size);
  assert.deepEqual([...eventIdsOf(byId, account)].sort(), [...expected].sort());
  assert.deepEqual([...new Set(byId.values())], [1], 'one execution per review id');
}

before(async () => {
  env = await startDevServer();
  standIn = await startCloudTrailStandIn({ accountOf: (key) => accounts.get(key) });
  deadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-lookup-dl-'));
  pipeline = new IntakePipeline({
    judge: testJudge,
    starter: temporalStarter(env.client, { taskQueue: REVIEW_QUEUE, uiBaseUrl: 'http://127.0.0.1:8233' }),
    deadLetters: new FolderDeadLetterStore(deadDir),
    review: { securityResponders: [] },
  });
});
after(async () => {
  await standIn?.stop();
  await env?.teardown();
});

describe('lookupPollerWorkflow', () => {
  test('reviews every change once, advances its checkpoint, and resumes from it after a worker restart', async (t) => {
    const account = randomAccount();
    const recs = replay(account);
    const region = String(recs[0]?.awsRegion);
    standIn.add(recs);
    const served = recs.filter((r) => r.readOnly !== true); // ReadOnly=false is the poller's filter
    const t0 = Date.now();
    let w = await newWorker();
    try {
      const startFrom = new Date(t0 - 2 * 3600_000).toISOString();
      await startPoller({ account, region, startFrom, pollIntervalSeconds: 1, overlapSeconds: 900 });

      await assertReviewedOnce(account, expectedReviewed(served));
      const s1 = await eventually(async () => {
        const s = await status(account, region);
        return s.totals.polls >= 2 ? s : undefined;
      }, 20_000, 'two polls');
      assert.ok(Date.parse(s1.checkpoint) >= t0, `checkpoint ${s1.checkpoint} moved past the start`);
      assert.equal(s1.totals.events >= served.length, true);
      assert.ok(s1.totals.existing > 0, 'the overlap re-read recent events and found their reviews');
      assert.equal(s1.lastError, undefined);

      // Stop the worker, let new events "arrive", start a new worker: it continues from the checkpoint.
      const before = await status(account, region);
      await stop(w);
      const stoppedAt = standIn.requests.length;
      const arrival = Date.now();
      const late = served
        .filter((r) => expectedReviewed([r]).size === 1)
        .slice(0, 20)
        .map((r, i) => ({ ...r, eventID: `late-${i}-${String(r.eventID)}`, eventTime: new Date(arrival - i * 1000).toISOString() }));
      assert.equal(expectedReviewed(late).size, 20);
      standIn.add(late);
      w = await newWorker();
      await assertReviewedOnce(account, new Set([...expectedReviewed(served), ...expectedReviewed(late)]));
      const first = standIn.requests.slice(stoppedAt).find((r) => r.account === account && r.status === 200);
      assert.ok(first?.body, 'the restarted worker made requests');
      const startTime = Number(first.body.StartTime) * 1000;
      const floor = Date.parse(before.checkpoint) - 900_000 - 1000;
      assert.ok(startTime >= floor, `resumed window starts ${new Date(startTime).toISOString()}, at the checkpoint minus the overlap, not at ${startFrom}`);
      assert.ok(startTime > Date.parse(startFrom) + 3600_000);
      // The poller's own pacing, measured on everything it sent (refused requests too): 600 ms apart (README), so at
      // most 2 in any second, and never throttled.
      const rate = standIn.sentRate((r) => r.account === account);
      assert.ok(rate.requests >= 4, `paged through several requests (${rate.requests})`);
      assert.ok(rate.maxPerSecond <= 2, `at most 2 requests in any second (sent ${rate.maxPerSecond})`);
      assert.ok(rate.minGapMs >= 400, `requests paced ~600 ms apart (shortest gap ${rate.minGapMs} ms)`);
      assert.equal(requestsOf(account).filter((r) => r.error === 'ThrottlingException').length, 0);
      const fin = await status(account, region);
      t.diagnostic(
        `${served.length} changes served; ${fin.totals.pages} pages in ${fin.totals.polls} polls, ${rate.requests} requests, ` +
          `max ${rate.maxPerSecond}/s, shortest gap ${rate.minGapMs} ms, 0 throttled; ${fin.totals.started} started, ${fin.totals.existing} found again`,
      );
    } finally {
      await env.client.workflow.getHandle(lookupPollerWorkflowId(account, region)).terminate('test done').catch(() => undefined);
      await stop(w);
    }
  });

  test('continue-as-new mid-window keeps the checkpoint, the window and its NextToken', async () => {
    const account = randomAccount();
    const recs = replay(account).filter((r) => r.readOnly !== true).slice(-150); // the last 150 changes
    const region = String(recs[0]?.awsRegion);
    standIn.add(recs);
    const served = recs;
    const w = await newWorker();
    try {
      const handle = await startPoller({
        account,
        region,
        startFrom: new Date(Date.now() - 2 * 3600_000).toISOString(),
        pollIntervalSeconds: 1,
        overlapSeconds: 60,
        maxResults: 10, // more pages, so the window spans several runs
        maxHistoryEvents: 25,
      });
      await assertReviewedOnce(account, expectedReviewed(served)).catch(async (err: unknown) => {
        const st = await status(account, region).catch((e: unknown) => String(e));
        throw new Error(`${String(err)}; poller: ${JSON.stringify(st)}; requests: ${requestsOf(account).length}`);
      });
      const s = await eventually(async () => {
        const st = await status(account, region);
        return st.totals.polls >= 2 && st.generation >= 2 ? st : undefined;
      }, 30_000, 'two polls across runs');
      const desc = await handle.describe();
      assert.notEqual(desc.runId, handle.firstExecutionRunId, 'the poller continued as new');
      assert.equal(s.runId, desc.runId);
      // The first window was read once, page after page, across runs: no page twice, no token refused.
      const ok = requestsOf(account).filter((r) => r.status === 200);
      const firstWindow = ok.filter((r) => r.body?.StartTime === ok[0]?.body?.StartTime);
      assert.equal(firstWindow.reduce((n, r) => n + (r.events ?? 0), 0), served.length);
      assert.equal(requestsOf(account).filter((r) => r.error).length, 0);
      assert.ok(Date.parse(s.checkpoint) >= Number(firstWindow[0]?.body?.EndTime) * 1000 - 1, 'the checkpoint moved past the first window');
      assert.equal(s.totals.pages >= Math.ceil(served.length / 10), true, 'totals carried across runs');
    } finally {
      await env.client.workflow.getHandle(lookupPollerWorkflowId(account, region)).terminate('test done').catch(() => undefined);
      await stop(w);
    }
  });

  test('recovers from ThrottlingException, and dead-letters an unreadable CloudTrailEvent while polling goes on', async () => {
    const account = randomAccount();
    const region = 'eu-west-1';
    const w = await newWorker();
    try {
      await startPoller({ account, region, initialLookbackSeconds: 600, pollIntervalSeconds: 1, overlapSeconds: 60 });
      await eventually(async () => (await status(account, region)).totals.polls >= 1, 20_000, 'a first poll');
      standIn.throttleNext(2);
      const now = Date.now() - 5_000;
      const fresh = inAccount(loaded, account)
        .filter((r) => r.readOnly !== true)
        .slice(-8)
        .map((r, i) => ({ ...r, awsRegion: region, eventID: `throttle-${i}`, eventTime: new Date(now - i * 1000).toISOString() }));
      standIn.add(fresh);
      standIn.add([{ raw: '{"eventVersion":"1.08","eventID":"cut-1","eventTi', eventId: 'cut-1', eventName: 'CreateUser', eventTime: new Date(now).toISOString(), account, region }]);
      await assertReviewedOnce(account, expectedReviewed(fresh));
      const letter = await eventually(async () => (await new FolderDeadLetterStore(deadDir).list()).find((l) => l.source.includes(`${account}/${region}#cut-1`)), 20_000, 'the dead letter');
      assert.equal(letter.field, 'CloudTrailEvent');
      assert.match(letter.reason, /CloudTrailEvent is not valid JSON/);
      assert.equal(letter.raw.encoding === 'utf8' && letter.raw.text, '{"eventVersion":"1.08","eventID":"cut-1","eventTi');
      const throttled = requestsOf(account).filter((r) => r.error === 'ThrottlingException');
      assert.equal(throttled.length, 2, 'the two throttled requests were retried by Temporal');
      const s = await status(account, region);
      assert.equal(s.lastError, undefined, 'retries absorbed the throttling');
      assert.ok(s.totals.deadLettered >= 1);
      await eventually(async () => (await status(account, region)).totals.polls >= s.totals.polls + 1, 20_000, 'polling goes on');
      const rate = standIn.sentRate((r) => r.account === account);
      assert.ok(rate.maxPerSecond <= 2 && rate.minGapMs >= 400, `paced through the throttling: ${JSON.stringify(rate)}`);
    } finally {
      await env.client.workflow.getHandle(lookupPollerWorkflowId(account, region)).terminate('test done').catch(() => undefined);
      await stop(w);
    }
  });

  test('the worker wiring from the environment (createLookupDepsFromEnv) reads a page and starts its reviews', async () => {
    const account = randomAccount();
    const recs = replay(account).filter((r) => r.readOnly !== true).slice(-20);
    const region = String(recs[0]?.awsRegion);
    standIn.add(recs);
    accounts.set('AKIAFROMENVIRONMENT1', account);
    const saved = { ...process.env };
    // The AWS SDK's own settings, as a deployment would give them.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_CLOUDTRAIL: standIn.url,
      AWS_ACCESS_KEY_ID: 'AKIAFROMENVIRONMENT1',
      AWS_SECRET_ACCESS_KEY: 'test-secret',
    });
    try {
      const deps = createLookupDepsFromEnv(
        { TEMPORAL_ADDRESS: env.address, TEMPORAL_TASK_QUEUE: REVIEW_QUEUE, VOUCH_DEAD_LETTER_DIR: deadDir },
        { judge: testJudge },
      );
      const page: LookupPageResult = await new MockActivityEnvironment().run(createCloudTrailLookupActivities(deps).lookupCloudTrailPage, {
        account,
        region,
        startTime: new Date(Date.now() - 3 * 3600_000).toISOString(),
        endTime: new Date().toISOString(),
      });
      const expected = expectedReviewed(recs);
      assert.equal(page.events, recs.length);
      assert.equal(page.counts.started, expected.size);
      await assertReviewedOnce(account, expected);
    } finally {
      process.env = saved;
    }
  });
});
