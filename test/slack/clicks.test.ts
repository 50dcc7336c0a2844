// interpretClick: a Slack block_actions payload in, the workflow Update it stands for out.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ClickPayloadError, clickUpdateId, interpretClick, isIgnored, type ClickCommand } from '../../src/slack/clicks';
import { buildBlockActionsPayload, type ClickSpec } from '../../src/demo/sandbox/slack-interactions';
import { ActionIds, renderReviewMessage } from '../../src/slack/blocks';
import type { PostMessageInput } from '../../src/core/types';
import { reviewInput } from '../helpers/review-input';

const WF = 'vouch-111122223333-evt-abc';

function spec(overrides: Partial<ClickSpec> = {}): ClickSpec {
  return {
    userId: 'U123ENG',
    teamId: 'T0VOUCH',
    workflowId: WF,
    actionId: 'vouch_yes',
    channelId: 'D0DM1',
    messageTs: '1764331200.000100',
    blockId: 'actions-1a2b',
    ...overrides,
  };
}

/** A deep copy of a payload with one field removed, by dotted path. */
function without(payload: unknown, path: string): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(payload)) as Record<string, unknown>;
  const parts = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const p of parts.slice(0, -1)) node = node[p] as Record<string, unknown>;
  delete node[parts.at(-1) as string];
  return copy;
}

function command(payload: unknown): ClickCommand {
  const r = interpretClick(payload);
  if (isIgnored(r)) assert.fail(`expected a command, got ignored: ${r.ignored}`);
  return r;
}

function assertFieldError(payload: unknown, field: string, problem: RegExp = /missing/): void {
  assert.throws(
    () => interpretClick(payload),
    (err: unknown) => {
      assert.ok(err instanceof ClickPayloadError, `expected ClickPayloadError, got ${String(err)}`);
      assert.equal(err.field, field);
      assert.ok(err.message.includes(field), `message names the field: ${err.message}`);
      assert.match(err.message, problem);
      return true;
    },
  );
}

describe('interpretClick', () => {
  test('"Yes, this was me" becomes a decision update with answer yes from the clicker', () => {
    const cmd = command(buildBlockActionsPayload(spec()));
    assert.equal(cmd.update, 'decision');
    assert.deepEqual(cmd.args, [{ slackUserId: 'U123ENG', answer: 'yes', messageTs: '1764331200.000100' }]);
    assert.equal(cmd.workflowId, WF);
    assert.deepEqual(cmd.clicker, { id: 'U123ENG', teamId: 'T0VOUCH' });
    assert.equal(cmd.channelId, 'D0DM1');
    assert.equal(cmd.messageTs, '1764331200.000100');
    assert.equal(cmd.actionId, 'vouch_yes');
  });

  test('"No, this wasn\'t me" becomes a decision update with answer no', () => {
    const cmd = command(buildBlockActionsPayload(spec({ actionId: 'vouch_no' })));
    assert.equal(cmd.update, 'decision');
    assert.deepEqual(cmd.args, [{ slackUserId: 'U123ENG', answer: 'no', messageTs: '1764331200.000100' }]);
  });

  test('"Send another Duo push" becomes a duoRetry update bound to its message and the attempt it was drawn for', () => {
    const cmd = command(buildBlockActionsPayload(spec({ actionId: 'vouch_duo_retry:2' })));
    assert.equal(cmd.update, 'duoRetry');
    assert.deepEqual(cmd.args, [{ slackUserId: 'U123ENG', messageTs: '1764331200.000100', duoAttempt: 2 }]);
    // A button rendered before attempts were named still reads as a retry; it names no attempt.
    const legacy = command(buildBlockActionsPayload(spec({ actionId: 'vouch_duo_retry' })));
    assert.deepEqual(legacy.args, [{ slackUserId: 'U123ENG', messageTs: '1764331200.000100' }]);
  });

  test('an action id that only looks like the retry button is not vouch\'s', () => {
    for (const actionId of ['vouch_duo_retry:0', 'vouch_duo_retry:x', 'vouch_duo_retry:2:3', 'vouch_duo_retry:12345', 'vouch_yes:1']) {
      const r = interpretClick(buildBlockActionsPayload(spec({ actionId })));
      assert.ok(isIgnored(r), actionId);
    }
  });

  test('the update id is message ts, block, action and user, so a double click gives the same id', () => {
    const first = command(buildBlockActionsPayload(spec()));
    const second = command(buildBlockActionsPayload(spec())); // new trigger_id, action_ts, response_url
    assert.equal(first.updateId, '1764331200.000100:actions-1a2b:vouch_yes:U123ENG');
    assert.equal(second.updateId, first.updateId);
  });

  test('the update id differs by user, by action and by re-rendered message (new block_id)', () => {
    const base = command(buildBlockActionsPayload(spec())).updateId;
    const ids = [
      command(buildBlockActionsPayload(spec({ userId: 'U999OTHER' }))).updateId,
      command(buildBlockActionsPayload(spec({ actionId: 'vouch_no' }))).updateId,
      command(buildBlockActionsPayload(spec({ blockId: 'actions-ffff' }))).updateId,
      command(buildBlockActionsPayload(spec({ messageTs: '1764331300.000200' }))).updateId,
    ];
    assert.equal(new Set([base, ...ids]).size, 5);
  });

  test('without a block_id the update id is ts:action:user', () => {
    assert.equal(clickUpdateId({ messageTs: '1.2', actionId: 'vouch_yes', userId: 'U1' }), '1.2:vouch_yes:U1');
  });

  test('falls back to message.ts and channel.id when the container lacks them', () => {
    const p = without(without(buildBlockActionsPayload(spec()), 'container.message_ts'), 'container.channel_id');
    const cmd = command(p);
    assert.equal(cmd.messageTs, '1764331200.000100');
    assert.equal(cmd.channelId, 'D0DM1');
  });

  test('the team id comes from team.id when user.team_id is absent', () => {
    const cmd = command(without(buildBlockActionsPayload(spec()), 'user.team_id'));
    assert.deepEqual(cmd.clicker, { id: 'U123ENG', teamId: 'T0VOUCH' });
  });

  test('buttons rendered by src/slack/blocks.ts are understood', () => {
    const { change, verdict } = reviewInput('abc', {
      actorName: 'eng',
      actorArn: null,
      change: { request: {} },
      verdict: { rules: [], reasons: [], deadlineSeconds: 900 },
    });
    const input: PostMessageInput = {
      reviewId: WF,
      slackUserId: 'U123ENG',
      change,
      verdict,
      reviewUrl: 'http://127.0.0.1:8233/',
      state: { kind: 'ask', deadline: '2026-11-28T12:15:00Z' },
    };
    const rendered = renderReviewMessage(input) as unknown as { blocks: Array<Record<string, unknown>> };
    const actions = rendered.blocks.find((b) => b.type === 'actions') as
      | { block_id: string; elements: Array<{ action_id: string; value: string }> }
      | undefined;
    assert.ok(actions, 'the ask message has an actions block');
    const seen = new Map<string, string>();
    for (const button of actions.elements) {
      const cmd = command(
        buildBlockActionsPayload(spec({ actionId: button.action_id, workflowId: button.value, blockId: actions.block_id })),
      );
      assert.equal(cmd.workflowId, WF);
      seen.set(button.action_id, cmd.update === 'decision' ? cmd.args[0].answer : cmd.update);
    }
    assert.equal(seen.get(ActionIds.yes), 'yes');
    assert.equal(seen.get(ActionIds.no), 'no');
  });
});

