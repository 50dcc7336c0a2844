// connectOnCall: the real @pagerduty/pdjs REST client against the PagerDuty stand-in (token header, Accept header,
// listOnCalls query parameters, REST response shapes) and the real @slack/web-api client against the Slack stand-in
// (users.lookupByEmail, conversations.open with several users, chat.postMessage).
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { ApplicationFailure } from '@temporalio/activity';
import { createOnCallActivities, OnCallFailureTypes, type OnCallDeps } from '../../activities/oncall';
import { createSlackClient } from '../../src/slack/client';
import { silentLogger } from '../helpers/logs';
import { PagerDutyStandIn } from '../../src/demo/sandbox/pagerduty';
import { SlackStandIn } from '../../src/demo/sandbox/slack';
import { FailureTypes, type Change } from '../../src/core/types';

const ROUTING_KEY = 'R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y01';
const REST_TOKEN = 'y_NbAkKc66ryYTWUXYEu';
const BOT_TOKEN = 'xoxb-1111-2222-oncalltesttoken';
const POLICY = 'PSECURE';
const OTHER_POLICY = 'POTHERS';
const REVIEW_URL = 'http://127.0.0.1:8233/namespaces/default/workflows/vouch-111122223333-evt-1';

const change: Change = {
  eventId: 'evt-1',
  eventTime: '2026-10-01T12:34:56Z',
  account: '111122223333',
  region: 'eu-west-1',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'AuthorizeSecurityGroupIngress',
  actor: { type: 'AssumedRole', name: 'bob@example.com', arn: 'arn:aws:sts::111122223333:assumed-role/dev/bob@example.com' },
  sourceIp: '203.0.113.7',
  request: { groupId: 'sg-123' },
  response: null,
  summary: 'sg-123 opened to 0.0.0.0/0 on tcp/22',
};

const input = {
  reviewId: 'vouch-111122223333-evt-1',
  change,
  reviewUrl: REVIEW_URL,
  summary: 'bob said this change was not theirs',
  engineerSlackUserId: 'U0BOB',
};

