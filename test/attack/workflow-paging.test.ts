// Attacks on paging, through the real path (intake, the shipped policy, the production worker on a Temporal dev
// server, pdjs against the PagerDuty stand-in, the Slack and Duo stand-ins): a page that never arrives, an incident the
// actor closes themselves, and a record that smuggles links into the incident.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decisionUpdate } from '../../workflows/messages';
import type { ReviewOutcome } from '../../src/core/types';
import { eventually } from '../helpers/temporal';
import { deleteTrail, iamUser, iamUserArn, startAttackStack, type AttackStack } from '../helpers/workflow-attack-stack';

const ALICE = { id: 'U0ALICE001', email: 'alice@example.com', name: 'alice' };
const SECURITY_CHANNEL = { id: 'C0SECURITY', name: 'security' };
let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({
    people: { [iamUserArn('alice')]: { email: ALICE.email, slackUserId: ALICE.id, duoUsername: 'alice', displayName: 'Alice' } },
    slackUsers: [ALICE],
    duoUsers: [{ username: 'alice', status: 'active', autoAnswer: { answer: 'allow', afterMs: 200 } }],
    securityChannel: SECURITY_CHANNEL,
  });
});
after(async () => {
  await stack?.stop();
});

async function vendorErrors(type: string): Promise<number> {
  const metric = await stack.metrics.vendorErrors.get();
  return metric.values.filter((v) => v.labels.vendor === 'pagerduty' && v.labels.type === type).reduce((n, v) => n + v.value, 0);
}

describe('attack: paging', { timeout: 120_000 }, () => {
  test('a page PagerDuty refuses (400, 403) ends PAGE_FAILED, tells security\'s channel and counts; never ESCALATED with nobody paged', async () => {
    for (const [status, type] of [
      [400, 'VendorRejected'],
      [403, 'InvalidCredentials'],
    ] as const) {
      const before = await vendorErrors(type);
      // Nobody is mapped to mallory: the review can only page, and PagerDuty refuses the page.
      stack.pagerduty.failNext({ status });
      const { handle } = await stack.ingest(deleteTrail(iamUser('mallory'), `trail-${status}`));
      const out: ReviewOutcome = await handle.result();

      assert.notEqual(out.outcome, 'ESCALATED', `HTTP ${status}: "escalated" while nobody was paged`);
      assert.equal(out.outcome, 'PAGE_FAILED');
      assert.match(out.reason, /paging security failed/);
      assert.equal(stack.pagerduty.incident(handle.workflowId), undefined, 'PagerDuty really has no incident');
      const told = stack.slack.messagesIn(SECURITY_CHANNEL.id).filter((m) => m.text.includes(handle.workflowId));
      assert.equal(told.length, 1, "security's channel is told instead");
      assert.match(told[0]?.text ?? '', /could not page security/);
      assert.ok((await vendorErrors(type)) > before, `vouch_vendor_errors_total{vendor="pagerduty",type="${type}"} counts it`);
      const found = await eventually(async () => {
        for await (const wf of stack.client.workflow.list({ query: `VouchOutcome = "PAGE_FAILED" AND WorkflowId = "${handle.workflowId}"` })) return wf;
        return undefined;
      }, 20_000, 'the review listed by VouchOutcome="PAGE_FAILED"');
      assert.equal(found.workflowId, handle.workflowId);
    }
  });

  test('the actor\'s own "yes" and Duo push annotate a page-tier incident but never resolve it', async () => {
    const { handle } = await stack.ingest(deleteTrail(iamUser('alice'), 'audit-trail'));
    await stack.waitPhase(handle, 'AWAITING_ANSWER');
    assert.equal(stack.pagerduty.incident(handle.workflowId)?.status, 'triggered', 'paged at once');
    const messageTs = stack.reviewMessage(handle.workflowId)?.ts;
    assert.ok(messageTs);
    await handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: ALICE.id, answer: 'yes', messageTs }] });
    const out: ReviewOutcome = await handle.result();
    assert.equal(out.outcome, 'CONFIRMED');

    const incident = stack.pagerduty.incident(handle.workflowId);
    assert.equal(incident?.status, 'triggered', 'the actor closed the incident about their own change');
    assert.ok(!stack.pagerduty.events.some((e) => e.dedupKey === handle.workflowId && e.action === 'resolve'), 'no resolve event');
    const last = incident?.customDetailsHistory.at(-1) ?? {};
    assert.equal(last.engineerConfirmed, true, 'the confirmation is added to the incident');
  });

  test('a crafted record cannot put links or markup into the PagerDuty incident', async () => {
    // CloudTrail records request parameters as the caller sent them; the trail "name" here is the attacker's text.
    const bait = 'https://evil.example/approve?case=1 <https://evil.example|Approve in vouch> <!channel> www.evil.example';
    const { handle } = await stack.ingest(deleteTrail(iamUser('mallory'), bait));
    await handle.result();
    const trigger = stack.pagerduty.received.find(
      (r) => (r.body as { dedup_key?: string } | undefined)?.dedup_key === handle.workflowId && r.status === 202,
    );
    assert.ok(trigger, 'the page arrived');
    const body = trigger.body as { links?: unknown; images?: unknown; client_url?: string; payload: { summary: string; custom_details: Record<string, unknown> } };
    const reviewUrl = body.payload.custom_details.reviewUrl;
    assert.ok(typeof reviewUrl === 'string' && reviewUrl.startsWith('http://127.0.0.1:8233/'));
    assert.deepEqual(body.links, [{ href: reviewUrl, text: 'Review in Temporal' }], 'the only link is the review');
    assert.equal(body.images, undefined);
    assert.equal(body.client_url, reviewUrl);
    const { reviewUrl: _own, ...recordText } = body.payload.custom_details;
    const text = JSON.stringify({ summary: body.payload.summary, details: recordText });
    assert.ok(text.includes('evil'), 'the record text is there, as text');
    assert.doesNotMatch(text, /https?:\/\//, 'a URL from the record reached PagerDuty as a URL');
    assert.doesNotMatch(text, /[<>]/, 'markup from the record reached PagerDuty');
    assert.doesNotMatch(text, /www\.evil/);
  });
});
