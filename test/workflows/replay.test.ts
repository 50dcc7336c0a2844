// Stored histories of real runs replay against today's workflow code without a determinism error, so a change
// that would break reviews in flight fails here before it lands. (Re-record with test/fixtures/record-histories.ts
// only for an intended, patched change.) The histories cover every path a review can be on when a new version
// deploys, completed and still waiting (v3-inflight-*).
//
// The test can fail: two small, unpatched edits of today's review workflow (two activities swapped, one timer added),
// made from the real source at test time, must fail replay with a DeterminismViolationError on exactly the stored
// histories that reach the edited step, while the real workflow replays them all.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker, type ReplayWorkerOptions } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

const DIR = path.resolve(__dirname, '../fixtures/histories');
const WORKFLOWS = path.resolve(__dirname, '../../workflows');
const MUTANTS = path.resolve(__dirname, '../../test-artifacts/replay-mutants');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
// The determinism errors the negative cases expect would otherwise be logged by the SDK's core one by one.
Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' }, forward: {} } } });

interface StoredEvent {
  eventType?: string;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string } };
  workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } };
}
const histories = files.map((f) => ({ workflowId: f, history: JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')) as { events: StoredEvent[] } }));

/**
 * The stored review histories (the workflow the edits below change) that schedule the activity `name`, read from the
 * history itself, not from the workflow code.
 */
function schedules(name: string): string[] {
  return histories
    .filter((h) => h.history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name === 'reviewChangeWorkflow')
    .filter((h) => h.history.events.some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name))
    .map((h) => h.workflowId)
    .sort();
}

/** Replay every stored history; the error of each (undefined: it replayed). */
async function replayAll(options: ReplayWorkerOptions): Promise<Map<string, Error | undefined>> {
  const results = new Map<string, Error | undefined>();
  for await (const r of Worker.runReplayHistories(options, histories)) results.set(r.workflowId, r.error);
  assert.equal(results.size, histories.length, 'every stored history was replayed');
  return results;
}

/**
 * Today's review workflow with one small edit: `from` (which must occur exactly once in workflows/review-change.ts)
 * becomes `to`. Relative imports point back at the real files, so nothing else differs. Returns a workflowsPath.
 */
function mutant(name: string, from: string, to: string): string {
  const source = fs.readFileSync(path.join(WORKFLOWS, 'review-change.ts'), 'utf8');
  const at = source.indexOf(from);
  assert.ok(at >= 0 && source.indexOf(from, at + 1) < 0, `the ${name} edit no longer matches workflows/review-change.ts exactly once: update it`);
  const edited = (source.slice(0, at) + to + source.slice(at + from.length)).replace(
    /from '(\.\.?\/[^']+)'/g,
    (_, rel: string) => `from '${path.resolve(WORKFLOWS, rel).split(path.sep).join('/')}'`,
  );
  const dir = path.join(MUTANTS, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'review-change.ts'), edited);
  // The worker's own index, with the review workflow taken from the edited copy and every other workflow the real one
  // (a history of another workflow type then replays as before).
  const index = fs
    .readFileSync(path.join(WORKFLOWS, 'index.ts'), 'utf8')
    .replace(/from '(\.\/[^']+)'/g, (m, rel: string) => (rel === './review-change' ? m : `from '${path.resolve(WORKFLOWS, rel).split(path.sep).join('/')}'`));
  fs.writeFileSync(path.join(dir, 'index.ts'), index);
  return path.join(dir, 'index.ts');
}

