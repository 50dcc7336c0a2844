// `npm run test:prod`: the production topology with the Temporal Web UI server (temporalio/ui's ui-server, built
// from the module proxy at compose's TEMPORAL_UI_VERSION). The review loop and the README's queries as in the short
// test; then security's view: every README query opened as a UI URL in Debian's Chromium shows exactly the expected
// reviews; then the fault handles: the server killed with SIGKILL and restarted, PostgreSQL stopped as after a crash
// and restarted, the worker replaced, and the reviews still waiting finish normally, once each.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { composePins } from '../../src/demo/tools/production-tools';
import type { ReviewOutcome, ReviewStatus } from '../../src/core/types';
import { statusQuery } from '../../workflows/messages';
import { launchBrowser, screenshot, type Browser } from '../helpers/browser';
import { startProdTopology, type ProdTopology } from '../helpers/prod-topology';
import { startVouchOnProd, type VouchOnProd } from '../helpers/prod-vouch';
import { checkReadmeQueries, runReviewLoop, writeTestPolicy, type RanReview } from '../helpers/prod-reviews';
import { eventually } from '../helpers/temporal';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let topo: ProdTopology;
let vouch: VouchOnProd;
let browser: Browser;
let dir: string;
let ran: RanReview[] = [];
let answered: Array<{ query: string; ids: string[] }> = [];

describe('production topology with the Web UI', { timeout: 600_000 }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-prod-test-'));
    topo = await startProdTopology({ ui: true, log: (l) => process.stderr.write(`[prod] ${l}\n`) });
    vouch = await startVouchOnProd(topo, { dir, policyFile: writeTestPolicy(dir) });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await vouch?.stop();
    await topo?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the review loop, and the README queries through the server', async () => {
    const startedAfter = new Date(Date.now() - 1000).toISOString();
    ran = await runReviewLoop(vouch);
    answered = await checkReadmeQueries(vouch, ran, startedAfter);
  });

  test('the Web UI server is the version compose pins and serves the namespace', async () => {
    assert.ok(topo.uiUrl);
    const settings = (await (await fetch(`${topo.uiUrl}/api/v1/settings`)).json()) as { Version: string; DefaultNamespace: string };
    assert.equal(settings.Version, composePins().ui);
    assert.equal(settings.DefaultNamespace, topo.namespace);
  });

  test('each README query, opened as a Web UI URL, lists exactly the expected reviews', async () => {
    assert.ok(answered.length > 0, 'the README queries ran');
    const { page } = browser;
    const all = ran.map((r) => r.workflowId);
    let n = 0;
    for (const { query, ids } of answered) {
      const url = `${topo.uiUrl}/namespaces/${topo.namespace}/workflows?query=${encodeURIComponent(query)}`;
      await page.goto(url);
      const rows = async (): Promise<string[]> =>
        page.locator('a[href*="/workflows/"]').evaluateAll((els) => els.map((e) => e.getAttribute('href') ?? ''));
      const listed = await eventually(async () => {
        const hrefs = await rows();
        const shown = all.filter((id) => hrefs.some((h) => h.includes(`/workflows/${encodeURIComponent(id)}/`)));
        return shown.length === ids.length ? shown : null;
      }, 20_000, `the UI to list ${ids.length} reviews for ${query}`).catch(async (err: Error) => {
        await screenshot(page, `prod-ui-query-failed-${n}.png`);
        throw err;
      });
      assert.deepEqual([...listed].sort(), [...ids].sort(), query);
      await screenshot(page, `prod-ui-query-${++n}.png`);
    }
    assert.deepEqual(browser.errors.filter((e) => !/favicon/i.test(e)), [], 'no page errors');
  });

  test('server SIGKILL, PostgreSQL crash-restart and a new worker: the waiting reviews still finish, once each', async () => {
    const pending = ran.find((r) => r.key === 'pending');
    const paged = ran.find((r) => r.key === 'paged');
    assert.ok(pending && paged);

    let t = Date.now();
    await topo.killServer();
    await topo.startServer();
    process.stderr.write(`[prod] server restart after SIGKILL: ${Date.now() - t} ms\n`);
    t = Date.now();
    await topo.restartPostgres({ mode: 'immediate' });
    process.stderr.write(`[prod] PostgreSQL immediate stop + start: ${Date.now() - t} ms\n`);
    await vouch.restartWorker();

    // Still waiting, state intact.
    for (const r of [pending, paged]) {
      const status = await eventually(async () => (await r.handle.query(statusQuery)) as ReviewStatus, 60_000, `${r.key} answering queries`);
      assert.equal(status.phase, 'AWAITING_ANSWER', r.key);
    }
    // carol confirms the pending one with Duo; says "not me" to the paged one.
    assert.equal((await eventually(async () => {
      const res = await vouch.click(pending.workflowId, 'vouch_yes');
      return res.status === 200 ? res : null;
    }, 30_000, 'the click to be taken')).status, 200);
    const push = await eventually(() => vouch.duo.transactions().find((x) => x.username === 'carol@example.com' && x.result === 'waiting'), 30_000, 'the Duo push');
    vouch.duo.decide(push.txid, 'allow');
    assert.equal((await vouch.click(paged.workflowId, 'vouch_no')).status, 200);
    assert.equal(((await pending.handle.result()) as ReviewOutcome).outcome, 'CONFIRMED');
    assert.equal(((await paged.handle.result()) as ReviewOutcome).outcome, 'DENIED');

    for (const r of [pending, paged]) {
      const dms = vouch.slack.messages.filter((m) => !m.threadTs && JSON.stringify(m.blocks ?? []).includes(r.workflowId));
      assert.equal(dms.length, 1, `${r.key}: one DM across the restarts`);
    }
    assert.equal(vouch.duo.transactions().filter((x) => x.username === 'carol@example.com').length, 1, 'one Duo push');
    assert.equal(vouch.pagerduty.incidents.filter((i) => i.dedupKey === paged.workflowId).length, 1, 'one incident');
    // Visibility followed: the outcomes are searchable.
    await eventually(async () => (await vouch.client.workflow.count(`VouchOutcome="CONFIRMED" AND VouchAccount="${pending.record.recipientAccountId}"`)).count === 1, 20_000, 'the new outcome in visibility');
  });
});
