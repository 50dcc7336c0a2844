import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { ApplicationFailure } from '@temporalio/activity';
import { ErrorCode, LogLevel, type WebClient } from '@slack/web-api';
import { createSlackActivities } from '../../activities/slack';
import { createSlackClient } from '../../src/slack/client';
import { captureLogs, silentLogger } from '../helpers/logs';
import { createPeopleDirectory, parsePeopleDirectory, type PeopleDirectory } from '../../activities/people';
import { ActionIds } from '../../src/slack/blocks';
import { SlackStandIn, type SlackStandInEvent } from '../../src/demo/sandbox/slack';
import { DEMO_PEOPLE_FILE } from '../../src/demo/stack';
import { FailureTypes, type Actor, type Change, type PostMessageInput } from '../../src/core/types';

const TOKEN = 'xoxb-1111-2222-vouchtesttoken';

/** A session of an IAM Identity Center permission set, as the normaliser builds it from CloudTrail. */
function sso(userName: string, account = '123456789012'): Actor {
  return {
    type: 'AssumedRole',
    arn: `arn:aws:sts::${account}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/${userName}`,
    name: userName,
    sessionIssuerArn: `arn:aws:iam::${account}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123456789abcdef`,
  };
}

const alice: Actor = sso('alice@example.com');
const carol: Actor = { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/carol', name: 'carol' };
const deployBot: Actor = {
  type: 'AssumedRole',
  arn: 'arn:aws:sts::210987654321:assumed-role/deployer/ci-run-42',
  name: 'ci-run-42',
};

function change(actor: Actor): Change {
  return {
    eventId: 'ev-0001',
    eventTime: '2024-05-01T10:15:00Z',
    account: '123456789012',
    region: 'eu-west-1',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    actor,
    request: { groupId: 'sg-0abc' },
    response: null,
    summary: 'sg-0abc opened to 0.0.0.0/0 on tcp/22',
  };
}

function postInput(slackUserId: string): PostMessageInput {
  return {
    reviewId: 'vouch-123456789012-ev-0001',
    slackUserId,
    change: change(alice),
    verdict: {
      tier: 'confirm',
      score: 80,
      rules: ['sg-open-world'],
      reasons: ['SSH opened to the internet'],
      deadlineSeconds: 900,
      revertPlan: null,
    },
    reviewUrl: 'http://localhost:8233/namespaces/default/workflows/vouch-123456789012-ev-0001',
    state: { kind: 'ask', deadline: '2024-05-01T10:30:00Z' },
  };
}

/** Asserts that `promise` rejects with an ApplicationFailure of `type` and returns it. */
async function failureOf(promise: Promise<unknown>, type: string): Promise<ApplicationFailure> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(caught)}`);
  assert.equal(caught.type, type, caught.message);
  return caught;
}

describe('Slack activities against the Slack stand-in', () => {
  const standIn = new SlackStandIn({
    token: TOKEN,
    users: [
      { id: 'U0ALICE', email: 'alice@example.com', name: 'alice', realName: 'Alice Liddell' },
      { id: 'U0CAROL', email: 'carol@example.com', name: 'carol' },
      { id: 'U0DAVE', email: 'dave@example.com', name: 'dave' },
      { id: 'U0GONE', email: 'gone@example.com', name: 'gone', deleted: true },
    ],
  });
  const directory: PeopleDirectory = createPeopleDirectory({
    'arn:aws:iam::123456789012:user/carol': { email: 'carol@example.com', slackUserId: 'U0CAROL', duoUsername: 'carol' },
    'arn:aws:sts::210987654321:assumed-role/deployer/*': { email: 'dave@example.com', displayName: 'Dave (deploys)' },
    'arn:aws:sts::210987654321:assumed-role/shared-admin/*': { email: 'mallory@example.com', slackUserId: 'U0MALLORY' },
  });
  const captured = captureLogs();
  const logLines = captured.raw;
  let slack: WebClient;
  let activities: ReturnType<typeof createSlackActivities>;
  const events: SlackStandInEvent[] = [];

  before(async () => {
    const { apiUrl } = await standIn.start();
    assert.match(apiUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    slack = createSlackClient({
      token: TOKEN,
      apiUrl,
      timeoutMs: 2000,
      logLevel: LogLevel.DEBUG,
      logger: captured.logger,
    });
    activities = createSlackActivities({ slack, directory });
    standIn.on('event', (e) => events.push(e));
  });

  after(async () => {
    await standIn.stop();
  });

  beforeEach(() => {
    standIn.reset();
    events.length = 0;
  });

  test('a person is found in Slack by the e-mail their Identity Center session is named after', async () => {
    const person = await activities.resolvePerson(alice);
    assert.deepEqual(person, {
      slackUserId: 'U0ALICE',
      duoUsername: 'alice@example.com',
      email: 'alice@example.com',
      displayName: 'Alice Liddell',
    });
    const lookups = standIn.requests.filter((r) => r.method === 'users.lookupByEmail');
    assert.deepEqual(
      lookups.map((r) => [r.params.email, r.ok]),
      [['alice@example.com', true]],
    );
  });

  test('a mapped person with a Slack user id is resolved without calling Slack', async () => {
    const person = await activities.resolvePerson(carol);
    assert.deepEqual(person, {
      slackUserId: 'U0CAROL',
      duoUsername: 'carol',
      email: 'carol@example.com',
      displayName: 'carol@example.com', // the directory's name for her, not the record's
    });
    assert.equal(standIn.requests.length, 0);
  });

  test('an ARN glob mapping supplies the e-mail that Slack is searched for', async () => {
    const person = await activities.resolvePerson(deployBot);
    assert.equal(person.slackUserId, 'U0DAVE');
    assert.equal(person.displayName, 'Dave (deploys)');
    assert.equal(standIn.requests[0]?.params.email, 'dave@example.com');
  });

  test("a session named after someone else never becomes the name vouch shows for the person behind it", async () => {
    // mallory's shared role maps to her; she names her session after alice. DMs, reminders and pages name the
    // directory's person (her e-mail), never the session name she chose.
    const person = await activities.resolvePerson({
      type: 'AssumedRole',
      arn: 'arn:aws:sts::210987654321:assumed-role/shared-admin/alice@example.com',
      name: 'alice@example.com',
    });
    assert.deepEqual([person.slackUserId, person.email, person.displayName], ['U0MALLORY', 'mallory@example.com', 'mallory@example.com']);
  });

  test('an e-mail unknown to Slack is a non-retryable UnknownPerson failure', async () => {
    const stranger: Actor = sso('mallory@example.com');
    const failure = await failureOf(activities.resolvePerson(stranger), FailureTypes.UnknownPerson);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /users\.lookupByEmail/);
    assert.match(failure.message, /mallory@example\.com/);
    assert.equal(standIn.requests[0]?.error, 'users_not_found');
  });

  test('an actor with no mapping and no e-mail is UnknownPerson without asking Slack', async () => {
    const failure = await failureOf(
      activities.resolvePerson({ type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/ops', name: 'ops' }),
      FailureTypes.UnknownPerson,
    );
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /arn:aws:iam::123456789012:user\/ops is not in the people directory/);
    assert.equal(standIn.requests.length, 0);
  });

  test('a session name or sourceIdentity e-mail on an ordinary role is UnknownPerson, saying why', async () => {
    const failure = await failureOf(
      activities.resolvePerson({
        type: 'AssumedRole',
        arn: 'arn:aws:sts::123456789012:assumed-role/ops-admin/alice@example.com',
        name: 'alice@example.com',
        email: 'alice@example.com',
        sessionIssuerArn: 'arn:aws:iam::123456789012:role/ops-admin',
      }),
      FailureTypes.UnknownPerson,
    );
    assert.match(failure.message, /session name of role ops-admin is chosen by whoever assumes the role/);
    assert.equal(standIn.requests.length, 0, 'Slack is not asked for the e-mail the caller chose');
  });

  test('a deactivated Slack user is UnknownPerson', async () => {
    const failure = await failureOf(
      activities.resolvePerson(sso('gone@example.com')),
      FailureTypes.UnknownPerson,
    );
    assert.match(failure.message, /deactivated/);
  });

  test('the review message is posted in a DM and updated in place to a final state without buttons', async () => {
    const ref = await activities.postReviewMessage(postInput('U0ALICE'));
    assert.equal(ref.channel, standIn.dmChannelOf('U0ALICE'));
    assert.match(ref.channel, /^D/);
    const posted = standIn.message(ref.channel, ref.ts);
    assert.ok(posted, 'stand-in stored the message');
    assert.match(posted.text, /Did you make this AWS change\?/);
    const actions = (posted.blocks ?? []).filter((b) => (b as { type: string }).type === 'actions');
    assert.equal(actions.length, 1);
    assert.ok(JSON.stringify(actions).includes(ActionIds.yes));
    assert.deepEqual(
      standIn.requests.map((r) => r.method).filter((m) => m !== 'auth.test'),
      ['conversations.open', 'conversations.history', 'chat.postMessage'],
    );
    assert.equal(standIn.requests[0]?.params.users, 'U0ALICE');
    assert.deepEqual(posted.metadata, { event_type: 'vouch_review', event_payload: { reviewId: 'vouch-123456789012-ev-0001' } });

    await activities.updateReviewMessage({
      ...postInput('U0ALICE'),
      message: ref,
      state: { kind: 'final', outcome: 'CONFIRMED', reason: 'Alice confirmed and Duo allowed' },
    });
    const updated = standIn.message(ref.channel, ref.ts);
    assert.equal(updated?.edits, 1);
    assert.ok(updated?.blocks && updated.blocks.length > 0);
    assert.equal(updated.blocks.filter((b) => (b as { type: string }).type === 'actions').length, 0);
    assert.match(JSON.stringify(updated.blocks), /Alice confirmed and Duo allowed/);
    assert.deepEqual(
      events.filter((e) => e.type !== 'conversation.opened').map((e) => [e.type, 'to' in e ? e.to : undefined]),
      [
        ['message.posted', 'U0ALICE'],
        ['message.updated', 'U0ALICE'],
      ],
    );
  });

  test('a retry after a lost reply finds the first review message instead of posting a second one', async () => {
    standIn.failNext('chat.postMessage', { lostReply: true });
    await assert.rejects(activities.postReviewMessage(postInput('U0ALICE')), (err: unknown) => {
      assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), 'a lost reply must stay retryable');
      assert.match((err as Error).message, /chat\.postMessage/);
      return true;
    });
    const channel = standIn.dmChannelOf('U0ALICE') as string;
    assert.equal(standIn.messagesIn(channel).length, 1, 'Slack posted the message although the reply was lost');
    const ref = await activities.postReviewMessage(postInput('U0ALICE'));
    assert.deepEqual(ref, { channel, ts: standIn.messagesIn(channel)[0]?.ts });
    assert.equal(standIn.messagesIn(channel).length, 1, 'the retry posted nothing new');
    assert.equal(standIn.requests.filter((r) => r.method === 'chat.postMessage').length, 1);
    const history = standIn.requests.filter((r) => r.method === 'conversations.history');
    assert.equal(history.at(-1)?.params.include_all_metadata, 'true');
    assert.equal(history.at(-1)?.params.channel, channel);
  });

  test("another review's message in the same DM is not taken for this review's", async () => {
    const first = await activities.postReviewMessage(postInput('U0ALICE'));
    const other = await activities.postReviewMessage({ ...postInput('U0ALICE'), reviewId: 'vouch-123456789012-ev-0002' });
    assert.notEqual(other.ts, first.ts);
    assert.equal(standIn.messagesIn(first.channel).length, 2);
    const again = await activities.postReviewMessage(postInput('U0ALICE'));
    assert.deepEqual(again, first);
  });

  test('a reminder is posted as a threaded reply under the review message', async () => {
    const ref = await activities.postReviewMessage(postInput('U0ALICE'));
    await activities.sendReminder({ slackUserId: 'U0ALICE', message: ref, text: '10 minutes left to answer' });
    const parent = standIn.message(ref.channel, ref.ts);
    assert.equal(parent?.replies.length, 1);
    assert.equal(parent?.replies[0]?.text, '10 minutes left to answer');
    assert.equal(parent?.replies[0]?.threadTs, ref.ts);
    assert.equal(standIn.messagesIn(ref.channel).length, 1, 'the reminder is not a new top-level message');
  });

  test('a plain notification lands in the person\'s DM', async () => {
    const ref = await activities.notifyPerson({ slackUserId: 'U0CAROL', text: 'Your change was reverted.' });
    assert.equal(ref.channel, standIn.dmChannelOf('U0CAROL'));
    assert.equal(standIn.message(ref.channel, ref.ts)?.text, 'Your change was reverted.');
  });

  test('updating a message that does not exist is rejected by Slack and named in the failure', async () => {
    await activities.postReviewMessage(postInput('U0ALICE'));
    const channel = standIn.dmChannelOf('U0ALICE') as string;
    const failure = await failureOf(
      activities.updateReviewMessage({ ...postInput('U0ALICE'), message: { channel, ts: '1.000001' } }),
      FailureTypes.VendorRejected,
    );
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /chat\.update/);
    assert.match(failure.message, /message_not_found/);
  });

  test('a wrong bot token is a non-retryable InvalidCredentials failure and is never logged', async () => {
    const wrongToken = 'xoxb-9999-8888-wrongtoken';
    const { logger, raw: lines } = captureLogs();
    const badClient = createSlackClient({
      token: wrongToken,
      apiUrl: standIn.apiUrl,
      logLevel: LogLevel.DEBUG,
      logger,
    });
    const bad = createSlackActivities({ slack: badClient, directory });
    const failure = await failureOf(bad.resolvePerson(alice), FailureTypes.InvalidCredentials);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /users\.lookupByEmail/);
    assert.match(failure.message, /invalid_auth/);
    assert.ok(lines.length > 0, 'the client logged at debug level');
    assert.ok(!lines.some((l) => l.includes(wrongToken) || l.includes('wrongtoken')), 'token leaked into logs');
  });

  test('the client\'s debug log never contains the bot token', async () => {
    logLines.length = 0;
    await activities.notifyPerson({ slackUserId: 'U0ALICE', text: 'hello' });
    assert.ok(logLines.some((l) => l.includes('chat.postMessage')));
    assert.ok(!logLines.some((l) => l.includes(TOKEN) || l.includes('vouchtesttoken')));
  });

  test('the stand-in rejects calls that miss required arguments or break Block Kit limits', async () => {
    await assert.rejects(slack.apiCall('chat.update', { channel: 'D0ALICE', text: 'no ts' }), (err: unknown) => {
      assert.equal((err as { code?: string }).code, ErrorCode.PlatformError);
      assert.equal((err as { data: { error: string } }).data.error, 'invalid_arguments');
      return true;
    });
    await assert.rejects(slack.apiCall('chat.postMessage', { channel: 'U0ALICE' }), (err: unknown) => {
      assert.equal((err as { data: { error: string } }).data.error, 'no_text');
      return true;
    });
    await assert.rejects(slack.apiCall('users.lookupByEmail', {}), (err: unknown) => {
      assert.equal((err as { data: { error: string } }).data.error, 'invalid_arguments');
      return true;
    });
    const tooLongButton = [
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'y'.repeat(76) } }],
      },
    ];
    await assert.rejects(
      slack.apiCall('chat.postMessage', { channel: 'U0ALICE', text: 'x', blocks: tooLongButton }),
      (err: unknown) => {
        const data = (err as { data: { error: string; errors?: string[] } }).data;
        assert.equal(data.error, 'invalid_blocks');
        assert.match(data.errors?.join() ?? '', /elements\[0\]\.text\.text: must be at most 75/);
        return true;
      },
    );
    assert.equal(standIn.messages.length, 0);
  });

  test('the stand-in serves conversations.history as Slack does: newest first, paged, metadata only when asked', async () => {
    const channel = standIn.dmChannelOf('U0ALICE') ?? ((await slack.conversations.open({ users: 'U0ALICE' })).channel?.id as string);
    const posted: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const res = await slack.chat.postMessage({ channel, text: `m${i}`, metadata: { event_type: 'vouch_review', event_payload: { reviewId: `r${i}` } } });
      posted.push(res.ts as string);
    }
    const first = await slack.conversations.history({ channel, limit: 2 });
    assert.deepEqual(first.messages?.map((m) => m.text), ['m2', 'm1']);
    assert.equal(first.has_more, true);
    assert.equal(first.messages?.[0]?.metadata, undefined, 'no metadata without include_all_metadata');
    const rest = await slack.conversations.history({ channel, limit: 2, cursor: first.response_metadata?.next_cursor as string, include_all_metadata: true });
    assert.deepEqual(rest.messages?.map((m) => [m.text, m.metadata?.event_payload]), [['m0', { reviewId: 'r0' }]]);
    assert.equal(rest.has_more, false);
    const after = await slack.conversations.history({ channel, oldest: posted[0] as string });
    assert.deepEqual(after.messages?.map((m) => m.text), ['m2', 'm1'], 'oldest is exclusive');
    await assert.rejects(slack.conversations.history({ channel: 'D0NOSUCH' }), /channel_not_found/);
    await assert.rejects(
      slack.apiCall('chat.postMessage', { channel, text: 'x', metadata: JSON.stringify({ event_type: 'bad type!', event_payload: {} }) }),
      /invalid_metadata_schema/,
    );
  });

  test('a 429 becomes a RateLimited failure carrying Retry-After, without the client sleeping', async () => {
    standIn.failNext('chat.postMessage', { status: 429, retryAfter: 7 });
    const started = Date.now();
    const failure = await failureOf(activities.postReviewMessage(postInput('U0ALICE')), FailureTypes.RateLimited);
    assert.ok(Date.now() - started < 7000, 'the client did not wait the 7 s of Retry-After');
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay, '7 seconds');
    assert.match(failure.message, /chat\.postMessage/);
    assert.equal(standIn.requests.filter((r) => r.method === 'chat.postMessage').length, 1, 'no retry inside the client');
  });

  test('a Slack platform error is a non-retryable VendorRejected failure naming method and code', async () => {
    standIn.failNext('chat.postMessage', { error: 'channel_not_found' });
    const failure = await failureOf(activities.postReviewMessage(postInput('U0ALICE')), FailureTypes.VendorRejected);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /chat\.postMessage/);
    assert.match(failure.message, /channel_not_found/);
  });

  test('a missing scope is InvalidCredentials', async () => {
    standIn.failNext('conversations.open', { error: 'missing_scope' });
    const failure = await failureOf(activities.notifyPerson({ slackUserId: 'U0ALICE', text: 'hi' }), FailureTypes.InvalidCredentials);
    assert.match(failure.message, /conversations\.open/);
  });

  test('HTTP 503 is a retryable failure, tried once by the client', async () => {
    standIn.failNext('conversations.open', { status: 503 });
    await assert.rejects(activities.postReviewMessage(postInput('U0ALICE')), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable), 'must stay retryable');
      assert.match(err.message, /conversations\.open/);
      assert.match(err.message, /503/);
      return true;
    });
    assert.equal(standIn.requests.length, 1);
  });

  test('a request that outlives the timeout is a retryable failure', async () => {
    const impatient = createSlackActivities({
      slack: createSlackClient({ token: TOKEN, apiUrl: standIn.apiUrl, timeoutMs: 200, logger: silentLogger() }),
      directory,
    });
    standIn.failNext('chat.postMessage', { delayMs: 5000 });
    const started = Date.now();
    await assert.rejects(impatient.notifyPerson({ slackUserId: 'U0ALICE', text: 'slow' }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.ok(!(err instanceof ApplicationFailure && err.nonRetryable));
      assert.match(err.message, /chat\.postMessage request failed/);
      return true;
    });
    assert.ok(Date.now() - started < 5000, 'gave up before the (5 s late) answer came');
  });
});

describe('people directory', () => {
  const ACCOUNT = '123456789012';
  const role = (name: string, session: string, account = ACCOUNT): Actor => ({
    type: 'AssumedRole',
    arn: `arn:aws:sts::${account}:assumed-role/${name}/${session}`,
    name: session,
    sessionIssuerArn: `arn:aws:iam::${account}:role/${name}`,
  });

  test('an exact ARN wins over a glob, and the most specific glob wins over a broader one', () => {
    const dir = createPeopleDirectory({
      'arn:aws:sts::123456789012:assumed-role/*': { email: 'anyone@example.com' },
      'arn:aws:sts::123456789012:assumed-role/admin/*': { email: 'admins@example.com' },
      'arn:aws:sts::123456789012:assumed-role/admin/bob': { email: 'bob@example.com' },
    });
    assert.equal(dir.lookup(role('admin', 'bob'))?.email, 'bob@example.com');
    assert.equal(dir.lookup(role('admin', 'eve'))?.email, 'admins@example.com');
    assert.equal(dir.lookup(role('ro', 'x'))?.email, 'anyone@example.com');
    assert.equal(dir.lookup(role('ro', 'x', '999999999999')), undefined, 'globs stay in their account');
  });

  test('an IAM Identity Center session maps by its sign-in name; sso: and e-mail keys match regardless of case', () => {
    const dir = createPeopleDirectory(
      { 'sso:Carol': { email: 'carol@example.com' }, 'Alice@Example.com': { email: 'alice@corp.example.com' } },
      { duoUsernameFrom: 'localpart' },
    );
    assert.deepEqual(dir.lookup(sso('carol')), { email: 'carol@example.com', duoUsername: 'carol' });
    assert.equal(dir.lookup(sso('alice@example.com'))?.email, 'alice@corp.example.com');
    assert.deepEqual(dir.lookup(sso('bob@example.com')), { email: 'bob@example.com', duoUsername: 'bob' });
    assert.equal(dir.lookup(sso('dave')), undefined, 'a sign-in name that is no e-mail needs an sso: key');
    const via = dir.match(sso('carol'));
    assert.match(via.entry ? via.via : via.reason, /Identity Center user carol \(AWSReservedSSO_Admin_0123456789abcdef\)/);
  });

  test('only AWSReservedSSO_ roles under aws-reserved/sso.amazonaws.com of the same account are Identity Center sessions', () => {
    const dir = createPeopleDirectory({});
    const lookalikes: Actor[] = [
      // The same name, outside the reserved path: anyone with iam:CreateRole can make it.
      role('AWSReservedSSO_Admin_0123456789abcdef', 'alice@example.com'),
      // The reserved path of another account than the session's.
      { ...sso('alice@example.com'), sessionIssuerArn: sso('alice@example.com', '999999999999').sessionIssuerArn as string },
      // A session of another role than the issuer names.
      { ...sso('alice@example.com'), arn: 'arn:aws:sts::123456789012:assumed-role/ops/alice@example.com' },
      // No issuer at all.
      { type: 'AssumedRole', arn: sso('alice@example.com').arn as string, name: 'alice@example.com' },
    ];
    for (const actor of lookalikes) {
      const m = dir.match(actor);
      assert.equal(m.entry, undefined, JSON.stringify(actor));
      assert.match(m.entry ? '' : m.reason, /chosen by whoever assumes the role/);
    }
  });

  test('session names, sourceIdentity and the e-mail derived from them are not trusted on other roles', () => {
    const dir = createPeopleDirectory({ 'mallory@example.com': { email: 'mallory@example.com' } });
    assert.equal(dir.lookup(role('ci-deploy', 'mallory@example.com')), undefined);
    assert.equal(dir.lookup({ ...role('ci-deploy', 'run-42'), email: 'mallory@example.com' }), undefined);
    assert.equal(dir.lookup({ type: 'FederatedUser', arn: `arn:aws:sts::${ACCOUNT}:federated-user/mallory@example.com`, name: 'mallory@example.com' }), undefined);
    assert.equal(dir.lookup({ type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root`, name: 'root' }), undefined);
  });

  test('an IAM user maps by its ARN, or by its user name when that is an e-mail', () => {
    const dir = createPeopleDirectory({ [`arn:aws:iam::${ACCOUNT}:user/ops`]: { email: 'ops@example.com' } });
    const user = (name: string): Actor => ({ type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, name });
    assert.equal(dir.lookup(user('ops'))?.email, 'ops@example.com');
    assert.equal(dir.lookup(user('erin@example.com'))?.email, 'erin@example.com');
    assert.equal(dir.lookup(user('build')), undefined);
    assert.equal(dir.lookup({ ...user('build'), email: 'build@example.com' }), undefined, 'an e-mail beside the name is not the name');
  });

  test('an entry pinned to an Identity Center user id needs the record to carry that id', () => {
    const id = '9067729b3d-94f1e0e1-c7a4-4d1b-b7d5-0a5b2d4e4f3a';
    const dir = createPeopleDirectory({ 'alice@example.com': { email: 'alice@example.com', identityCenterUserId: id } });
    assert.equal(dir.lookup({ ...sso('alice@example.com'), identityCenterUserId: id })?.email, 'alice@example.com');
    const other = dir.match({ ...sso('alice@example.com'), identityCenterUserId: '9067729b3d-00000000-0000-0000-0000-000000000000' });
    assert.match(other.entry ? '' : other.reason, /pinned to Identity Center user/);
    assert.equal(dir.lookup(sso('alice@example.com')), undefined, 'no id in the record: not trusted');
    // An IdentityCenterUser identity (no session name) is found by its id alone.
    assert.equal(dir.lookup({ type: 'IdentityCenterUser', name: id, identityCenterUserId: id })?.email, 'alice@example.com');
    assert.equal(dir.lookup({ type: 'IdentityCenterUser', name: 'x' }), undefined);
  });

  test('a directory file with a bad key or field is rejected naming the source, the key and the field', () => {
    const text = JSON.stringify({
      'arn:aws:iam::123456789012:user/carol': { email: 'not-an-email' },
      'alice@example.com': { email: 'alice@example.com', slackUserID: 'U0ALICE' },
      bob: { email: 'bob@example.com' },
      'arn:aws:iam::*:user/carol': { email: 'carol@example.com' },
      'sso:dave': { email: 'dave@example.com', identityCenterUserId: 'dave' },
    });
    assert.throws(
      () => parsePeopleDirectory(text, 'people.json'),
      (err: unknown) => {
        const message = (err as Error).message;
        assert.match(message, /^people\.json: /);
        assert.match(message, /"arn:aws:iam::123456789012:user\/carol"\.email/);
        assert.match(message, /"alice@example\.com": unknown field\(s\) "slackUserID"/);
        assert.match(message, /"bob": a bare name is not a trusted key .*arn:aws:iam::<account>:user\/bob.*sso:bob/);
        assert.match(message, /"arn:aws:iam::\*:user\/carol": an ARN glob must name one account/);
        assert.match(message, /"sso:dave"\.identityCenterUserId: must be an IAM Identity Center user id/);
        return true;
      },
    );
    assert.throws(() => parsePeopleDirectory('{oops', 'people.json'), /people\.json: people directory is not valid JSON/);
    assert.deepEqual(parsePeopleDirectory('{"sso:bob":{"email":"bob@example.com","slackUserId":"U0BOB"}}', 'p.json'), {
      'sso:bob': { email: 'bob@example.com', slackUserId: 'U0BOB' },
    });
    assert.throws(() => createPeopleDirectory({ bob: { email: 'bob@example.com' } }), /people directory key "bob": a bare name/);
  });

  test('a security member is found by their Slack user id, the first entry naming it wins', () => {
    const dir = createPeopleDirectory({
      'sso:sec': { email: 'sec@example.com', slackUserId: 'U0SEC', duoUsername: 'sec' },
      [`arn:aws:iam::${ACCOUNT}:user/sec`]: { email: 'other@example.com', slackUserId: 'U0SEC' },
    });
    assert.deepEqual(dir.lookupBySlackUserId('U0SEC'), { email: 'sec@example.com', slackUserId: 'U0SEC', duoUsername: 'sec' });
    assert.equal(dir.lookupBySlackUserId('U0NOBODY'), undefined);
  });

  test('the demo people file is valid and maps every demo principal it names', () => {
    const entries = parsePeopleDirectory(fs.readFileSync(DEMO_PEOPLE_FILE, 'utf8'), DEMO_PEOPLE_FILE);
    const dir = createPeopleDirectory(entries);
    assert.equal(dir.lookup({ type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob', name: 'bob' })?.email, 'bob@example.com');
    assert.equal(dir.lookup({ type: 'IAMUser', arn: 'arn:aws:iam::444455556666:user/carol', name: 'carol' })?.email, 'carol@example.com');
  });
});
