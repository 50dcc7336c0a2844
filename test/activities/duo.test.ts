// Duo activities against the loopback Duo Auth API stand-in, through the real @duosecurity/duo_api client.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { createRequire } from 'node:module';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { buildPushInfo, createDuoActivities, createDuoClient } from '../../activities/duo';
import { DuoStandIn, type DuoStandInAddress, type DuoStandInEvent } from '../../src/demo/sandbox/duo';
import { installDuoLoopbackRedirect } from '../../src/demo/sandbox/duo-redirect';
import type { Change, DuoPushInput, DuoStatus } from '../../src/core/types';

const IKEY = 'DIWJ8X6AEYOR5OMC6TQ1';
const SKEY = 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zLJ4Ep';
const PUSH_TIMEOUT_MS = 600;

const duoSig = createRequire(__filename)('@duosecurity/duo_api/lib/duo_sig') as {
  sign(ikey: string, skey: string, method: string, host: string, path: string, params: object, date: string): string;
};

function change(overrides: Partial<Change> = {}): Change {
  return {
    eventId: 'c0ffee00-1111-2222-3333-444455556666',
    eventTime: '2024-05-01T12:00:00Z',
    account: '123456789012',
    region: 'eu-west-1',
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    actor: { type: 'IAMUser', name: 'alice', arn: 'arn:aws:iam::123456789012:user/alice' },
    request: { groupId: 'sg-0123', password: 'hunter2-secret', ipPermissions: { cidrIp: '0.0.0.0/0' } },
    response: null,
    summary: 'sg-0123 opened to 0.0.0.0/0 on tcp/22',
    ...overrides,
  };
}

function pushInput(duoUsername: string, c: Change = change()): DuoPushInput {
  return { duoUsername, change: c, reviewId: `review-${duoUsername}` };
}

