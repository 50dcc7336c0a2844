// Stored histories of real runs replay against today's workflow code without a determinism error, so a change
// that would break reviews in flight fails here before it lands. (Re-record with test/fixtures/record-histories.ts
// only for an intended, patched change.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';

const DIR = path.resolve(__dirname, '../fixtures/histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
Runtime.install({ logger: new DefaultLogger('ERROR') });

describe('replay of stored review histories', () => {
  test('there are stored histories for the main branches', () => {
    const scenarios = ['confirmed.json', 'denied.json', 'reverted.json', 'timedout.json'];
    // v3 (test/fixtures/record-histories.ts): with the patches for Duo push-once and bypass, authenticated overrides,
    // nobody to ask, pages that fail closed, page-tier incidents that stay open and cancellation; and the paths they add.
    const v3 = [
      ...scenarios,
      'page-confirmed.json',
      'security-approved.json',
      'duo-repush.json',
      'notified.json',
      'escalated.json',
      'nobody-reverted.json',
      'duo-bypass.json',
      'page-failed.json',
      'cancelled.json',
    ];
    // v4: the notify tier's digest (a review that joined it, and the digest workflow itself).
    const v4 = ['notified-digest.json', 'notified-digest-workflow.json'];
    // v5: the confirm tier's batch (a review confirmed through it, and the batch workflow itself).
    const v5 = ['confirmed-batch.json', 'confirmed-batch-workflow.json'];
    // v1: before the accept-trusted-change and connect-oncall patches; v2: with them.
    assert.deepEqual(
      files.sort(),
      [...scenarios, ...scenarios.map((f) => `v2-${f}`), ...v3.map((f) => `v3-${f}`), ...v4.map((f) => `v4-${f}`), ...v5.map((f) => `v5-${f}`)].sort(),
    );
  });

  for (const file of files) {
    test(`${file} replays without a determinism error`, async () => {
      const history = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8')) as unknown;
      await Worker.runReplayHistory({ workflowsPath: require.resolve('../../workflows') }, history, `replay-${file}`);
    });
  }

  test('an incompatible workflow change fails replay with a determinism error', async () => {
    const history = JSON.parse(fs.readFileSync(path.join(DIR, 'confirmed.json'), 'utf8')) as unknown;
    await assert.rejects(
      Worker.runReplayHistory(
        { workflowsPath: require.resolve('../fixtures/workflows/review-change-incompatible') },
        history,
        'replay-incompatible',
      ),
      DeterminismViolationError,
    );
  });
});
