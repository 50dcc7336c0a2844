// The Slack stand-in enforces what Slack enforces on a bot token, driven by the real @slack/web-api client (the way
// vouch builds it) and vouch's own Slack activities: scopes (missing_scope with needed/provided), that the bot can only
// edit its own messages (cant_update_message), and per-method rate tiers (429 with Retry-After), unscripted.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createSlackClient } from '../../src/slack/client';
import { createSlackActivities } from '../../activities/slack';
import { createPeopleDirectory } from '../../activities/people';
import { SlackStandIn } from '../../src/demo/sandbox/slack';
import { manifestBotScopes } from '../../src/demo/sandbox/slack-rules';
import { FailureTypes } from '../../src/core/types';
import { silentLogger } from '../helpers/logs';

const TOKEN = 'xoxb-0000-rules';
const USERS = [
  { id: 'U0ALICE', email: 'alice@example.com', name: 'alice' },
  { id: 'U0BOB', email: 'bob@example.com', name: 'bob' },
];

/** The error data @slack/web-api rejects with. */
type SlackData = { ok: false; error: string; needed?: string; provided?: string; response_metadata?: unknown };
const dataOf = (err: unknown): SlackData => (err as { data: SlackData }).data;

describe('scopes', () => {
  const narrow = new SlackStandIn({ token: TOKEN, users: USERS, scopes: ['users:read', 'users:read.email', 'im:write'] });
  const full = new SlackStandIn({ token: TOKEN, users: USERS });
  before(async () => {
    await narrow.start();
    await full.start();
  });
  after(async () => {
    await narrow.stop();
    await full.stop();
  });

  test('a token without chat:write: chat.postMessage answers missing_scope, naming what is needed and what the token has', async () => {
    const web = createSlackClient({ token: TOKEN, apiUrl: narrow.apiUrl, logger: silentLogger() });
    await assert.rejects(web.chat.postMessage({ channel: 'U0ALICE', text: 'hi' }), (err: unknown) => {
      assert.deepEqual(dataOf(err), {
        ok: false,
        error: 'missing_scope',
        needed: 'chat:write',
        provided: 'users:read,users:read.email,im:write',
        // The client reads Slack's x-oauth-scopes and x-accepted-oauth-scopes headers into response_metadata.
        response_metadata: { scopes: ['users:read', 'users:read.email', 'im:write'], acceptedScopes: ['chat:write'] },
      });
      return true;
    });
    assert.equal(narrow.messages.length, 0, 'nothing was posted');
    // Each conversation kind needs its own scope: a DM is allowed, a group DM needs mpim:write.
    assert.equal((await web.conversations.open({ users: 'U0ALICE' })).ok, true);
    await assert.rejects(web.conversations.open({ users: 'U0ALICE,U0BOB' }), (err: unknown) => dataOf(err).needed === 'mpim:write');
  });

  test("vouch's activity names the missing scope as a non-retryable InvalidCredentials failure", async () => {
    const acts = createSlackActivities({
      slack: createSlackClient({ token: TOKEN, apiUrl: narrow.apiUrl, logger: silentLogger() }),
      directory: createPeopleDirectory({}),
    });
    await assert.rejects(acts.notifyPerson({ slackUserId: 'U0ALICE', text: 'FYI' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, FailureTypes.InvalidCredentials);
      assert.equal(err.nonRetryable, true);
      assert.match(err.message, /chat\.postMessage.*missing_scope/);
      return true;
    });
  });

  test("the app manifest's bot scopes are enough for every method vouch calls", async () => {
    // im:history: before posting a review DM, vouch looks in the DM for the review's own message (one DM per review).
    assert.deepEqual(manifestBotScopes().sort(), ['chat:write', 'im:history', 'im:write', 'mpim:write', 'users:read', 'users:read.email']);
    const web = createSlackClient({ token: TOKEN, apiUrl: full.apiUrl, logger: silentLogger() });
    const user = await web.users.lookupByEmail({ email: 'alice@example.com' });
    const dm = await web.conversations.open({ users: user.user?.id ?? '' });
    const group = await web.conversations.open({ users: 'U0ALICE,U0BOB' });
    const posted = await web.chat.postMessage({ channel: dm.channel?.id ?? '', text: 'review' });
    await web.chat.update({ channel: posted.channel ?? '', ts: posted.ts ?? '', text: 'edited' });
    await web.chat.postEphemeral({ channel: dm.channel?.id ?? '', user: 'U0ALICE', text: 'only you' });
    await web.conversations.history({ channel: dm.channel?.id ?? '', limit: 20, include_all_metadata: true });
    assert.ok(group.ok && posted.ok);
    assert.deepEqual(full.requests.filter((r) => !r.ok), []);
  });
});

