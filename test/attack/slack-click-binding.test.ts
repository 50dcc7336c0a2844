// Attack: a click that is not on the review's current message: one on an older copy of the message that still has
// buttons, or the "send another Duo push" button of an earlier attempt, delivered again (a stale client, a
// replayed request). The handler must send the workflow which message and which Duo attempt the click came from,
// so the workflow's validators can refuse a click on anything but its own message and current attempt. Played through
// the intake, the default policy, the review workflow on a Temporal dev server, the production worker and handler,
// and the Slack / Duo stand-ins; what the handler sends is observed by an interceptor on its Temporal client.
//
// The workflow side (validators refusing a mismatch) lands separately; these tests pin what the click carries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredMessage } from '../../src/demo/sandbox/slack';
import { sgRecord, ssoSession, startAttackStack, until, USERS, type AttackStack } from '../helpers/slack-attack';

let stack: AttackStack;

before(async () => {
  // Every push to alice expires: each "yes" leads to a failed attempt and a retry button.
  stack = await startAttackStack({
    duoUsers: USERS.map((u) => ({
      username: u.email,
      status: 'active' as const,
      ...(u.name === 'alice' ? { autoAnswer: { answer: 'timeout' as const, afterMs: 50 } } : {}),
    })),
  });
});

after(async () => {
  await stack?.stop();
});

function updatesFor(workflowId: string, name: string): Array<Record<string, unknown>> {
  return stack.sentUpdates.filter((u) => u.workflowId === workflowId && u.updateName === name).map((u) => u.args[0] as Record<string, unknown>);
}

async function reviewOf(eventId: string): Promise<{ workflowId: string; dm: StoredMessage }> {
  const started = await stack.ingest(sgRecord({ eventId, identity: ssoSession('alice@example.com') }));
  assert.equal(started.status, 'started', JSON.stringify(started));
  const workflowId = (started as { workflowId: string }).workflowId;
  const dm = await until(() => stack.reviewMessages(workflowId)[0], 'the review DM');
  return { workflowId, dm };
}

describe('clicks are bound to the review message and the current Duo attempt', () => {
  test("a click on an older copy of the review message carries that copy's ts, not the review message's", async () => {
    const { workflowId, dm } = await reviewOf('c11c0000-0000-4000-8000-000000000001');
    // An older copy of the message with the same buttons in the same DM (as a duplicate post used to leave).
    const copy = await stack.bot.chat.postMessage({ channel: dm.channel, text: dm.text, blocks: dm.blocks as never });
    const old = stack.slack.message(dm.channel, copy.ts as string) as StoredMessage;
    await stack.post(stack.clickPayload(old, 'vouch_no'));
    await stack.settled();
    const [sent] = updatesFor(workflowId, 'decision');
    assert.ok(sent, 'the click reached the workflow as a decision');
    assert.equal(sent.messageTs, old.ts, 'the click names the message it came from');
    assert.notEqual(sent.messageTs, dm.ts);
  });

  test('a replayed "send another Duo push" click of an earlier attempt carries that attempt, not the current one', async () => {
    const { workflowId, dm } = await reviewOf('c11c0000-0000-4000-8000-000000000002');
    await stack.post(stack.clickPayload(dm, 'vouch_yes'));
    const attempt = async (n: number) =>
      until(async () => {
        const m = stack.slack.message(dm.channel, dm.ts) as StoredMessage;
        return JSON.stringify(m.blocks ?? []).includes(`(${n} of 3 used)`) ? structuredClone(m) : undefined;
      }, `the retry button of attempt ${n}`);
    const first = stack.clickPayload(await attempt(1), /^vouch_duo_retry/);
    await stack.post(first);
    const second = stack.clickPayload(await attempt(2), /^vouch_duo_retry/);
    // The first attempt's click, delivered again after the second attempt failed.
    await stack.post(first);
    await stack.settled();
    const sent = updatesFor(workflowId, 'duoRetry');
    assert.deepEqual(
      sent.map((a) => [a.messageTs, a.duoAttempt]),
      [
        [dm.ts, 1],
        [dm.ts, 1],
      ],
      'each retry names the attempt its button was drawn for',
    );
    assert.equal(second.actions[0]?.action_id, 'vouch_duo_retry:2', 'the current button is the second attempt');
  });
});
