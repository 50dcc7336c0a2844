// Socket Mode: the real @slack/socket-mode client against the loopback Socket Mode stand-in (apps.connections.open +
// wss), clicks delivered as `interactive` envelopes to real review workflows on a Temporal dev server (FakeVendors
// activities), refusals told to the clicker through the Slack Web API stand-in.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import ts from 'typescript';
import { Agent, fetch as undiciFetch } from 'undici';
import YAML from 'yaml';
import { createSlackClient } from '../../src/slack/client';
import { createMetrics } from '../../src/cli/metrics';
import { startReview } from '../../src/intake/starter';
import { SlackStandIn } from '../../src/demo/sandbox/slack';
import { buildBlockActionsPayload, type ClickSpec } from '../../src/demo/sandbox/slack-interactions';
import { SlackSocketStandIn } from '../standins/slack-socket';
import { startSocketMode, type RunningSocketMode } from '../../src/slack/socket-mode';
import { statusQuery } from '../../workflows/messages';
import type { reviewChangeWorkflow } from '../../workflows/review-change';
import type { ReviewInput, ReviewStatus } from '../../src/core/types';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput as buildReviewInput } from '../helpers/review-input';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';
import { captureLogs, silentLogger } from '../helpers/logs';

const ACCOUNT = '111122223333';
const APP_TOKEN = `xapp-1-A0VOUCHAPP-${randomUUID().replace(/-/g, '')}`;
const BOT_TOKEN = `xoxb-0000-${randomUUID()}`;
const TEAM = 'T0VOUCH00';
const taskQueue = `socket-test-${randomUUID()}`;
const idleQueue = `socket-test-idle-${randomUUID()}`; // no worker polls it: Updates there wait

let env: TestWorkflowEnvironment;
let client: Client;
let stack: ReviewStack;
const fake = new FakeVendors();
const slack = new SlackStandIn({ token: BOT_TOKEN, teamId: TEAM });
const socket = new SlackSocketStandIn({ appToken: APP_TOKEN });
const { logger, lines: logs } = captureLogs();
const metrics = createMetrics({ processMetrics: false });
let dispatcher: Agent;
let apiUrl: string;
let running: RunningSocketMode;

interface Review {
  k: string;
  actor: string;
  dm: string;
  handle: WorkflowHandle<typeof reviewChangeWorkflow>;
  workflowId: string;
}

function reviewInput(k: string): Omit<ReviewInput, 'reviewUrl'> {
  return buildReviewInput(k, {
    account: ACCOUNT,
    change: { request: { groupId: 'sg-123' } },
    verdict: { rules: ['sg-open-world'], reasons: ['tcp/22 open'], deadlineSeconds: 600 },
    securityResponders: ['U-SECURITY'],
  });
}