async function waitUntil(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

type DuoActivities = ReturnType<typeof createDuoActivities>;

/** Runs awaitDuoResult inside a mock activity context (it heartbeats and honours cancellation). */
function awaitResult(env: MockActivityEnvironment, acts: DuoActivities, txid: string): Promise<DuoStatus> {
  return env.run(acts.awaitDuoResult, { txid }) as Promise<DuoStatus>;
}

function failureOf(err: unknown): ApplicationFailure {
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('Duo activities against the Duo Auth API stand-in', () => {
  const duo = new DuoStandIn({
    ikey: IKEY,
    skey: SKEY,
    pushTimeoutMs: PUSH_TIMEOUT_MS,
    longPollMs: 100,
    users: [
      { username: 'alice', status: 'active' },
      { username: 'bob', status: 'enroll' },
      {
        username: 'carol',
        status: 'active',
        devices: [{ device: 'DPSMSONLY00', type: 'phone', display_name: 'Landline', capabilities: ['phone', 'sms'] }],
      },
      { username: 'dave', status: 'deny' },
      { username: 'erin', status: 'active', autoAnswer: { answer: 'push_failed', afterMs: 150 } },
      { username: 'grace', status: 'bypass' },
    ],
  });
  const events: DuoStandInEvent[] = [];
  let address: DuoStandInAddress;
  let uninstall: () => void;
  let activities: DuoActivities;

  const originalAgent = https.globalAgent;

  before(async () => {
    address = await duo.start();
    uninstall = installDuoLoopbackRedirect(address);
    duo.on('event', (e: DuoStandInEvent) => events.push(e));
    activities = createDuoActivities({
      duo: createDuoClient({ ikey: IKEY, skey: SKEY, host: address.host }),
      duoPolling: { minRoundMs: 20 },
    });
  });

  after(async () => {
    uninstall();
    await duo.stop();
    assert.equal(https.globalAgent, originalAgent, 'uninstalling the redirect restores the global agent');
  });

  function polls(txid: string): number {
    return duo.requests.filter((r) => r.path === '/auth/v2/auth_status' && r.params.txid === txid).length;
  }

  /** Starts awaitDuoResult in a mock activity context, answers the push once a poll has seen it waiting. */
  async function pushAndAnswer(answer: 'allow' | 'deny' | 'fraud') {
    const { txid } = await activities.sendDuoPush(pushInput('alice'));
    const env = new MockActivityEnvironment();
    let heartbeats = 0;
    env.on('heartbeat', () => heartbeats++);
    const pending = awaitResult(env, activities, txid);
    await waitUntil(() => polls(txid) >= 1);
    duo.decide(txid, answer);
    const status = await pending;
    return { status, heartbeats, txid };
  }

  test('approved push resolves allow after heartbeating through the long-poll', async () => {
    const { status, heartbeats, txid } = await pushAndAnswer('allow');
    assert.deepEqual(status, { result: 'allow', status: 'allow', statusMessage: 'Success. Logging you in...' });
    assert.ok(heartbeats >= 2, `expected a heartbeat per round, got ${heartbeats}`);
    assert.ok(events.some((e) => e.type === 'decided' && e.txid === txid && e.answer === 'allow'));
  });

  test('denied push resolves deny', async () => {
    const { status } = await pushAndAnswer('deny');
    assert.equal(status.result, 'deny');
    assert.equal(status.status, 'deny');
  });

  test('push reported as fraud resolves fraud, not a plain deny', async () => {
    const { status } = await pushAndAnswer('fraud');
    assert.equal(status.result, 'fraud');
    assert.equal(status.status, 'fraud');
  });

  test('unanswered push ends as timeout once Duo times it out', async () => {
    const { txid } = await activities.sendDuoPush(pushInput('alice'));
    const started = Date.now();
    const status = await awaitResult(new MockActivityEnvironment(), activities, txid);
    assert.equal(status.result, 'timeout');
    assert.equal(status.status, 'timeout');
    assert.ok(polls(txid) >= 2, 'polled while the push was still waiting');
    assert.ok(Date.now() - started >= PUSH_TIMEOUT_MS - 100);
    assert.ok(events.some((e) => e.type === 'expired' && e.txid === txid));
  });

  test('waiting gives up with timeout at its own bound, before Duo does', async () => {
    const bounded = createDuoActivities({
      duo: createDuoClient({ ikey: IKEY, skey: SKEY, host: address.host }),
      duoPolling: { maxWaitMs: 250, minRoundMs: 20 },
    });
    const { txid } = await bounded.sendDuoPush(pushInput('alice'));
    const started = Date.now();
    const status = await awaitResult(new MockActivityEnvironment(), bounded, txid);
    const elapsed = Date.now() - started;
    assert.equal(status.result, 'timeout');
    assert.equal(status.status, 'pushed');
    assert.match(status.statusMessage, /no answer from Duo/);
    assert.ok(elapsed >= 240 && elapsed < PUSH_TIMEOUT_MS - 100, `took ${elapsed} ms`);
  });

  test('a retried wait keeps the deadline recorded in its heartbeat details', async () => {
    const { txid } = await activities.sendDuoPush(pushInput('alice'));
    const env = new MockActivityEnvironment({ heartbeatDetails: { txid, startedAt: Date.now() - 90_000 } });
    const status = await awaitResult(env, activities, txid);
    assert.equal(status.result, 'timeout');
    assert.match(status.statusMessage, /no answer from Duo within 90 s/);
    assert.equal(polls(txid), 0, 'the deadline had passed: not one more poll');
  });

  test('push that could not be delivered resolves failed', async () => {
    const { txid } = await activities.sendDuoPush(pushInput('erin'));
    const status = await awaitResult(new MockActivityEnvironment(), activities, txid);
    assert.equal(status.result, 'failed');
    assert.equal(status.status, 'push_failed');
  });

  test('a bypass user is allowed at once, and the status says bypass', async () => {
    const { txid } = await activities.sendDuoPush(pushInput('grace'));
    const status = await awaitResult(new MockActivityEnvironment(), activities, txid);
    assert.equal(status.result, 'allow');
    assert.equal(status.status, 'bypass');
  });

  test('cancelling the activity stops the wait promptly', async () => {
    const { txid } = await activities.sendDuoPush(pushInput('alice'));
    const env = new MockActivityEnvironment();
    const pending = awaitResult(env, activities, txid);
    await waitUntil(() => polls(txid) >= 1);
    env.cancel();
    // Not cancelled, the wait would go on until Duo times the push out and resolve with 'timeout'.
    await assert.rejects(pending, (err: unknown) => err instanceof CancelledFailure);
    assert.equal(duo.transaction(txid)?.status, 'pushed', 'stopped while the push was still waiting');
  });

  test('the push carries type, display_username and a redacted pushinfo with the event name', async () => {
    const c = change();
    const { txid } = await activities.sendDuoPush(pushInput('alice', c));
    const authRequest = duo.requests.filter((r) => r.path === '/auth/v2/auth').at(-1);
    assert.ok(authRequest);
    assert.equal(authRequest.params.factor, 'push');
    assert.equal(authRequest.params.device, 'auto');
    assert.equal(authRequest.params.async, '1');
    assert.equal(authRequest.params.type, 'AWS change');
    assert.equal(authRequest.params.display_username, 'alice');
    const pushinfo = Object.fromEntries(new URLSearchParams(String(authRequest.params.pushinfo)));
    assert.equal(pushinfo.event, 'AuthorizeSecurityGroupIngress');
    assert.equal(pushinfo.account, '123456789012');
    assert.equal(pushinfo.region, 'eu-west-1');
    assert.equal(pushinfo.summary, c.summary);
    const wire = JSON.stringify(authRequest.params);
    assert.ok(!wire.includes('hunter2'), 'no secret request values on the wire');
    assert.ok(!wire.includes('ipPermissions'), 'no raw request parameters on the wire');
    assert.equal(duo.transaction(txid)?.pushinfo.event, 'AuthorizeSecurityGroupIngress');
    assert.ok(events.some((e) => e.type === 'push-sent' && e.txid === txid && e.pushType === 'AWS change'));
    duo.decide(txid, 'deny');
  });

  test('pushinfo stays under Duo’s 20,000-byte limit for a huge summary', () => {
    const info = buildPushInfo(pushInput('alice', change({ summary: 'x'.repeat(50_000) })));
    assert.ok(Buffer.byteLength(info) < 20_000);
    assert.match(info, /^event=AuthorizeSecurityGroupIngress&/);
  });

  test('a user who is not enrolled fails non-retryably with DuoNotEnrolled and gets no push', async () => {
    const before = duo.requests.length;
    const err = failureOf(await activities.sendDuoPush(pushInput('bob')).catch((e: unknown) => e));
    assert.equal(err.type, 'DuoNotEnrolled');
    assert.equal(err.nonRetryable, true);
    assert.ok(!duo.requests.slice(before).some((r) => r.path === '/auth/v2/auth'));
  });

  test('a user without a push-capable device fails with DuoNotEnrolled', async () => {
    const err = failureOf(await activities.sendDuoPush(pushInput('carol')).catch((e: unknown) => e));
    assert.equal(err.type, 'DuoNotEnrolled');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /no push-capable device/);
  });

  test('a user Duo denies fails non-retryably with DuoDenied', async () => {
    const err = failureOf(await activities.sendDuoPush(pushInput('dave')).catch((e: unknown) => e));
    assert.equal(err.type, 'DuoDenied');
    assert.equal(err.nonRetryable, true);
  });

  test('a wrong secret key is caught by the signature check as non-retryable InvalidCredentials', async () => {
    const wrongSkey = 'WRONGWRONGWRONGWRONGWRONGWRONGWRONGWRONG';
    const wrong = createDuoActivities({ duo: createDuoClient({ ikey: IKEY, skey: wrongSkey, host: address.host }) });
    const err = failureOf(await wrong.sendDuoPush(pushInput('alice')).catch((e: unknown) => e));
    assert.equal(err.type, 'InvalidCredentials');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /40103/);
    assert.ok(!err.message.includes(wrongSkey));
    assert.equal(duo.rejections.at(-1)?.code, 40103);
  });

  test('an unknown integration key is non-retryable InvalidCredentials', async () => {
    const wrong = createDuoActivities({ duo: createDuoClient({ ikey: 'DIUNKNOWN0000000000', skey: SKEY, host: address.host }) });
    const err = failureOf(await wrong.sendDuoPush(pushInput('alice')).catch((e: unknown) => e));
    assert.equal(err.type, 'InvalidCredentials');
    assert.match(err.message, /40102/);
  });

  test('an HTML 502 from a proxy is a retryable error naming the non-JSON body, and the worker survives', async () => {
    duo.failNext({ status: 502, html: true, path: '/auth/v2/preauth' });
    const err = failureOf(await activities.sendDuoPush(pushInput('alice')).catch((e: unknown) => e));
    assert.equal(err.nonRetryable, false);
    assert.match(err.message, /not JSON/);
    assert.match(err.message, /502 Bad Gateway/);
    const { txid } = await activities.sendDuoPush(pushInput('alice'));
    assert.ok(txid);
    duo.decide(txid, 'deny');
  });

  test('a 429 comes straight back as retryable RateLimited, without the client’s 63 s backoff', async () => {
    const preauthsBefore = duo.requests.filter((r) => r.path === '/auth/v2/preauth').length;
    duo.failNext({ status: 429, path: '/auth/v2/preauth' });
    const err = failureOf(await activities.sendDuoPush(pushInput('alice')).catch((e: unknown) => e));
    // The 429 is one-shot: a client-side retry would have succeeded instead of failing RateLimited.
    assert.equal(err.type, 'RateLimited');
    assert.equal(err.nonRetryable, false);
    assert.ok(err.nextRetryDelay, 'carries a next retry delay for Temporal');
    assert.equal(duo.requests.filter((r) => r.path === '/auth/v2/preauth').length, preauthsBefore);
  });

  test('a 400xx rejection is non-retryable VendorRejected with code and detail; a 5xx is retryable', async () => {
    duo.failNext({ code: 40002, message: 'Invalid request parameters', path: '/auth/v2/auth' });
    const rejected = failureOf(await activities.sendDuoPush(pushInput('alice')).catch((e: unknown) => e));
    assert.equal(rejected.type, 'VendorRejected');
    assert.equal(rejected.nonRetryable, true);
    assert.match(rejected.message, /40002.*Invalid request parameters/);

    duo.failNext({ code: 50001, path: '/auth/v2/auth_status' });
    const serverError = failureOf(
      await new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') })
        .run(activities.awaitDuoResult, { txid: 'whatever' })
        .catch((e: unknown) => e),
    );
    assert.equal(serverError.nonRetryable, false);
    assert.match(serverError.message, /50001/);
  });

  test('a network failure is retryable', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((r) => closed.close(() => r()));
    const removeDown = installDuoLoopbackRedirect({ host: 'api-down.duosecurity.test', port, ca: address.ca });
    try {
      const down = createDuoActivities({
        duo: createDuoClient({ ikey: IKEY, skey: SKEY, host: 'api-down.duosecurity.test' }),
      });
      const err = failureOf(await down.sendDuoPush(pushInput('alice')).catch((e: unknown) => e));
      assert.equal(err.nonRetryable, false);
      assert.match(err.message, /ECONNREFUSED/);
    } finally {
      removeDown();
    }
    const { txid } = await activities.sendDuoPush(pushInput('alice'));
    assert.ok(txid, 'removing one redirect leaves the others in place');
    duo.decide(txid, 'deny');
  });
});

