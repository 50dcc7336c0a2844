// Attacks on the Duo step of a review, through the real path: a CloudTrail record through intake and the shipped
// policy, the review on a Temporal dev server run by the production worker, Duo's own client against the Duo
// stand-in (which checks every signed request as Duo does).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionUpdate, duoRetryUpdate, statusQuery } from '../../workflows/messages';
import { eventually } from '../helpers/temporal';
import { iamUser, iamUserArn, openSecurityGroup, startAttackStack, type AttackStack } from '../helpers/workflow-attack-stack';

const ALICE = { id: 'U0ALICE001', email: 'alice@example.com', name: 'alice' };
const BOB = { id: 'U0BOB00002', email: 'bob@example.com', name: 'bob' };
let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({
    people: {
      [iamUserArn('alice')]: { email: ALICE.email, slackUserId: ALICE.id, duoUsername: 'alice', displayName: 'Alice' },
      [iamUserArn('bob')]: { email: BOB.email, slackUserId: BOB.id, duoUsername: 'bob', displayName: 'Bob' },
    },
    slackUsers: [ALICE, BOB],
    duoUsers: [
      // Alice is a Duo bypass user: Duo lets her through without a push.
      { username: 'alice', status: 'bypass' },
      // Bob approves every push he gets.
      { username: 'bob', status: 'active', autoAnswer: { answer: 'allow', afterMs: 200 } },
    ],
    duoTimeouts: { requestTimeoutMs: 2_000 },
  });
});
after(async () => {
  await stack?.stop();
});

describe('attack: the Duo step', { timeout: 120_000 }, () => {
  test('a Duo bypass user who says "yes" is escalated and security paged, never CONFIRMED', async () => {
    const { handle } = await stack.ingest(openSecurityGroup(iamUser('alice')));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');
    const messageTs = stack.reviewMessage(handle.workflowId)?.ts;
    assert.ok(messageTs, 'the review DM was posted');
    await handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: ALICE.id, answer: 'yes', messageTs }] });
    const out = await handle.result();

    assert.notEqual(out.outcome, 'CONFIRMED', 'a bypass user confirmed a change without any push');
    assert.equal(out.outcome, 'ESCALATED');
    assert.match(out.reason, /bypass/);
    assert.ok(out.timeline.some((t) => t.step === 'duo.bypass'), 'the timeline says why');
    const incident = stack.pagerduty.incident(handle.workflowId);
    assert.equal(incident?.status, 'triggered', 'security was paged');
    assert.match(incident?.summary ?? '', /bypass/);
    assert.ok(!stack.duo.requests.some((r) => r.path === '/auth/v2/auth' && r.params.username === 'alice'), 'no push was even sent');
  });

  test('a Duo /auth that hangs sends one push and never a second; the engineer may ask for another', async () => {
    const { handle } = await stack.ingest(openSecurityGroup(iamUser('bob'), 'sg-0attack000000002', 'sgr-0attack00000002'));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');
    const messageTs = stack.reviewMessage(handle.workflowId)?.ts;
    assert.ok(messageTs);
    const authCalls = (): number =>
      stack.duo.requests.filter((r) => r.path === '/auth/v2/auth').length + stack.duo.rejections.filter((r) => r.path === '/auth/v2/auth').length;
    const before = authCalls();
    // The first /auth is accepted and never answered, as from a Duo that hangs (or a worker that died after it).
    stack.duo.failNext({ stall: true, path: '/auth/v2/auth' });
    await handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: BOB.id, answer: 'yes', messageTs }] });

    // Wait until the push attempt is over: a failed push (new), or the review ended (a retry pushed again).
    const settled = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.phase === 'DUO_FAILED' || s.outcome !== 'PENDING' ? s : undefined;
    }, 60_000, 'the push attempt to end');
    assert.equal(authCalls() - before, 1, 'a retry sent a second Duo push after /auth had been called');
    assert.equal(settled.phase, 'DUO_FAILED');
    assert.ok(settled.timeline.some((t) => t.step === 'duo.failed' && /may not have reached/.test(t.result)));

    // The engineer asks for another push (counted against the limit): one more /auth, approved.
    await handle.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: BOB.id, messageTs, duoAttempt: 1 }] });
    const out = await handle.result();
    assert.equal(out.outcome, 'CONFIRMED');
    assert.equal(authCalls() - before, 2);
  });
});
