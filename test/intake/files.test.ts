// Backfill and replay from files: CloudTrail's `.json.gz` log files in an S3 bucket on moto_server, and local
// folders through `vouch ingest --from DIR` (ingestCommand), against a real Temporal dev server. Malformed files and
// records are dead-lettered with clear reasons while the rest goes on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from '../../src/demo/sandbox/moto';
import { FolderDeadLetterStore, rawOf } from '../../src/intake/dead-letter';
import { ingestFiles, listS3, s3Client } from '../../src/intake/files';
import { ingestCommand } from '../../src/cli/ingest';
import { runCommand } from '../../src/cli/program';
import type { Judge } from '../../src/intake/judges';
import { IntakePipeline } from '../../src/intake/pipeline';
import { temporalStarter } from '../../src/intake/starter';
import { loadIntakeConfig } from '../../src/cli/intake-settings';
import { startDevServer } from '../helpers/temporal';
import { eventIdsOf, waitForReviews } from './helpers/temporal';
import { accountsFile, expectedReviewed, FIXTURE_RECORDS, inAccount, loadRecordFiles, randomAccount, testJudge, type Rec } from './helpers/records';
import { pinnedFixtures } from './helpers/expected';

const REVIEW_QUEUE = `files-reviews-${process.pid}`; // no worker: reviews stay PENDING
let env: TestWorkflowEnvironment;
let moto: MotoServer;

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs ingestCommand in this process, returning its exit status and the JSON summary it printed. */
async function runIngest(
  args: string[],
  judge: Judge | 'policy' = testJudge,
  accounts: string[] = [],
): Promise<{ code: number; summary: Record<string, unknown>; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const config = loadIntakeConfig({
    TEMPORAL_TASK_QUEUE: REVIEW_QUEUE,
    VOUCH_LOG_LEVEL: 'error',
    // The dev server keeps closed workflows 24 h: the maximum age must be shorter.
    VOUCH_INTAKE_MAX_AGE_SECONDS: '3600',
    ...(accounts.length ? { VOUCH_ACCOUNTS_FILE: accountsFile(...accounts) } : {}),
  });
  const deps = {
    ...(judge === 'policy' ? {} : { judge }),
    client: env.client,
    config,
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s) },
  };
  const code = await runCommand(ingestCommand(deps), args, deps);
  const last = out.join('').trim().split('\n').at(-1);
  return { code, summary: last ? (JSON.parse(last) as Record<string, unknown>) : {}, stderr: err.join('') };
}

before(async () => {
  [env, moto] = await Promise.all([startDevServer(), startMoto()]);
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ENDPOINT_URL_S3 = moto.endpoint;
  process.env.VOUCH_LOG_LEVEL = 'error';
});
after(async () => {
  await moto?.stop();
  await env?.teardown();
});