describe('DuoStandIn checks requests the way Duo does', () => {
  const duo = new DuoStandIn({ ikey: IKEY, skey: SKEY });
  let address: DuoStandInAddress;

  before(async () => {
    address = await duo.start();
  });
  after(() => duo.stop());

  function raw(path: string, headers: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: address.port, servername: 'localhost', ca: address.ca, method: 'GET', path, headers },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  function signed(date: string, host = address.host): Record<string, string> {
    return { Date: date, Authorization: duoSig.sign(IKEY, SKEY, 'GET', host, '/auth/v2/check', {}, date) };
  }

  test('a correctly signed check passes and ping needs no signature', async () => {
    assert.equal((await raw('/auth/v2/check', signed(new Date().toUTCString()))).status, 200);
    assert.equal((await raw('/auth/v2/ping', {})).body.stat, 'OK');
  });

  test('missing credentials, a stale date and a signature for another host are refused', async () => {
    const missing = await raw('/auth/v2/check', { Date: new Date().toUTCString() });
    assert.deepEqual([missing.status, missing.body.code], [401, 40101]);
    const stale = await raw('/auth/v2/check', signed(new Date(Date.now() - 10 * 60_000).toUTCString()));
    assert.deepEqual([stale.status, stale.body.code], [401, 40105]);
    const otherHost = await raw('/auth/v2/check', signed(new Date().toUTCString(), 'api-other.duosecurity.com'));
    assert.deepEqual([otherHost.status, otherHost.body.code], [401, 40103]);
    assert.equal(otherHost.body.message, 'Invalid signature in request credentials');
  });
});
