// `vouch classify`: files, folders, gzip, JSON lines, stdin; one line per record in input order; bad records give
// error lines naming file, index and field, the rest go on, and the exit status says whether any failed. Records
// without an eventID or with an unusual account are judged anyway, with warnings.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { classifyCommand, type Io } from '../../src/cli/classify';
import { runCommand } from '../../src/cli/program';
import { record } from '../policy/records';

interface Line {
  eventID?: string;
  eventName?: string;
  tier?: string;
  rules?: string[];
  reasons?: string[];
  revert?: { service: string; operation: string; input: Record<string, unknown> } | null;
  revertReason?: string;
  error?: string;
  source?: string;
  index?: number;
  field?: string;
  account?: string;
  warnings?: string[];
}

async function run(args: string[], stdinText?: string): Promise<{ code: number; lines: Line[]; raw: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += String(d)));
  stderr.on('data', (d) => (err += String(d)));
  if (stdinText !== undefined) stdin.end(stdinText);
  else stdin.end();
  const io: Io = { stdout, stderr, stdin };
  const code = await runCommand(classifyCommand(io), args, io);
  const lines = out.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
  return { code, lines, raw: out, stderr: err };
}

const sgOpen = (id: string): Record<string, unknown> =>
  record({ eventID: id, requestParameters: { groupId: 'sg-9', ipPermissions: {}, cidrIp: '0.0.0.0/0', fromPort: 22, toPort: 22, ipProtocol: 'tcp' } });
const describeCall = (id: string): Record<string, unknown> => record({ eventID: id, eventName: 'DescribeInstances', readOnly: true });

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-classify-'));
});
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

