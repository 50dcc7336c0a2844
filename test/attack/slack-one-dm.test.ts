// Attack/fault: Slack posts the review DM but the reply is lost (a dropped connection, a proxy timeout). The
// activity is retried; without idempotency the retry posts a second message with live buttons, and a click on
// either one answers the review. Played through the intake, the default policy, the review workflow on a Temporal
// dev server, the production worker and handler, and the Slack / Duo / PagerDuty stand-ins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredMessage } from '../../src/demo/sandbox/slack';
import { sgRecord, ssoSession, startAttackStack, until, type AttackStack } from '../helpers/slack-attack';

let stack: AttackStack;

before(async () => {
  stack = await startAttackStack();
});

after(async () => {
  await stack?.stop();
});

function liveButtons(m: StoredMessage): boolean {
  return (m.blocks ?? []).some((b) => (b as { type?: string }).type === 'actions');
}

describe('one DM per review', () => {
  test('a lost reply to the review DM leaves exactly one message with buttons, and it is the one the review answers on', async () => {
    stack.slack.failNext('chat.postMessage', { lostReply: true });
    const started = await stack.ingest(sgRecord({ eventId: '0d1d0000-0000-4000-8000-000000000001', identity: ssoSession('alice@example.com') }));
    assert.equal(started.status, 'started', JSON.stringify(started));
    const workflowId = (started as { workflowId: string }).workflowId;
    const status = await until(async () => {
      const s = await stack.status(workflowId);
      return s.phase === 'AWAITING_ANSWER' && s.timeline.some((t) => t.step === 'slack.posted') ? s : undefined;
    }, 'the review to wait for an answer');
    assert.ok(
      stack.slack.requests.some((r) => r.method === 'chat.postMessage' && r.error === 'reply lost'),
      'the first post took effect and its reply was lost',
    );
    const withButtons = stack.reviewMessages(workflowId).filter(liveButtons);
    assert.equal(withButtons.length, 1, `messages with live buttons: ${withButtons.map((m) => m.ts).join(', ')}`);
    assert.equal(status.timeline.filter((t) => t.step === 'slack.posted').length, 1);

    // The one message is the review's: a "yes" there is taken and proven with Duo.
    const [dm] = withButtons as [StoredMessage];
    const push = stack.duo.waitForPush('alice@example.com', 20_000);
    await stack.post(stack.clickPayload(dm, 'vouch_yes'));
    stack.duo.decide((await push).txid, 'allow');
    const outcome = await stack.result(workflowId);
    assert.equal(outcome.outcome, 'CONFIRMED', outcome.reason);
    assert.deepEqual(stack.reviewMessages(workflowId).filter(liveButtons), [], 'no message of the review still has live buttons');
  });
});
