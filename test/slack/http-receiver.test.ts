// The Slack interactivity endpoint against a real Temporal dev server running the review workflow (fake activities),
// with clicks signed and posted the way Slack does, and ephemeral replies going to the Slack Web API stand-in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type http from 'node:http';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createSlackClient } from '../../src/slack/client';
import { createHandler, startHandler, type HandlerOptions, type HandlerServer } from '../../src/slack/http-receiver';
import { startReview } from '../../src/intake/starter';
import { SlackStandIn } from '../../src/demo/sandbox/slack';
import {
  buildBlockActionsPayload,
  encodeInteractionBody,
  postClick,
  signSlackRequest,
  type ClickSpec,
  type PostClickOptions,
  type PostClickResult,
} from '../../src/demo/sandbox/slack-interactions';
import { reviewWorkflowId, statusQuery, WORKFLOW_TYPE } from '../../workflows/messages';
import type { reviewChangeWorkflow } from '../../workflows/review-change';
import type { ReviewInput, ReviewStatus } from '../../src/core/types';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput as buildReviewInput } from '../helpers/review-input';
import { createMetrics } from '../../src/cli/metrics';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';
import { captureLogs, silentLogger } from '../helpers/logs';

const ACCOUNT = '111122223333';
const SIGNING_SECRET = `signing-secret-${randomUUID()}`;
const BOT_TOKEN = `xoxb-0000-${randomUUID()}`;
const TEAM = 'T0VOUCH00';
const SECURITY_CHANNEL = 'C0SECURITY';
const taskQueue = `handler-test-${randomUUID()}`;

type ReviewHandle = WorkflowHandle<typeof reviewChangeWorkflow>;

let env: TestWorkflowEnvironment;
let client: Client;
let stack: ReviewStack;
const fake = new FakeVendors();
const slack = new SlackStandIn({ token: BOT_TOKEN, teamId: TEAM, channels: [{ id: SECURITY_CHANNEL, name: 'security' }] });
const { logger, lines: logs, raw: rawLogs } = captureLogs();
/** Added to the handler's clock (not the signer's), to play a server whose clock has moved on. */
let clockOffsetMs = 0;
let handler: HandlerServer;
let endpoint: string;
let base: string;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function closeServer(server: http.Server): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function handlerOptions(overrides: Partial<HandlerOptions> = {}): HandlerOptions {
  return {
    signingSecret: SIGNING_SECRET,
    temporal: client,
    slack: createSlackClient({ token: BOT_TOKEN, apiUrl: slack.apiUrl, logger }),
    clock: () => Date.now() + clockOffsetMs,
    logger,
    ...overrides,
  };
}

function reviewInput(k: string): Omit<ReviewInput, 'reviewUrl'> {
  return buildReviewInput(k, {
    account: ACCOUNT,
    verdict: { rules: ['sg-open-world'], deadlineSeconds: 600 },
    securityResponders: ['U-SECURITY'],
  });
}

interface Review {
  k: string;
  actor: string;
  dm: string;
  handle: ReviewHandle;
  workflowId: string;
}

/** Starts a review whose actor is Slack user U-<k>, with a DM open in the stand-in, and waits until it asks. */
async function startAskingReview(): Promise<Review> {
  const k = randomUUID().slice(0, 8);
  const actor = `U-${k}`;
  slack.addUser({ id: actor, email: `eng-${k}@example.com`, name: `eng-${k}` });
  const opened = (await createSlackClient({ token: BOT_TOKEN, apiUrl: slack.apiUrl, logger: silentLogger() }).conversations.open({
    users: actor,
  })) as { channel?: { id?: string } };
  const dm = opened.channel?.id;
  assert.ok(dm, 'the stand-in opened a DM');
  const { handle, workflowId } = await startReview(client, reviewInput(k), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
  await waitPhase(handle, 'AWAITING_ANSWER');
  return { k, actor, dm, handle, workflowId };
}

function waitPhase(handle: ReviewHandle, phase: ReviewStatus['phase']): Promise<ReviewStatus> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.phase === phase ? s : undefined;
  }, 20_000, `phase ${phase}`);
}