describe('the bot edits only its own messages', () => {
  const slack = new SlackStandIn({ token: TOKEN, users: USERS });
  before(() => slack.start().then(() => undefined));
  after(() => slack.stop());

  test("chat.update on a person's message answers cant_update_message; on the bot's own it edits", async () => {
    const web = createSlackClient({ token: TOKEN, apiUrl: slack.apiUrl, logger: silentLogger() });
    const dm = (await web.conversations.open({ users: 'U0ALICE' })).channel?.id ?? '';
    const theirs = slack.addUserMessage(dm, 'U0ALICE', 'was that me?');
    await assert.rejects(web.chat.update({ channel: dm, ts: theirs.ts, text: 'rewritten by the bot' }), (err: unknown) => dataOf(err).error === 'cant_update_message');
    assert.equal(slack.message(dm, theirs.ts)?.text, 'was that me?');
    const ours = await web.chat.postMessage({ channel: dm, text: 'review' });
    await web.chat.update({ channel: dm, ts: ours.ts ?? '', text: 'done' });
    assert.equal(slack.message(dm, ours.ts ?? '')?.edits, 1);
  });
});

describe('rate tiers, unscripted', () => {
  let now = Date.parse('2026-12-01T09:00:00Z');
  const slack = new SlackStandIn({ token: TOKEN, users: USERS, now: () => now });
  let web: ReturnType<typeof createSlackClient>;
  before(async () => {
    await slack.start();
    web = createSlackClient({ token: TOKEN, apiUrl: slack.apiUrl, logger: silentLogger() });
  });
  beforeEach(() => slack.reset());
  after(() => slack.stop());

  const status429 = (err: unknown): { retryAfter: number } => {
    const e = err as { code?: string; retryAfter?: number };
    assert.equal(e.code, 'slack_webapi_rate_limited_error', String(err));
    return { retryAfter: e.retryAfter ?? -1 };
  };

  test('Tier 3 (users.lookupByEmail): 50 a minute, then 429 with Retry-After; the allowance comes back with time', async () => {
    for (let i = 0; i < 50; i++) await web.users.lookupByEmail({ email: 'alice@example.com' });
    const limited = await web.users.lookupByEmail({ email: 'alice@example.com' }).catch(status429);
    assert.deepEqual(limited, { retryAfter: 2 }, '50 per minute refill one call every 1.2 s: retry after 2 s');
    assert.deepEqual(
      slack.requests.slice(-1).map((r) => [r.method, r.status, r.error]),
      [['users.lookupByEmail', 429, 'ratelimited']],
    );
    // Another method has its own bucket.
    assert.equal((await web.conversations.open({ users: 'U0ALICE' })).ok, true);
    now += 2000;
    assert.equal((await web.users.lookupByEmail({ email: 'alice@example.com' })).ok, true, 'allowed again after Retry-After');
  });

  test('chat.postMessage: a short burst per channel, then about one a second; another channel is not affected', async () => {
    const dm = (await web.conversations.open({ users: 'U0ALICE' })).channel?.id ?? '';
    const other = (await web.conversations.open({ users: 'U0BOB' })).channel?.id ?? '';
    let posted = 0;
    for (;;) {
      const r = await web.chat.postMessage({ channel: dm, text: `m${posted}` }).catch(status429);
      if ('retryAfter' in r) {
        assert.equal(r.retryAfter, 1);
        break;
      }
      posted += 1;
      assert.ok(posted < 20, 'the burst ends');
    }
    assert.ok(posted >= 2 && posted <= 10, `a short burst of ${posted}`);
    assert.equal((await web.chat.postMessage({ channel: other, text: 'elsewhere' })).ok, true);
    now += 1000;
    assert.equal((await web.chat.postMessage({ channel: dm, text: 'a second later' })).ok, true);
  });

  test("vouch's activity turns Slack's 429 into a retryable RateLimited failure with Slack's Retry-After", async () => {
    const acts = createSlackActivities({ slack: web, directory: createPeopleDirectory({}) });
    let sent = 0;
    while (sent < 20 && (await acts.notifyPerson({ slackUserId: 'U0ALICE', text: `FYI ${sent}` }).then(() => true, () => false))) sent += 1;
    assert.ok(sent >= 2 && sent < 20, `a short burst of ${sent} notices`);
    await assert.rejects(acts.notifyPerson({ slackUserId: 'U0ALICE', text: 'one more' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, FailureTypes.RateLimited);
      assert.equal(err.nonRetryable, false);
      assert.equal(err.nextRetryDelay, '1 seconds');
      return true;
    });
  });
});
