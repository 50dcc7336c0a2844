// The `vouch` command as users run it (src/bin/vouch.js through tsx): every entry point loads, and config errors
// name the variables and exit 78.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';

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

test('help lists every command', async () => {
  const res = await vouch(['help']);
  assert.equal(res.code, 0);
  for (const c of ['worker', 'handler', 'socket-mode', 'review', 'classify', 'policy check', 'ingest', 'baseline', 'iam-policy', 'report', 'security', 'status', 'setup', 'demo']) {
    assert.match(res.stdout, new RegExp(`^  ${c}\\b`, 'm'), c);
  }
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
});

test('classify and iam-policy run without any service', async () => {
  const classify = await vouch(['classify', SAMPLE]);
  assert.equal(classify.code, 0, classify.stderr);
  assert.equal(classify.stdout.trim().split('\n').length, 3);
  const iam = await vouch(['iam-policy']);
  assert.equal(iam.code, 0, iam.stderr);
  assert.equal((JSON.parse(iam.stdout) as { Version: string }).Version, '2012-10-17');
});

test('an unknown command exits 2 with the usage', async () => {
  const res = await vouch(['frobnicate']);
  assert.equal(res.code, 2);
  assert.match(res.stderr, /unknown command "frobnicate"/);
});
