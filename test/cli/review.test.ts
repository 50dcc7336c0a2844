// `vouch review` end to end: the real CLI process against a real Temporal dev server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startDevServer } from '../helpers/temporal';
import { prepareReviews } from '../../src/cli/review';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { defaultPayloadConverter } from '@temporalio/common';

const BIN = path.resolve(__dirname, '../../src/bin/vouch.js');
const SAMPLE = path.resolve(__dirname, '../../src/demo/fixtures/sample-events.json');
let env: TestWorkflowEnvironment;
let address: string;
const taskQueue = `review-cli-${process.pid}`;
const deadLetters = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-review-dl-'));

function vouch(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_TASK_QUEUE: taskQueue, VOUCH_LOG_LEVEL: 'error', VOUCH_DEAD_LETTER_DIR: deadLetters },
        timeout: 60_000,
      },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

before(async () => {
  env = await startDevServer();
  address = env.address;
});
after(async () => {
  await env?.teardown();
});

describe('vouch review', () => {
  test('starts one review per record and, run again, finds the same reviews', async () => {
    const first = await vouch(['review', SAMPLE, '--tier', 'confirm']);
    assert.equal(first.code, 0, first.stderr);
    const lines = first.stdout.trim().split('\n').map((l) => JSON.parse(l) as { workflowId: string; status: string; url: string });
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((l) => l.status), ['started', 'started', 'started']);
    assert.equal(lines[0]?.workflowId, 'vouch-111122223333-5d2c7a10-0000-4000-8000-000000000001');
    assert.match(lines[0]?.url ?? '', /\/namespaces\/default\/workflows\/vouch-111122223333-/);
    const desc = await env.client.workflow.getHandle(lines[0]?.workflowId ?? '').describe();
    assert.equal(desc.taskQueue, taskQueue);
    assert.equal(desc.typedSearchAttributes.get({ name: 'VouchTier', type: 'KEYWORD' }), 'confirm');

    const again = await vouch(['review', '-'], fs.readFileSync(SAMPLE, 'utf8'));
    assert.equal(again.code, 0, again.stderr);
    const statuses = again.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { status: string }).status);
    assert.deepEqual(statuses, ['existing', 'existing', 'existing']);
  });

  test('--dry-run starts reviews whose reverts are rehearsals only', async () => {
    const doc = JSON.parse(fs.readFileSync(SAMPLE, 'utf8')) as { Records: Array<Record<string, unknown>> };
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-')), 'dry.json');
    fs.writeFileSync(file, JSON.stringify({ Records: [{ ...doc.Records[0], eventID: `dry-${process.pid}` }] }));
    const res = await vouch(['review', file, '--dry-run']);
    assert.equal(res.code, 0, res.stderr);
    const { workflowId } = JSON.parse(res.stdout.trim()) as { workflowId: string };
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const input = defaultPayloadConverter.fromPayload(payload as never) as { dryRun?: boolean; verdict: { revertPlan: unknown } };
    assert.equal(input.dryRun, true);
    assert.ok(input.verdict.revertPlan, 'the plan is still there, to be rehearsed');
  });

  test('a record missing eventID is named, and nothing starts', async () => {
    const doc = JSON.parse(fs.readFileSync(SAMPLE, 'utf8')) as { Records: Array<Record<string, unknown>> };
    const records = doc.Records.map((r, i) => ({ ...r, eventID: `cli-bad-${i}` }));
    if (records[1]) Reflect.deleteProperty(records[1], 'eventID');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-')), 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ Records: records }));
    const res = await vouch(['review', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /bad\.json#1: eventID is missing/);
    assert.match(res.stderr, /no review was started/);
    for (const id of ['cli-bad-0', 'cli-bad-2']) {
      await assert.rejects(env.client.workflow.getHandle(`vouch-111122223333-${id}`).describe(), /not found/i);
    }
    // The unusable record is kept with its reason (and only it: the usable ones are simply not started).
    const kept = (await new FolderDeadLetterStore(deadLetters).list()).filter((l) => l.source.startsWith(file));
    assert.deepEqual(kept.map((l) => [l.source, l.sourceKind, l.field]), [[`${file}#1`, 'review', 'eventID']]);
    assert.match(kept[0]?.reason ?? '', /eventID is missing/);
  });

  test('gzip input, JSON lines, and ignored records in their place: one line per record, in input order', async () => {
    const doc = JSON.parse(fs.readFileSync(SAMPLE, 'utf8')) as { Records: Array<Record<string, unknown>> };
    const read = { eventID: `read-${process.pid}`, eventName: 'DescribeInstances', eventSource: 'ec2.amazonaws.com', eventTime: '2026-01-01T00:00:00Z', recipientAccountId: '111122223333', readOnly: true, userIdentity: { type: 'IAMUser', userName: 'bob', accountId: '111122223333' } };
    const lines = [{ ...doc.Records[0], eventID: `gz-a-${process.pid}` }, read, { ...doc.Records[1], eventID: `gz-b-${process.pid}` }].map((r) => JSON.stringify(r)).join('\n');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-')), 'records.jsonl.gz');
    fs.writeFileSync(file, zlib.gzipSync(lines));
    const res = await vouch(['review', file]);
    assert.equal(res.code, 0, res.stderr);
    const out = res.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; status: string; eventID: string; eventName?: string });
    assert.deepEqual(out.map((l) => [l.index, l.status, l.eventID]), [
      [0, 'started', `gz-a-${process.pid}`],
      [1, 'ignored', `read-${process.pid}`],
      [2, 'started', `gz-b-${process.pid}`],
    ]);
    assert.equal(out[1]?.eventName, 'DescribeInstances');
    assert.match(res.stderr, /3 record\(s\): 2 started, 0 existing, 1 ignored, 0 dead-lettered/);
  });

  test('without --tier the policy decides, and ignored records are reported but never started', () => {
    const describe = JSON.stringify({ eventID: 'r1', eventName: 'DescribeInstances', eventSource: 'ec2.amazonaws.com', eventTime: '2026-01-01T00:00:00Z', recipientAccountId: '123456789012', readOnly: true, userIdentity: { type: 'IAMUser', userName: 'bob', accountId: '123456789012' } });
    const res = prepareReviews(
      [{ source: 's', text: fs.readFileSync(SAMPLE, 'utf8') }, { source: 'd', text: describe }],
      {},
    );
    assert.deepEqual(res.errors, []);
    assert.deepEqual(res.ignored.map((i) => i.eventID), ['r1']);
    const ssh = res.reviews[0]?.input.verdict;
    assert.ok(ssh && ['revert', 'page', 'confirm'].includes(ssh.tier), `SSH to the world is risky: ${ssh?.tier}`);
    assert.ok((ssh?.rules.length ?? 0) > 0, 'the verdict names the rules that matched');
    assert.match(ssh?.reasons.join(' ') ?? '', /0\.0\.0\.0\/0/);
  });

  test('flags are checked, and --tier revert needs a revert plan for every record', () => {
    assert.match(prepareReviews([], { tier: 'maybe' }).errors[0] ?? '', /--tier must be one of/);
    const stop = JSON.stringify({ eventID: 's1', eventName: 'DeleteTrail', eventSource: 'cloudtrail.amazonaws.com', eventTime: '2026-01-01T00:00:00Z', recipientAccountId: '123456789012', requestParameters: { name: 'main' } });
    const res = prepareReviews([{ source: 'x.json', text: stop }], { tier: 'revert' });
    assert.match(res.errors[0] ?? '', /x\.json#0: --tier revert, but DeleteTrail s1 has no revert plan/);
    const ok = prepareReviews([{ source: 's', text: fs.readFileSync(SAMPLE, 'utf8') }], { tier: 'revert', deadline: '120' });
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.reviews[0]?.input.verdict.revertPlan?.operation, 'RevokeSecurityGroupIngress');
    assert.equal(ok.reviews[2]?.input.verdict.revertPlan?.operation, 'RevokeSecurityGroupEgress');
    assert.equal(ok.reviews[0]?.input.verdict.deadlineSeconds, 120);
  });
});
