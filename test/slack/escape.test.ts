// escapeSlackText: the one escaping of record text on its way to Slack.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeSlackText, plainSlackText } from '../../src/slack/escape';
import { renderReviewMessage } from '../../src/slack/blocks';
import { reviewInput } from '../helpers/review-input';
import type { MessageState } from '../../src/core/types';

describe('escapeSlackText', () => {
  test("Slack's three control characters become entities, and nothing else is entity-encoded", () => {
    assert.equal(escapeSlackText(`a & b < c > d "e" 'f'`), `a &amp; b &lt; c &gt; d "e" 'f'`);
    assert.equal(escapeSlackText('&amp;'), '&amp;amp;', 'an entity in a record is shown as written');
  });

  test('no mention, broadcast, user group or link can be formed', () => {
    const out = escapeSlackText('<!channel> <!here|x> <@U0BOSS> <!subteam^S1> <#C123> <https://evil.example|aws.amazon.com> <mailto:a@b.c>');
    assert.ok(!out.includes('<'), out);
    assert.ok(!out.includes('>'), out);
    assert.match(out, /^&lt;!channel&gt; &lt;!here\|x&gt; &lt;@U0BOSS&gt;/);
  });

  test('bare broadcast words are defused with a word joiner and still read the same', () => {
    const out = escapeSlackText('ping @channel @here @Everyone but not @channels or mail@here.example');
    assert.ok(!/@(channel|here|everyone)\b/i.test(out), out);
    assert.equal(out.replace(/\u2060/g, ''), 'ping @channel @here @Everyone but not @channels or mail@here.example');
  });

  test('inline values stay on one line; vouch\'s own multi-line text keeps its lines', () => {
    assert.equal(escapeSlackText('sg-1\n*Who:* someone else\r\n> quoted\ttab'), 'sg-1 *Who:* someone else &gt; quoted tab');
    assert.equal(escapeSlackText('line 1\r\nline 2\u2028line 3', { multiline: true }), 'line 1\nline 2 line 3');
  });

  test('bidirectional overrides and other control characters are dropped or blanked', () => {
    assert.equal(escapeSlackText('evil\u202Emoc.sbew\u202C.example'), 'evilmoc.sbew.example');
    assert.equal(escapeSlackText('a\u0000b\u0007c\u009bd'), 'a b c d');
    assert.equal(plainSlackText('Yes\u202E, this\nwas me'), 'Yes, this was me');
  });
});

describe('the review message uses it everywhere', () => {
  const hostile = '<!channel> <https://evil.example|aws.amazon.com> & @here\nline';
  const states: MessageState[] = [
    { kind: 'ask', deadline: '2026-11-28T12:15:00Z' },
    { kind: 'duo-pending', pushes: 1 },
    { kind: 'duo-failed', reason: hostile, pushes: 1, maxPushes: 3 },
    { kind: 'final', outcome: 'DENIED', reason: hostile },
    { kind: 'info', text: hostile },
  ];

  test('every mrkdwn object is verbatim, and no record text reaches Slack unescaped in any state', () => {
    const { change, verdict } = reviewInput('esc', {
      actorName: hostile,
      change: { summary: hostile, region: hostile, eventName: hostile },
      verdict: { reasons: [hostile] },
    });
    for (const state of states) {
      const rendered = renderReviewMessage({ reviewId: 'vouch-1-esc', slackUserId: 'U1', change, verdict, reviewUrl: 'http://127.0.0.1:8233/x', state });
      const texts: Array<{ type: string; text: string; verbatim?: boolean }> = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          const o = v as { type?: string; text?: unknown; verbatim?: boolean };
          if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') texts.push(o as { type: string; text: string });
          Object.values(o).forEach(walk);
        }
      };
      walk(rendered.blocks);
      for (const t of texts) {
        if (t.type === 'mrkdwn') assert.equal(t.verbatim, true, `${state.kind}: ${t.text}`);
        else assert.ok(!t.text.includes('evil') && !t.text.includes('channel'), `${state.kind}: record text in plain_text: ${t.text}`);
      }
      for (const text of [rendered.text, ...texts.map((t) => t.text)]) {
        assert.ok(!/<!channel>|<https:\/\/evil|@here\b/.test(text), `${state.kind}: ${text}`);
        assert.ok(!/&(?!amp;|lt;|gt;)/.test(text), `${state.kind}: unescaped & in ${text}`);
      }
    }
  });
});
