// The intake pipeline on its own: what happens to every kind of record, including malformed ones, with the starter
// replaced by an in-memory USE_EXISTING map (the Temporal side is covered by the SQS, files and poller tests).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RecordError } from '../../src/intake/record-check';
import { FolderDeadLetterStore, rawOf } from '../../src/intake/dead-letter';
import { listDir, splitRecords } from '../../src/intake/files';
import { IntakePipeline, TransientIntakeError, type Starter } from '../../src/intake/pipeline';
import { parseEnvelope } from '../../src/intake/sqs';
import { envelope, loadRecords, testJudge, type Rec } from './helpers/records';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-intake-'));
}

/** Like the server with USE_EXISTING: the first start of an id starts, later ones find it. */
function memoryStarter(): Starter & { ids: Map<string, number> } {
  const ids = new Map<string, number>();
  const fn = (async (input) => {
    const id = `vouch-${input.change.account}-${input.change.eventId}`;
    const seen = ids.get(id) ?? 0;
    ids.set(id, seen + 1);
    return { workflowId: id, status: seen === 0 ? 'started' : 'existing' };
  }) as Starter & { ids: Map<string, number> };
  fn.ids = ids;
  return fn;
}

const { records } = loadRecords();
const write = records.find((r) => !r.errorCode && r.readOnly === false && /^(Create|Put|Attach|Authorize|Stop|Delete)/.test(String(r.eventName))) as Rec;
const read = records.find((r) => r.readOnly === true && !r.errorCode) as Rec;

function pipelineWith(opts: { starter?: Starter; dir?: string; judge?: typeof testJudge } = {}) {
  const dir = opts.dir ?? tmpDir();
  const store = new FolderDeadLetterStore(dir);
  const starter = opts.starter ?? memoryStarter();
  const pipeline = new IntakePipeline({
    judge: opts.judge ?? testJudge,
    starter,
    deadLetters: store,
    review: { securityResponders: ['USEC1'] },
  });
  return { pipeline, store, starter, dir };
}