describe('file intake', () => {
  test('S3 .json.gz trail files: every change reviewed once; digest files skipped; a second run only finds the reviews', async (t) => {
    const account = randomAccount();
    const bucket = `trail-${account}`;
    const s3 = s3Client(process.env);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const files = loadRecordFiles();
    const all: Rec[] = [];
    for (const f of files) {
      const records = inAccount((JSON.parse(f.text) as { Records: Rec[] }).Records, account);
      all.push(...records);
      const key = `AWSLogs/${account}/CloudTrail/us-east-1/2023/07/10/${f.name.replace(/^\d{12}_/, `${account}_`)}.gz`;
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key.replace(/\.json\.gz$/, '.json.gz'), Body: zlib.gzipSync(JSON.stringify({ Records: records })) }));
    }
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `AWSLogs/${account}/CloudTrail-Digest/us-east-1/2023/07/10/${account}_CloudTrail-Digest_us-east-1_x.json.gz`,
        Body: zlib.gzipSync(JSON.stringify({ awsAccountId: account, digestStartTime: '2023-07-10T11:00:00Z' })),
      }),
    );
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `AWSLogs/${account}/README.txt`, Body: 'not a log file' }));

    const deadDir = tmp('vouch-s3-dl-');
    const pipeline = new IntakePipeline({
      judge: testJudge,
      starter: temporalStarter(env.client, { taskQueue: REVIEW_QUEUE, uiBaseUrl: 'http://127.0.0.1:8233' }),
      deadLetters: new FolderDeadLetterStore(deadDir),
      review: { securityResponders: [] },
    });
    const listed = await listS3(s3, `s3://${bucket}/AWSLogs/`);
    assert.equal(listed.length, files.length, 'only the log files, no digest, no README');
    const t0 = Date.now();
    const first = await ingestFiles(listed, pipeline, { concurrency: 16 });
    const took = (Date.now() - t0) / 1000;
    const expected = expectedReviewed(all);
    assert.equal(first.records, all.length);
    assert.equal(first.started, expected.size);
    assert.equal(first.deadLettered, 0);
    const byId = await waitForReviews(env.client, account, expected.size);
    assert.deepEqual([...eventIdsOf(byId, account)].sort(), [...expected].sort());
    assert.deepEqual([...new Set(byId.values())], [1]);

    const again = await ingestFiles(await listS3(s3, `s3://${bucket}/AWSLogs/${account}/CloudTrail/`), pipeline, { concurrency: 16 });
    assert.deepEqual([again.started, again.existing], [0, expected.size], 'a replay overlaps safely');
    t.diagnostic(`${files.length} files, ${all.length} records, ${expected.size} reviews started, ${first.ignored} ignored, in ${took.toFixed(1)} s (${Math.round(all.length / took)} records/s, concurrency 16)`);
  });

  test('vouch ingest --from DIR: truncated JSON, binary junk, wrong types, missing fields and a 10 MB record are dead-lettered; the rest is reviewed', async () => {
    const account = randomAccount();
    const dir = tmp('vouch-dir-');
    const deadDir = tmp('vouch-dir-dl-');
    const records = inAccount((JSON.parse(fs.readFileSync(FIXTURE_RECORDS, 'utf8')) as { Records: Rec[] }).Records, account);
    const good = records.map((r, i) => ({ ...r, eventID: `good-${i}` }));
    const write = good.find((r) => expectedReviewed([r]).size === 1) as Rec;
    fs.mkdirSync(path.join(dir, 'nested'));
    fs.writeFileSync(path.join(dir, 'a-good.json'), JSON.stringify({ Records: good.slice(0, 6) }));
    fs.writeFileSync(path.join(dir, 'nested', 'b-good.json.gz'), zlib.gzipSync(JSON.stringify({ Records: good.slice(6) })));
    const truncated = JSON.stringify({ Records: good }, null, 2).slice(0, 900);
    fs.writeFileSync(path.join(dir, 'c-truncated.json'), truncated);
    const junk = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256));
    fs.writeFileSync(path.join(dir, 'd-junk.json.gz'), junk);
    fs.writeFileSync(path.join(dir, 'e-binary.json'), Buffer.concat([Buffer.from([0xff, 0xfe, 0xfd]), junk]));
    const bad = [
      { ...write, eventID: 'types-1', eventTime: 20230710 },
      { ...write, eventID: 'types-2', requestParameters: ['groupId', 'sg-1'] },
      { ...write, eventID: undefined },
      { ...write, eventID: 'missing-2', eventName: undefined },
      { ...write, eventID: 'huge-1', requestParameters: { policyDocument: 'A'.repeat(10 * 1024 * 1024) } },
      { ...write, eventID: 'after-bad' },
    ];
    fs.writeFileSync(path.join(dir, 'f-mixed.jsonl'), `${bad.map((r) => JSON.stringify(r)).join('\n')}\n{"eventID": "cut-line", "eventTi\n`);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not CloudTrail');

    const res = await runIngest(['--from', dir, '--dead-letter', deadDir, '--concurrency', '4'], testJudge, [account]);
    assert.equal(res.code, 1, 'records were dead-lettered');
    assert.match(res.stderr, /9 record\(s\) or file\(s\) could not be processed; kept with the reason in /);
    assert.equal(res.summary.files, 5 + 1);
    assert.equal(res.summary.badFiles, 3);
    assert.equal(res.summary.deadLettered, 3 + 5 + 1);

    const letters = await new FolderDeadLetterStore(deadDir).list();
    const reasonOf = (pred: (l: (typeof letters)[number]) => boolean) => letters.find(pred)?.reason ?? '(none)';
    assert.match(reasonOf((l) => l.source.endsWith('c-truncated.json')), /c-truncated\.json: \(json\) is not valid JSON/);
    assert.match(reasonOf((l) => l.source.endsWith('d-junk.json.gz')), /d-junk\.json\.gz: is not a valid gzip file/);
    assert.match(reasonOf((l) => l.source.endsWith('e-binary.json')), /e-binary\.json: is not UTF-8 text/);
    assert.match(reasonOf((l) => l.eventID === 'types-1'), /f-mixed\.jsonl#0: eventTime must be a string, got number/);
    assert.match(reasonOf((l) => l.eventID === 'types-2'), /f-mixed\.jsonl#1: requestParameters must be an object or null/);
    assert.match(reasonOf((l) => l.source.endsWith('f-mixed.jsonl#2')), /eventID is missing/);
    assert.match(reasonOf((l) => l.eventID === 'missing-2'), /f-mixed\.jsonl#3: eventName is missing/);
    assert.match(reasonOf((l) => l.eventID === 'huge-1'), /f-mixed\.jsonl#4: \(record\) is 1048\d{4} bytes, over the 1048576-byte limit/);
    assert.match(reasonOf((l) => l.source.endsWith('f-mixed.jsonl#6')), /\(json\) is not valid JSON/);
    // Kept as they came: the junk byte for byte, the truncated file and the cut line as text.
    assert.deepEqual(rawOf(letters.find((l) => l.source.endsWith('d-junk.json.gz')) as never), junk);
    assert.equal(rawOf(letters.find((l) => l.source.endsWith('c-truncated.json')) as never).toString('utf8'), truncated);
    assert.equal(rawOf(letters.find((l) => l.source.endsWith('f-mixed.jsonl#6')) as never).toString('utf8'), '{"eventID": "cut-line", "eventTi');

    // The process kept going: every good record, and the good one after the bad lines, reviewed.
    const expected = expectedReviewed([...good, bad[5]]);
    const byId = await waitForReviews(env.client, account, expected.size);
    assert.deepEqual([...eventIdsOf(byId, account)].sort(), [...expected].sort());
  });

  test('vouch ingest --from DIR with the shipped policy reviews the pinned risky records and ignores the read-only ones', async () => {
    const account = randomAccount();
    const dir = tmp('vouch-policy-');
    // The expectation is written down (test/intake/helpers/expected.ts), not asked of the policy under test.
    const pinned = pinnedFixtures((JSON.parse(fs.readFileSync(FIXTURE_RECORDS, 'utf8')) as { Records: Rec[] }).Records);
    const records = inAccount([...pinned.reviewed, ...pinned.ignored], account);
    fs.writeFileSync(path.join(dir, 'records.json.gz'), zlib.gzipSync(JSON.stringify({ Records: records })));
    const expected = new Set(pinned.reviewed.map((r) => String(r.eventID)));
    assert.equal(expected.size, 7);
    const res = await runIngest(['--from', dir, '--dead-letter', tmp('vouch-policy-dl-')], 'policy', [account]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.summary.started, 7);
    assert.equal(res.summary.ignored, 3);
    const byId = await waitForReviews(env.client, account, expected.size);
    assert.deepEqual([...eventIdsOf(byId, account)].sort(), [...expected].sort());
  });

  test('usage errors are named and exit 2', async () => {
    assert.equal((await runIngest([])).code, 2);
    const r = await runIngest(['--from', 'x', '--concurrency', 'lots']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--concurrency must be a whole number from 1 to 256, got "lots"/);
    assert.match((await runIngest(['--from', 'lookup'])).stderr, /--from lookup needs --accounts FILE/);
  });
});
