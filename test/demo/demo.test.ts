// The README's first command, unattended: the whole stack (dev server, worker, handler, vendor sandbox page, moto)
// with the real activities, answering "not me" everywhere through the sandbox's signed clicks. The demo checks its own
// outcomes and exits non-zero if any review ends otherwise or a reverted rule is still open in moto. And the demo as
// people run it (no --auto) stops cleanly on Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { eventually } from '../helpers/temporal';

const BIN = path.resolve(__dirname, '../../src/bin/vouch.js');
const SHARED = path.resolve(__dirname, '../../../shared/data/cloudtrail');

test('vouch demo --auto deny: every denied change is paged and reverted for real, end to end', async () => {
  const res = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, 'demo', '--auto', 'deny'], { timeout: 240_000, maxBuffer: 10 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  // Tiers come from the policy through the intake pipeline: SSH opened to the world is reverted at once; a web port
  // is asked about, and "not me" reverts it; the egress change is a notice.
  assert.match(res.stdout, /tiers from the policy \(default\) through the intake pipeline/);
  assert.match(res.stdout, /alice\s+revert\s+AuthorizeSecurityGroupIngress\s+REVERTED\s+yes\s+sg-ingress-world-admin/);
  assert.match(res.stdout, /alice\s+confirm\s+AuthorizeSecurityGroupIngress\s+DENIED\s+yes\s+sg-ingress-world\s/);
  assert.match(res.stdout, /carol\s+notify\s+AuthorizeSecurityGroupEgress\s+NOTIFIED/);
  assert.match(res.stdout, /clicked "No, this wasn't me" → handler 200/);
  assert.match(res.stdout, /Temporal Web UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows/);
  assert.match(res.stdout, /sandbox \(Slack DMs, Duo pushes, PagerDuty incidents, reverts\): http:\/\/127\.0\.0\.1:\d+/);
  if (fs.existsSync(SHARED)) {
    // Records from ../shared/data (optional for the demo): Stratus Red Team's actor has nobody to ask, and the change
    // has a revert plan, so vouch reverts it (the demo did not make it in moto: the revert finds nothing to undo).
    assert.match(res.stdout, /christophe\s+confirm\s+AttachUserPolicy\s+(REVERTED|REVERT_FAILED)/);
  }
  assert.match(res.stdout, /all outcomes as expected/);
});

test('vouch demo stops cleanly on Ctrl-C: exit 0, no stack trace, the dev server and sandbox page gone', async () => {
  const child = spawn(process.execPath, [BIN, 'demo', '--no-shared'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await eventually(() => /press Ctrl-C to stop/.test(out) || child.exitCode !== null, 180_000, 'the demo to be up');
    assert.equal(child.exitCode, null, `${out}\n${err}`);
    const sandbox = /sandbox \(Slack DMs, Duo pushes, PagerDuty incidents, reverts\): (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    assert.ok(sandbox, out);
    assert.equal((await fetch(sandbox)).status, 200);
    // Reviews are open (people answer on the page) and under way: their results are being long-polled when Ctrl-C comes.
    assert.match(out, /review started for /);
    await eventually(() => /Slack DM to /.test(out), 60_000, 'a Slack DM');
    child.kill('SIGINT');
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 60_000))]);
    assert.equal(code, 0, `exit status after Ctrl-C\n${out}\n${err}`);
    assert.doesNotMatch(err, /^\s+at /m, 'no stack trace');
    assert.doesNotMatch(err, /Channel has been shut down|uncaught|unhandled/i);
    assert.match(out, /\[demo\] stopping:/);
    await assert.rejects(fetch(sandbox), 'the sandbox page is gone');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
