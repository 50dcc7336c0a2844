// Attacks on the confirm tier's batch (one ask and one Duo push per person per window): the batch is keyed by the person
// the people directory finds behind a trusted identity, its message takes an answer only from that person and only for
// the reviews it listed when it was shown. Played through the intake (default policy: a security group opened to the
// world on tcp/443 is confirm tier), the review and batch workflows on a Temporal dev server, the production worker
// and Slack interactivity handler, and the Slack and Duo stand-ins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredMessage } from '../../src/demo/sandbox/slack';
import { BATCH_MESSAGE_EVENT_TYPE } from '../../src/slack/batch-blocks';
import { ACCOUNT, roleSession, sgRecord, ssoSession, startAttackStack, until, USERS, type AttackStack } from '../helpers/slack-attack';

const ALICE = USERS.find((u) => u.name === 'alice')?.id as string;
const MALLORY = USERS.find((u) => u.name === 'mallory')?.id as string;

let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({
    confirmBatchSeconds: 3,
    // Every push is approved at once: whatever reaches Duo is confirmed.
    duoUsers: USERS.map((u) => ({ username: u.email, status: 'active' as const, autoAnswer: { answer: 'allow' as const, afterMs: 50 } })),
    // The shared ops-admin role is mallory's (an exact-account glob, as the README's people directory shows).
    people: { [`arn:aws:sts::${ACCOUNT}:assumed-role/ops-admin/*`]: { email: 'mallory@example.com', slackUserId: MALLORY } },
  });
});

after(async () => {
  await stack?.stop();
});

async function ingest(eventId: string, identity: Record<string, unknown>, groupId: string): Promise<string> {
  const started = await stack.ingest(sgRecord({ eventId, identity, groupId }));
  assert.equal(started.status, 'started', JSON.stringify(started));
  return (started as { workflowId: string }).workflowId;
}

/** The batch messages in `userId`'s DM (metadata names the batch and the reviews it lists). */
function batchMessages(userId: string): StoredMessage[] {
  const channel = stack.slack.dmChannelOf(userId);
  return stack.slack.messages.filter((m) => m.channel === channel && m.metadata?.event_type === BATCH_MESSAGE_EVENT_TYPE);
}

function listed(m: StoredMessage): string[] {
  return String(m.metadata?.event_payload.reviewIds ?? '').split(',').filter(Boolean);
}

function pushesTo(email: string): number {
  return stack.duo.transactions().filter((tx) => tx.username === email).length;
}

describe('the confirm batch answers only for its person and the changes it showed', { timeout: 120_000 }, () => {
  test("a click by someone else on alice's batch message confirms nothing and sends no Duo push", async () => {
    const ids = [
      await ingest('cb000000-0000-4000-8000-000000000001', ssoSession('alice@example.com'), 'sg-0a11ce0000000b001'),
      await ingest('cb000000-0000-4000-8000-000000000002', ssoSession('alice@example.com'), 'sg-0a11ce0000000b002'),
    ];
    const message = await until(() => batchMessages(ALICE).find((m) => ids.every((id) => listed(m).includes(id))), "alice's batch message");
    const pushesBefore = pushesTo('alice@example.com');
    // mallory clicks "yes" on alice's message (a forwarded or shared view of it, a forged payload: the clicker is mallory).
    const click = stack.clickPayload(message, 'vouch_batch_yes');
    click.user = { ...click.user, id: MALLORY, username: 'mallory', name: 'mallory' };
    await stack.post(click);
    await stack.settled();
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(pushesTo('alice@example.com'), pushesBefore, "no Duo push went to alice on mallory's click");
    for (const id of ids) assert.equal((await stack.status(id)).outcome, 'PENDING', `${id} is still waiting for alice`);
    // alice's own answer still counts: she says no, and each change is denied (not confirmed).
    await stack.post(stack.clickPayload(message, 'vouch_batch_no'));
    const outcomes = await Promise.all(ids.map((id) => stack.result(id)));
    assert.deepEqual(outcomes.map((o) => o.outcome), ['DENIED', 'DENIED'], JSON.stringify(outcomes.map((o) => o.reason)));
  });

  test("a change made after alice's batch message was shown is not confirmed by her \"yes\" to it", async () => {
    const shown = [
      await ingest('cb000000-0000-4000-8000-000000000011', ssoSession('alice@example.com'), 'sg-0a11ce0000000b011'),
      await ingest('cb000000-0000-4000-8000-000000000012', ssoSession('alice@example.com'), 'sg-0a11ce0000000b012'),
    ];
    const message = await until(() => batchMessages(ALICE).find((m) => shown.every((id) => listed(m).includes(id))), "alice's batch message");
    // A change made (with alice's identity) after she saw the message, before she clicks.
    const late = await ingest('cb000000-0000-4000-8000-000000000013', ssoSession('alice@example.com'), 'sg-0bad00000000b013');
    await stack.post(stack.clickPayload(message, 'vouch_batch_yes'));
    const outcomes = await Promise.all(shown.map((id) => stack.result(id)));
    assert.deepEqual(outcomes.map((o) => o.outcome), ['CONFIRMED', 'CONFIRMED'], JSON.stringify(outcomes.map((o) => o.reason)));
    assert.ok(!listed(message).includes(late), 'the message never listed the later change');
    // The later change is asked about on its own (alone in its window) and stays unconfirmed.
    await until(() => stack.reviewMessages(late)[0], 'the later change\'s own review DM');
    const s = await stack.status(late);
    assert.equal(s.outcome, 'PENDING', JSON.stringify(s.timeline));
    assert.ok(!s.timeline.some((t) => t.step === 'engineer.answered'), 'no answer was recorded for the later change');
  });

  test("a change by mallory in a session named after alice is never in alice's batch, and alice's \"yes\" does not confirm it", async () => {
    const aliceIds = [
      await ingest('cb000000-0000-4000-8000-000000000021', ssoSession('alice@example.com'), 'sg-0a11ce0000000b021'),
      // Same session name as alice's Identity Center session: the name is the caller's choice.
      await ingest('cb000000-0000-4000-8000-000000000022', roleSession('ops-admin', 'alice@example.com'), 'sg-0bad00000000b022'),
      await ingest('cb000000-0000-4000-8000-000000000023', ssoSession('alice@example.com'), 'sg-0a11ce0000000b023'),
    ];
    const malloryId = aliceIds.splice(1, 1)[0] as string;
    const message = await until(() => batchMessages(ALICE).find((m) => aliceIds.every((id) => listed(m).includes(id))), "alice's batch message");
    assert.deepEqual(listed(message).sort(), [...aliceIds].sort(), 'alice is asked about her two changes only');
    assert.ok(!JSON.stringify(message.blocks).includes('sg-0bad00000000b022'), "mallory's change is not shown to alice");
    await stack.post(stack.clickPayload(message, 'vouch_batch_yes'));
    const outcomes = await Promise.all(aliceIds.map((id) => stack.result(id)));
    assert.deepEqual(outcomes.map((o) => o.outcome), ['CONFIRMED', 'CONFIRMED']);
    // mallory's change is asked of mallory, on its own, and stays unconfirmed.
    const dm = await until(() => stack.reviewMessages(malloryId)[0], "mallory's own review DM");
    assert.equal(dm.channel, stack.slack.dmChannelOf(MALLORY));
    assert.equal((await stack.status(malloryId)).outcome, 'PENDING');
    assert.equal(batchMessages(MALLORY).length, 0);
  });
});
