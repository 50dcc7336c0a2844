// Attack: a record whose fields carry Slack markup (a resource id and a region written by the attacker) tries to
// ping everyone, mention a chosen person, or show a disguised link in what vouch sends to Slack. Played through the
// intake, the default policy, the review workflow on a Temporal dev server, the production worker and handler, and
// the Slack / Duo / PagerDuty stand-ins, on every path a record's text takes: the review DM (blocks and fallback
// text) and its final update, the reminder, the on-call conversation after the page, the ephemeral reply to a
// click, and the notify tier's DM and channel message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { StoredMessage } from '../../src/demo/sandbox/slack';
import { NOTIFY_CHANNEL, sgRecord, ssoSession, startAttackStack, until, USERS, type AttackStack } from '../helpers/slack-attack';

const ALICE = USERS.find((u) => u.name === 'alice')?.id as string;
const BOB = USERS.find((u) => u.name === 'bob')?.id as string;

/** Markup an attacker can put into a resource id: a broadcast, a mention of someone chosen, a disguised link. */
const CRAFTED = `sg-0f <!channel> <https://evil.example/login|aws.amazon.com> <@${BOB}> & @here`;
const CRAFTED_REGION = 'eu-west-1 <!here>';

let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({ deadlineSeconds: 8 });
});

after(async () => {
  await stack?.stop();
});

/** Every text Slack would render from a message: `text` and each text object in its blocks. */
function textsOf(m: { text: string; blocks?: unknown[] }): string[] {
  const out = [m.text];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(m.blocks ?? []);
  return out;
}

/** What the crafted values must never become in any text vouch sent. */
function assertDefused(where: string, text: string): void {
  for (const raw of ['<!channel>', '<!here>', '<https://evil.example', `<@${BOB}>`, '|aws.amazon.com>']) {
    assert.ok(!text.includes(raw), `${where}: ${raw} reached Slack unescaped in ${JSON.stringify(text)}`);
  }
  assert.ok(!/&(?!amp;|lt;|gt;)/.test(text), `${where}: an unescaped & in ${JSON.stringify(text)}`);
  assert.ok(!/@(channel|here|everyone)\b/i.test(text), `${where}: a bare broadcast word in ${JSON.stringify(text)}`);
}

function everything(): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  const add = (where: string, m: StoredMessage | { text: string; blocks?: unknown[] }): void => {
    for (const text of textsOf(m)) out.push({ where, text });
  };
  for (const m of stack.allMessages()) add(`message ${m.channel}/${m.ts}${m.threadTs ? ` (reply to ${m.threadTs})` : ''}`, m);
  for (const e of stack.slack.ephemerals) add(`ephemeral to ${e.user}`, e);
  return out;
}

describe('text from records is escaped everywhere it reaches Slack', () => {
  test('a confirm-tier record cannot ping, mention or disguise a link in the DM, reminder, on-call chat or a click reply', async () => {
    const started = await stack.ingest(
      sgRecord({ eventId: 'e5c0000-0000-4000-8000-000000000001', identity: ssoSession('alice@example.com'), groupId: CRAFTED, region: CRAFTED_REGION }),
    );
    assert.equal(started.status, 'started', JSON.stringify(started));
    const workflowId = (started as { workflowId: string }).workflowId;
    const t0=Date.now(); const dm = await until(() => stack.reviewMessages(workflowId)[0], 'the review DM'); console.log('dm', Date.now()-t0);
    // The reminder arrives at half the deadline; then alice clicks "yes" twice: the second click is refused and
    // answered with an ephemeral message.
    await until(() => stack.slack.message(dm.channel, dm.ts)?.replies.length, 'the reminder', 15_000);
    const yes = stack.clickPayload(dm, 'vouch_yes');
    await stack.post(yes);
    await stack.post({ ...yes, actions: yes.actions.map((a) => ({ ...a, block_id: `${a.block_id}-again` })) });
    console.log('clicked', Date.now()-t0); await stack.settled(); console.log('settled', Date.now()-t0);
    const outcome = await stack.result(workflowId); console.log('result', Date.now()-t0);
    assert.equal(outcome.outcome, 'TIMED_OUT', outcome.reason);
    await until(() => outcome.timeline.some((t) => t.step.startsWith('oncall.')), 'the on-call step');

    const dmTexts = textsOf(stack.slack.message(dm.channel, dm.ts) as StoredMessage).join('\n');
    assert.match(dmTexts, /&lt;!channel&gt;/, 'the crafted value is shown, escaped');
    const onCall = stack.allMessages().find((m) => stack.slack.conversation(m.channel)?.type === 'mpim');
    assert.ok(onCall, `the on-call conversation was opened: ${JSON.stringify(outcome.timeline.filter((t) => t.step.startsWith('oncall.')))}`);
    assert.match(onCall.text, /&lt;!channel&gt;/);
    assert.ok(stack.slack.message(dm.channel, dm.ts)?.replies.some((r) => r.text.includes('&lt;!here&gt;')), 'the reminder names the region, escaped');
    assert.ok(stack.slack.ephemerals.some((e) => e.user === ALICE), 'the refused click was answered');
    for (const { where, text } of everything()) assertDefused(where, text);
  });

  test('a notify-tier record cannot ping, mention or disguise a link in the DM or the security channel', async () => {
    const started = await stack.ingest(
      sgRecord({
        eventId: 'e5c0000-0000-4000-8000-000000000002',
        identity: ssoSession('alice@example.com'),
        eventName: 'AuthorizeSecurityGroupEgress',
        groupId: CRAFTED,
      }),
    );
    const workflowId = (started as { workflowId: string }).workflowId;
    const outcome = await stack.result(workflowId);
    assert.equal(outcome.outcome, 'NOTIFIED', outcome.reason);
    const channelMessage = stack.slack.messagesIn(NOTIFY_CHANNEL).at(-1);
    assert.ok(channelMessage, 'the security channel was told');
    assert.match(channelMessage.text, /&lt;!channel&gt;/);
    const dm = stack.slack.messagesIn(stack.slack.dmChannelOf(ALICE) as string).at(-1);
    assert.match(dm?.text ?? '', /FYI from vouch.*&lt;@U0BOB00002&gt;/);
    for (const { where, text } of everything()) assertDefused(where, text);
  });
});
