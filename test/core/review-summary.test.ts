// The summary and details a review shows in the Temporal Web UI: wording, Temporal's size limits, and Markdown
// escaping of values that whoever made the change could choose.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DETAILS_MAX_BYTES,
  SUMMARY_MAX_BYTES,
  escapeMarkdown,
  fitUtf8,
  reviewDetails,
  reviewProgress,
  reviewSummary,
  reviewSummaryMarkdown,
  reviewSummarySearchText,
  utf8Bytes,
} from '../../src/core/review-summary';
import { reviewInput } from '../helpers/review-input';

const input = reviewInput('alice', {
  actorName: 'alice',
  change: { eventId: 'evt-1', summary: 'sg-0abc opened to 0.0.0.0/0 on tcp/22' },
  verdict: { deadlineSeconds: 900 },
  plan: true,
});

describe('review summary', () => {
  test('one line: who, what, where', () => {
    assert.equal(reviewSummary(input.change), 'alice: sg-0abc opened to 0.0.0.0/0 on tcp/22 in 111122223333/eu-west-1');
  });

  test('a long change summary is cut to 200 bytes, keeping the actor and the place', () => {
    const long = { ...input.change, summary: `PutBucketPolicy on ${'b'.repeat(400)}` };
    const s = reviewSummary(long);
    assert.ok(Buffer.byteLength(s) <= SUMMARY_MAX_BYTES, `${Buffer.byteLength(s)} bytes`);
    assert.match(s, /^alice: PutBucketPolicy on b+… in 111122223333\/eu-west-1$/);
    const md = reviewSummaryMarkdown({ ...long, summary: `${'_'.repeat(300)}` });
    assert.ok(Buffer.byteLength(md) <= SUMMARY_MAX_BYTES, `${Buffer.byteLength(md)} bytes`);
    assert.match(md, /^alice: (\\_)+… in 111122223333\/eu-west-1$/, 'no half escape before the cut');
  });

  test('multi-byte characters are counted in UTF-8 and never split', () => {
    assert.equal(utf8Bytes('é€😀a'), Buffer.byteLength('é€😀a'));
    const cut = fitUtf8('😀'.repeat(100), 10);
    assert.equal(cut, '😀…');
    assert.ok(Buffer.byteLength(cut) <= 10);
    assert.equal(fitUtf8('short', 10), 'short');
  });

  test('Markdown from a record is escaped: no links, emphasis or HTML in the UI', () => {
    const hostile = { ...input.change, actor: { type: 'IAMUser' as const, name: '[click](https://evil.example)' }, summary: '<img src=x> **bold** `code`' };
    const md = reviewSummaryMarkdown(hostile);
    assert.equal(md, '\\[click\\](https://evil.example): \\<img src=x\\> \\*\\*bold\\*\\* \\`code\\` in 111122223333/eu-west-1');
    assert.equal(escapeMarkdown('a\nb'), 'a b', 'stays one line');
  });
});

