// What the review message says, state by state: each outcome's label, the tier's note, who, when, the link, the
// reasons, the Duo states, block ids, scrubbing and action ids. Expected texts are the meaning each part must carry
// (README "Outcomes", Slack's mrkdwn and date token formats), not the renderer's wording.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActionIds, duoRetryActionId, parseActionId, renderReviewMessage } from '../../src/slack/blocks';
import type { Change, MessageState, Verdict } from '../../src/core/types';
import { change, verdict, input, ALL_STATES, type Obj, blocksOf, buttons, allTexts } from '../helpers/review-message';

describe('review message content', () => {
  test('each outcome has its own label, in the header and the fallback text, saying what happened', () => {
    // What each outcome means to the engineer (README "Outcomes"), not the labels' wording.
    const meaning: Record<string, RegExp> = {
      PENDING: /waiting/i,
      CONFIRMED: /confirmed/i,
      DENIED: /denied.*security/i,
      TIMED_OUT: /no answer.*paged/i,
      REVERTED: /reverted/i,
      REVERT_FAILED: /revert failed.*paged/i,
      APPROVED: /approved by security/i,
      ESCALATED: /escalated to security/i,
      NOTIFIED: /information/i,
      PAGE_FAILED: /could not be paged.*channel/i,
      CANCELLED: /cancelled.*paged/i,
    };
    const headers = new Set<string>();
    for (const [outcome, re] of Object.entries(meaning)) {
      const rendered = renderReviewMessage(input({ kind: 'final', outcome: outcome as 'CONFIRMED', reason: 'why' }));
      const header = blocksOf(rendered)[0] as Obj;
      assert.equal(header.type, 'header', outcome);
      const label = (header.text as Obj).text as string;
      assert.match(label, re, outcome);
      assert.ok(rendered.text.startsWith(`${label}: `), `${outcome}: fallback starts with the label`);
      assert.match(allTexts(rendered.blocks).join('\n'), /\*Outcome:\*[^\n]*\n\*Reason:\* why/);
      headers.add(label);
    }
    assert.equal(headers.size, Object.keys(meaning).length, 'no two outcomes share a label');
  });

  test('the question says what happens without an answer, per tier, and the no button warns of a revert only with a plan', () => {
    const ask: MessageState = { kind: 'ask', deadline: '2024-05-01T10:30:00Z' };
    const note = (v: Verdict): string => {
      const ctx = blocksOf(renderReviewMessage(input(ask, { verdict: v }))).find((b) => b.type === 'context') as Obj;
      return ((ctx.elements as Obj[])[0] as Obj).text as string;
    };
    assert.match(note({ ...verdict, tier: 'confirm' }), /without an answer.*security will be paged/i);
    assert.match(note({ ...verdict, tier: 'page' }), /security has been paged as well/i);
    assert.match(note({ ...verdict, tier: 'revert' }), /reverted automatically/i);
    const confirmOf = (v: Verdict): Obj => (buttons(renderReviewMessage(input(ask, { verdict: v })))[1] as Obj).confirm as Obj;
    const withPlan = confirmOf({ ...verdict, revertPlan: { service: 'ec2', operation: 'RevokeSecurityGroupIngress', input: {}, description: 'revoke' } });
    const noPlan = confirmOf(verdict);
    assert.match((withPlan.text as Obj).text as string, /paged.*reverted/i);
    assert.doesNotMatch((noPlan.text as Obj).text as string, /revert/i);
    assert.match((noPlan.text as Obj).text as string, /paged/i);
    for (const c of [withPlan, noPlan]) {
      assert.equal(c.style, 'danger');
      assert.ok(((c.title as Obj).text as string).length > 0 && ((c.confirm as Obj).text as string).length > 0);
      assert.equal((c.deny as Obj).text, 'Cancel');
    }
  });

  test('who made the change: name and type, the ARN and email only when they add something', () => {
    const whoOf = (actor: Change['actor']): string => {
      const details = blocksOf(renderReviewMessage(input(ALL_STATES[0] as MessageState, { change: change({ actor }) }))).find(
        (b) => typeof b.block_id === 'string' && (b.block_id as string).includes('details'),
      ) as Obj;
      return (((details.text as Obj).text as string).split('\n').find((l) => l.startsWith('*Who:*')) ?? '');
    };
    assert.equal(whoOf({ type: 'IAMUser', name: 'bob', arn: 'arn:aws:iam::1:user/bob', email: 'bob@example.com' }), '*Who:* bob (IAMUser) `arn:aws:iam::1:user/bob`, bob@example.com');
    assert.equal(whoOf({ type: 'IAMUser', name: 'arn:x', arn: 'arn:x' }), '*Who:* arn:x (IAMUser)');
    assert.equal(whoOf({ type: 'IAMUser', name: 'bob@example.com', email: 'bob@example.com' }), '*Who:* bob@example.com (IAMUser)');
    assert.equal(whoOf({ type: 'Root', name: '' }), '*Who:* unknown (Root)');
    // A backtick in the ARN cannot end the code span early.
    assert.match(whoOf({ type: 'IAMUser', name: 'b', arn: 'arn:`x`' }), /`arn:'x'`$/);
  });

  test('an empty summary falls back to the API call; blank reasons are left out; past ten reasons a count is shown', () => {
    const many: Verdict = { ...verdict, reasons: ['  ', ...Array.from({ length: 13 }, (_, i) => `reason number ${i + 1}`)] };
    const rendered = renderReviewMessage(input(ALL_STATES[0] as MessageState, { change: change({ summary: '  ' }), verdict: many }));
    const shown = allTexts(rendered.blocks).join('\n');
    assert.match(shown, /\*What changed:\* AuthorizeSecurityGroupIngress on ec2\.amazonaws\.com/);
    const reasons = blocksOf(rendered).find((b) => (b.block_id as string).includes('reasons')) as Obj;
    const lines = ((reasons.text as Obj).text as string).split('\n');
    assert.equal(lines[0], '*Why it needs a check:*');
    assert.deepEqual(lines.slice(1, 11), Array.from({ length: 10 }, (_, i) => `• reason number ${i + 1}`));
    assert.equal(lines[11], '…and 3 more');
    assert.equal(lines.length, 12);
    const none = renderReviewMessage(input(ALL_STATES[0] as MessageState, { verdict: { ...verdict, reasons: [' '] } }));
    assert.ok(!blocksOf(none).some((b) => (b.block_id as string).includes('reasons')), 'no reasons block without reasons');
  });

  test('times: a Slack date token with a UTC fallback; a time that does not parse is shown as given', () => {
    const rendered = renderReviewMessage(input({ kind: 'ask', deadline: '2024-05-01T10:30:00Z' }));
    const shown = allTexts(rendered.blocks).join('\n');
    // 2024-05-01T10:15:00Z is 1714558500 seconds after the epoch.
    assert.ok(shown.includes('<!date^1714558500^{date_short_pretty} at {time}|2024-05-01 10:15 UTC>'), shown);
    const odd = renderReviewMessage(input({ kind: 'ask', deadline: 'soon <b>' }, { change: change({ eventTime: 'not a time' }) }));
    const oddShown = allTexts(odd.blocks).join('\n');
    assert.match(oddShown, /\*When:\* not a time/);
    assert.match(oddShown, /answer by \*soon &lt;b&gt;\*/);
    assert.match(odd.text, /Please answer by soon &lt;b&gt;\.$/);
  });

  test('the review link: only http(s) URLs without spaces and at most 2000 characters, with | < > & made safe', () => {
    const linkOf = (reviewUrl: string): string | undefined => {
      const ctx = blocksOf(renderReviewMessage(input({ kind: 'duo-pending', pushes: 1 }, { reviewUrl }))).find((b) => b.type === 'context');
      return ctx ? (((ctx.elements as Obj[])[0] as Obj).text as string) : undefined;
    };
    assert.equal(linkOf('https://ui.example/r?a=1&b=<2>|3'), '<https://ui.example/r?a=1&amp;b=%3C2%3E%7C3|Open the review>');
    assert.equal(linkOf('HTTP://UI.EXAMPLE/x'), '<HTTP://UI.EXAMPLE/x|Open the review>');
    assert.equal(linkOf('javascript:alert(1)'), undefined);
    assert.equal(linkOf('https://ui.example/a b'), undefined);
    assert.equal(linkOf(' https://ui.example/'), undefined);
    assert.equal(linkOf(`https://ui.example/${'x'.repeat(2000 - 19)}`)?.length, 2000 + '<|Open the review>'.length);
    assert.equal(linkOf(`https://ui.example/${'x'.repeat(2000 - 18)}`), undefined);
  });

  test('Duo states: the push number is shown; the retry counts pushes used', () => {
    const pending = renderReviewMessage(input({ kind: 'duo-pending', pushes: 2 }));
    assert.equal(((blocksOf(pending)[0] as Obj).text as Obj).text, 'Check your Duo app');
    assert.match(allTexts(pending.blocks).join('\n'), /Duo push \(number 2\)/);
    assert.match(pending.text, /^Check your Duo app to confirm: sg-0abc opened/);
    const failed = renderReviewMessage(input({ kind: 'duo-failed', reason: 'it expired', pushes: 1, maxPushes: 3 }));
    assert.match(allTexts(failed.blocks).join('\n'), /\*Duo push not approved:\* it expired\nYou can send another push \(1 of 3 used\)\./);
    assert.match(failed.text, /^Duo did not confirm \(it expired\): /);
  });

  test('an info message without text says so', () => {
    const rendered = renderReviewMessage(input({ kind: 'info', text: '   ' }));
    assert.equal(((blocksOf(rendered)[0] as Obj).text as Obj).text, '(no details)');
    assert.equal(rendered.text, 'Update on sg-0abc opened to 0.0.0.0/0 on tcp/22');
  });

  test('block_ids carry the state, the part and a cleaned nonce of at most 64 characters', () => {
    const rendered = renderReviewMessage(input({ kind: 'duo-pending', pushes: 1 }), { nonce: `a-b_c!@#${'z'.repeat(100)}` });
    const ids = blocksOf(rendered).map((b) => b.block_id as string);
    const nonce = `a-b_c${'z'.repeat(59)}`;
    assert.deepEqual(ids, [`vouch-duo-pending-header-${nonce}`, `vouch-duo-pending-duo-${nonce}`, `vouch-duo-pending-details-${nonce}`, `vouch-duo-pending-link-${nonce}`]);
  });

  test('values under sensitive keys are scrubbed from shown text, numbers too, but not values under four characters', () => {
    const secretive = change({
      summary: 'rotated 98765 and key ABCD-long-secret-ABCD then abc',
      request: { config: { password: 98765, token: 'abc' } },
      response: { credentials: ['ABCD-long-secret-ABCD'] },
    });
    const shown = allTexts(renderReviewMessage(input({ kind: 'duo-pending', pushes: 1 }, { change: secretive })).blocks).join('\n');
    assert.match(shown, /rotated &lt;redacted&gt; and key &lt;redacted&gt; then abc/);
  });

  test('action ids: each button is read back, the Duo retry with the attempt it was drawn for', () => {
    assert.deepEqual(parseActionId(ActionIds.yes), { action: 'yes' });
    assert.deepEqual(parseActionId(ActionIds.no), { action: 'no' });
    assert.deepEqual(parseActionId(ActionIds.duoRetry), { action: 'duoRetry' });
    assert.deepEqual(parseActionId(duoRetryActionId(1)), { action: 'duoRetry', duoAttempt: 1 });
    assert.deepEqual(parseActionId('vouch_duo_retry:9999'), { action: 'duoRetry', duoAttempt: 9999 });
    for (const other of ['vouch_duo_retry:0', 'vouch_duo_retry:10000', 'vouch_duo_retry:01', 'vouch_duo_retry:1x', 'xvouch_duo_retry:1', 'vouch_yes ', 'other']) {
      assert.equal(parseActionId(other), undefined, other);
    }
  });

  test('every state links to the review', () => {
    for (const state of ALL_STATES) {
      const shown = allTexts(renderReviewMessage(input(state)).blocks).join('\n');
      assert.match(shown, /<http:\/\/localhost:8233\/[^|>]*\|Open the review>/, state.kind);
    }
  });
});
