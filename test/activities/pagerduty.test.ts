// PagerDuty activities against the real @pagerduty/pdjs client and the loopback Events API v2 stand-in.
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import type { Logger } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { change as changeEvent, event } from '@pagerduty/pdjs';
import { createPagerDutyActivities, type PagerDutyDeps } from '../../activities/pagerduty';
import { PagerDutyStandIn } from '../../src/demo/sandbox/pagerduty';
import { FailureTypes, type Change, type IncidentInput, type Verdict } from '../../src/core/types';

const ROUTING_KEY = 'R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y01'; // 32 characters
const OTHER_KEY = 'WrongKeyWrongKeyWrongKeyWrongKey';
const PASSWORD = 'hunter2-do-not-page-me';
const USER_DATA = 'IyEvYmluL2Jhc2gKY3VybCBldmlsLmV4YW1wbGUgfCBzaA==';
const REVIEW_URL = 'http://localhost:8233/namespaces/default/workflows/review-ct-e1';

const change: Change = {
  eventId: 'e1f2a3b4-0000-4000-8000-000000000001',
  eventTime: '2026-10-01T12:34:56Z',
  account: '123456789012',
  region: 'eu-west-1',
  eventSource: 'ec2.amazonaws.com',
  eventName: 'AuthorizeSecurityGroupIngress',
  actor: {
    type: 'AssumedRole',
    name: 'alice@example.com',
    arn: 'arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin/alice@example.com',
  },
  sourceIp: '203.0.113.7',
  request: { groupId: 'sg-0123', password: PASSWORD, userData: USER_DATA },
  response: null,
  summary: 'sg-0123 opened to 0.0.0.0/0 on tcp/22',
};

const verdict: Verdict = {
  tier: 'page',
  score: 90,
  rules: ['sg-world-open-admin-port'],
  reasons: ['tcp/22 open to 0.0.0.0/0'],
  deadlineSeconds: 900,
  revertPlan: {
    service: 'ec2',
    operation: 'RevokeSecurityGroupIngress',
    input: { GroupId: 'sg-0123', SecurityGroupRuleIds: ['sgr-1'] },
    description: 'revoke sgr-1 from sg-0123',
  },
};

function incidentInput(overrides: Partial<IncidentInput> = {}): IncidentInput {
  return {
    dedupKey: `ct:${change.eventId}`,
    summary: `Unconfirmed AWS change: ${change.summary}`,
    severity: 'critical',
    change,
    verdict,
    reviewUrl: REVIEW_URL,
    // The raw request would be a leak if redaction were skipped: it must arrive redacted.
    details: { outcome: 'DENIED', request: change.request },
    ...overrides,
  };
}

/** The parts of an Events v2 body the tests read. */
interface SentEvent {
  routing_key: string;
  event_action: string;
  dedup_key?: string;
  client?: string;
  client_url?: string;
  links?: unknown;
  payload: Record<string, unknown> & { custom_details: Record<string, unknown> & { actor: { name: string } } };
}

