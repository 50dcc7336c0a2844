// The `vouch` command as users run it (src/bin/vouch.js through tsx): every command and subcommand answers --help
// with exit 0 and its options; usage errors exit 2 with the usage; config errors name the variables and exit 78.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { buildProgram, main } from '../../src/cli/index';
import { pathOf, runCommand, walk } from '../../src/cli/program';

const BIN = path.resolve(__dirname, '../../src/bin/vouch.js');
const SAMPLE = path.resolve(__dirname, '../../src/demo/fixtures/sample-events.json');

function vouch(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Runs the program in this process with captured output. */
async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(buildProgram(), argv, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

// Written out by hand (not derived from the program), so a command that goes missing fails this test.
const EXPECTED_COMMANDS = [
  'worker',
  'handler',
  'socket-mode',
  'review',
  'classify',
  'policy',
  'policy check',
  'ingest',
  'baseline',
  'baseline capture',
  'baseline show',
  'baseline diff',
  'baseline schedule',
  'iam-policy',
  'report',
  'security',
  'status',
  'setup',
  'demo',
];

describe('vouch --help', () => {
  test('the program has exactly the expected commands and subcommands', () => {
    const paths = walk(buildProgram()).slice(1).map(pathOf);
    assert.deepEqual([...paths].sort(), [...EXPECTED_COMMANDS].sort());
  });

  test('every command and subcommand answers --help with exit 0, its usage and each of its options', async () => {
    for (const cmd of walk(buildProgram())) {
      const name = pathOf(cmd);
      const argv = [...(name ? name.split(' ') : []), '--help'];
      const res = await inProcess(argv);
      assert.equal(res.code, 0, `vouch ${name} --help: ${res.stderr}`);
      assert.match(res.stdout, new RegExp(`^Usage: vouch${name ? ` ${name}` : ''} `, 'm'), `vouch ${name} --help shows its usage`);
      for (const option of cmd.options) assert.ok(res.stdout.includes(option.long ?? option.flags), `vouch ${name} --help lists ${option.flags}`);
      for (const sub of cmd.commands) assert.match(res.stdout, new RegExp(`^  ${sub.name()}\\b`, 'm'), `vouch ${name} --help lists ${sub.name()}`);
    }
  });

  test('`vouch report --help` and `vouch baseline --help` work as a user runs them', async () => {
    for (const args of [['report', '--help'], ['baseline', '--help'], ['baseline', 'capture', '--help'], ['help', 'ingest']]) {
      const res = await vouch(args);
      assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stdout, /^Usage: vouch /m);
    }
    const report = await vouch(['report', '--help']);
    for (const flag of ['--since', '--html', '--json', '--teams', '--limit']) assert.ok(report.stdout.includes(flag), flag);
  });

  test('help lists every command', async () => {
    const res = await vouch(['help']);
    assert.equal(res.code, 0);
    for (const c of ['worker', 'handler', 'socket-mode', 'review', 'classify', 'policy', 'ingest', 'baseline', 'iam-policy', 'report', 'security', 'status', 'setup', 'demo']) {
      assert.match(res.stdout, new RegExp(`^  ${c}\\b`, 'm'), c);
    }
    const policy = await vouch(['policy', '--help']);
    assert.match(policy.stdout, /^ {2}check\b/m, 'policy check');
  });
});

describe('usage errors exit 2 with the usage', () => {
  for (const [argv, message] of [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /^Usage: vouch /m],
    [['report', '--bogus'], /unknown option '--bogus'/],
    [['status'], /missing required argument 'review-id'/],
    [['security', 'approve', 'vouch-1'], /required option '--by <slack-user-id>' not specified/],
    [['security', 'forgive', 'vouch-1', '--by', 'U1'], /value 'forgive' is invalid/],
    [['baseline'], /^Usage: vouch baseline /m],
    [['baseline', 'capture', '--kinds', 'nope', '--account', '111122223333'], /unknown --kinds nope/],
    [['ingest'], /required option '--from <source>' not specified/],
    [['ingest', '--from', 'x', '--concurrency', '0'], /--concurrency must be a whole number from 1 to 256/],
    [['review', 'a.json', '--tier', 'maybe'], /argument 'maybe' is invalid/],
    [['classify', '--policy'], /option '--policy <file>' argument missing/],
    [['policy', 'check'], /missing required argument 'file'/],
    [['iam-policy', '--store', 'not-s3'], /not an s3:\/\/bucket\/prefix location/],
    [['demo', '--auto', 'maybe'], /argument 'maybe' is invalid/],
    [['worker', 'extra'], /too many arguments/],
  ] as const) {
    test(`vouch ${argv.join(' ')}`, async () => {
      const res = await inProcess([...argv]);
      assert.equal(res.code, 2, `${res.stdout}\n${res.stderr}`);
      assert.match(res.stderr, message);
      assert.match(res.stderr, /Usage: vouch/, 'the usage follows the message');
    });
  }

  test('through the real entry point too', async () => {
    const res = await vouch(['frobnicate']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command 'frobnicate'/);
    assert.match(res.stderr, /^Usage: vouch /m);
  });
});

test('process commands refuse to start on missing config, naming each variable, exit 78', async () => {
  for (const [command, vars] of [
    ['worker', ['SLACK_BOT_TOKEN', 'DUO_IKEY', 'DUO_SKEY', 'DUO_API_HOST', 'PAGERDUTY_ROUTING_KEY']],
    ['handler', ['SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN']],
    ['socket-mode', ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN']],
  ] as const) {
    const res = await vouch([command]);
    assert.equal(res.code, 78, `${command}: ${res.stderr}`);
    for (const v of vars) assert.match(res.stderr, new RegExp(`${v} is required`), `${command} names ${v}`);
  }
  const level = await vouch(['iam-policy'], { VOUCH_LOG_LEVEL: 'loud' });
  assert.equal(level.code, 78);
  assert.match(level.stderr, /VOUCH_LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent/);
});

test('classify and iam-policy run without any service', async () => {
  const classify = await vouch(['classify', SAMPLE]);
  assert.equal(classify.code, 0, classify.stderr);
  assert.equal(classify.stdout.trim().split('\n').length, 3);
  const iam = await vouch(['iam-policy']);
  assert.equal(iam.code, 0, iam.stderr);
  assert.equal((JSON.parse(iam.stdout) as { Version: string }).Version, '2012-10-17');
});

test('a failure exits 1 and names the command and the problem', async () => {
  // A file that is not there: neither a usage nor a configuration error.
  const res = await vouch(['review', path.join(__dirname, 'no-such-records.json')]);
  assert.equal(res.code, 1, res.stderr);
  assert.match(res.stderr, /^vouch review: \S*no-such-records\.json: cannot be read: ENOENT$/m);
  assert.doesNotMatch(res.stderr, /are kept/, 'a file that was never read is not said to be kept');
  assert.doesNotMatch(res.stderr, /^\s+at /m, 'no stack trace');
});

test('main() is what the entry point runs', async () => {
  assert.equal(await main(['iam-policy', '--store', 'not-s3']), 2);
});
