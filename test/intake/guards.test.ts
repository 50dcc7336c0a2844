// Intake's guards on their own: the maximum age against the namespace retention (describeNamespace on a real dev
// server), and reviews started later than the LookupEvents overlap counted as late.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { ConfigError } from '../../src/cli/config';
import { checkMaxAge, loadIntakeConfig } from '../../src/cli/intake-settings';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { IntakePipeline } from '../../src/intake/pipeline';
import { startDevServer } from '../helpers/temporal';
import { testJudge } from './helpers/records';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await startDevServer();
});
after(async () => {
  await env?.teardown();
});

test('the maximum age must be shorter than the namespace retention, read from the server', async () => {
  const retention = await env.client.workflowService.describeNamespace({ namespace: 'default' });
  const seconds = Number(retention.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
  assert.ok(seconds > 3600, `the dev server keeps closed workflows ${seconds} s`);
  await checkMaxAge(env.client.workflowService, loadIntakeConfig({ VOUCH_INTAKE_MAX_AGE_SECONDS: String(seconds - 60) }));
  await assert.rejects(checkMaxAge(env.client.workflowService, loadIntakeConfig({ VOUCH_INTAKE_MAX_AGE_SECONDS: String(seconds) })), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, new RegExp(`VOUCH_INTAKE_MAX_AGE_SECONDS \\(${seconds} s\\) must be shorter than the retention of namespace default \\(${seconds} s\\)`));
    return true;
  });
});

test('a review started later after its event than the overlap is counted late', async () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const late: number[] = [];
  const pipeline = new IntakePipeline({
    judge: testJudge,
    starter: async (input) => ({ workflowId: `vouch-${input.change.account}-${input.change.eventId}`, status: 'started' }),
    deadLetters: new FolderDeadLetterStore(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-guards-'))),
    review: { securityResponders: [] },
    lateAfterSeconds: 900,
    onLate: (_kind, _t, seconds) => late.push(seconds),
    now: () => now,
  });
  const rec = (id: string, minutesAgo: number) => ({
    eventID: id,
    eventName: 'StopLogging',
    eventSource: 'cloudtrail.amazonaws.com',
    eventTime: new Date(now - minutesAgo * 60_000).toISOString(),
    recipientAccountId: '123456789012',
    requestParameters: { name: 'main' },
    userIdentity: { type: 'IAMUser', userName: 'bob', accountId: '123456789012' },
  });
  await pipeline.processAll([rec('on-time', 5), rec('late', 20)].map((record, index) => ({ kind: 'lookup' as const, source: 'lookup://x', index, record })));
  assert.deepEqual(late, [1200]);
  assert.equal(pipeline.metrics.snapshot().bySource.lookup?.late, 1);
});
