import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActionIds, BlockKitLimits, renderReviewMessage } from '../../src/slack/blocks';
import { validateBlocks } from '../../src/demo/sandbox/slack';
import type { MessageState, Verdict } from '../../src/core/types';
import { USER_DATA_SECRET, PASSWORD_SECRET, REQUEST_ONLY_VALUE, change, verdict, input, ALL_STATES, type Obj, blocksOf, buttons, allTexts } from '../helpers/review-message';

describe('review message rendering', () => {
  test('every state renders valid Block Kit within the limits, with fallback text', () => {
    for (const state of ALL_STATES) {
      const rendered = renderReviewMessage(input(state));
      assert.ok(rendered.text.trim().length > 0, `${state.kind}: fallback text is set`);
      assert.deepEqual(validateBlocks(rendered.blocks), [], `${state.kind}: Slack would accept the blocks`);
      const ids = blocksOf(rendered).map((b) => b.block_id as string);
      assert.equal(new Set(ids).size, ids.length, `${state.kind}: block_ids are unique`);
      for (const id of ids) assert.ok(id.length <= BlockKitLimits.blockId);
      for (const b of blocksOf(rendered)) {
        if (b.type === 'section') assert.ok(((b.text as Obj).text as string).length <= BlockKitLimits.sectionText);
      }
      for (const btn of buttons(rendered)) {
        assert.ok(((btn.text as Obj).text as string).length <= BlockKitLimits.buttonText);
        assert.ok((btn.action_id as string).length <= BlockKitLimits.actionId);
        assert.ok((btn.value as string).length <= BlockKitLimits.buttonValue);
      }
    }
  });

  test('the question shows what, where, when, who and why, the deadline and a link to the review', () => {
    const rendered = renderReviewMessage(input({ kind: 'ask', deadline: '2024-05-01T10:30:00Z' }));
    const shown = allTexts(rendered.blocks).join('\n');
    assert.match(shown, /sg-0abc opened to 0\.0\.0\.0\/0 on tcp\/22/);
    assert.match(shown, /AuthorizeSecurityGroupIngress/);
    assert.match(shown, /123456789012/);
    assert.match(shown, /eu-west-1/);
    assert.match(shown, /2024-05-01 10:15 UTC/, 'event time');
    assert.match(shown, /alice@example\.com/);
    assert.match(shown, /SSH \(tcp\/22\) opened to the whole internet/);
    assert.match(shown, /Security group is attached to a production instance/);
    assert.match(shown, /2024-05-01 10:30 UTC/, 'deadline');
    assert.match(shown, /<http:\/\/localhost:8233\/namespaces\/default\/workflows\/[^|>]*&amp;y=2\|Open the review>/);
    assert.match(rendered.text, /2024-05-01 10:30 UTC/);
  });

  test('the question has a primary yes button and a danger no button carrying the review id', () => {
    const rendered = renderReviewMessage(input({ kind: 'ask', deadline: '2024-05-01T10:30:00Z' }));
    const [yes, no, ...rest] = buttons(rendered);
    assert.equal(rest.length, 0);
    assert.equal(yes?.action_id, ActionIds.yes);
    assert.equal((yes?.text as Obj).text, 'Yes, this was me');
    assert.equal(yes?.style, 'primary');
    assert.equal(yes?.value, 'vouch-123456789012-c5a1e7f2-1111-4a2b-9c3d-0123456789ab');
    assert.equal(no?.action_id, ActionIds.no);
    assert.equal((no?.text as Obj).text, "No, this wasn't me");
    assert.equal(no?.style, 'danger');
    assert.equal(no?.value, yes?.value);
  });

  test('a new block_id is used on every render', () => {
    const state: MessageState = { kind: 'ask', deadline: '2024-05-01T10:30:00Z' };
    const first = blocksOf(renderReviewMessage(input(state))).map((b) => b.block_id);
    const second = blocksOf(renderReviewMessage(input(state))).map((b) => b.block_id);
    for (const id of first) assert.ok(!second.includes(id), `${String(id)} reused`);
  });

  test('the final state shows the outcome and reason and has no buttons left', () => {
    const rendered = renderReviewMessage(
      input({ kind: 'final', outcome: 'TIMED_OUT', reason: 'Nobody answered within 15 minutes' }),
    );
    assert.equal(blocksOf(rendered).filter((b) => b.type === 'actions').length, 0);
    assert.ok(!JSON.stringify(rendered.blocks).includes('"button"'));
    const shown = allTexts(rendered.blocks).join('\n');
    assert.match(shown, /No answer in time/);
    assert.match(shown, /Nobody answered within 15 minutes/);
    assert.match(shown, /123456789012/);
    assert.match(rendered.text, /No answer in time/);
  });

  test('while Duo is pending there are no buttons and the person is told to check the Duo app', () => {
    const rendered = renderReviewMessage(input({ kind: 'duo-pending', pushes: 2 }));
    assert.equal(buttons(rendered).length, 0);
    assert.match(allTexts(rendered.blocks).join('\n'), /Check your Duo app/);
  });

  test('a failed Duo push offers another push only while pushes remain', () => {
    const retry = renderReviewMessage(input({ kind: 'duo-failed', reason: 'Push timed out', pushes: 1, maxPushes: 3 }));
    assert.deepEqual(
      buttons(retry).map((b) => [b.action_id, (b.text as Obj).text]),
      [[`${ActionIds.duoRetry}:1`, 'Send another Duo push']],
    );
    const second = renderReviewMessage(input({ kind: 'duo-failed', reason: 'Push timed out', pushes: 2, maxPushes: 3 }));
    assert.deepEqual(
      buttons(second).map((b) => b.action_id),
      [`${ActionIds.duoRetry}:2`],
      'the button names the attempt it was drawn for',
    );
    assert.match(allTexts(retry.blocks).join('\n'), /Push timed out/);
    const exhausted = renderReviewMessage(
      input({ kind: 'duo-failed', reason: 'Push timed out', pushes: 3, maxPushes: 3 }),
    );
    assert.equal(buttons(exhausted).length, 0);
    assert.match(allTexts(exhausted.blocks).join('\n'), /All 3 Duo pushes have been used/);
  });

  test('an info message is escaped verbatim mrkdwn without buttons', () => {
    const rendered = renderReviewMessage(input({ kind: 'info', text: 'Your change was reverted by vouch.\nSee <!here>.' }));
    assert.equal(buttons(rendered).length, 0);
    const first = blocksOf(rendered)[0] as Obj;
    assert.deepEqual(first.text, { type: 'mrkdwn', verbatim: true, text: 'Your change was reverted by vouch.\nSee &lt;!here&gt;.' });
    assert.equal(rendered.text, 'Your change was reverted by vouch. See &lt;!here&gt;.');
  });

  test('long text is cut to the Block Kit limits with an ellipsis', () => {
    const long = 'x'.repeat(10_000);
    const longChange = change({ summary: `summary ${long}`, actor: { type: 'IAMUser', name: `user-${long}` } });
    const longVerdict: Verdict = { ...verdict, reasons: Array.from({ length: 40 }, (_, i) => `reason ${i} ${long}`) };
    const states: MessageState[] = [
      { kind: 'ask', deadline: '2024-05-01T10:30:00Z' },
      { kind: 'final', outcome: 'DENIED', reason: long },
      { kind: 'duo-failed', reason: long, pushes: 1, maxPushes: 3 },
      { kind: 'info', text: long },
    ];
    for (const state of states) {
      const rendered = renderReviewMessage(input(state, { change: longChange, verdict: longVerdict }));
      assert.deepEqual(validateBlocks(rendered.blocks), [], state.kind);
      const sections = blocksOf(rendered).filter((b) => b.type === 'section');
      assert.ok(sections.some((s) => ((s.text as Obj).text as string).endsWith('…')), `${state.kind}: truncated`);
      assert.ok(rendered.text.length <= 3000, `${state.kind}: fallback text bounded`);
      assert.ok(rendered.text.endsWith('…'));
    }
  });

  test('sensitive request values and raw request parameters never reach the message', () => {
    const leaky = change({ summary: `instance launched with user data ${USER_DATA_SECRET} and ${PASSWORD_SECRET}` });
    for (const state of ALL_STATES) {
      const rendered = renderReviewMessage(input(state, { change: leaky }));
      const json = JSON.stringify(rendered);
      assert.ok(!json.includes(USER_DATA_SECRET), `${state.kind}: user data leaked`);
      assert.ok(!json.includes(PASSWORD_SECRET), `${state.kind}: password leaked`);
      assert.ok(!json.includes(REQUEST_ONLY_VALUE), `${state.kind}: raw request parameter shown`);
      assert.match(json, /&lt;redacted&gt;|<redacted>/);
    }
  });

  test('mrkdwn in change data cannot inject mentions or links', () => {
    const hostile = change({
      summary: 'opened <!channel> <https://evil.example|click here> & more',
      actor: { type: 'IAMUser', name: '<@U0BOSS>' },
    });
    const rendered = renderReviewMessage(input({ kind: 'ask', deadline: '2024-05-01T10:30:00Z' }, { change: hostile }));
    const json = JSON.stringify(rendered);
    assert.ok(!json.includes('<!channel>'));
    assert.ok(!json.includes('<https://evil.example'));
    assert.ok(!json.includes('<@U0BOSS>'));
    assert.match(json, /&lt;!channel&gt;/);
  });
});