describe('interpretClick ignores what is not a vouch click', () => {
  test('another app\'s action id is ignored, naming the action', () => {
    const r = interpretClick(buildBlockActionsPayload(spec({ actionId: 'approve_expense' })));
    assert.ok(isIgnored(r));
    assert.match(r.ignored, /approve_expense/);
  });

  test('other payload types (view_submission, shortcut) are ignored', () => {
    for (const type of ['view_submission', 'shortcut', 'message_action']) {
      const r = interpretClick({ type, user: { id: 'U1' } });
      assert.ok(isIgnored(r), type);
      assert.match(r.ignored, new RegExp(type));
    }
  });
});

describe('interpretClick refuses a malformed click, naming the field', () => {
  const good = buildBlockActionsPayload(spec());

  test('a click without user.id', () => assertFieldError(without(good, 'user.id'), 'user.id'));
  test('a click without user', () => assertFieldError(without(good, 'user'), 'user'));
  test('a click without actions', () => assertFieldError(without(good, 'actions'), 'actions'));
  test('a click with an empty actions list', () => assertFieldError({ ...good, actions: [] }, 'actions', /empty/));
  test('a click without actions[0].action_id', () => {
    const p = JSON.parse(JSON.stringify(good)) as { actions: Array<Record<string, unknown>> };
    delete p.actions[0]!.action_id;
    assertFieldError(p, 'actions[0].action_id');
  });
  test('a vouch button without actions[0].value (the workflow id)', () => assertFieldError(without(good, 'actions.0.value'), 'actions[0].value'));
  test('a vouch button with an empty workflow id', () => {
    const p = JSON.parse(JSON.stringify(good)) as { actions: Array<Record<string, unknown>> };
    p.actions[0]!.value = ' ';
    assertFieldError(p, 'actions[0].value', /empty/);
  });
  test('a click without container.message_ts or message.ts', () => {
    assertFieldError(without(without(good, 'container.message_ts'), 'message.ts'), 'container.message_ts');
  });
  test('a payload without type', () => assertFieldError(without(good, 'type'), 'type'));
  test('a click whose user.id is not a string', () => {
    assertFieldError({ ...good, user: { id: 42 } }, 'user.id', /invalid/);
  });
  test('a payload that is not a JSON object', () => {
    for (const bad of [null, 'block_actions', [good], 7]) {
      assert.throws(() => interpretClick(bad), ClickPayloadError);
    }
  });
});