function click(r: Review, overrides: Partial<ClickSpec> = {}): ClickSpec {
  return {
    userId: r.actor,
    teamId: TEAM,
    workflowId: r.workflowId,
    actionId: 'vouch_yes',
    channelId: r.dm,
    messageTs: `${r.k}.0001`, // the ts of the review message the fake activities posted (clicks are bound to it)
    blockId: `vouch-ask-actions-${r.k}`,
    ...overrides,
  };
}

function send(spec: ClickSpec, opts: PostClickOptions = {}, url = endpoint): Promise<PostClickResult> {
  return postClick(url, buildBlockActionsPayload(spec), SIGNING_SECRET, opts);
}

function answers(s: ReviewStatus): number {
  return s.timeline.filter((t) => t.step === 'engineer.answered').length;
}

/** The request was refused before Temporal: the review still waits, with no answer and no Duo push. */
async function assertUntouched(r: Review): Promise<void> {
  await handler.settled();
  const s = await r.handle.query(statusQuery);
  assert.equal(s.phase, 'AWAITING_ANSWER');
  assert.equal(answers(s), 0, 'no answer reached the workflow');
  assert.equal(fake.callsFor(r.k, 'sendDuoPush').length, 0);
  assert.equal(slack.ephemerals.filter((e) => e.user === r.actor).length, 0, 'nothing was said to the clicker');
}

function ephemeralsTo(user: string): Array<{ channel: string; text: string }> {
  return slack.ephemerals.filter((e) => e.user === user);
}

before(async () => {
  stack = await startReviewStack(fake.activities(), taskQueue);
  env = stack.env;
  client = env.client;
  await slack.start();
  handler = createHandler(handlerOptions());
  base = await listen(handler);
  endpoint = `${base}/slack/interactions`;
});

after(async () => {
  if (handler) await closeServer(handler);
  await slack.stop();
  await stack?.stop();
});