describe('review details', () => {
  test('tier, rules, reasons, deadline and revert plan, in Markdown', () => {
    const d = reviewDetails(input);
    const lines = d.split('\n');
    assert.equal(lines[0], '**AuthorizeSecurityGroupIngress** (ec2.amazonaws.com) in 111122223333/eu-west-1 at 2026-11-28T12:00:00Z');
    assert.ok(lines.includes('**By:** alice (AssumedRole arn:aws:sts::111122223333:assumed-role/dev/alice)'), d);
    assert.ok(lines.includes('**Change:** sg-0abc opened to 0.0.0.0/0 on tcp/22'), d);
    assert.ok(
      lines.includes(
        '**Tier:** confirm (score 60). The engineer has 15 min from the Slack message to answer and confirm with Duo; after that security is paged.',
      ),
      d,
    );
    assert.ok(lines.includes('**Rules:** sg-open-world, admin-port'), d);
    assert.ok(lines.includes('- security group sg-123 opened to 0.0.0.0/0 on port 22'), d);
    assert.ok(lines.includes('**Deadline:** 15 min'), d);
    assert.ok(lines.includes('**Revert plan:** revoke sgr-1 from sg-123 (ec2:RevokeSecurityGroupIngress)'), d);
  });

  test('no plan says why; revert-on-timeout and dry runs are spelled out; the revert tier has no deadline', () => {
    const none = reviewInput('bob', { verdict: { revertReason: 'needs a saved baseline' } });
    assert.match(reviewDetails(none), /^\*\*Revert plan:\*\* none: needs a saved baseline$/m);
    const onTimeout = reviewInput('bob', { plan: true, verdict: { revertOnTimeout: true, deadlineSeconds: 90 } });
    assert.match(reviewDetails(onTimeout), /has 90 s from the Slack message .* security is paged and the change is reverted\./);
    const revert = reviewInput('bob', { tier: 'revert', plan: true, dryRun: true });
    const d = reviewDetails(revert);
    assert.match(d, /^\*\*Deadline:\*\* none$/m);
    assert.match(d, /^\*\*Tier:\*\* revert \(score 90\)\. Reverted at once/m);
    assert.match(d, /\(ec2:RevokeSecurityGroupIngress\) \(dry run: rehearsed, not applied\)$/m);
  });

  test('details stay within 20 KB however many reasons there are', () => {
    const many = reviewInput('bob', { verdict: { reasons: Array.from({ length: 2000 }, (_, i) => `reason ${i} ${'x'.repeat(20)}`) } });
    assert.ok(Buffer.byteLength(reviewDetails(many)) <= DETAILS_MAX_BYTES);
  });
});

describe('current details', () => {
  const timeline = Array.from({ length: 12 }, (_, i) => ({ at: `2026-11-28T12:00:${String(i).padStart(2, '0')}Z`, step: `step.${i}`, result: `result ${i}` }));

  test('waiting for the engineer, with the newest steps', () => {
    const p = reviewProgress({ stage: { kind: 'asking', person: 'alice', deadline: '2026-11-28T12:15:00Z' }, timeline });
    const lines = p.split('\n');
    assert.equal(lines[0], '**Waiting for alice** to answer in Slack, until 2026-11-28T12:15:00Z');
    assert.ok(!p.includes('paged'), 'nothing about paging before a page');
    assert.equal(lines.filter((l) => l.startsWith('- ')).length, 8);
    assert.equal(lines.at(-1), '- 2026-11-28T12:00:11Z step.11: result 11');
    assert.ok(!p.includes('step.3:'), 'older steps are left out');
  });

  test('Duo, paged, reverted and the outcome read as such', () => {
    assert.match(
      reviewProgress({ stage: { kind: 'duo', person: 'alice', push: 2, maxPushes: 3, deadline: 'D' }, timeline: [] }),
      /^\*\*Waiting for Duo\*\*: push 2 of 3 to alice, until D$/,
    );
    const paged = reviewProgress({ stage: { kind: 'paging', why: 'no answer' }, incident: 'open', timeline: [] });
    assert.match(paged, /^\*\*Paging security\*\*: no answer\n\nSecurity has been paged: the PagerDuty incident is open\.$/);
    assert.match(reviewProgress({ stage: { kind: 'reverting', plan: 'revoke sgr-1' }, timeline: [] }), /^\*\*Reverting\*\*: revoke sgr-1$/);
    const done = reviewProgress({ stage: { kind: 'done', outcome: 'REVERTED', reason: 'revert tier' }, incident: 'resolved', timeline: [] });
    assert.match(done, /^\*\*REVERTED\*\*: revert tier\n\nSecurity was paged; the PagerDuty incident is resolved\.$/);
  });
});

test('the VouchSummary column value has no character a PostgreSQL tsvector literal would choke on', () => {
  // An attacker picks the session name and the resource names; ':' or an unbalanced quote in a Text search attribute
  // fails the whole visibility row on PostgreSQL (temporalio/temporal#11085), hiding the review from the Web UI.
  const change = {
    actor: { type: 'AssumedRole' as const, name: "mallory:1 'x\\" },
    summary: "sg-1 opened to ::/0 on tcp/22 ('quoted')",
    account: '111122223333',
    region: 'eu-west-1',
  };
  const text = reviewSummarySearchText(change);
  assert.doesNotMatch(text, /[:'\\]/);
  assert.equal(text, "mallory∶1 ’x⧵∶ sg-1 opened to ∶∶/0 on tcp/22 (’quoted’) in 111122223333/eu-west-1");
});