describe('vouch classify', () => {
  test('good input: one line per record with tier, rules, reasons and the revert call; exit 0', async () => {
    const file = write('good.json', JSON.stringify({ Records: [sgOpen('e-1'), describeCall('e-2')] }));
    const { code, lines, stderr } = await run([file]);
    assert.equal(code, 0, stderr);
    assert.equal(lines.length, 2);
    const [a, b] = lines as [Line, Line];
    assert.equal(a.eventID, 'e-1');
    assert.equal(a.tier, 'revert');
    assert.deepEqual(a.rules, ['sg-ingress-world-admin', 'sg-ingress-world']);
    assert.deepEqual(a.reasons, ['security group sg-9 opened to 0.0.0.0/0 on port 22']);
    assert.equal(a.revert?.service, 'ec2');
    assert.equal(a.revert?.operation, 'RevokeSecurityGroupIngress');
    assert.deepEqual(Object.keys(a), ['eventID', 'eventName', 'account', 'actor', 'tier', 'score', 'rules', 'reasons', 'revert']);
    assert.equal(b.tier, 'ignore');
    assert.equal(b.revert, null);
    assert.equal(typeof b.revertReason, 'string');
    assert.match(stderr, /classified 2 record\(s\): ignore 1, notify 0, confirm 0, page 0, revert 1, failed 0/);
  });

  test('malformed input: clear error lines naming file, index and field; the rest go on; exit 1', async () => {
    const wrong = write(
      'mixed.json',
      JSON.stringify({
        Records: [
          sgOpen('m-0'),
          { ...sgOpen('m-1'), eventID: 12345 },
          (({ eventName: _drop, ...rest }) => rest)(sgOpen('m-2')),
          { ...sgOpen('m-3'), requestParameters: 'not an object' },
          { ...sgOpen('m-4'), recipientAccountId: 'abc', userIdentity: { type: 'IAMUser' } },
          { ...sgOpen('m-5'), eventTime: 'yesterday' },
          'a string, not a record',
          describeCall('m-7'),
        ],
      }),
    );
    const truncated = write('truncated.json', JSON.stringify({ Records: [sgOpen('t-0'), sgOpen('t-1')] }).slice(0, 300));
    const junk = write('junk.bin', randomBytes(4096));
    // 10 MB: a valid record with a huge request, and a huge record that lacks a required field.
    const pad = 'x'.repeat(10 * 1024 * 1024);
    const huge = write('huge.json', JSON.stringify([record({ eventID: 'h-0', eventName: 'PutObject', eventSource: 's3.amazonaws.com', requestParameters: { blob: pad } }), (({ eventSource: _d, ...rest }) => rest)(record({ eventID: 'h-1', requestParameters: { blob: pad } }))]));
    const lines = write('lines.jsonl', [JSON.stringify(sgOpen('l-0')), '{"eventID": "l-1", broken', JSON.stringify(describeCall('l-2'))].join('\n'));
    const { code, lines: out, raw, stderr } = await run([wrong, truncated, junk, huge, lines]);
    assert.equal(code, 1);

    const fromWrong = out.filter((l) => l.eventID?.startsWith('m-') || l.source === wrong);
    assert.equal(fromWrong.length, 8, 'one line per record, good or bad');
    const errs = fromWrong.filter((l) => l.error);
    assert.deepEqual(
      errs.map((e) => [e.index, e.field]),
      [
        [1, 'eventID'],
        [2, 'eventName'],
        [3, 'requestParameters'],
        [5, 'eventTime'],
        [6, '(record)'],
      ],
    );
    assert.match(errs[0]?.error ?? '', new RegExp(`${wrong.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}#1: eventID must be a string, got number`));
    assert.match(errs[1]?.error ?? '', /#2: eventName is missing/);
    assert.equal(errs[1]?.eventID, 'm-2', 'the eventID is kept when it can be read');
    assert.equal(fromWrong[0]?.tier, 'revert');
    assert.deepEqual([fromWrong[4]?.account, fromWrong[4]?.tier], ['abc', 'revert'], 'an unusual account is judged, with a warning');
    assert.match(fromWrong[4]?.warnings?.[0] ?? '', /account id "abc" is not a 12-digit AWS account id/);
    assert.equal(fromWrong[7]?.tier, 'ignore', 'records after bad ones go on');

    const t = out.filter((l) => l.source === truncated);
    assert.equal(t.length, 1);
    assert.equal(t[0]?.field, '(json)');
    assert.match(t[0]?.error ?? '', /truncated\.json#0: \(json\) is not valid JSON/);

    const j = out.filter((l) => l.source === junk);
    assert.ok(j.length >= 1 && j.every((l) => typeof l.error === 'string'), 'binary junk gives error lines only');

    const h = out.filter((l) => l.eventID?.startsWith('h-') || l.source === huge);
    assert.equal(h.length, 2);
    assert.equal(h[0]?.tier, 'ignore');
    assert.equal(h[1]?.field, 'eventSource');
    assert.ok(raw.length < 1_000_000, 'no 10 MB value echoed into the output');

    const l = out.filter((x) => x.eventID?.startsWith('l-') || x.source === lines);
    assert.deepEqual(
      l.map((x) => x.tier ?? `error:${x.index}:${x.field}`),
      ['revert', 'error:1:(json)', 'ignore'],
    );
    assert.match(stderr, /failed \d+/);
  });

  test('folders are read recursively in name order, with .json.gz as delivered to S3; other files are skipped', async () => {
    const root = path.join(dir, 'tree');
    write('tree/b/2026/11/28/acct_CloudTrail_x.json.gz', zlib.gzipSync(JSON.stringify({ Records: [sgOpen('z-1'), describeCall('z-2')] })));
    write('tree/a/one.json', JSON.stringify(describeCall('z-0')));
    write('tree/README.md', '# not data');
    const { code, lines } = await run([root]);
    assert.equal(code, 0);
    assert.deepEqual(
      lines.map((x) => x.eventID),
      ['z-0', 'z-1', 'z-2'],
    );
    assert.equal(lines[1]?.tier, 'revert');
  });

  test('standard input ("-" or no path): JSON lines and EventBridge envelopes', async () => {
    const envelope = { version: '0', id: 'x', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.ec2', account: '210987654321', detail: { ...sgOpen('s-1'), recipientAccountId: undefined } };
    const { code, lines } = await run(['-'], `${JSON.stringify(envelope)}\n${JSON.stringify(describeCall('s-2'))}\n`);
    assert.equal(code, 0);
    assert.deepEqual(
      lines.map((x) => [x.eventID, x.tier]),
      [
        ['s-1', 'revert'],
        ['s-2', 'ignore'],
      ],
    );
    // Intake refuses this envelope (the record names no account to match the envelope's): classify judges it and says so.
    assert.match(lines[0]?.warnings?.[0] ?? '', /EventBridge envelope refused by intake \(account the record has no recipientAccountId to match the envelope's account 210987654321\): judged from its detail anyway/);
    assert.equal(lines[1]?.warnings, undefined);
    const forged = { ...envelope, source: 'custom.attacker', detail: sgOpen('s-4') };
    const judged = await run(['-'], JSON.stringify(forged));
    assert.deepEqual([judged.code, judged.lines[0]?.eventID, judged.lines[0]?.tier], [0, 's-4', 'revert']);
    assert.match(judged.lines[0]?.warnings?.[0] ?? '', /refused by intake \(source must be an AWS service's/);
    const none = await run([], JSON.stringify(describeCall('s-3')));
    assert.equal(none.lines[0]?.eventID, 's-3');
  });

  test('a missing path and a broken policy file are reported', async () => {
    const missing = await run([path.join(dir, 'nope.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.lines[0]?.error ?? '', /nope\.json: cannot be read: ENOENT/);
    const policy = write('bad-policy.yaml', 'version: 2\nrules: []\n');
    const bad = await run(['--policy', policy, path.join(dir, 'good.json')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /bad-policy\.yaml:1: version: must be 1, got 2/);
  });

  test('every record gets a verdict: no eventID → an id derived from the content, an unusual account → judged as it is, both with warnings', async () => {
    const noId = (({ eventID: _e, ...rest }) => rest)(sgOpen('unused'));
    const nullId = { ...describeCall('unused'), eventID: null };
    const shortAccount = { ...sgOpen('w-2'), recipientAccountId: '123' };
    const numericAccount = { ...sgOpen('w-3'), recipientAccountId: 111122223333, userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob', userName: 'bob' } };
    const noAccount = (({ recipientAccountId: _r, ...rest }) => ({ ...rest, userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob', userName: 'bob' } }))(sgOpen('w-4'));
    const file = write('siem.jsonl', [noId, nullId, shortAccount, numericAccount, noAccount].map((r) => JSON.stringify(r)).join('\n'));
    const first = await run([file]);
    assert.equal(first.code, 0, first.raw);
    const [a, b, c, d, e] = first.lines;
    assert.match(a?.eventID ?? '', /^derived-[0-9a-f]{32}$/);
    assert.equal(a?.tier, 'revert', 'judged like any record');
    assert.match(a?.warnings?.join(' ') ?? '', /no eventID: judged as derived-[0-9a-f]{32}, derived from the record's content/);
    assert.match(b?.eventID ?? '', /^derived-/);
    assert.notEqual(a?.eventID, b?.eventID, 'different records, different ids');
    assert.equal(b?.tier, 'ignore');
    assert.equal(b?.warnings?.length, 1, 'an ignored record carries its warnings too');
    assert.deepEqual([c?.eventID, c?.account, c?.tier], ['w-2', '123', 'revert']);
    assert.match(c?.warnings?.[0] ?? '', /account id "123" is not a 12-digit AWS account id: judged as it is; intake would keep this record as a dead letter/);
    assert.deepEqual([d?.account, d?.warnings], ['111122223333', ['account id 111122223333 is a number: read as "111122223333"']]);
    assert.deepEqual([e?.account, e?.tier], ['unknown', 'revert']);
    assert.match(e?.warnings?.[0] ?? '', /no account id/);
    // The same record gets the same id on every run; a record without problems has no warnings field.
    const again = await run([file]);
    assert.deepEqual(again.lines.map((l) => l.eventID), first.lines.map((l) => l.eventID));
    const clean = await run([write('clean.json', JSON.stringify([sgOpen('w-9')]))]);
    assert.equal(clean.lines[0]?.warnings, undefined);
  });

  test('--policy replaces the default policy', async () => {
    const policy = write('strict.yaml', 'version: 1\nrules:\n  - { id: any-describe, title: reads, events: [DescribeInstances], score: 60 }\ndemote: { readOnly: notify }\n');
    const { lines } = await run(['--policy', policy, path.join(dir, 'good.json')]);
    assert.deepEqual(
      lines.map((x) => x.tier),
      ['ignore', 'notify'],
    );
  });
});
