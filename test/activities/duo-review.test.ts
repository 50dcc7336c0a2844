// Duo inside a review: the production worker runs the real Duo activities (@duosecurity/duo_api) against the Duo
// stand-in, which answers an unanswered push the way Duo documents it (auth_status `result: waiting` with
// `status: timeout`, or `push_failed`). An expired or undelivered push is not a denial: nobody is paged, the engineer
// may ask for another push, and only the deadline ends the review (TIMED_OUT, not DENIED). A real "deny" is DENIED.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createDuoActivities, createDuoClient } from '../../activities/duo';
import { DuoStandIn, type DuoStandInAddress, type DuoStandInEvent } from '../../src/demo/sandbox/duo';
import { installDuoLoopbackRedirect } from '../../src/demo/sandbox/duo-redirect';
import { startReview } from '../../src/intake/starter';
import { decisionUpdate, duoRetryUpdate, statusQuery } from '../../workflows/messages';
import type { ReviewStatus } from '../../src/core/types';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput } from '../helpers/review-input';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';

const IKEY = 'DIREVIEWDUOTEST00001';
const SKEY = 'r3v13wDu0T3stS3cr3tK3yF0rTh3St4nd1nXyz0';
const taskQueue = `duo-review-${randomUUID()}`;
const fake = new FakeVendors();
const duo = new DuoStandIn({ ikey: IKEY, skey: SKEY, pushTimeoutMs: 1500, longPollMs: 300 });
const events: DuoStandInEvent[] = [];
let address: DuoStandInAddress;
let uninstall: () => void;
let stack: ReviewStack;

before(async () => {
  address = await duo.start();
  uninstall = installDuoLoopbackRedirect(address);
  duo.on('event', (e: DuoStandInEvent) => events.push(e));
  const realDuo = createDuoActivities({ duo: createDuoClient({ ikey: IKEY, skey: SKEY, host: address.host }), duoPolling: { minRoundMs: 50 } });
  stack = await startReviewStack({ ...fake.activities(), ...realDuo }, taskQueue);
});

after(async () => {
  await stack?.stop();
  uninstall?.();
  await duo.stop();
});

/** A confirm-tier review of eng-<k>, whose Duo user (the fake's directory: eng-<k>@example.com) is enrolled. */
async function answeredYes(k: string, deadlineSeconds: number, autoAnswer?: 'push_failed') {
  duo.addUser({ username: `eng-${k}@example.com`, status: 'active', ...(autoAnswer ? { autoAnswer: { answer: autoAnswer, afterMs: 100 } } : {}) });
  const { handle } = await startReview(stack.env.client, reviewInput(k, { verdict: { deadlineSeconds } }), { taskQueue, uiBaseUrl: 'http://ui' });
  await eventually(async () => (await handle.query(statusQuery)).phase === 'AWAITING_ANSWER', 20_000, 'the question');
  await handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
  return handle;
}

async function failedPush(handle: Awaited<ReturnType<typeof answeredYes>>, n: number): Promise<ReviewStatus> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    return s.phase === 'DUO_FAILED' && s.duoPushes === n ? s : undefined;
  }, 20_000, `push ${n} to end without an answer`);
}

describe('Duo pushes in a review, against the Duo stand-in', () => {
  test('an expired push is not a denial: nobody is paged, another push is sent on request, and approving it confirms', async () => {
    const k = randomUUID().slice(0, 8);
    const handle = await answeredYes(k, 120);
    const s = await failedPush(handle, 1);
    assert.equal(s.outcome, 'PENDING');
    assert.ok(events.some((e) => e.type === 'expired' && e.username === `eng-${k}@example.com`), 'Duo timed the push out');
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 0, 'an expired push pages nobody');
    assert.deepEqual(s.timeline.filter((t) => t.step === 'duo.answered').map((t) => t.result), ['timeout (timeout)']);

    const second = duo.waitForPush(`eng-${k}@example.com`, 20_000);
    await handle.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: `U-${k}`, messageTs: `${k}.0001`, duoAttempt: 1 }] });
    duo.decide((await second).txid, 'allow');
    const out = await handle.result();
    assert.equal(out.outcome, 'CONFIRMED');
    assert.equal(duo.transactions().filter((t) => t.username === `eng-${k}@example.com`).length, 2);
  });

  test('a push that could not be delivered, then no answer: TIMED_OUT (error page), never DENIED', async () => {
    const k = randomUUID().slice(0, 8);
    const handle = await answeredYes(k, 8, 'push_failed');
    const s = await failedPush(handle, 1);
    assert.deepEqual(s.timeline.filter((t) => t.step === 'duo.answered').map((t) => t.result), ['failed (push_failed)']);
    const out = await handle.result();
    assert.equal(out.outcome, 'TIMED_OUT');
    const pages = fake.callsFor(k, 'triggerIncident').map((c) => (c.args as { severity: string }).severity);
    assert.deepEqual(pages, ['error'], 'the deadline pages at error, not as a denial');
  });

  test('for contrast, a push the engineer denies is DENIED and pages critical', async () => {
    const k = randomUUID().slice(0, 8);
    const pushed = duo.waitForPush(`eng-${k}@example.com`, 20_000);
    const handle = await answeredYes(k, 120);
    duo.decide((await pushed).txid, 'deny');
    const out = await handle.result();
    assert.equal(out.outcome, 'DENIED');
    assert.equal((fake.callsFor(k, 'triggerIncident')[0]?.args as { severity: string }).severity, 'critical');
  });
});
