// The local vendor sandbox page in Debian's Chromium, over the demo's whole stack started in-process: Temporal dev
// server, real worker and activities, real Slack interactivity handler, the Slack/Duo/PagerDuty stand-ins and moto.
// The page's buttons are the engineer: a Slack button makes the sandbox send a signed block_actions request to the
// real handler (which verifies it with bolt's verifier), Approve / Deny answer the Duo push.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startDemoStack, type DemoStack } from '../../src/demo/stack';
import { enactInMoto, fixtureScenarios, ruleGone } from '../../src/demo/scenarios';
import { prepareReviews } from '../../src/cli/review';
import { reviewUrlFor } from '../../src/intake/starter';
import { SandboxWeb, type SandboxState } from '../../src/demo/sandbox/web';
import { statusQuery } from '../../workflows/messages';
import type { ReviewOutcome } from '../../src/core/types';
import { launchBrowser, screenshot, type Browser } from '../helpers/browser';
import { eventually } from '../helpers/temporal';

let stack: DemoStack;
let browser: Browser;

Runtime.install({ logger: new DefaultLogger('ERROR') });

async function startScenario(index: number, mutate?: (record: Record<string, unknown>) => void) {
  const s = fixtureScenarios()[index];
  assert.ok(s, `fixture ${index}`);
  mutate?.(s.record);
  // The engineer's change, made in the record's own account (where vouch's revert acts).
  const ec2 = stack.ec2(String(s.record.recipientAccountId), String(s.record.awsRegion));
  if (s.enact && ec2) await enactInMoto(ec2, s.record);
  const prepared = prepareReviews([{ source: s.source, text: JSON.stringify(s.record) }], { tier: 'confirm', deadline: '120' });
  assert.deepEqual(prepared.errors, []);
  const review = prepared.reviews[0];
  assert.ok(review);
  const res = await stack.start(review.input);
  return { ...res, record: s.record, url: reviewUrlFor(stack.uiBaseUrl, 'default', res.workflowId) };
}

async function sandboxState(): Promise<SandboxState> {
  const res = await fetch(`${stack.sandboxUrl}/api/state`);
  return (await res.json()) as SandboxState;
}

