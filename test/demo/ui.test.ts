// Security's view: the Temporal dev server's own Web UI (the demo's dev server, UI on), in Debian's Chromium.
// A review runs to an outcome on the demo stack (real worker, handler and stand-ins); then the UI's workflow list is
// filtered with a vouch search-attribute query typed in the list's query box, the summary column is added, the review
// is found by its summary and opened, and its summary, details and current details, event history (with activity
// summaries) and memo are read. Screenshots are kept under test-artifacts/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startDemoStack, type DemoStack } from '../../src/demo/stack';
import { fixtureScenarios } from '../../src/demo/scenarios';
import { prepareReviews } from '../../src/cli/review';
import { reviewSummary, reviewSummarySearchText } from '../../src/core/review-summary';
import type { ReviewOutcome } from '../../src/core/types';
import { statusQuery } from '../../workflows/messages';
import { launchBrowser, screenshot, type Browser } from '../helpers/browser';
import { eventually } from '../helpers/temporal';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let stack: DemoStack;
let browser: Browser;

function account(): string {
  return String(randomInt(100_000_000, 999_999_999)).padStart(12, '7');
}

/** Alice's fixture change, moved to `acct`, reviewed on the confirm tier. */
async function startIn(acct: string) {
  const s = fixtureScenarios()[0];
  assert.ok(s);
  s.record.recipientAccountId = acct;
  (s.record.userIdentity as Record<string, unknown>).accountId = acct;
  const prepared = prepareReviews([{ source: s.source, text: JSON.stringify(s.record) }], { tier: 'confirm', deadline: '120' });
  assert.deepEqual(prepared.errors, []);
  const input = prepared.reviews[0]?.input;
  assert.ok(input);
  return { ...(await stack.start(input)), input };
}