describe('Slack interactivity endpoint, with a real Temporal server', () => {
  test('a signed "yes" from the actor is acknowledged at once and reaches the workflow, which pushes Duo', async () => {
    const r = await startAskingReview();
    const res = await send(click(r));
    assert.equal(res.status, 200);
    assert.equal(res.body, '', 'Slack gets an empty 200');
    assert.ok(res.elapsedMs < 3000, `acknowledged within Slack's 3 s (${res.elapsedMs} ms)`);

    const s = await eventually(async () => {
      const st = await r.handle.query(statusQuery);
      return answers(st) === 1 ? st : undefined;
    }, 10_000, 'the answer in the status');
    assert.ok(s.timeline.some((t) => t.step === 'engineer.answered' && /yes/.test(t.result)));
    assert.equal((await r.handle.result()).outcome, 'CONFIRMED');
    assert.equal(fake.callsFor(r.k, 'sendDuoPush').length, 1, 'the Duo push went out');

    await handler.settled();
    const told = ephemeralsTo(r.actor);
    assert.equal(told.length, 1);
    assert.equal(told[0]?.channel, r.dm);
    assert.match(told[0]?.text ?? '', /Duo push/, "the workflow's own acceptance text is shown to the clicker");
  });

  test('"No, this wasn\'t me" is delivered as answer no', async () => {
    const r = await startAskingReview();
    const res = await send(click(r, { actionId: 'vouch_no' }));
    assert.equal(res.status, 200);
    const out = await r.handle.result();
    assert.equal(out.outcome, 'DENIED');
    assert.equal(fake.callsFor(r.k, 'sendDuoPush').length, 0);
  });

  test('a bad signature is refused with 401 and nothing reaches the workflow', async () => {
    const r = await startAskingReview();
    const res = await send(click(r), { signature: `v0=${'0'.repeat(64)}` });
    assert.equal(res.status, 401);
    assert.match(res.body, /signature/);
    await assertUntouched(r);
  });

  test('a click signed with another app\'s secret is refused with 401', async () => {
    const r = await startAskingReview();
    const res = await postClick(endpoint, buildBlockActionsPayload(click(r)), 'some-other-secret');
    assert.equal(res.status, 401);
    await assertUntouched(r);
  });

  test('a stale timestamp (server clock 6 minutes ahead) is refused with 401', async () => {
    const r = await startAskingReview();
    clockOffsetMs = 6 * 60_000;
    try {
      const res = await send(click(r));
      assert.equal(res.status, 401);
      assert.match(res.body, /stale/);
    } finally {
      clockOffsetMs = 0;
    }
    await assertUntouched(r);
  });

  test('a timestamp more than 5 minutes in the future is refused with 401, though correctly signed', async () => {
    const r = await startAskingReview();
    const res = await send(click(r), { timestamp: Math.floor(Date.now() / 1000) + 6 * 60 });
    assert.equal(res.status, 401);
    assert.match(res.body, /future/);
    await assertUntouched(r);
  });

  test('a replay of a captured click after 5 minutes is refused', async () => {
    const r = await startAskingReview();
    const res = await send(click(r), { timestamp: Math.floor(Date.now() / 1000) - 5 * 60 - 5 });
    assert.equal(res.status, 401);
    await assertUntouched(r);
  });

  test('missing signature or timestamp headers are refused with 401, naming the header', async () => {
    const r = await startAskingReview();
    const noSig = await send(click(r), { omitHeaders: ['x-slack-signature'] });
    assert.equal(noSig.status, 401);
    assert.match(noSig.body, /X-Slack-Signature/);
    const noTs = await send(click(r), { omitHeaders: ['x-slack-request-timestamp'] });
    assert.equal(noTs.status, 401);
    assert.match(noTs.body, /X-Slack-Request-Timestamp/);
    const neither = await send(click(r), { omitHeaders: ['x-slack-signature', 'x-slack-request-timestamp'] });
    assert.equal(neither.status, 401);
    await assertUntouched(r);
  });

  test('a click by someone other than the actor gets 200 and a refusal shown only to that person', async () => {
    const r = await startAskingReview();
    const intruder = `U-other-${r.k}`;
    slack.addUser({ id: intruder, email: `other-${r.k}@example.com`, name: `other-${r.k}` });
    const res = await send(click(r, { userId: intruder, channelId: SECURITY_CHANNEL }));
    assert.equal(res.status, 200);
    assert.equal(res.body, '');
    await handler.settled();
    const told = ephemeralsTo(intruder);
    assert.equal(told.length, 1);
    assert.equal(told[0]?.channel, SECURITY_CHANNEL);
    // Shown escaped, like every text vouch sends to Slack: no mention can be formed from the workflow's words.
    assert.match(told[0]?.text ?? '', new RegExp(`Only &lt;@${r.actor}&gt;`), "the validator's reason is shown");
    assert.equal(ephemeralsTo(r.actor).length, 0, 'the actor is not bothered');
    const s = await r.handle.query(statusQuery);
    assert.equal(s.phase, 'AWAITING_ANSWER', 'the review goes on');
    assert.equal(answers(s), 0);
  });

  test('a double click (same update id) is harmless: one answer, one Duo push', async () => {
    const r = await startAskingReview();
    const spec = click(r);
    const [a, b] = await Promise.all([send(spec), send(spec)]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const third = await send(spec);
    assert.equal(third.status, 200);
    assert.equal((await r.handle.result()).outcome, 'CONFIRMED');
    const s = await r.handle.query(statusQuery);
    assert.equal(answers(s), 1);
    assert.equal(fake.callsFor(r.k, 'sendDuoPush').length, 1);
    await handler.settled();
    for (const e of ephemeralsTo(r.actor)) {
      assert.doesNotMatch(e.text, /already answered|closed/, 'a duplicate is not reported as a refusal');
    }
  });

  test('a click on a finished review tells the clicker it is closed', async () => {
    const r = await startAskingReview();
    assert.equal((await send(click(r, { actionId: 'vouch_no' }))).status, 200);
    await r.handle.result();
    await handler.settled();
    const before = ephemeralsTo(r.actor).length;
    const res = await send(click(r, { blockId: `vouch-final-${r.k}` }));
    assert.equal(res.status, 200);
    await handler.settled();
    const told = ephemeralsTo(r.actor).slice(before);
    assert.equal(told.length, 1);
    assert.match(told[0]?.text ?? '', /closed/);
  });

  test('a click for a review that does not exist gets 200 and a "closed" note', async () => {
    const r = await startAskingReview();
    const res = await send(click(r, { workflowId: reviewWorkflowId(ACCOUNT, `evt-missing-${r.k}`) }));
    assert.equal(res.status, 200);
    await handler.settled();
    assert.match(ephemeralsTo(r.actor)[0]?.text ?? '', /closed/);
  });

  test('Slack is acknowledged in time even when the workflow cannot answer, and the clicker is told later', async () => {
    const k = randomUUID().slice(0, 8);
    const user = `U-slow-${k}`;
    slack.addUser({ id: user, email: `slow-${k}@example.com`, name: `slow-${k}` });
    // A review on a task queue no worker polls: the Update cannot be accepted.
    const workflowId = `vouch-handler-slow-${k}`;
    const handle = await client.workflow.start(WORKFLOW_TYPE, {
      taskQueue: `nobody-polls-${k}`,
      workflowId,
      args: [{ ...reviewInput(k), reviewUrl: 'http://127.0.0.1:8233' }],
    });
    const slow = createHandler(handlerOptions({ ackTimeoutMs: 300, updateTimeoutMs: 4000 }));
    const slowBase = await listen(slow);
    try {
      const res = await send(
        { userId: user, teamId: TEAM, workflowId, actionId: 'vouch_yes', channelId: SECURITY_CHANNEL, messageTs: `${k}.1` },
        {},
        `${slowBase}/slack/interactions`,
      );
      assert.equal(res.status, 200);
      // Acknowledged at the ack timeout, not when the Update gives up (4 s): the boundary is the Update's own timeout.
      assert.ok(res.elapsedMs >= 300 && res.elapsedMs < 4000, `acknowledged after the ack timeout, not the update (${res.elapsedMs} ms)`);
      assert.equal(ephemeralsTo(user).length, 0, 'nothing said yet');
      await slow.settled();
      assert.match(ephemeralsTo(user)[0]?.text ?? '', /in time/);
    } finally {
      await closeServer(slow);
      await handle.terminate('test over');
    }
  });

  test('with metrics, clicks are counted by outcome and the time to acknowledge is observed', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const counted = createHandler(handlerOptions({ metrics }));
    const url = `${await listen(counted)}/slack/interactions`;
    try {
      const r = await startAskingReview();
      assert.equal((await send(click(r), {}, url)).status, 200);
      assert.equal((await send(click(r, { userId: 'U0INTRUDER1' }), {}, url)).status, 200);
      // Counted the same way as over Socket Mode: another app's button, and a malformed vouch click (400, no ack).
      assert.equal((await send(click(r, { actionId: 'approve_expense' }), {}, url)).status, 200);
      const malformed = buildBlockActionsPayload(click(r)) as unknown as { actions: Array<{ value?: string }> };
      delete malformed.actions[0]?.value;
      assert.equal((await postClick(url, malformed, SIGNING_SECRET)).status, 400);
      await counted.settled();
      const text = await metrics.registry.metrics();
      assert.match(text, /vouch_clicks_total\{transport="http",outcome="accepted"\} 1/);
      assert.match(text, /vouch_clicks_total\{transport="http",outcome="refused"\} 1/);
      assert.match(text, /vouch_clicks_total\{transport="http",outcome="ignored"\} 1/);
      assert.match(text, /vouch_clicks_total\{transport="http",outcome="invalid"\} 1/);
      assert.match(text, /vouch_click_ack_seconds_count\{transport="http"\} 3/);
    } finally {
      await closeServer(counted);
    }
  });

  test('buttons of other apps are acknowledged and ignored', async () => {
    const r = await startAskingReview();
    const res = await send(click(r, { actionId: 'approve_expense' }));
    assert.equal(res.status, 200);
    await assertUntouched(r);
  });

  test('a signed payload missing a field gets 400 naming the field, and nothing reaches the workflow', async () => {
    const r = await startAskingReview();
    const payload = buildBlockActionsPayload(click(r)) as unknown as { user: Record<string, unknown> };
    delete payload.user.id;
    const res = await postClick(endpoint, payload, SIGNING_SECRET);
    assert.equal(res.status, 400);
    assert.match(res.body, /user\.id/);
    await assertUntouched(r);
  });

  test('a signed body without a payload field gets 400', async () => {
    const res = await postClick(endpoint, null, SIGNING_SECRET, { rawBody: 'foo=bar' });
    assert.equal(res.status, 400);
    assert.match(res.body, /payload/);
  });

  test('an oversized body gets 413', async () => {
    const body = encodeInteractionBody({ type: 'block_actions', padding: 'x'.repeat(70 * 1024) });
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...signSlackRequest(body, SIGNING_SECRET) },
      body,
    });
    assert.equal(res.status, 413);
  });

  test("Slack's unsigned ssl_check gets 200", async () => {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ssl_check=1&token=legacy',
    });
    assert.equal(res.status, 200);
  });

  test('GET /healthz answers {"ok":true}; other paths and methods 404', async () => {
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { ok: true });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(endpoint)).status, 404);
  });

  test('log lines carry ids and reasons but no secrets, signatures or response URLs', async () => {
    assert.ok(logs.length > 0);
    assert.ok(logs.some((l) => l.msg === 'interaction rejected' && l.status === 401 && l.level === 'warn'));
    assert.ok(logs.some((l) => l.msg === 'click accepted' && typeof l.workflowId === 'string' && l.transport === 'http'));
    const all = rawLogs.join('');
    assert.ok(!all.includes(SIGNING_SECRET), 'no signing secret');
    assert.ok(!all.includes(BOT_TOKEN), 'no bot token');
    assert.doesNotMatch(all, /v0=[0-9a-f]{64}/, 'no signatures');
    assert.doesNotMatch(all, /hooks\.slack\.com/, 'no response_url');
  });
});