const silentLogger: Logger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** Asserts `promise` rejects with an ApplicationFailure and returns it. */
async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('PagerDuty activities (pdjs against the Events API v2 stand-in)', () => {
  const standIn = new PagerDutyStandIn({ routingKey: ROUTING_KEY });
  let server = '';
  let agent: https.Agent;
  let deps: PagerDutyDeps;

  before(async () => {
    const address = await standIn.start();
    server = address.server;
    agent = new https.Agent({ ca: address.ca });
    deps = { pagerduty: { routingKey: ROUTING_KEY, server, agent, timeoutMs: 3000 } };
  });

  after(async () => {
    agent.destroy();
    await standIn.stop();
  });

  beforeEach(() => standIn.reset());

  test('trigger carries every required field, the severity and a review link, and no secrets', async () => {
    const { triggerIncident } = createPagerDutyActivities(deps);
    const result = await triggerIncident(incidentInput());

    assert.deepEqual(result, { dedupKey: `ct:${change.eventId}` });
    const [request] = standIn.received;
    assert.ok(request);
    assert.equal(request.status, 202);
    assert.equal(request.path, '/v2/enqueue');
    assert.match(String(request.headers['content-type']), /^application\/json/);
    assert.match(String(request.headers['user-agent']), /^pdjs\//);

    const body = request.body as SentEvent;
    assert.equal(body.routing_key, ROUTING_KEY);
    assert.equal(body.event_action, 'trigger');
    assert.equal(body.dedup_key, `ct:${change.eventId}`);
    assert.equal(body.client, 'vouch');
    assert.equal(body.client_url, REVIEW_URL);
    assert.deepEqual(body.links, [{ href: REVIEW_URL, text: 'Review in Temporal' }]);
    assert.deepEqual(
      { ...body.payload, custom_details: undefined },
      {
        summary: `Unconfirmed AWS change: ${change.summary}`,
        source: 'vouch',
        severity: 'critical',
        timestamp: change.eventTime,
        component: 'ec2.amazonaws.com',
        group: '123456789012',
        class: 'AuthorizeSecurityGroupIngress',
        custom_details: undefined,
      },
    );
    const details = body.payload.custom_details;
    assert.equal(details.reviewUrl, REVIEW_URL);
    assert.equal(details.change, change.summary);
    assert.equal(details.account, change.account);
    assert.equal(details.region, change.region);
    assert.equal(details.eventId, change.eventId);
    assert.equal(details.actor.name, 'alice@example.com');
    assert.equal(details.tier, 'page');
    assert.equal(details.score, 90);
    assert.deepEqual(details.rules, verdict.rules);
    assert.deepEqual(details.reasons, verdict.reasons);
    assert.equal(details.revertPlan, 'revoke sgr-1 from sg-0123');
    assert.equal(details.outcome, 'DENIED');
    assert.deepEqual(details.request, { groupId: 'sg-0123', password: '<redacted>', userData: '<redacted>' });

    assert.ok(!request.rawBody.includes(PASSWORD), 'the password reached PagerDuty');
    assert.ok(!request.rawBody.includes(USER_DATA), 'the user data reached PagerDuty');

    const incident = standIn.incident(`ct:${change.eventId}`);
    assert.equal(incident?.status, 'triggered');
    assert.equal(incident?.severity, 'critical');
  });

  test('a summary over 1024 characters is cut to 1024 with an ellipsis and still accepted', async () => {
    const { triggerIncident } = createPagerDutyActivities(deps);
    await triggerIncident(incidentInput({ summary: 'x'.repeat(3000), severity: 'warning' }));

    const summary = (standIn.events[0]?.body.payload as { summary: string }).summary;
    assert.equal(summary.length, 1024);
    assert.ok(summary.endsWith('…'));
    assert.equal(standIn.incident(`ct:${change.eventId}`)?.severity, 'warning');
  });

  test('record text reaches PagerDuty as inert plain text: no links, no markup, no control characters, capped', async () => {
    const { triggerIncident } = createPagerDutyActivities(deps);
    const crafted: Change = {
      ...change,
      summary: 'sg-0123 opened <https://evil.example/login|Click to approve> see www.evil.example\n<!channel>',
      actor: { ...change.actor, name: 'https://evil.example/x?<img src=x>' },
      eventName: 'Authorize<b>SecurityGroupIngress',
    };
    await triggerIncident(
      incidentInput({
        change: crafted,
        summary: `Unconfirmed AWS change by ${crafted.actor.name}: ${crafted.summary}`,
        details: { timeline: ['t1 slack.posted: ' + 'y'.repeat(5000)], note: 'javascript://alert(1) ftp://files.example' },
      }),
    );
    const [request] = standIn.received;
    assert.equal(request?.status, 202);
    const body = request?.body as SentEvent;
    // Only vouch's own link is a link or an image; record text never is.
    assert.deepEqual(body.links, [{ href: REVIEW_URL, text: 'Review in Temporal' }]);
    assert.equal((body as { images?: unknown }).images, undefined);
    assert.equal(body.client_url, REVIEW_URL);
    const { reviewUrl, ...recordText } = body.payload.custom_details;
    assert.equal(reviewUrl, REVIEW_URL);
    const text = JSON.stringify({ ...body.payload, custom_details: recordText });
    assert.doesNotMatch(text, /[a-z]:\/\//i, 'no scheme://');
    assert.doesNotMatch(text, /[<>]/, 'no angle brackets');
    assert.doesNotMatch(text, /www\.evil/);
    assert.doesNotMatch(text, /\\n/, 'no newlines');
    assert.match(body.payload.summary as string, /https\[:\]\/\/evil\.example\/x/, 'the text is still readable');
    assert.match(body.payload.summary as string, /‹!channel›/);
    assert.equal(body.payload.class, 'Authorize‹b›SecurityGroupIngress');
    const timeline = recordText.timeline as string[];
    assert.ok(timeline[0] && timeline[0].length <= 2000, 'each string is capped');
  });

  test('triggerAlert pages about vouch itself with the same plain text and only the review link', async () => {
    const { triggerAlert } = createPagerDutyActivities(deps);
    await triggerAlert({
      dedupKey: 'vouch-terminated-run-1',
      summary: 'Review TERMINATED through Temporal: <https://evil.example|x>',
      severity: 'critical',
      kind: 'review-terminated',
      details: { workflowId: 'vouch-1-e', change: 'see http://evil.example' },
      reviewUrl: REVIEW_URL,
    });
    const body = standIn.received[0]?.body as SentEvent;
    assert.equal(standIn.received[0]?.status, 202);
    assert.deepEqual(body.links, [{ href: REVIEW_URL, text: 'Review in Temporal' }]);
    assert.equal(body.payload.summary, 'Review TERMINATED through Temporal: ‹https[:]//evil.example|x›');
    assert.equal(body.payload.custom_details.change, 'see http[:]//evil.example');
    assert.equal(standIn.incident('vouch-terminated-run-1')?.status, 'triggered');
  });

  test('re-triggering the same dedup key appends to the one open incident', async () => {
    const { triggerIncident } = createPagerDutyActivities(deps);
    await triggerIncident(incidentInput());
    await triggerIncident(incidentInput({ details: { answer: 'no, this was not me', answeredBy: 'U123' } }));

    assert.equal(standIn.incidents.length, 1);
    const incident = standIn.incident(`ct:${change.eventId}`);
    assert.equal(incident?.events.length, 2);
    assert.equal(incident?.customDetailsHistory[1]?.answer, 'no, this was not me');
    assert.equal(incident?.status, 'triggered');
  });

  test('resolve closes the incident and carries the note; a later trigger opens a new one', async () => {
    const { triggerIncident, resolveIncident } = createPagerDutyActivities(deps);
    const seen: string[] = [];
    const onEvent = (e: { kind: string }): void => void seen.push(e.kind);
    standIn.on('event', onEvent);
    try {
      await triggerIncident(incidentInput());
      await resolveIncident({ dedupKey: `ct:${change.eventId}`, note: 'alice confirmed with Duo' });
    } finally {
      standIn.off('event', onEvent);
    }

    const incident = standIn.incident(`ct:${change.eventId}`);
    assert.equal(incident?.status, 'resolved');
    assert.ok(incident?.resolvedAt);
    const resolve = incident?.events[1]?.body as unknown as SentEvent;
    assert.equal(resolve.event_action, 'resolve');
    assert.equal(resolve.payload.custom_details.note, 'alice confirmed with Duo');
    assert.deepEqual(seen, ['trigger', 'resolve']);

    await triggerIncident(incidentInput());
    assert.equal(standIn.incidents.length, 2);
    assert.equal(standIn.incident(`ct:${change.eventId}`)?.status, 'triggered');
  });

  test('a wrong routing key is rejected (400) as non-retryable VendorRejected naming the field', async () => {
    const { triggerIncident } = createPagerDutyActivities({
      pagerduty: { ...deps.pagerduty, routingKey: OTHER_KEY },
    });
    const failure = await failureOf(triggerIncident(incidentInput()));

    assert.equal(failure.type, FailureTypes.VendorRejected);
    assert.equal(failure.nonRetryable, true);
    assert.match(failure.message, /Event object is invalid/);
    assert.match(failure.message, /'routing_key' is invalid/);
    assert.ok(!failure.message.includes(OTHER_KEY), 'the routing key leaked into the failure');
    assert.equal(standIn.received[0]?.status, 400);
    assert.equal(standIn.incidents.length, 0);
  });

  test('the stand-in rejects events PagerDuty would reject, naming the field', async () => {
    const valid = {
      routing_key: ROUTING_KEY,
      event_action: 'trigger' as const,
      dedup_key: 'ct:schema',
      payload: { summary: 'schema check', source: 'vouch', severity: 'critical' as const },
    };
    const withPayload = (changes: Record<string, unknown>) => ({ ...valid, payload: { ...valid.payload, ...changes } });
    const cases: [name: string, data: Record<string, unknown>, field: RegExp][] = [
      ['invalid severity', withPayload({ severity: 'high' }), /payload\.severity/],
      ['no summary', withPayload({ summary: undefined }), /payload\.summary/],
      ['long summary', withPayload({ summary: 'y'.repeat(1025) }), /payload\.summary/],
      ['no source', withPayload({ source: undefined }), /payload\.source/],
      ['custom_details not an object', withPayload({ custom_details: 'text' }), /custom_details/],
      ['timestamp not ISO 8601', withPayload({ timestamp: 'yesterday' }), /payload\.timestamp/],
      ['no payload', { ...valid, payload: undefined }, /'payload'/],
      ['bad action', { ...valid, event_action: 'escalate' }, /event_action/],
      ['resolve without key', { routing_key: ROUTING_KEY, event_action: 'resolve' }, /dedup_key/],
      ['long dedup key', { ...valid, dedup_key: 'k'.repeat(256) }, /dedup_key/],
      ['short routing key', { ...valid, routing_key: 'abc' }, /routing_key/],
      ['link without href', { ...valid, links: [{ text: 'x' }] }, /links\[0\]\.href/],
      ['http image', { ...valid, images: [{ src: 'http://example.com/a.png' }] }, /images\[0\]\.src/],
    ];
    for (const [name, data, field] of cases) {
      const res = await event({ data: data as never, server, agent } as Parameters<typeof event>[0]);
      assert.equal(res.status, 400, name);
      assert.equal(res.data.status, 'invalid event', name);
      assert.match((res.data.errors as string[]).join(' '), field, name);
    }
    const ok = await event({ data: valid, server, agent } as Parameters<typeof event>[0]);
    assert.equal(ok.status, 202);
    assert.deepEqual(ok.data, { status: 'success', message: 'Event processed', dedup_key: 'ct:schema' });
  });

  test('the stand-in accepts change events and still checks them', async () => {
    const data = {
      routing_key: ROUTING_KEY,
      payload: { summary: 'sg-0123 reverted by vouch', timestamp: change.eventTime, custom_details: { by: 'vouch' } },
      links: [{ href: REVIEW_URL }],
    };
    const ok = await changeEvent({ data, server, agent } as unknown as Parameters<typeof changeEvent>[0]);
    assert.equal(ok.status, 202);
    assert.equal(standIn.changeEvents.length, 1);
    assert.equal(standIn.received[0]?.path, '/v2/change/enqueue');

    const bad = { ...data, payload: { ...data.payload, summary: '' } };
    const rejected = await changeEvent({ data: bad, server, agent } as unknown as Parameters<typeof changeEvent>[0]);
    assert.equal(rejected.status, 400);
    assert.match((rejected.data.errors as string[]).join(' '), /payload\.summary/);
    assert.equal(standIn.changeEvents.length, 1);
  });

  test('a sustained 429 fails fast as retryable RateLimited that honours Retry-After', async () => {
    standIn.failNext({ status: 429, retryAfterSeconds: 7, times: 10 });
    const { triggerIncident } = createPagerDutyActivities(deps);
    const started = Date.now();
    const failure = await failureOf(triggerIncident(incidentInput()));

    assert.ok(Date.now() - started < 2500, `took ${Date.now() - started} ms`);
    assert.equal(failure.type, FailureTypes.RateLimited);
    assert.notEqual(failure.nonRetryable, true);
    assert.equal(failure.nextRetryDelay, 7000);
    assert.equal(standIn.received.length, 4, 'pdjs retries a 429 three times, here a few hundred ms apart');
  });

  test('a 429 without Retry-After backs off with the activity attempt', async () => {
    standIn.failNext({ status: 429, times: 10 });
    const { triggerIncident } = createPagerDutyActivities(deps);
    const env = new MockActivityEnvironment({ attempt: 3 }, { logger: silentLogger });
    const failure = await failureOf(env.run(triggerIncident, incidentInput()));

    assert.equal(failure.type, FailureTypes.RateLimited);
    assert.equal(failure.nextRetryDelay, 20_000);
  });

  test('a single 429 is absorbed by the bounded pdjs retry', async () => {
    standIn.failNext({ status: 429 });
    const { triggerIncident } = createPagerDutyActivities(deps);
    await triggerIncident(incidentInput());

    assert.deepEqual(
      standIn.received.map((r) => r.status),
      [429, 202],
    );
    assert.equal(standIn.incident(`ct:${change.eventId}`)?.status, 'triggered');
  });

  test('a 500 is a retryable failure', async () => {
    standIn.failNext({ status: 500 });
    const { resolveIncident } = createPagerDutyActivities(deps);
    const failure = await failureOf(resolveIncident({ dedupKey: 'ct:any' }));

    assert.notEqual(failure.nonRetryable, true);
    assert.match(failure.message, /\(500\)/);
    assert.equal(standIn.received.length, 1);
  });

  test('a 403 is non-retryable InvalidCredentials', async () => {
    standIn.failNext({ status: 403 });
    const { triggerIncident } = createPagerDutyActivities(deps);
    const failure = await failureOf(triggerIncident(incidentInput()));

    assert.equal(failure.type, FailureTypes.InvalidCredentials);
    assert.equal(failure.nonRetryable, true);
    assert.ok(!failure.message.includes(ROUTING_KEY));
  });

  test('an unanswered request is abandoned after timeoutMs as a retryable failure', async () => {
    standIn.failNext({ status: 'stall' });
    const { triggerIncident } = createPagerDutyActivities({ pagerduty: { ...deps.pagerduty, timeoutMs: 400 } });
    const started = Date.now();
    const failure = await failureOf(triggerIncident(incidentInput()));

    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    assert.notEqual(failure.nonRetryable, true);
    assert.match(failure.message, /abort/i);
  });

  test('a connection refused is a retryable failure without the routing key', async () => {
    const port = await closedPort();
    const { triggerIncident } = createPagerDutyActivities({
      pagerduty: { ...deps.pagerduty, server: `127.0.0.1:${port}` },
    });
    const failure = await failureOf(triggerIncident(incidentInput()));

    assert.notEqual(failure.nonRetryable, true);
    assert.match(failure.message, /ECONNREFUSED/);
    assert.ok(!failure.message.includes(ROUTING_KEY));
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