describe('replay of stored review histories', () => {
  test('there are stored histories for every path a review can be on when a new version deploys', () => {
    const scenarios = ['confirmed.json', 'denied.json', 'reverted.json', 'timedout.json'];
    // v3 (test/fixtures/record-histories.ts): with the patches for Duo push-once and bypass, authenticated overrides,
    // nobody to ask, pages that fail closed, page-tier incidents that stay open and cancellation; and the paths they add.
    const v3 = [
      ...scenarios,
      'page-confirmed.json',
      'security-approved.json',
      'security-reverted.json',
      'security-escalated.json',
      'security-refused.json',
      'duo-repush.json',
      'duo-denied.json',
      'notified.json',
      'escalated.json',
      'nobody-reverted.json',
      'unreachable-reverted.json',
      'timedout-reverted.json',
      'duo-bypass.json',
      'page-failed.json',
      'cancelled.json',
      // Taken mid-wait: asking, reminded, page tier asking, waiting for Duo, waiting for a re-push request, an
      // override waiting for its member's Duo push, a page not yet answered by PagerDuty.
      'inflight-asking.json',
      'inflight-reminded.json',
      'inflight-page-asking.json',
      'inflight-duo-waiting.json',
      'inflight-duo-failed.json',
      'inflight-override-duo.json',
      'inflight-paging.json',
    ];
    // v4: the notify tier's digest (a review that joined it, and the digest workflow itself).
    const v4 = ['notified-digest.json', 'notified-digest-workflow.json'];
    // v5: the confirm tier's batch (a review confirmed through it, and the batch workflow itself).
    const v5 = ['confirmed-batch.json', 'confirmed-batch-workflow.json'];
    // v1: before the accept-trusted-change and connect-oncall patches; v2: with them.
    assert.deepEqual(
      [...files].sort(),
      [...scenarios, ...scenarios.map((f) => `v2-${f}`), ...v3.map((f) => `v3-${f}`), ...v4.map((f) => `v4-${f}`), ...v5.map((f) => `v5-${f}`)].sort(),
    );
    // The in-flight ones really are: no close event.
    for (const h of histories.filter((x) => x.workflowId.includes('inflight-'))) {
      const last = h.history.events.at(-1)?.eventType ?? '';
      assert.doesNotMatch(last, /WORKFLOW_EXECUTION_(COMPLETED|FAILED|TERMINATED|CANCELED|TIMED_OUT)/, `${h.workflowId} ends with ${last}`);
    }
  });

  describe('today\'s workflow', () => {
    let results: Map<string, Error | undefined>;
    before(async () => {
      results = await replayAll({ workflowsPath: require.resolve('../../workflows') });
    });
    for (const file of files) {
      test(`${file} replays without a determinism error`, () => {
        assert.ok(results.has(file), `${file} was not replayed`);
        const err = results.get(file);
        assert.equal(err, undefined, `${file}: ${err?.message}`);
      });
    }
  });

  /** Every history in `expected` fails with a determinism error; every other one replays. */
  function assertFailsExactly(results: Map<string, Error | undefined>, expected: string[]): void {
    const failed = [...results].filter(([, err]) => err !== undefined).map(([f]) => f).sort();
    assert.deepEqual(failed, expected);
    for (const f of expected) {
      const err = results.get(f);
      assert.ok(err instanceof DeterminismViolationError, `${f}: expected a DeterminismViolationError, got ${err?.name}: ${err?.message}`);
    }
  }

  test('swapping the Duo preauth and the push (no patch) fails replay of every stored history that reached Duo', async () => {
    const check = '    await duo.checkDuoUser.executeWithOptions(titled(`Check that Duo can ask ${to.displayName} with a push`), [{ duoUsername: to.duoUsername }]);\n';
    const push =
      '    const { txid } = await duoOnce.sendDuoPush.executeWithOptions(titled(title), [\n' +
      '      { duoUsername: to.duoUsername, change, reviewId, ...(purpose ? { purpose } : {}) },\n' +
      '    ]);\n';
    const workflowsPath = mutant('duo-push-before-preauth', check + push, push + check);
    const expected = schedules('checkDuoUser');
    assert.ok(expected.length >= 10, `most stored histories reach Duo (${expected.length})`);
    assertFailsExactly(await replayAll({ workflowsPath }), expected);
  });

  test('a new timer before the review DM (no patch) fails replay of every stored history that asked the engineer', async () => {
    const ask = "    await showMessage({ kind: 'ask', deadline });\n";
    const workflowsPath = mutant('timer-before-ask', ask, `    await sleep('1 second');\n${ask}`);
    const expected = schedules('postReviewMessage');
    assert.ok(expected.length >= 20 && expected.length < files.length, `the histories that asked (${expected.length})`);
    assertFailsExactly(await replayAll({ workflowsPath }), expected);
  });
});