describe('intake pipeline', () => {
  test('a change is reviewed once, a repeat finds the review, a read-only call is ignored; metrics count each', async () => {
    assert.ok(write && read, 'the data has a write and a read');
    const starter = memoryStarter();
    const { pipeline } = pipelineWith({ starter });
    const first = await pipeline.process({ kind: 'sqs', source: 'test', index: 0, record: write });
    const again = await pipeline.process({ kind: 'files', source: 'test', index: 0, record: write });
    const ignored = await pipeline.process({ kind: 'sqs', source: 'test', index: 1, record: read });
    assert.equal(first.status, 'started');
    assert.equal(again.status, 'existing');
    assert.equal(ignored.status, 'ignored');
    assert.equal(starter.ids.size, 1);
    const m = pipeline.metrics.snapshot();
    assert.deepEqual(
      { read: m.read, ignored: m.ignored, started: m.started, existing: m.existing, failed: m.failed, reviewed: m.reviewed },
      { read: 3, ignored: 1, started: 1, existing: 1, failed: 0, reviewed: 2 },
    );
    assert.equal(m.bySource.sqs?.read, 2);
    assert.equal(m.bySource.files?.existing, 1);
    // Lag from eventTime to review start: the record is from the past, so the lag is its age.
    const age = (Date.now() - Date.parse(String(write.eventTime))) / 1000;
    assert.equal(m.lagSeconds.count, 1);
    assert.ok(Math.abs(m.lagSeconds.sum - age) < 60, `lag ${m.lagSeconds.sum} ≈ age ${age}`);
    assert.equal(m.lagSeconds.buckets.at(-1)?.count, 1);
  });

  test('malformed records are dead-lettered with a reason naming the field, and the next records still go through', async () => {
    const { pipeline, store } = pipelineWith();
    const huge = { ...write, eventID: 'huge-1', requestParameters: { policyDocument: 'x'.repeat(10 * 1024 * 1024) } };
    const items: Array<{ record: unknown; text?: string }> = [
      { record: { ...write, eventID: undefined } }, // missing field
      { record: { ...write, eventID: 'wrong-type-1', eventTime: 1688989338 } }, // wrong type
      { record: { ...write, eventID: 'bad-time-1', eventTime: 'yesterday' } },
      { record: { ...write, eventID: 'bad-req-1', requestParameters: 'groupId=sg-1' } },
      { record: ['not', 'a', 'record'] },
      { record: new RecordError('lines.jsonl', 5, '(json)', 'is not valid JSON: Unexpected end of JSON input'), text: '{"eventID":"trunc' },
      { record: huge },
      { record: { ...write, eventID: 'good-after-bad' } },
    ];
    const results = await pipeline.processAll(items.map((it, i) => ({ kind: 'files', source: 'bad.json', index: i, ...it })));
    assert.deepEqual(results.map((r) => r.status), [...Array(7).fill('dead-lettered'), 'started']);
    const reasons = results.map((r) => (r.status === 'dead-lettered' ? r.reason : ''));
    assert.match(reasons[0] ?? '', /bad\.json#0: eventID is missing/);
    assert.match(reasons[1] ?? '', /bad\.json#1: eventTime must be a string, got number/);
    assert.match(reasons[2] ?? '', /bad\.json#2: eventTime is not a timestamp/);
    assert.match(reasons[3] ?? '', /bad\.json#3: requestParameters must be an object or null/);
    assert.match(reasons[4] ?? '', /bad\.json#4: \(record\) must be a JSON object/);
    assert.match(reasons[5] ?? '', /lines\.jsonl#5: \(json\) is not valid JSON/);
    assert.match(reasons[6] ?? '', /bad\.json#6: \(record\) is \d+ bytes, over the 1048576-byte limit/);

    const letters = await store.list();
    assert.equal(letters.length, 7);
    const byField = new Map(letters.map((l) => [l.field, l]));
    assert.equal(byField.get('eventID')?.sourceKind, 'files');
    assert.equal(byField.get('eventTime') !== undefined, true);
    const big = letters.find((l) => l.eventID === 'huge-1');
    assert.ok(big && big.bytes > 10 * 1024 * 1024, 'the 10 MB record is kept whole');
    assert.equal((JSON.parse(rawOf(big).toString('utf8')) as Rec).eventID, 'huge-1');
    const truncated = letters.find((l) => l.source === 'bad.json#5');
    assert.equal(truncated && rawOf(truncated).toString('utf8'), '{"eventID":"trunc', 'the unreadable line is kept as it was');
    const m = pipeline.metrics.snapshot();
    assert.equal(m.failed, 7);
    assert.equal(m.started, 1);
  });

  test('binary junk is kept byte for byte (base64), and the same letter twice is kept once', async () => {
    const { pipeline, store } = pipelineWith();
    const junk = Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x1f, 0x8b, 0xc3, 0x28, 0xa0, 0xa1]);
    await pipeline.reject({ kind: 'sqs', source: 'sqs://q#m1', reason: 'not JSON', raw: junk });
    await pipeline.reject({ kind: 'sqs', source: 'sqs://q#m1', reason: 'not JSON', raw: junk });
    const letters = await store.list();
    assert.equal(letters.length, 1);
    assert.equal(letters[0]?.raw.encoding, 'base64');
    assert.deepEqual(rawOf(letters[0] as never), junk);
    assert.equal(pipeline.metrics.snapshot().failed, 2);
  });

  test('a policy that throws dead-letters the record; the server refusing a start (INVALID_ARGUMENT) too', async () => {
    const { pipeline: p1 } = pipelineWith({ judge: () => { throw new Error('rule sg-open-world: bad CIDR'); } });
    const r1 = await p1.process({ kind: 'lookup', source: 'lookup://a/r#1', index: 0, record: write });
    assert.equal(r1.status, 'dead-lettered');
    assert.match(r1.status === 'dead-lettered' ? r1.reason : '', /the policy failed on \w+ .*rule sg-open-world: bad CIDR/);

    const refusing: Starter = async () => {
      throw Object.assign(new Error('Failed to start Workflow'), { cause: Object.assign(new Error('3 INVALID_ARGUMENT: Blob data size exceeds limit'), { code: 3 }) });
    };
    const { pipeline: p2 } = pipelineWith({ starter: refusing });
    const r2 = await p2.process({ kind: 'sqs', source: 'sqs://q#2', index: 0, record: write });
    assert.equal(r2.status, 'dead-lettered');
    assert.match(r2.status === 'dead-lettered' ? r2.reason : '', /refused the review .*Blob data size exceeds limit/);
  });

  test('Temporal unreachable is transient: thrown, counted as retried, nothing dead-lettered', async () => {
    const down: Starter = async () => {
      throw Object.assign(new Error('14 UNAVAILABLE: connect ECONNREFUSED 127.0.0.1:7233'), { code: 14 });
    };
    const { pipeline, store } = pipelineWith({ starter: down });
    await assert.rejects(pipeline.process({ kind: 'sqs', source: 'sqs://q#3', index: 0, record: write }), (err: unknown) => {
      assert.ok(err instanceof TransientIntakeError);
      assert.match(err.message, /could not start the review .*UNAVAILABLE/);
      return true;
    });
    assert.equal((await store.list()).length, 0);
    const m = pipeline.metrics.snapshot();
    assert.equal(m.retried, 1);
    assert.equal(m.failed, 0);
  });

  test('when the dead letter cannot be kept, the record is not acknowledged (transient)', async () => {
    const dir = tmpDir();
    const blocked = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocked, 'a file where the folder should be');
    const { pipeline } = pipelineWith({ dir: blocked });
    await assert.rejects(
      pipeline.process({ kind: 'sqs', source: 'sqs://q#4', index: 0, record: { eventName: 'X' } }),
      (err: unknown) => err instanceof TransientIntakeError && /could not keep the dead letter .*reason was: .*eventID is missing/.test(err.message),
    );
  });

  test('many records: at most N in flight, results in input order; a transient failure stops new work, lets the rest finish', async () => {
    let inFlight = 0;
    let most = 0;
    const calls: string[] = [];
    const finished: string[] = [];
    const starter: Starter = async (input) => {
      calls.push(input.change.eventId);
      inFlight += 1;
      most = Math.max(most, inFlight);
      // Later records finish first, so the order of the results is the pipeline's doing.
      await new Promise((r) => setTimeout(r, 40 - Number(input.change.eventId.split('-')[1]) * 3));
      inFlight -= 1;
      if (input.change.eventId === 'many-5') throw Object.assign(new Error('14 UNAVAILABLE: connection refused'), { code: 14 });
      finished.push(input.change.eventId);
      return { workflowId: `wf-${input.change.eventId}`, status: 'started' };
    };
    const items = (n: number) => Array.from({ length: n }, (_, i) => ({ kind: 'files' as const, source: 's', index: i, record: { ...write, eventID: `many-${i}` } }));
    const ok = await pipelineWith({ starter: async (input) => ({ workflowId: `wf-${input.change.eventId}`, status: 'started' }) }).pipeline.processAll(items(5), 3);
    assert.deepEqual(ok.map((r) => r.eventId), ['many-0', 'many-1', 'many-2', 'many-3', 'many-4']);

    const { pipeline } = pipelineWith({ starter });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of pipeline.processInOrder(items(12), 3)) seen.push(r.eventId ?? '');
      })(),
      (err: unknown) => err instanceof TransientIntakeError && /many-5/.test(err.message),
    );
    assert.ok(most <= 3 && most >= 2, `at most 3 in flight (saw ${most})`);
    assert.deepEqual(seen, ['many-0', 'many-1', 'many-2', 'many-3', 'many-4'], 'the results before the failure, in order');
    assert.ok(calls.length < 12, `new work stopped after the failure (${calls.length} of 12 started)`);
    assert.deepEqual([...finished].sort(), calls.filter((id) => id !== 'many-5').sort(), 'every record in flight finished before the error was thrown');
  });

  test('--rate spaces records out', async () => {
    const starter = memoryStarter();
    const pipeline = new IntakePipeline({
      judge: testJudge,
      starter,
      deadLetters: new FolderDeadLetterStore(tmpDir()),
      review: { securityResponders: [] },
      maxPerSecond: 20,
    });
    const t0 = Date.now();
    await pipeline.processAll(Array.from({ length: 6 }, (_, i) => ({ kind: 'files' as const, source: 's', index: i, record: { ...write, eventID: `rate-${i}` } })), 6);
    assert.ok(Date.now() - t0 >= 5 * 50 - 10, `6 records at 20/s take at least 250 ms (took ${Date.now() - t0})`);
    assert.equal(starter.ids.size, 6);
  });
});