async function startAskingReview(queue = taskQueue): Promise<Review> {
  const k = randomUUID().slice(0, 8);
  const actor = `U-${k}`;
  slack.addUser({ id: actor, email: `eng-${k}@example.com`, name: `eng-${k}` });
  const opened = await createSlackClient({ token: BOT_TOKEN, apiUrl: slack.apiUrl, logger: silentLogger() }).conversations.open({ users: actor });
  const dm = opened.channel?.id;
  assert.ok(dm);
  const { handle, workflowId } = await startReview(client, reviewInput(k), { taskQueue: queue, uiBaseUrl: 'http://127.0.0.1:8233' });
  if (queue === taskQueue) {
    await eventually(async () => (await handle.query(statusQuery)).phase === 'AWAITING_ANSWER', 20_000, 'the review to ask');
  }
  return { k, actor, dm, handle, workflowId };
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

const answers = (s: ReviewStatus): number => s.timeline.filter((t) => t.step === 'engineer.answered').length;
const ephemeralsTo = (user: string) => slack.ephemerals.filter((e) => e.user === user);

before(async () => {
  stack = await startReviewStack(fake.activities(), taskQueue);
  env = stack.env;
  client = env.client;
  await slack.start();
  const started = await socket.start();
  apiUrl = started.apiUrl;
  dispatcher = new Agent({ connect: { ca: started.ca } });
  running = await startSocketMode({
    appToken: APP_TOKEN,
    temporal: client,
    slack: createSlackClient({ token: BOT_TOKEN, apiUrl: slack.apiUrl, logger: silentLogger() }),
    slackApiUrl: apiUrl,
    dispatcher,
    updateTimeoutMs: 4000,
    logger,
    metrics,
  });
});

after(async () => {
  await running?.stop();
  await socket.stop();
  await dispatcher?.close();
  await slack.stop();
  await stack?.stop();
});

describe('Socket Mode with a real Temporal server', () => {
  test('connects with the app-level token: apps.connections.open, then the wss URL, then hello', () => {
    assert.equal(socket.openConnections, 1);
    assert.deepEqual(
      socket.opens.map((o) => [o.ok, o.authorization]),
      [[true, 'Bearer <masked>']],
    );
  });

  test('a "yes" click is acknowledged within 3 s and reaches the review, which pushes Duo and confirms', async () => {
    const r = await startAskingReview();
    const res = await socket.sendInteractive(buildBlockActionsPayload(click(r)));
    assert.equal(res.acked, true);
    assert.ok(res.ms < 3000, `acknowledged in ${res.ms} ms`);
    assert.equal((await r.handle.result()).outcome, 'CONFIRMED');
    assert.equal(fake.callsFor(r.k, 'sendDuoPush').length, 1);
    await running.settled();
    const told = ephemeralsTo(r.actor);
    assert.equal(told.length, 1);
    assert.equal(told[0]?.channel, r.dm);
    assert.match(told[0]?.text ?? '', /Duo push/);
  });

  test('a refused click (a second, different answer) is acknowledged and explained to the clicker only', async () => {
    const r = await startAskingReview();
    fake.script(r.k, { duoDelayMs: 5000 });
    await socket.sendInteractive(buildBlockActionsPayload(click(r)));
    const res = await socket.sendInteractive(buildBlockActionsPayload(click(r, { actionId: 'vouch_no' })));
    assert.equal(res.acked, true);
    await running.settled();
    const s = await r.handle.query(statusQuery);
    assert.equal(answers(s), 1, 'only the first answer counts');
    assert.match(ephemeralsTo(r.actor).at(-1)?.text ?? '', /already answered "yes"/);
    assert.ok(logs.some((l) => l.msg === 'click refused' && l.workflowId === r.workflowId && l.transport === 'socket'));
  });

  test('a double click (the same envelope payload twice) is one answer', async () => {
    const r = await startAskingReview();
    fake.script(r.k, { duoDelayMs: 5000 });
    const payload = buildBlockActionsPayload(click(r));
    const [a, b] = await Promise.all([socket.sendInteractive(payload), socket.sendInteractive(payload)]);
    assert.ok(a.acked && b.acked);
    await running.settled();
    assert.equal(answers(await r.handle.query(statusQuery)), 1);
  });

  test('while the Update cannot finish, Slack is still acknowledged before its 3 s deadline', async () => {
    const r = await startAskingReview(idleQueue);
    const res = await socket.sendInteractive(buildBlockActionsPayload(click(r)));
    assert.equal(res.acked, true, 'acknowledged without waiting for the workflow');
    // It waited for the Update up to the ack timeout (2.5 s; timers never fire early), and acknowledged before the
    // Update gave up (4 s here): the clicker has not yet been told it failed. Order of events, not a tight window.
    assert.ok(res.ms >= 2400 && res.ms < 4000, `acknowledged after ${res.ms} ms: it waited for the Update, and not until it gave up`);
    assert.equal(ephemeralsTo(r.actor).length, 0, 'acknowledged before the Update gave up');
    await running.settled();
    assert.match(ephemeralsTo(r.actor).at(-1)?.text ?? '', /could not record your click in time/);
    await r.handle.terminate('test done');
  });

  test('envelopes vouch does not handle are acknowledged at once; a malformed vouch click is logged', async () => {
    const r = await startAskingReview();
    const other = await socket.sendInteractive(buildBlockActionsPayload(click(r, { actionId: 'someone_elses_button' })));
    const view = await socket.sendInteractive({ type: 'view_submission', user: { id: r.actor } });
    const event = await socket.sendEnvelope('events_api', { event: { type: 'app_mention', text: 'hi' } });
    const malformed = buildBlockActionsPayload(click(r)) as unknown as { actions: Array<{ value?: string }> };
    delete malformed.actions[0]?.value;
    const bad = await socket.sendInteractive(malformed);
    for (const res of [other, view, event, bad]) {
      assert.equal(res.acked, true);
      assert.ok(res.ms < 2400, `acknowledged in ${res.ms} ms: at once, not after the 2.5 s ack timeout`);
    }
    await running.settled();
    assert.equal(answers(await r.handle.query(statusQuery)), 0);
    assert.ok(logs.some((l) => l.msg === 'interaction rejected' && /actions\[0\]\.value is missing/.test(String(l.reason))));
    assert.deepEqual(socket.violations, []);
  });

  test('when Slack asks to reconnect, the client opens a new connection and clicks keep working', async () => {
    const before = socket.connectionsAccepted;
    socket.requestReconnect();
    await eventually(() => socket.connectionsAccepted > before && socket.openConnections === 1, 20_000, 'a new connection');
    assert.equal(socket.opens.filter((o) => o.ok).length, 2);
    const r = await startAskingReview();
    const res = await socket.sendInteractive(buildBlockActionsPayload(click(r, { actionId: 'vouch_no' })));
    assert.equal(res.acked, true);
    assert.equal((await r.handle.result()).outcome, 'DENIED');
  });

  test('clicks are counted by transport and outcome', async () => {
    const text = await metrics.registry.metrics();
    assert.match(text, /vouch_clicks_total\{transport="socket",outcome="accepted"\} [1-9]/);
    assert.match(text, /vouch_clicks_total\{transport="socket",outcome="refused"\} [1-9]/);
    assert.match(text, /vouch_clicks_total\{transport="socket",outcome="timeout"\} 1/);
    assert.match(text, /vouch_click_ack_seconds_count\{transport="socket"\} [1-9]/);
  });

  test('the stand-in refuses a wrong app token, and vouch refuses a bot token before connecting', async () => {
    await assert.rejects(
      startSocketMode({ appToken: 'xapp-1-A0VOUCHAPP-wrong', temporal: client, slackApiUrl: apiUrl, dispatcher, logger: silentLogger() }),
      /invalid_auth/,
    );
    assert.equal(socket.opens.at(-1)?.error, 'invalid_auth');
    await assert.rejects(
      startSocketMode({ appToken: BOT_TOKEN, temporal: client, slackApiUrl: apiUrl, dispatcher, logger: silentLogger() }),
      /app-level token \(xapp-…/,
    );
    const res = await undiciFetch(`${apiUrl}apps.connections.open`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}` },
      dispatcher,
    });
    assert.deepEqual(await res.json(), { ok: false, error: 'not_allowed_token_type' });
  });
});

// ---- the Slack app manifest ----

const ROOT = path.resolve(__dirname, '..', '..');
const MANIFEST = path.join(ROOT, 'src/deploy/slack-app-manifest.yaml');

/** Type-checks a manifest against @slack/web-api's own `Manifest` type (object literals: unknown keys are errors). */
function manifestTypeErrors(manifest: unknown): string[] {
  const file = path.join(ROOT, 'test', '__manifest_probe__.ts');
  const source =
    "import type { Manifest } from '@slack/web-api/dist/types/request/manifest';\n" +
    `export const manifest: Manifest = ${JSON.stringify(manifest, null, 2)};\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, ...rest);
  host.fileExists = (name) => name === file || ts.sys.fileExists(name);
  host.readFile = (name) => (name === file ? source : ts.sys.readFile(name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
}

/** Bot scopes each Slack Web API method vouch calls needs (docs.slack.dev/reference/methods/<method>). */
const SCOPES_OF_METHOD: Record<string, string[]> = {
  'chat.postMessage': ['chat:write'],
  'chat.update': ['chat:write'],
  'chat.postEphemeral': ['chat:write'],
  // One user: a DM (im:write); several users (on-call + engineer): a group DM (mpim:write).
  'conversations.open': ['im:write', 'mpim:write'],
  // Only ever on the review DM (an im), before posting the review message.
  'conversations.history': ['im:history'],
  // The bot's own ids; auth.test needs no scope.
  'auth.test': [],
  // users:read.email can only be granted together with users:read.
  'users.lookupByEmail': ['users:read.email', 'users:read'],
};

/** Every `slack.<namespace>.<method>(` call in vouch's own code (not the sandbox stand-ins). */
function slackMethodsCalled(): Set<string> {
  const found = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'sandbox') walk(full);
      } else if (entry.name.endsWith('.ts')) {
        for (const m of fs.readFileSync(full, 'utf8').matchAll(/\bslack\.([a-z]+)\.([A-Za-z]+)\(/g)) found.add(`${m[1]}.${m[2]}`);
      }
    }
  };
  walk(path.join(ROOT, 'activities'));
  walk(path.join(ROOT, 'src'));
  return found;
}

describe('Slack app manifest (src/deploy/slack-app-manifest.yaml)', () => {
  const manifest = YAML.parse(fs.readFileSync(MANIFEST, 'utf8')) as {
    display_information: { name: string; description: string; long_description?: string };
    features: { bot_user: { display_name: string } };
    oauth_config: { scopes: { bot: string[] } };
    settings: { interactivity: { is_enabled: boolean; request_url?: string }; socket_mode_enabled: boolean };
  };

  test("matches @slack/web-api's Manifest type, and a typo would not", () => {
    assert.deepEqual(manifestTypeErrors(manifest), []);
    const typo = structuredClone(manifest) as unknown as { settings: Record<string, unknown> };
    typo.settings.interactivty = typo.settings.interactivity;
    assert.equal(manifestTypeErrors(typo).length, 1, 'an unknown key is reported');
    const badScope = structuredClone(manifest);
    badScope.oauth_config.scopes.bot.push('chat:writ');
    assert.equal(manifestTypeErrors(badScope).length, 1, 'an unknown scope is reported');
  });

  test("Slack's limits: names, description lengths, bot display name characters", () => {
    assert.ok(manifest.display_information.name.length <= 35);
    assert.ok(manifest.display_information.description.length <= 140);
    const long = manifest.display_information.long_description ?? '';
    assert.ok(long.length >= 175 && long.length <= 4000, `long_description is ${long.length} characters`);
    assert.match(manifest.features.bot_user.display_name, /^[a-z0-9._-]{1,80}$/);
  });

  test('interactivity points at the handler path; Socket Mode is off in the HTTP variant', () => {
    assert.equal(manifest.settings.interactivity.is_enabled, true);
    assert.equal(new URL(manifest.settings.interactivity.request_url ?? '').pathname, '/slack/interactions');
    assert.equal(new URL(manifest.settings.interactivity.request_url ?? '').protocol, 'https:');
    assert.equal(manifest.settings.socket_mode_enabled, false);
  });

  test('the bot scopes are exactly what the Slack calls in the code need', () => {
    const called = slackMethodsCalled();
    for (const method of ['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'conversations.open', 'conversations.history', 'users.lookupByEmail']) {
      assert.ok(called.has(method), `${method} is called somewhere`);
    }
    const needed = new Set<string>();
    for (const method of called) {
      const scopes = SCOPES_OF_METHOD[method];
      assert.ok(scopes, `vouch calls ${method}: add its scopes to the manifest and to SCOPES_OF_METHOD`);
      for (const scope of scopes) needed.add(scope);
    }
    assert.deepEqual([...manifest.oauth_config.scopes.bot].sort(), [...needed].sort());
  });
});
