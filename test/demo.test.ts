// The README's first command, unattended: the whole stack (dev server, worker, handler, vendor sandbox, moto) with
// the real activities, answering "not me" everywhere. The demo checks its own outcomes and exits non-zero if any
// review ends otherwise or a reverted rule is still open in moto.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';

const BIN = path.resolve(__dirname, '../src/bin/vouch.js');

test('vouch demo --auto deny: every denied change is paged and reverted for real, end to end', async () => {
  const res = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, 'demo', '--auto', 'deny'], { timeout: 240_000, maxBuffer: 10 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
  assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /alice\s+confirm\s+AuthorizeSecurityGroupIngress\s+DENIED\s+yes/);
  assert.match(res.stdout, /carol\s+revert\s+AuthorizeSecurityGroupEgress\s+REVERTED\s+yes/);
  assert.match(res.stdout, /clicked "No, this wasn't me" → handler 200/);
  assert.match(res.stdout, /Temporal Web UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows/);
  assert.match(res.stdout, /all outcomes as expected/);
});
