// Attacks with stale or replayed clicks, through the real path (intake, the shipped policy, the production worker on a
// Temporal dev server, the Slack and Duo stand-ins). A click reaches the review as the Update the click handler sends
// (src/slack/clicks.ts): the clicker, and the message and Duo attempt the button was drawn on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { decisionUpdate, duoRetryUpdate, statusQuery } from '../../workflows/messages';
import { eventually } from '../helpers/temporal';
import { deleteTrail, iamUser, iamUserArn, openSecurityGroup, startAttackStack, type AttackStack } from '../helpers/workflow-attack-stack';

const BOB = { id: 'U0BOB00002', email: 'bob@example.com', name: 'bob' };
let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({
    people: { [iamUserArn('bob')]: { email: BOB.email, slackUserId: BOB.id, duoUsername: 'bob', displayName: 'Bob' } },
    slackUsers: [BOB],
    // Every push to Bob expires unanswered.
    duoUsers: [{ username: 'bob', status: 'active', autoAnswer: { answer: 'timeout', afterMs: 200 } }],
  });
});
after(async () => {
  await stack?.stop();
});

function refusal(err: unknown): string {
  assert.ok(err instanceof WorkflowUpdateFailedError, `expected a refused Update, got ${String(err)}`);
  return String((err.cause as Error | undefined)?.message ?? err.message);
}

describe('attack: stale and replayed clicks', { timeout: 120_000 }, () => {
  test('a "yes" replayed from another message (or from none) does nothing; a click on the review\'s own message counts', async () => {
    const first = await stack.ingest(deleteTrail(iamUser('bob'), 'trail-1'));
    const second = await stack.ingest(deleteTrail(iamUser('bob'), 'trail-2'));
    await stack.waitPhase(first.handle, 'AWAITING_ANSWER');
    await stack.waitPhase(second.handle, 'AWAITING_ANSWER');
    const oldTs = stack.reviewMessage(first.handle.workflowId)?.ts;
    const ownTs = stack.reviewMessage(second.handle.workflowId)?.ts;
    assert.ok(oldTs && ownTs && oldTs !== ownTs);

    for (const messageTs of [oldTs, undefined]) {
      const said = await second.handle
        .executeUpdate(decisionUpdate, { args: [{ slackUserId: BOB.id, answer: 'yes', ...(messageTs ? { messageTs } : {}) }] })
        .then((r) => `accepted: ${r.message}`, refusal);
      assert.doesNotMatch(said, /^accepted/, `a click from ${messageTs ?? 'no message'} answered the review`);
    }
    const status = await second.handle.query(statusQuery);
    assert.equal(status.phase, 'AWAITING_ANSWER', 'the review still waits for an answer');
    assert.ok(!status.timeline.some((t) => t.step === 'engineer.answered'));

    await second.handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: BOB.id, answer: 'no', messageTs: ownTs }] });
    assert.equal((await second.handle.result()).outcome, 'DENIED');
    await first.handle.cancel();
  });

  test('"send another Duo push" replayed from an earlier failed push does nothing', async () => {
    const { handle } = await stack.ingest(openSecurityGroup(iamUser('bob'), 'sg-0click0000000003', 'sgr-0click00000003'));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');
    const messageTs = stack.reviewMessage(handle.workflowId)?.ts;
    assert.ok(messageTs);
    await handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: BOB.id, answer: 'yes', messageTs }] });
    const failedOnce = await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.phase === 'DUO_FAILED' && s.duoPushes === 1 ? s : undefined;
    }, 30_000, 'push 1 to fail');
    assert.equal(failedOnce.duoPushes, 1);
    // The button drawn for push 1, clicked: push 2, which expires too.
    await handle.executeUpdate(duoRetryUpdate, { args: [{ slackUserId: BOB.id, messageTs, duoAttempt: 1 }] });
    await eventually(async () => {
      const s = await handle.query(statusQuery);
      return s.phase === 'DUO_FAILED' && s.duoPushes === 2 ? s : undefined;
    }, 30_000, 'push 2 to fail');
    const pushesBefore = stack.duo.transactions().length;

    // The same push-1 button again (a double click that arrives late, or a replay): nothing happens.
    const said = await handle
      .executeUpdate(duoRetryUpdate, { args: [{ slackUserId: BOB.id, messageTs, duoAttempt: 1 }], updateId: `replay-${handle.workflowId}` })
      .then((r) => `accepted: ${r.message}`, refusal);
    assert.doesNotMatch(said, /^accepted/, 'a stale button sent another push');
    assert.match(said, /drawn for Duo push 1/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(stack.duo.transactions().length, pushesBefore, 'no push was sent');
    assert.equal((await handle.query(statusQuery)).duoPushes, 2);
    await handle.cancel();
  });
});
