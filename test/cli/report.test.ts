// `vouch report` on a real Temporal dev server: reviews driven to different outcomes with FakeVendors, then the
// report read back through the visibility API, printed, written as HTML and rendered with Debian's Chromium.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { chromium } from 'playwright-core';
import { buildReport, parseSince, parseTeams, percentile, weekOf, type Report, type ReviewRecord } from '../../src/cli/report-model';
import { reportCommand } from '../../src/cli/report';
import { runCommand } from '../../src/cli/program';
import { startReview } from '../../src/intake/starter';
import { decisionUpdate, statusQuery } from '../../workflows/messages';
import type { ReviewInput, Verdict } from '../../src/core/types';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput as buildReviewInput } from '../helpers/review-input';
import { eventually, startReviewStack, type ReviewStack } from '../helpers/temporal';

const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
const taskQueue = `report-test-${randomUUID()}`;
const fake = new FakeVendors();
let env: TestWorkflowEnvironment;
let client: Client;
let stack: ReviewStack;

interface Plan {
  account: string;
  actor: string;
  rules: string[];
  tier: Verdict['tier'];
  answer?: 'yes' | 'no';
  unknown?: boolean;
  deadlineSeconds?: number;
  /** How long the engineer's Duo answer takes (the fake holds it). */
  duoDelayMs?: number;
}

function reviewInput(k: string, p: Plan): Omit<ReviewInput, 'reviewUrl'> {
  return buildReviewInput(k, {
    tier: p.tier,
    account: p.account,
    actorArn: `arn:aws:sts::${p.account}:assumed-role/dev/${p.actor}`,
    change: { eventTime: new Date().toISOString(), request: { groupId: 'sg-123' }, summary: `sg-123 opened by ${p.actor}` },
    verdict: { score: 60, rules: p.rules, reasons: ['test'], deadlineSeconds: p.deadlineSeconds ?? 120 },
  });
}

/** The FakeVendors' actor is `eng-<k>`; the report groups by that name, so the teams file maps those names. */
const actors = new Map<string, string>();
/** Each confirmed review's time to confirm, bounded from outside: at least its Duo delay, at most start → result. */
const confirmBounds: Array<{ workflowId: string; low: number; startedAt: number; high?: number }> = [];

