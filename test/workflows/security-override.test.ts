// Security's override on a real Temporal dev server, with fake activities: what the validator refuses (and why), what
// the member's Duo answer does, and the smaller fail-closed paths (no security channel, an auth_status bypass).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { startReview } from '../../src/intake/starter';
import { decisionUpdate, securityDecisionUpdate, statusQuery } from '../../workflows/messages';
import type { SecurityDecisionRequest } from '../../src/core/types';
import { FakeVendors, isAsked } from '../helpers/fake-vendors';
import { reviewInput, type ReviewInputOptions } from '../helpers/review-input';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';

const SEC = 'U-SEC1';
const taskQueue = `override-${randomUUID()}`;
const fake = new FakeVendors();
let stack: ReviewStack;
let client: Client;

before(async () => {
  stack = await startReviewStack(fake.activities(), taskQueue);
  client = stack.env.client;
});
after(async () => {
  await stack?.stop();
});

async function start(k: string, opts: ReviewInputOptions = {}): Promise<WorkflowHandle> {
  const input = reviewInput(k, { securityResponders: [SEC, `U-${k}`, 'U-nobody'], ...opts });
  return (await startReview(client, input, { taskQueue, uiBaseUrl: 'http://ui' })).handle;
}

async function asked(h: WorkflowHandle): Promise<void> {
  await eventually(async () => isAsked(await h.query(statusQuery)), 15_000, 'the ask');
}

async function refusal(h: WorkflowHandle, req: SecurityDecisionRequest): Promise<string> {
  try {
    const r = await h.executeUpdate(securityDecisionUpdate, { args: [req] });
    return `accepted: ${r.message}`;
  } catch (err) {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected the workflow to refuse, got ${String(err)}`);
    return String((err.cause as Error | undefined)?.message);
  }
}

function key(): string {
  return randomUUID().slice(0, 8);
}

describe('security override', () => {
  test('the validator refuses what no code path would act on, and says why', async () => {
    const k = key();
    const h = await start(k, { tier: 'confirm' });
    await asked(h);
    assert.match(await refusal(h, { slackUserId: `U-${k}`, action: 'approve' }), /cannot override the review of their own change/);
    assert.match(await refusal(h, { slackUserId: SEC, action: 'revert' }), /no revert plan/);
    assert.match(await refusal(h, { slackUserId: 'U-outsider', action: 'approve' }), /Only members of the security group/);
    assert.equal(fake.callsFor(k, 'sendDuoPush').length, 0, 'no push for a refused override');
    await h.cancel();

    // A revert-tier review, held open while it pages (the held page): the tier takes no override.
    const r = key();
    let release!: () => void;
    fake.script(r, { holdIncident: new Promise<void>((res) => (release = res)) });
    const revertTier = await start(r, { tier: 'revert', plan: true });
    await eventually(() => fake.callsFor(r, 'triggerIncident').length > 0, 10_000, 'the held page');
    assert.match(await refusal(revertTier, { slackUserId: SEC, action: 'approve' }), /A revert-tier review acts on its own and takes no override/);
    release();
    assert.equal((await revertTier.result()).outcome, 'REVERTED');
  });

  test('a second override while the first waits for its push is refused', async () => {
    const k = key();
    fake.script(k, { duoDelayMs: 1500 });
    const h = await start(k, { tier: 'confirm' });
    await asked(h);
    const first = h.executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: SEC, action: 'escalate' }] });
    await eventually(() => fake.callsFor(k, 'awaitDuoResult').length > 0, 10_000, 'the first push');
    assert.match(await refusal(h, { slackUserId: 'U-nobody', action: 'approve' }), /already waiting for its Duo push/);
    assert.match((await first).message, /Confirmed with Duo by sec1/);
    const out = await h.result();
    assert.equal(out.outcome, 'ESCALATED');
  });

  test('a member the directory does not know cannot override; an expired push applies nothing and pages no one', async () => {
    const k = key();
    // Push 1 (the override's) expires; push 2 (the engineer's own) is approved.
    fake.script(k, { duo: ['timeout', 'allow'] });
    const h = await start(k, { tier: 'confirm' });
    await asked(h);
    assert.match(await refusal(h, { slackUserId: 'U-nobody', action: 'approve' }), /cannot be confirmed with Duo: no directory entry names U-nobody/);
    assert.match(await refusal(h, { slackUserId: SEC, action: 'approve' }), /Duo push to sec1 expired.*not applied/);
    assert.equal(fake.callsFor(k, 'triggerIncident').length, 0);
    const s = await h.query(statusQuery);
    assert.equal(s.outcome, 'PENDING');
    assert.equal(s.phase, 'AWAITING_ANSWER');
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    assert.equal((await h.result()).outcome, 'CONFIRMED');
  });
});

describe('fail closed', () => {
  test('a refused page without a security channel still ends PAGE_FAILED, and the timeline says nobody was told', async () => {
    const k = key();
    fake.script(k, { person: 'unknown', pagerduty: 'rejects' });
    const h = await start(k, { tier: 'confirm' });
    const out = await (h.result() as Promise<{ outcome: string; reason: string; timeline: Array<{ step: string }> }>);
    assert.equal(out.outcome, 'PAGE_FAILED');
    assert.match(out.reason, /^ESCALATED: .*paging security failed \(VendorRejected: .*\) and no security channel is configured$/);
    assert.ok(out.timeline.some((t) => t.step === 'page.unreported'));
  });

  test('an engineer Slack cannot reach, and a revert plan: nobody can be asked, so the change is reverted and paged', async () => {
    const k = key();
    fake.script(k, { dm: 'fails' });
    const h = await start(k, { tier: 'confirm', plan: true });
    const out = await (h.result() as Promise<{ outcome: string; reason: string }>);
    assert.equal(out.outcome, 'REVERTED');
    assert.match(out.reason, /cannot be reached in Slack: there is nobody to ask, so vouch reverted the change and paged security/);
    assert.equal(fake.callsFor(k, 'revertChange').length, 1);
    assert.match((fake.callsFor(k, 'triggerIncident')[0]?.args as { summary: string }).summary, /nobody to ask: reverted/);
  });

  test('an auth_status that says allow / bypass (an older activity) is escalated, not confirmed', async () => {
    const k = key();
    const h = await start(k, { tier: 'confirm' });
    await asked(h);
    fake.script(k, { duo: ['bypass'] });
    await h.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: 'yes', messageTs: `${k}.0001` }] });
    const out = await (h.result() as Promise<{ outcome: string; reason: string }>);
    assert.equal(out.outcome, 'ESCALATED');
    assert.match(out.reason, /Duo bypass user/);
  });
});