describe('startHandler', () => {
  test('connects to Temporal and Slack itself, serves clicks, and closes', async () => {
    const r = await startAskingReview();
    const running = await startHandler({
      signingSecret: SIGNING_SECRET,
      slackBotToken: BOT_TOKEN,
      slackApiUrl: slack.apiUrl,
      temporal: { address: env.address, namespace: 'default' },
      port: 0,
      handleSignals: false,
      logger: silentLogger(),
    });
    try {
      assert.equal((await fetch(`${running.url}/healthz`)).status, 200);
      const res = await send(click(r), {}, `${running.url}/slack/interactions`);
      assert.equal(res.status, 200);
      assert.equal((await r.handle.result()).outcome, 'CONFIRMED');
      await running.server.settled();
      assert.match(ephemeralsTo(r.actor)[0]?.text ?? '', /Duo push/);
    } finally {
      await running.close();
    }
    assert.equal(running.server.listening, false);
  });

  test('a handler process exits 0 on SIGTERM', async () => {
    const script = `
      const { startHandler } = require(${JSON.stringify(path.resolve(__dirname, '../../src/slack/http-receiver.ts'))});
      const pino = require('pino');
      startHandler({
        signingSecret: 's', temporal: { address: process.env.TEMPORAL_ADDRESS }, port: 0,
        logger: pino({ base: undefined }, pino.destination({ dest: 1, sync: true })),
      }).catch((err) => { console.error(err); process.exit(2); });
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
      env: { ...process.env, TEMPORAL_ADDRESS: env.address },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = await eventually(() => /"url":"(http:[^"]+)\/slack\/interactions"/.exec(out)?.[1], 20_000, 'the handler to listen');
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000))]);
      assert.equal(code, 0, `exit code (stderr: ${err.slice(0, 500)})`);
      const lines = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'), out);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