describe('splitting files and SQS bodies', () => {
  test('Records files, arrays, single envelopes and JSON lines split into records; a bad line keeps its text', () => {
    const a = { ...write, eventID: 'a' };
    const b = { ...write, eventID: 'b' };
    assert.deepEqual(splitRecords(JSON.stringify({ Records: [a, b] }), 'f').items.map((i) => (i.record as Rec).eventID), ['a', 'b']);
    assert.deepEqual(splitRecords(JSON.stringify([a]), 'f').items.map((i) => (i.record as Rec).eventID), ['a']);
    assert.equal((splitRecords(JSON.stringify(envelope(a)), 'f').items[0]?.record as Rec).eventID, 'a');
    const lines = `${JSON.stringify(a)}\n{"eventID": "tru\n${JSON.stringify(envelope(b))}\n`;
    const split = splitRecords(lines, 'f.jsonl').items;
    assert.equal(split.length, 3);
    assert.ok(split[1]?.record instanceof RecordError);
    assert.match((split[1]?.record as RecordError).message, /f\.jsonl#1: \(json\) is not valid JSON/);
    assert.equal(split[1]?.text, '{"eventID": "tru');
    assert.equal((split[2]?.record as Rec).eventID, 'b');
  });

  test('a truncated {"Records":[…] file is one bad file, with the parser position', () => {
    const text = JSON.stringify({ Records: [write, write] }, null, 2);
    assert.throws(() => splitRecords(text.slice(0, text.length / 2), 'cut.json'), (err: unknown) => {
      assert.ok(err instanceof RecordError);
      assert.equal(err.field, '(json)');
      assert.match(err.message, /^cut\.json#0: \(json\) is not valid JSON: .*(position|Unterminated|Unexpected end)/);
      return true;
    });
  });

  test('folders: record files in code-point order, symbolic links followed once, digests and other files skipped', async () => {
    const root = tmpDir();
    const put = (rel: string): void => {
      fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      fs.writeFileSync(path.join(root, rel), '{}');
    };
    for (const rel of ['b/x.json.gz', 'B/y.jsonl', 'a/z.json', 'a/notes.txt', 'AWSLogs/1/CloudTrail-Digest/d.json.gz']) put(rel);
    const outside = tmpDir();
    fs.writeFileSync(path.join(outside, 'linked.json'), '{}');
    fs.symlinkSync(outside, path.join(root, 'c-link'));
    fs.symlinkSync(root, path.join(root, 'a', 'loop')); // a folder that contains itself
    const names = (await listDir(root)).map((f) => path.relative(root, f.name));
    assert.deepEqual(names, ['B/y.jsonl', 'a/z.json', 'b/x.json.gz', 'c-link/linked.json']);
    assert.deepEqual((await listDir(path.join(root, 'a', 'notes.txt'))).map((f) => path.basename(f.name)), ['notes.txt'], 'a file named on its own is read whatever its name');
  });

  test('SQS bodies: envelopes (raw or through SNS) pass; everything else says what is wrong', () => {
    const own = { ...write, recipientAccountId: String(write.recipientAccountId ?? '123456789012') };
    const env = envelope(own);
    const ok = parseEnvelope(JSON.stringify(env));
    assert.ok(ok.ok);
    assert.equal(ok.ok && ok.record.recipientAccountId, env.account);
    assert.ok(parseEnvelope(JSON.stringify({ Type: 'Notification', Message: JSON.stringify(env) })).ok);
    const cases: Array<[string, RegExp]> = [
      ['{"detail-type": "AWS API Call via CloudTrail", "detail": {', /^message body is not valid JSON/],
      ['[1,2]', /must be an EventBridge envelope \(a JSON object\), got an array/],
      [JSON.stringify(write), /detail-type is missing/],
      [JSON.stringify({ ...env, 'detail-type': 'EC2 Instance State-change Notification' }), /detail-type must be "AWS API Call via CloudTrail", got "EC2 Instance/],
      [JSON.stringify({ ...env, detail: 'oops' }), /detail must be an object .* got string/],
      // Provenance: only AWS services emit aws.* events; the envelope is for the record's own account.
      [JSON.stringify({ ...env, source: 'custom.attacker' }), /source must be an AWS service's \(aws\.\*\), got "custom\.attacker"/],
      [JSON.stringify({ ...env, account: '999999999999' }), /the envelope's account 999999999999 is not the record's recipientAccountId/],
      [JSON.stringify({ ...env, detail: { ...own, recipientAccountId: undefined } }), /the record has no recipientAccountId/],
      ['\u0000\u00ff\u0001junk', /not valid JSON/],
    ];
    for (const [body, reason] of cases) {
      const r = parseEnvelope(body);
      assert.equal(r.ok, false, body.slice(0, 40));
      assert.match(r.ok ? '' : r.reason, reason);
    }
    const sns = parseEnvelope(JSON.stringify({ Type: 'Notification', Message: '{"detail-type":' }));
    assert.deepEqual(sns.ok ? null : [sns.field, /^SNS notification's Message is not valid JSON/.test(sns.reason)], ['Message', true]);
    const wrong = parseEnvelope(JSON.stringify({ ...env, detail: [1] }));
    assert.equal(wrong.ok ? null : wrong.field, 'detail');
    // A "__proto__" key in the record stays an own property (kept, redacted like any other), never a prototype.
    const proto = parseEnvelope(
      '{"detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"111122223333","detail":{"__proto__":{"polluted":1},"eventID":"p","recipientAccountId":"111122223333"}}',
    );
    assert.ok(proto.ok);
    assert.ok(proto.ok && Object.hasOwn(proto.record, '__proto__'));
    assert.equal(proto.ok && Object.getPrototypeOf(proto.record), Object.prototype);
    assert.equal(proto.ok && proto.record.recipientAccountId, '111122223333');
  });
});
