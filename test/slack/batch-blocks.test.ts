// The confirm batch's message: what it lists, how record text is shown, and that its buttons become the batch's Update.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { renderBatchMessage } from '../../src/slack/batch-blocks';
import { MAX_CONFIRM_BATCH } from '../../workflows/confirm-batch';
import { ActionIds } from '../../src/slack/blocks';
import { interpretClick, isIgnored } from '../../src/slack/clicks';
import { buildBlockActionsPayload } from '../../src/demo/sandbox/slack-interactions';
import type { BatchMessageInput, ConfirmBatchEntry } from '../../src/core/types';
import { reviewInput } from '../helpers/review-input';

const BATCH = 'vouch-batch-111122223333-U0ALICE001';

function entry(i: number, what = `AuthorizeSecurityGroupIngress in 111122223333/eu-west-1: sg-${i} opened to 0.0.0.0/0 on tcp/22`): ConfirmBatchEntry {
  return { reviewId: `vouch-111122223333-evt-${i}`, reviewUrl: `http://ui.example/workflows/evt-${i}`, deadlineMs: 0, what, change: reviewInput(`b${i}`).change };
}

function ask(entries: ConfirmBatchEntry[]): BatchMessageInput {
  return { batchId: BATCH, slackUserId: 'U0ALICE001', entries, state: { kind: 'ask', deadline: '2026-12-02T16:00:00Z' } };
}

type Json = Record<string, unknown>;
const buttons = (blocks: unknown[]): Json[] => (blocks as Json[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements as Json[]);

describe('the confirm batch message', () => {
  test('asks about every listed change, each with its own review, and both buttons carry the batch id', () => {
    const { text, blocks } = renderBatchMessage(ask([entry(1), entry(2), entry(3)]), { nonce: 'n' });
    assert.match(text, /^Did you make these 3 AWS changes\? Please answer by 2026-12-02 16:00 UTC\.$/);
    const body = JSON.stringify(blocks);
    for (const i of [1, 2, 3]) {
      assert.ok(body.includes(`sg-${i} opened`), `change ${i} listed`);
      assert.ok(body.includes(`http://ui.example/workflows/evt-${i}|review`), `change ${i} links its review`);
    }
    assert.deepEqual(buttons(blocks).map((b) => [b.action_id, b.value]), [
      [ActionIds.batchYes, BATCH],
      [ActionIds.batchNo, BATCH],
    ]);
  });

  test('markup in a listed change is shown escaped, never as a mention or a link', () => {
    const { blocks } = renderBatchMessage(ask([entry(1, 'sg-1 <!channel> <https://evil.example|aws.amazon.com> @here'), entry(2)]));
    const body = JSON.stringify(blocks);
    for (const raw of ['<!channel>', '<https://evil.example']) assert.ok(!body.includes(raw), `${raw} reached Slack`);
    assert.ok(body.includes('&lt;!channel&gt;'));
  });

  test('a long batch fits one section and counts what it cannot list', () => {
    const many = Array.from({ length: 60 }, (_, i) => entry(i));
    const { blocks } = renderBatchMessage(ask(many));
    const list = (blocks as Json[]).find((b) => String(b.block_id).includes('-list-')) as { text: { text: string } };
    assert.ok(list.text.text.length <= 3000, `section text ${list.text.text.length}`);
    const shown = (list.text.text.match(/^• /gm) ?? []).length;
    assert.match(list.text.text, new RegExp(`…and ${60 - shown} more`));
  });

  test('the largest batch the workflow sends lists every change in full, even at the longest lines and links', () => {
    // What one "yes" confirms must all be on screen: MAX_CONFIRM_BATCH entries of 300 characters (the per-line cap),
    // each with a long review link, and nothing counted instead of listed.
    const long = (i: number): ConfirmBatchEntry => ({
      ...entry(i, `${'x'.repeat(290)} sg-${i}-end`.padEnd(400, 'y')),
      reviewUrl: `http://ui.example/namespaces/default/workflows/${'vouch-111122223333-'.padEnd(180, 'e')}${i}`,
    });
    const entries = Array.from({ length: MAX_CONFIRM_BATCH }, (_, i) => long(i));
    const text = JSON.stringify(renderBatchMessage(ask(entries), { nonce: 'n' }).blocks);
    assert.doesNotMatch(text, /and \d+ more/);
    for (const e of entries) assert.ok(text.includes(e.reviewUrl), `${e.reviewId} is listed with its link`);
  });

  test('an answered batch shows no buttons', () => {
    const { blocks } = renderBatchMessage({ ...ask([entry(1), entry(2)]), state: { kind: 'info', text: 'Confirmed with Duo: these 2 changes.' } });
    assert.deepEqual(buttons(blocks), []);
  });

  test("a click on a batch button becomes the batch's batchDecision Update, naming the clicker and the message", () => {
    for (const [actionId, answer] of [[ActionIds.batchYes, 'yes'], [ActionIds.batchNo, 'no']] as const) {
      const cmd = interpretClick(
        buildBlockActionsPayload({ userId: 'U0MALLORY4', teamId: 'T1', workflowId: BATCH, actionId, channelId: 'D1', messageTs: '171.0001' }),
      );
      assert.ok(!isIgnored(cmd));
      assert.equal(cmd.workflowId, BATCH);
      assert.equal(cmd.update, 'batchDecision');
      assert.deepEqual(cmd.args, [{ slackUserId: 'U0MALLORY4', answer, messageTs: '171.0001' }]);
    }
  });
});
