// `vouch policy check FILE`: every mistake reported with its line; the shipped policy passes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { policyCommand, type Io } from '../../src/cli/classify';
import { runCommand } from '../../src/cli/program';
import { DEFAULT_POLICY_FILE, parsePolicy, PolicyError } from '../../src/policy';

function capture(): { io: Io; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (d) => (o += String(d)));
  stderr.on('data', (d) => (e += String(d)));
  return { io: { stdout, stderr, stdin: new PassThrough() }, out: () => o, err: () => e };
}

const BROKEN = `version: 1
thresholds: { notify: 20, confirm: 90, page: 80 }
rules:
  - id: ok-rule
    title: fine
    events: [StopLogging]
    score: 90
  - id: Bad Id
    title: broken
    events: [StopLogging]
    score: 190
    tier: panic
    when:
      - { field: request.name, equalz: x }
      - { field: nowhere.name, equals: x }
      - { field: request.cidr, prefixLength: wide }
    reason: 'trail {request.name|bogus.path}'
  - id: ok-rule
    title: duplicate
    events: [StopLogging]
    score: 10
    revert: sometimes
exemptions:
  - id: no-expiry
    approver: ''
    reason: forgot the date
    rules: [missing-rule]
allow:
  - id: too-broad
    note: matches everything
`;

describe('policy check', () => {
  test('every mistake is listed with its line', () => {
    let err: PolicyError | undefined;
    try {
      parsePolicy(BROKEN, 'broken.yaml');
    } catch (e) {
      err = e as PolicyError;
    }
    assert.ok(err instanceof PolicyError, 'a PolicyError');
    const lines = err.problems.map((p) => `${p.line} ${p.path}: ${p.message}`);
    const expect: [number, RegExp][] = [
      [2, /thresholds: must rise: notify \(20\) < confirm \(90\) < page \(80\)/],
      [8, /rules\[1\]\.id: must be a lower-case id/],
      [11, /rules\[1\]\.score: must be a whole number from 0 to 100, got 190/],
      [12, /rules\[1\]\.tier: must be one of ignore, notify, confirm, page, revert, got "panic"/],
      [14, /rules\[1\]\.when\[0\]\.equalz: unknown operator "equalz"/],
      [15, /rules\[1\]\.when\[1\]\.field: "nowhere\.name" must start with one of/],
      [16, /rules\[1\]\.when\[2\]\.prefixLength: must be a number or/],
      [17, /rules\[1\]\.reason: "bogus\.path" must start with one of/],
      [18, /rules\[2\]\.id: duplicate rule id "ok-rule"/],
      [22, /rules\[2\]\.revert: must be allow or never, got "sometimes"/],
      [24, /exemptions\[0\]: an exemption needs "expires"/],
      [24, /exemptions\[0\]: keyed on rules alone: needs "principal", an ARN with an exact account/],
      [25, /exemptions\[0\]\.approver: is required/],
      [27, /exemptions\[0\]\.rules\[0\]: no rule has the id "missing-rule"/],
      [29, /allow\[0\]: needs "principal" \(an entry matching everything would switch vouch off\)/],
    ];
    for (const [line, re] of expect) {
      assert.ok(lines.some((l) => l.startsWith(`${line} `) && re.test(l)), `expected line ${line} ${re}; got:\n${lines.join('\n')}`);
    }
    assert.equal(err.problems.length, expect.length, `exactly these problems:\n${lines.join('\n')}`);
  });

  test('unknown keys one by one, list items, list names and time boxes are named with their lines', () => {
    const text = [
      'version: 1',
      'colour: blue',
      'trustedAccounts: ["abc", "111122223333"]',
      'lists:',
      '  privateVpcs: [vpc-1, {a: 1}]',
      'rules:',
      '  - id: r1',
      '    title: t',
      '    events: [StopLogging]',
      '    score: 50',
      '    when: [{ field: request.name, inList: nope }]',
      '    shade: dark',
      'exemptions:',
      '  - id: late',
      '    approver: alice',
      '    reason: a migration',
      '    starts: 2026-07-02T00:00:00Z',
      '    expires: 2026-07-01T00:00:00Z',
      '    principal: arn:aws:iam::111122223333:user/alice',
      '    events: [StopLogging]',
      '',
    ].join('\n');
    let err: PolicyError | undefined;
    try {
      parsePolicy(text, 'more.yaml');
    } catch (e) {
      err = e as PolicyError;
    }
    assert.ok(err instanceof PolicyError, 'a PolicyError');
    assert.deepEqual(
      err.problems.map((p) => `${p.line} ${p.path}: ${p.message}`),
      [
        '2 colour: unknown key "colour" (allowed: version, defaults, thresholds, demote, self, trustedAccounts, lists, allow, exemptions, rules, floor)',
        '3 trustedAccounts[0]: must be a 12-digit account id, got "abc"',
        '5 lists.privateVpcs[1]: must be a list of strings (may be empty: [])',
        '11 rules[0].when[0].inList: must name a list under "lists" (privateVpcs)',
        '12 rules[0].shade: unknown key "shade" (allowed: id, title, row, refs, source, events, actors, when, score, tier, revert, revertOnTimeout, deadline, reason)',
        '17 exemptions[0].starts: must be before expires',
      ],
    );
  });

  test('YAML syntax errors are reported with their line too', () => {
    assert.throws(
      () => parsePolicy('version: 1\nrules:\n  - id: x\n    title: [unclosed\n    score: 5\n', 'bad.yaml'),
      (e: unknown) => e instanceof PolicyError && e.problems.length > 0 && e.problems.every((p) => p.line >= 4),
    );
  });

  test('the command prints FILE:LINE: problem lines and exits 1; the shipped policy passes with exit 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-policy-'));
    const file = path.join(dir, 'broken.yaml');
    fs.writeFileSync(file, BROKEN);
    const bad = capture();
    assert.equal(await runCommand(policyCommand(bad.io), ['check', file], bad.io), 1);
    assert.match(bad.out(), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:11: rules\\[1\\]\\.score: `, 'm'));
    assert.match(bad.err(), /15 problem\(s\)/);
    const good = capture();
    assert.equal(await runCommand(policyCommand(good.io), ['check', DEFAULT_POLICY_FILE], good.io), 0);
    assert.match(good.out(), /ok \(\d+ rules\)/);
    const missing = capture();
    assert.equal(await runCommand(policyCommand(missing.io), ['check', path.join(dir, 'nope.yaml')], missing.io), 1);
    assert.match(missing.out(), /cannot be read: ENOENT/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