async function drive(p: Plan): Promise<string> {
  const k = randomUUID().slice(0, 8);
  actors.set(`eng-${k}`, p.actor);
  if (p.unknown) fake.script(k, { person: 'unknown' });
  if (p.duoDelayMs) fake.script(k, { duoDelayMs: p.duoDelayMs });
  const startedAt = Date.now();
  const { handle, workflowId } = await startReview(client, reviewInput(k, p), { taskQueue, uiBaseUrl: 'http://127.0.0.1:8233' });
  if (p.answer) {
    await eventually(async () => (await handle.query(statusQuery)).phase === 'AWAITING_ANSWER', 20_000);
    await handle.executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${k}`, answer: p.answer }] });
  }
  if (p.answer === 'yes') confirmBounds.push({ workflowId, low: (p.duoDelayMs ?? 0) / 1000, startedAt });
  return workflowId;
}

const A1 = '111122223333';
const A2 = '444455556666';
let open: string;
let report: Report;
let terminal: string;
const htmlFile = path.join(ARTIFACTS, 'report.html');

before(async () => {
  stack = await startReviewStack(fake.activities(), taskQueue);
  env = stack.env;
  client = env.client;

  const plans: Plan[] = [
    // A noisy rule: five reviews, all confirmed.
    ...Array.from({ length: 5 }, (_, i): Plan => ({ account: A1, actor: `alice-${i}`, rules: ['noisy-rule', 'sg-open-world'], tier: 'confirm', answer: 'yes' })),
    { account: A1, actor: 'bob', rules: ['sg-open-world'], tier: 'confirm', answer: 'no' }, // DENIED, paged
    { account: A2, actor: 'carol', rules: ['iam-admin'], tier: 'page', answer: 'yes', duoDelayMs: 3000 }, // CONFIRMED after a page, 3 s on Duo
    { account: A2, actor: 'dave', rules: ['iam-admin'], tier: 'confirm', unknown: true }, // ESCALATED, paged
    { account: A2, actor: 'erin', rules: ['iam-admin'], tier: 'confirm', deadlineSeconds: 2 }, // TIMED_OUT, paged
  ];
  const ids = await Promise.all(plans.map(drive));
  await Promise.all(
    ids.map(async (id) => {
      await client.workflow.getHandle(id).result();
      const b = confirmBounds.find((x) => x.workflowId === id);
      if (b) b.high = (Date.now() - b.startedAt) / 1000;
    }),
  );
  open = await drive({ account: A2, actor: 'frank', rules: ['iam-admin'], tier: 'confirm', deadlineSeconds: 600 });

  const teamsFile = path.join(ARTIFACTS, 'report-teams.json');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const byTeam: Record<string, string[]> = { platform: [], data: [] };
  for (const [name, who] of actors) (who.startsWith('alice') || who === 'bob' ? byTeam.platform : byTeam.data)?.push(name);
  byTeam.data = (byTeam.data ?? []).filter((n) => actors.get(n) !== 'frank'); // frank stays "unknown"
  fs.writeFileSync(teamsFile, JSON.stringify(byTeam));

  // Visibility is eventually consistent: wait until every finished review shows its outcome.
  await eventually(async () => {
    let n = 0;
    for await (const info of client.workflow.list({ query: `WorkflowType="reviewChangeWorkflow" AND VouchOutcome != "PENDING"` })) {
      if (info.workflowId) n += 1;
    }
    return n >= 9;
  }, 20_000, 'visibility to catch up');

  const out: string[] = [];
  const errs: string[] = [];
  const deps = {
    connect: async () => ({ client, close: async () => undefined }),
    stdout: (t: string) => out.push(t),
    stderr: (t: string) => errs.push(t),
    env: {},
  };
  assert.equal(await runCommand(reportCommand(deps), ['--since', '7d', '--json', '--teams', teamsFile]), 0, errs.join(''));
  report = JSON.parse(out.join('')) as Report;
  out.length = 0;
  assert.equal(await runCommand(reportCommand(deps), ['--since', '7d', '--html', htmlFile, '--teams', teamsFile]), 0, errs.join(''));
  terminal = out.join('');
  fs.writeFileSync(path.join(ARTIFACTS, 'report.txt'), terminal);
});

after(async () => {
  await stack?.stop();
});

describe('vouch report on a real dev server', () => {
  test('outcomes by rule, account and team; the noisy rule; pages; time to confirm', () => {
    assert.equal(report.total, 10);
    assert.equal(report.open, 1);
    assert.deepEqual(report.outcomes, { CONFIRMED: 6, DENIED: 1, ESCALATED: 1, TIMED_OUT: 1, PENDING: 1 });
    const rule = (k: string) => report.byRule.find((r) => r.key === k);
    assert.deepEqual(rule('noisy-rule')?.outcomes, { CONFIRMED: 5 });
    assert.equal(rule('noisy-rule')?.confirmedShare, 1);
    assert.equal(rule('sg-open-world')?.total, 6);
    assert.equal(rule('sg-open-world')?.confirmedShare, 5 / 6);
    // iam-admin: 1 confirmed of 3 finished; the open review counts in total but not in the share.
    assert.equal(rule('iam-admin')?.total, 4);
    assert.equal(rule('iam-admin')?.confirmedShare, 1 / 3);
    assert.deepEqual(report.noisyRules, ['sg-open-world', 'noisy-rule']);
    assert.deepEqual(
      report.byAccount.map((a) => [a.key, a.total]),
      [[A1, 6], [A2, 4]],
    );
    assert.deepEqual(
      Object.fromEntries(report.byTeam.map((t) => [t.key, t.total])),
      { platform: 6, data: 3, unknown: 1 },
    );
    assert.equal(report.timeToConfirm.count, 6);
    // Each review's time to confirm lies between its Duo delay and its start → result as the test saw it; sorted, the
    // k-th sample lies between the k-th lowest and the k-th highest bound. Carol's 3 s on Duo is the slowest: p90.
    const samples = [...report.timeToConfirm.samples].sort((a, b) => a - b);
    const lows = confirmBounds.map((b) => b.low).sort((a, b) => a - b);
    const highs = confirmBounds.map((b) => b.high ?? Infinity).sort((a, b) => a - b);
    assert.equal(samples.length, 6);
    samples.forEach((s, i) => assert.ok(s >= (lows[i] ?? 0) && s <= (highs[i] ?? 0), `sample ${i + 1}: ${s} s in [${lows[i]}, ${highs[i]}]`));
    assert.equal(report.timeToConfirm.p50, samples[2], 'p50: the 3rd of 6 (nearest rank)');
    assert.equal(report.timeToConfirm.p90, samples[5], 'p90: the 6th of 6');
    assert.ok((report.timeToConfirm.p90 ?? 0) >= 3, 'the 3 s Duo wait shows in p90');
    // Pages: denied, escalated, timed out, and the page-tier review (confirmed later) = 4.
    assert.equal(report.pagesPerWeek.reduce((n, w) => n + w.pages, 0), 4);
    assert.equal(report.pagesPerWeek.at(-1)?.week, weekOf(new Date()));
    assert.ok(open.length > 0);
  });

  test('the terminal table shows every section and marks the noisy rule', () => {
    assert.match(terminal, /^vouch report: 10 review\(s\) started .* \(1 still open\)/);
    assert.match(terminal, /Time to confirm: p50 \d+ s, p90 \d+ s \(6 confirmed\)/);
    assert.match(terminal, /^noisy-rule \(noisy\?\)\s+5\s+5\s/m);
    assert.match(terminal, /^By account$/m);
    assert.match(terminal, /^By team$/m);
    assert.match(terminal, /^Pages per week/m);
  });

  test('the HTML page is self-contained and renders in Chromium with its charts', async () => {
    const html = fs.readFileSync(htmlFile, 'utf8');
    assert.ok(!/\b(src|href)=["']?(https?:)?\/\//i.test(html), 'no external assets');
    assert.ok(!/<script/i.test(html), 'no scripts');
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`file://${htmlFile}`);
      assert.deepEqual(requests, [`file://${htmlFile}`], 'the page loads nothing else');
      assert.equal(await page.locator('svg').count(), 4);
      // One segment per outcome a rule saw: noisy-rule 1, sg-open-world 2, iam-admin 4.
      assert.equal(await page.locator('section').first().locator('svg rect').count(), 7);
      assert.match((await page.locator('.cards').innerText()).replace(/\s+/g, ' '), /10 reviews 6 confirmed 1 still open 4 pages/);
      assert.equal(await page.locator('tr.noisy').count(), 2);
      await page.screenshot({ path: path.join(ARTIFACTS, 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
    assert.ok(fs.statSync(path.join(ARTIFACTS, 'report.png')).size > 10_000);
  });
});

describe('report building blocks', () => {
  test('--since accepts durations and ISO dates, and names what is wrong', () => {
    const now = new Date('2026-11-28T12:00:00Z');
    assert.equal(parseSince('7d', now).toISOString(), '2026-11-21T12:00:00.000Z');
    assert.equal(parseSince('24h', now).toISOString(), '2026-11-27T12:00:00.000Z');
    assert.equal(parseSince('2w', now).toISOString(), '2026-11-14T12:00:00.000Z');
    assert.equal(parseSince('2026-11-01', now).toISOString(), '2026-11-01T00:00:00.000Z');
    assert.throws(() => parseSince('seven days', now), /--since seven days: expected a duration like 7d/);
    assert.throws(() => parseSince('0d', now), /more than zero/);
    assert.throws(() => parseSince('2027-01-01', now), /in the future/);
  });

  test('teams: globs, case-insensitive, first team wins, "unknown" otherwise; bad files are named', () => {
    const team = parseTeams(JSON.stringify({ platform: ['alice@example.com', '*@platform.example.com'], data: ['svc-etl-*'] }), 'teams.json');
    assert.equal(team('Alice@Example.com'), 'platform');
    assert.equal(team('zoe@platform.example.com'), 'platform');
    assert.equal(team('svc-etl-nightly'), 'data');
    assert.equal(team('mallory'), 'unknown');
    assert.throws(() => parseTeams('{"platform": "alice"}', 'teams.json'), /teams\.json: invalid teams file .*platform/);
    assert.throws(() => parseTeams('{', 'teams.json'), /teams\.json: teams file is not valid JSON/);
  });

  test('nearest-rank percentiles and weeks from Monday', () => {
    assert.equal(percentile([], 50), null);
    assert.equal(percentile([10], 90), 10);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90), 9);
    assert.equal(weekOf(new Date('2026-11-29T23:00:00Z')), '2026-11-23'); // a Sunday
    assert.equal(weekOf(new Date('2026-11-30T00:00:00Z')), '2026-11-30'); // a Monday
  });

  test('weeks without pages are listed, so a quiet week shows as zero', () => {
    const r: ReviewRecord = {
      workflowId: 'w',
      startTime: new Date('2026-11-02T10:00:00Z'),
      tier: 'confirm',
      outcome: 'DENIED',
      account: 'a',
      actor: 'x',
      rules: [],
      paged: true,
    };
    const rep = buildReport([r], { since: new Date('2026-11-01T00:00:00Z'), until: new Date('2026-11-20T00:00:00Z') });
    assert.deepEqual(rep.pagesPerWeek.map((w) => [w.week, w.pages]), [['2026-10-26', 0], ['2026-11-02', 1], ['2026-11-09', 0], ['2026-11-16', 0]]);
    assert.deepEqual(rep.byRule.map((c) => c.key), ['(no rule)']);
  });
});