async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('connectOnCall (pdjs REST + Slack Web API against stand-ins)', () => {
  const pd = new PagerDutyStandIn({ routingKey: ROUTING_KEY, restToken: REST_TOKEN });
  const slack = new SlackStandIn({
    token: BOT_TOKEN,
    users: [
      { id: 'U0BOB', email: 'bob@example.com', name: 'bob' },
      { id: 'U0ALICE', email: 'alice.sec@example.com', name: 'alice', realName: 'Alice Security' },
      { id: 'U0CAROL', email: 'carol.sec@example.com', name: 'carol' },
    ],
  });
  let agent: https.Agent;
  let deps: OnCallDeps;

  before(async () => {
    const address = await pd.start();
    await slack.start();
    agent = new https.Agent({ ca: address.ca });
    deps = {
      slack: createSlackClient({ token: BOT_TOKEN, apiUrl: slack.apiUrl, logger: silentLogger() }),
      oncall: { apiToken: REST_TOKEN, escalationPolicyId: POLICY, server: address.server, agent, timeoutMs: 3000 },
    };
    pd.addRestUser({ id: 'PALICE', name: 'Alice Security', email: 'alice.sec@example.com' });
    pd.addRestUser({ id: 'PCAROL', name: 'Carol Security', email: 'carol.sec@example.com' });
    pd.addRestUser({ id: 'PDAVE', name: 'Dave Elsewhere', email: 'dave@example.com' });
    pd.addRestUser({ id: 'PERIN', name: 'Erin NoSlack', email: 'erin@example.com' });
  });

  after(async () => {
    agent.destroy();
    await pd.stop();
    await slack.stop();
  });

  beforeEach(() => {
    pd.reset();
    slack.reset();
    pd.setOnCall(POLICY, [
      { userId: 'PALICE', level: 1, scheduleId: 'PSCHED1' },
      { userId: 'PCAROL', level: 2 },
    ]);
    pd.setOnCall(OTHER_POLICY, [{ userId: 'PDAVE', level: 1 }]);
  });

  test('finds the first-level on-call engineer, opens one conversation with them and the engineer, posts the change', async () => {
    const { connectOnCall } = createOnCallActivities(deps);
    const result = await connectOnCall(input);

    // PagerDuty: one listOnCalls call, authenticated and filtered to the security policy.
    assert.equal(pd.received.length, 1);
    const [req] = pd.received;
    assert.ok(req);
    assert.equal(req.method, 'GET');
    assert.equal(req.path, '/oncalls');
    assert.equal(req.status, 200);
    assert.equal(req.headers.authorization, `Token token=${REST_TOKEN}`);
    assert.equal(req.headers.accept, 'application/vnd.pagerduty+json;version=2');
    const query = new URLSearchParams(req.query);
    assert.deepEqual(query.getAll('escalation_policy_ids[]'), [POLICY]);
    assert.deepEqual(query.getAll('include[]'), ['users']);
    assert.equal(query.get('earliest'), 'true');

    // Slack: the on-call engineer found by their PagerDuty e-mail, one mpim with both people, one message in it.
    assert.deepEqual(
      slack.requests.map((r) => r.method),
      ['users.lookupByEmail', 'conversations.open', 'chat.postMessage'],
    );
    assert.equal(slack.requests[0]?.params.email, 'alice.sec@example.com');
    assert.deepEqual(slack.requests[1]?.params.users?.split(',').sort(), ['U0ALICE', 'U0BOB']);
    assert.ok(result.channel);
    const conversation = slack.conversation(result.channel);
    assert.equal(conversation?.type, 'mpim');
    assert.deepEqual(conversation?.users, ['U0ALICE', 'U0BOB']);
    assert.deepEqual(result.oncall, ['U0ALICE']);
    const [posted] = slack.messagesIn(result.channel);
    assert.ok(posted);
    assert.equal(result.ts, posted.ts);
    assert.match(posted.text, /<@U0ALICE>/);
    assert.match(posted.text, /<@U0BOB> made this change/);
    assert.ok(posted.text.includes(change.summary));
    assert.ok(posted.text.includes(REVIEW_URL));
    assert.ok(posted.text.includes(input.summary));
    assert.match(result.message, /Alice Security with <@U0BOB>/);
    // Level-2 Carol was not pulled in.
    assert.ok(!slack.requests.some((r) => r.params.email === 'carol.sec@example.com'));
  });

  test('everyone at the first level joins; someone without Slack is named in the result, not fatal', async () => {
    pd.setOnCall(POLICY, [
      { userId: 'PALICE', level: 1 },
      { userId: 'PERIN', level: 1 },
      { userId: 'PCAROL', level: 1 },
    ]);
    const { connectOnCall } = createOnCallActivities(deps);
    const result = await connectOnCall(input);
    assert.deepEqual(result.oncall.sort(), ['U0ALICE', 'U0CAROL']);
    assert.deepEqual(slack.conversation(result.channel ?? '')?.users, ['U0ALICE', 'U0BOB', 'U0CAROL']);
    assert.match(result.message, /not in Slack: Erin NoSlack \(erin@example\.com\)/);
  });

  test('without an engineer (unknown actor, root) the on-call engineer still gets the change, in a DM', async () => {
    const { connectOnCall } = createOnCallActivities(deps);
    const result = await connectOnCall({ ...input, engineerSlackUserId: undefined });
    assert.equal(slack.conversation(result.channel ?? '')?.type, 'im');
    const [posted] = slack.messagesIn(result.channel ?? '');
    assert.match(posted?.text ?? '', /Nobody could be asked about this change \(actor: bob@example\.com\)/);
  });

  test('record text cannot mention @channel or hide a link in the on-call message', async () => {
    const { connectOnCall } = createOnCallActivities(deps);
    const crafted = { ...change, summary: 'DeleteTrail on <!channel> <https://evil.example|Approve> & more' };
    const result = await connectOnCall({ ...input, change: crafted, summary: `denied: ${crafted.summary}`, engineerSlackUserId: undefined });
    const [posted] = slack.messagesIn(result.channel ?? '');
    const text = posted?.text ?? '';
    assert.ok(text.includes('&lt;!channel&gt; &lt;https://evil.example|Approve&gt; &amp; more'), text);
    assert.doesNotMatch(text, /<!channel>|<https:\/\/evil/);
    assert.ok(text.includes(`*Review:* ${REVIEW_URL}`), "vouch's own link is left as it is");
  });

  test('nobody on call: NobodyOnCall, non-retryable, and nothing sent to Slack', async () => {
    pd.setOnCall(POLICY, []);
    const { connectOnCall } = createOnCallActivities(deps);
    const failure = await failureOf(connectOnCall(input));
    assert.equal(failure.type, OnCallFailureTypes.NobodyOnCall);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, new RegExp(POLICY));
    assert.equal(slack.requests.length, 0);
  });

  test('on call but not in Slack: OnCallNotInSlack, non-retryable, naming the person and e-mail', async () => {
    pd.setOnCall(POLICY, [{ userId: 'PERIN', level: 1 }]);
    const { connectOnCall } = createOnCallActivities(deps);
    const failure = await failureOf(connectOnCall(input));
    assert.equal(failure.type, OnCallFailureTypes.OnCallNotInSlack);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /Erin NoSlack \(erin@example\.com\)/);
    assert.ok(!slack.requests.some((r) => r.method === 'conversations.open'));
  });

  test('not configured: OnCallNotConfigured at once, naming the variables, nothing sent anywhere', async () => {
    const { connectOnCall } = createOnCallActivities({ slack: deps.slack });
    const failure = await failureOf(connectOnCall(input));
    assert.equal(failure.type, OnCallFailureTypes.OnCallNotConfigured);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /PAGERDUTY_API_TOKEN and PAGERDUTY_ESCALATION_POLICY_ID/);
    assert.equal(pd.received.length, 0);
    assert.equal(slack.requests.length, 0);
  });

  test('a wrong REST key: InvalidCredentials, non-retryable, and the key is not in the message', async () => {
    const wrong = 'WRONG_TOKEN_abcdefgh';
    const { connectOnCall } = createOnCallActivities({ ...deps, oncall: { ...(deps.oncall as NonNullable<OnCallDeps['oncall']>), apiToken: wrong } });
    const failure = await failureOf(connectOnCall(input));
    assert.equal(failure.type, FailureTypes.InvalidCredentials);
    assert.equal(failure.nonRetryable, true);
    assert.equal(pd.received[0]?.status, 401);
    assert.ok(!failure.message.includes(wrong));
    assert.ok(!failure.message.includes(REST_TOKEN));
  });

  test("a user PagerDuty does not know: the e-mail lookup (GET /users/{id}) answers 404 → VendorRejected", async () => {
    pd.setOnCall(POLICY, [{ userId: 'PGHOST', level: 1 }]);
    const { connectOnCall } = createOnCallActivities(deps);
    const failure = await failureOf(connectOnCall(input));
    assert.deepEqual(
      pd.received.map((r) => `${r.path} ${r.status}`),
      ['/oncalls 200', '/users/PGHOST 404'],
    );
    assert.equal(failure.type, FailureTypes.VendorRejected);
    assert.equal(failure.nonRetryable, true);
  });

  test("429: pdjs's own retries are bounded (not 3 × 20 s) and Temporal gets RateLimited with Retry-After", async () => {
    pd.failNextRest({ status: 429, retryAfterSeconds: 7, times: 4 });
    const { connectOnCall } = createOnCallActivities(deps);
    const started = Date.now();
    const failure = await failureOf(connectOnCall(input));
    const elapsed = Date.now() - started;
    assert.equal(failure.type, FailureTypes.RateLimited);
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay, 7000);
    assert.equal(pd.received.length, 4, 'one call and pdjs\'s three hard-coded retries');
    assert.ok(elapsed < 10_000, `gave up after ${elapsed} ms`);
  });

  test('a proxy HTML page or a 5xx is retryable (PagerDutyUnavailable)', async () => {
    const { connectOnCall } = createOnCallActivities(deps);
    pd.failNextRest({ status: 'html' });
    const html = await failureOf(connectOnCall(input));
    assert.equal(html.type, OnCallFailureTypes.PagerDutyUnavailable);
    assert.equal(html.nonRetryable, false);
    pd.failNextRest({ status: 503 });
    const unavailable = await failureOf(connectOnCall(input));
    assert.equal(unavailable.type, OnCallFailureTypes.PagerDutyUnavailable);
    assert.match(unavailable.message, /503/);
  });

  test('the stand-in checks what PagerDuty checks', async () => {
    // pdjs's api() with the Bearer token type, a bad include[] and the Accept header are refused.
    const { api } = await import('@pagerduty/pdjs');
    const server = deps.oncall?.server as string;
    const bearer = await api({ token: REST_TOKEN, tokenType: 'bearer', server, endpoint: '/oncalls', agent } as never);
    assert.equal(bearer.status, 401);
    const badInclude = await api({
      token: REST_TOKEN,
      server,
      endpoint: '/oncalls',
      queryParameters: { 'include[]': ['people'] },
      agent,
    } as never);
    assert.equal(badInclude.status, 400);
    assert.deepEqual((badInclude.data as { error: { code: number } }).error.code, 2001);
    const v1 = await api({ token: REST_TOKEN, server, endpoint: '/oncalls', version: 1, agent } as never);
    assert.equal(v1.status, 406);
    // escalation_policy_ids without [] is ignored, as PagerDuty ignores unknown parameters: every policy comes back.
    const unfiltered = await api({
      token: REST_TOKEN,
      server,
      endpoint: '/oncalls',
      queryParameters: { escalation_policy_ids: POLICY },
      agent,
    } as never);
    const ids = (unfiltered.data as { oncalls: { escalation_policy: { id: string } }[] }).oncalls.map((o) => o.escalation_policy.id);
    assert.ok(ids.includes(OTHER_POLICY));
  });
});