describe('Temporal Web UI', { timeout: 120_000 }, () => {
  before(async () => {
    stack = await startDemoStack({ moto: false, duoAutoAnswer: 'allow' });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('security filters by VouchAccount in the list, finds the review, opens its history and memo', async () => {
    const acct = account();
    const other = await startIn(account()); // another account's review, left open: the filter must hide it
    const review = await startIn(acct);
    const msg = await eventually(
      () => stack.slack.messages.find((m) => JSON.stringify(m.blocks ?? []).includes(review.workflowId)),
      15_000,
      'the DM',
    );
    const click = await stack.web.clickButton({ channel: msg.channel, ts: msg.ts, actionId: 'vouch_yes' });
    assert.equal(click.status, 200);
    const out = (await review.handle.result()) as ReviewOutcome;
    assert.equal(out.outcome, 'CONFIRMED');

    const { page } = browser;
    // ---- the list, filtered with the query box ----
    const query = `VouchAccount="${acct}" AND VouchOutcome="CONFIRMED"`;
    // Visibility is eventually consistent: wait until the server's list query finds the review, as the UI will ask.
    await eventually(async () => {
      for await (const w of stack.client.workflow.list({ query })) if (w.workflowId === review.workflowId) return true;
      return false;
    }, 20_000, 'the review in visibility');
    await page.goto(`${stack.server.uiUrl}/namespaces/default/workflows`);
    await page.getByTestId('toggle-manual-query').click();
    const box = page.getByTestId('workflow-manual-search-input');
    await box.fill(query);
    await box.press('Enter');
    await page.waitForURL((u) => new URL(u).searchParams.get('query') === query, { timeout: 10_000 });
    const row = page.locator(`a[href*="/workflows/${review.workflowId}/"]`).first();
    await row.waitFor({ timeout: 15_000 });
    assert.equal(await page.locator(`a[href*="/workflows/${other.workflowId}/"]`).count(), 0, 'the other account is filtered out');

    // ---- the list reads as a list of reviews: the VouchSummary column, added the way the README says ----
    const summary = reviewSummary(review.input.change);
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    await page.getByTestId('orderable-list-item-VouchSummary-add-button').click();
    // Next to the workflow id: up past End, Start, Type and Run ID.
    for (let i = 0; i < 4; i++) await page.getByTestId('orderable-list-item-VouchSummary-move-up-button').click();
    await page.getByTestId('drawer-close-button').click();
    await page.getByTestId('drawer-close-button').waitFor({ state: 'hidden' });
    const listed = page.locator('tr', { has: row });
    const column = reviewSummarySearchText(review.input.change);
    await eventually(async () => ((await listed.textContent()) ?? '').includes(column), 10_000, 'the summary in the list');
    await screenshot(page, 'temporal-ui-list.png');

    // ---- the review: summary, details and current details ----
    await row.click();
    await page.waitForURL(new RegExp(`/workflows/${review.workflowId}/`));
    // The tabs answer once the page has loaded the review: click until the URL follows.
    await eventually(async () => {
      await page.getByText('User Metadata', { exact: true }).click();
      return new URL(page.url()).pathname.endsWith('/user-metadata');
    }, 15_000, 'the User Metadata tab');
    const mainText = async (): Promise<string> => (await page.locator('main').textContent()) ?? '';
    // The UI renders each Markdown panel in its own frame (/render?content=…).
    const rendered = async (): Promise<string> => {
      const texts = await Promise.all(
        page.frames().filter((f) => new URL(f.url()).pathname === '/render').map((f) => f.locator('body').textContent()),
      );
      return texts.join('\n');
    };
    assert.match(await mainText(), /Summary.*Details.*Current Details/s);
    await eventually(async () => (await rendered()).includes(summary), 15_000, 'the summary on the review\'s page');
    await eventually(async () => (await rendered()).includes(`CONFIRMED: ${out.reason}`), 15_000, 'the current details');
    const meta = await rendered();
    assert.ok(meta.includes('Tier: confirm (score'), 'the static details, Markdown rendered');
    assert.ok(meta.includes(`Rules: ${review.input.verdict.rules.join(', ')}`), 'the rules');
    assert.ok(meta.includes('Latest steps:'), 'the latest steps');
    await screenshot(page, 'temporal-ui-metadata.png');

    // ---- the timeline names each activity by its summary ----
    await page.getByText('Timeline', { exact: true }).first().click();
    await page.waitForURL(/\/timeline/);
    const person = (await review.handle.query(statusQuery)).person?.displayName;
    assert.ok(person, 'the review found its person');
    const dm = `DM ${person} about ${review.input.change.summary}`;
    await eventually(async () => (await mainText()).includes(dm), 15_000, 'activity summaries in the timeline');
    await screenshot(page, 'temporal-ui-timeline.png');

    // ---- event history, with the activities' summaries ----
    await page.getByTestId('history-tab').click();
    await page.waitForURL(/\/history/);
    const historyText = async (): Promise<string> => (await page.locator('main').textContent()) ?? '';
    await eventually(async () => /Workflow Execution Completed|WorkflowExecutionCompleted/i.test(await historyText()), 15_000, 'the history');
    const history = await historyText();
    assert.match(history, /Workflow Execution Started|WorkflowExecutionStarted/i);
    assert.match(history, /Activity Task Completed|ActivityTaskCompleted/i);
    assert.ok(history.includes(`Duo push 1 of 3 to ${person}`), 'an activity summary in the history');
    await screenshot(page, 'temporal-ui-history.png');

    // ---- memo: the one-line summary and the outcome line ----
    await page.getByTestId('memo-tab').click();
    await page.waitForURL(/\/memo/);
    await eventually(async () => (await historyText()).includes(summary), 10_000, 'the memo summary');
    const memo = await historyText();
    assert.ok(memo.includes(`CONFIRMED: ${out.reason}`), 'the memo holds the outcome line');
    await screenshot(page, 'temporal-ui-memo.png');

    // ---- search attributes, as registered by vouch ----
    await page.getByTestId('search-attributes-tab').click();
    await page.waitForURL(/\/search-attributes/);
    await eventually(async () => (await historyText()).includes('VouchOutcome'), 10_000, 'the search attributes');
    const attrs = await historyText();
    for (const s of ['VouchAccount', acct, 'VouchTier', 'VouchActor', 'alice@example.com', 'CONFIRMED']) assert.ok(attrs.includes(s), s);
    await screenshot(page, 'temporal-ui-search-attributes.png');

    await other.handle.terminate('test done');
  });
});