describe('sandbox page', { timeout: 120_000 }, () => {
  before(async () => {
    stack = await startDemoStack({ duoAutoAnswer: null });
    assert.ok(stack.moto, 'moto_server is needed for the revert (npm run tools installs it)');
    browser = await launchBrowser();
    await browser.page.goto(stack.sandboxUrl);
    await browser.page.waitForSelector('body[data-live="true"]', { timeout: 10_000 });
  });

  after(async () => {
    if (browser) {
      await screenshot(browser.page, 'sandbox-page.png').catch(() => undefined);
      await browser.close();
    }
    await stack?.stop();
  });

  test('"Yes, this was me" then Duo Approve, clicked on the page, ends CONFIRMED; the DM is edited in place', async () => {
    const { page } = browser;
    const review = await startScenario(0);
    const card = page.locator(`article.msg[data-review-id="${review.workflowId}"]`);
    await card.waitFor({ timeout: 15_000 });
    assert.match((await card.locator('.bk-header').textContent()) ?? '', /Did you make this AWS change\?/);
    // The DM links to the review in the Temporal Web UI.
    assert.equal(await card.locator('.meta a.review-link').getAttribute('href'), review.url);

    await card.locator('button[data-action-id="vouch_yes"]').click();
    const push = page.locator('article.push[data-username="alice@example.com"][data-state="waiting"]');
    await push.waitFor({ timeout: 15_000 });
    assert.equal(await push.locator('dd').filter({ hasText: review.workflowId }).count(), 1, 'the push names the review');
    await push.locator('button.duo-approve').click();

    const out = (await review.handle.result()) as ReviewOutcome;
    assert.equal(out.outcome, 'CONFIRMED');
    assert.ok(out.timeline.some((t) => t.step === 'engineer.answered' && /yes/.test(t.result)));

    // The same card, updated in place: final state, no buttons left, the signed click accepted by the handler.
    await page.locator(`article.msg[data-review-id="${review.workflowId}"] .bk-header`, { hasText: 'Confirmed' }).waitFor();
    assert.equal(await card.count(), 1);
    assert.ok(Number(await card.getAttribute('data-edits')) >= 2, 'the message was edited (Duo pending, then final)');
    assert.equal(await card.locator('button.slack-btn').count(), 0);
    assert.match((await card.locator('.clicks li').first().textContent()) ?? '', /Yes, this was me.*HTTP 200/);
    await page.locator(`article.review[data-review-id="${review.workflowId}"][data-outcome="CONFIRMED"]`).waitFor();
    await page.locator(`article.push[data-username="alice@example.com"][data-state="allow"]`).waitFor();
  });

  test('"No, this wasn\'t me" (confirmed in the dialog) ends DENIED: the incident and the moto revert appear', async () => {
    const { page } = browser;
    const review = await startScenario(1);
    const card = page.locator(`article.msg[data-review-id="${review.workflowId}"]`);
    await card.locator('button[data-action-id="vouch_no"]').click({ timeout: 15_000 });
    const dialog = page.locator('#confirm-dialog[open]');
    await dialog.waitFor();
    assert.equal(await dialog.locator('#confirm-title').textContent(), 'Report this change?');
    await dialog.locator('#confirm-ok').click();

    const out = (await review.handle.result()) as ReviewOutcome;
    assert.equal(out.outcome, 'DENIED');
    assert.match(out.reason, /change reverted/);

    const incident = page.locator(`article.incident[data-dedup-key="${review.workflowId}"]`);
    await incident.waitFor({ timeout: 10_000 });
    assert.equal(await incident.getAttribute('data-severity'), 'critical');
    assert.equal(await incident.getAttribute('data-status'), 'triggered', 'a denied change stays open for a person');
    assert.equal(await incident.locator('a.review-link').getAttribute('href'), review.url);

    const reviewCard = page.locator(`article.review[data-review-id="${review.workflowId}"][data-outcome="DENIED"]`);
    await reviewCard.waitFor({ timeout: 10_000 });
    const revert = reviewCard.locator('.revert[data-revert-state="ran"]');
    await revert.waitFor();
    const ruleIds = ((review.record.responseElements as { securityGroupRuleSet: { items: Array<{ securityGroupRuleId: string }> } })
      .securityGroupRuleSet.items).map((i) => i.securityGroupRuleId);
    const [beforeTable, afterTable] = [revert.locator('.before-after > div').nth(0), revert.locator('.before-after > div').nth(1)];
    for (const id of ruleIds) {
      assert.match((await beforeTable.textContent()) ?? '', new RegExp(id), `before shows ${id}`);
      assert.doesNotMatch((await afterTable.textContent()) ?? '', new RegExp(id), `after no longer shows ${id}`);
    }
    const ec2 = stack.ec2(String(review.record.recipientAccountId), String(review.record.awsRegion));
    assert.ok(ec2 && (await ruleGone(ec2, review.record)), 'the rule is gone from moto');
  });

  test('every DM and every incident links to its review in the Temporal Web UI', async () => {
    const state = await sandboxState();
    assert.ok(state.messages.length >= 2 && state.incidents.length >= 1);
    for (const m of state.messages) {
      assert.ok(m.reviewId, `message ${m.key} names its review`);
      assert.equal(m.reviewUrl, reviewUrlFor(stack.uiBaseUrl, 'default', m.reviewId), `message ${m.key}`);
    }
    for (const i of state.incidents) assert.equal(i.reviewUrl, reviewUrlFor(stack.uiBaseUrl, 'default', i.dedupKey));
  });

  test('a click signed with the wrong secret is refused by the handler (401) and changes nothing', async () => {
    const review = await startScenario(2);
    const msg = await eventually(async () => (await sandboxState()).messages.find((m) => m.reviewId === review.workflowId && m.blocks.length > 0), 15_000, 'the DM');
    const impostor = new SandboxWeb({
      slack: stack.slack,
      duo: stack.duo,
      pagerduty: stack.pagerduty,
      interactionsUrl: stack.handlerUrl,
      signingSecret: 'not-the-signing-secret-0123456789',
      teamId: 'T0VOUCHDEMO',
      users: stack.users,
    });
    try {
      const click = await impostor.clickButton({ channel: msg.channel, ts: msg.ts, actionId: 'vouch_no' });
      assert.equal(click.status, 401);
    } finally {
      await impostor.stop();
    }
    const status = await review.handle.query(statusQuery);
    assert.equal(status.phase, 'AWAITING_ANSWER');
    assert.ok(!status.timeline.some((t) => t.step === 'engineer.answered'));
    await review.handle.terminate('test done');
  });

  test('text from CloudTrail is shown as text, never as markup', async () => {
    const { page } = browser;
    const evil = '<img src=x onerror="window.__vouchPwned=1">mallory';
    const review = await startScenario(1, (r) => {
      const id = r.userIdentity as Record<string, unknown>;
      id.userName = evil;
      id.arn = 'arn:aws:iam::111122223333:user/mallory';
    });
    const out = (await review.handle.result()) as ReviewOutcome;
    // Nobody to ask for an unknown user, and the verdict has a revert plan: reverted and paged.
    assert.equal(out.outcome, 'REVERTED', out.reason);
    assert.match(out.reason, /nobody to ask/);
    const incident = page.locator(`article.incident[data-dedup-key="${review.workflowId}"]`);
    await incident.waitFor({ timeout: 10_000 });
    // PagerDuty gets plain text: the angle brackets are defanged before the page, and the page shows what it got as text.
    assert.match((await incident.locator('.summary').textContent()) ?? '', /‹img src=x onerror="window.__vouchPwned=1"›mallory/);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { __vouchPwned?: number }).__vouchPwned), undefined);
    assert.deepEqual(browser.errors, []);
  });
});
