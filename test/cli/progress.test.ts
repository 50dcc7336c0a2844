// Progress lines of long runs: drawn in place on a terminal at most every interval, quiet when the stream is not a
// terminal; `vouch ingest --from DIR` draws one (records read, reviews started, rate, ETA) on a terminal only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { beforeLogLine, formatEta, measure, ProgressLine, type ProgressStream } from '../../src/cli/progress';
import { ingestCommand } from '../../src/cli/ingest';
import { loadIntakeConfig } from '../../src/cli/intake-settings';
import { runCommand } from '../../src/cli/program';
import { startDevServer } from '../helpers/temporal';

function stream(isTTY: boolean): ProgressStream & { text: string; writes: number } {
  return {
    isTTY,
    columns: 200,
    text: '',
    writes: 0,
    write(s: string) {
      this.text += s;
      this.writes += 1;
      return true;
    },
  };
}

/** What a terminal would show: each \r\x1b[K starts the line again. */
function screen(text: string): string[] {
  return text.split('\n').map((line) => line.split('\r\x1b[K').at(-1) ?? '');
}

describe('ProgressLine', () => {
  test('on a terminal: drawn, redrawn at most every interval, cleared for log lines, ended with a final line', () => {
    let now = 1_000_000;
    let done = 0;
    const out = stream(true);
    const line = new ProgressLine((ms) => `${done} done after ${ms} ms`, { stream: out, now: () => now, intervalMs: 250 });
    line.start();
    assert.equal(screen(out.text).at(-1), '0 done after 0 ms');
    done = 1;
    now += 100;
    line.update();
    assert.equal(screen(out.text).at(-1), '0 done after 0 ms', 'no redraw within 250 ms');
    now += 200;
    line.update();
    assert.equal(screen(out.text).at(-1), '1 done after 300 ms');
    const writes = out.writes;
    now += 300;
    done = 1;
    line.update();
    line.update(true);
    assert.equal(out.writes, writes + 1, 'an unchanged line is not written again');
    beforeLogLine();
    assert.ok(out.text.endsWith('\r\x1b[K'), 'cleared before a log line');
    done = 5;
    now += 50;
    line.stop();
    assert.ok(out.text.endsWith('5 done after 650 ms\n'), JSON.stringify(out.text.slice(-40)));
  });

  test('not a terminal, or turned off: nothing is written', () => {
    for (const [out, enabled] of [
      [stream(false), true],
      [stream(true), false],
    ] as const) {
      const line = new ProgressLine(() => 'x', { stream: out, enabled }).start();
      line.update(true);
      beforeLogLine();
      line.stop();
      assert.equal(out.writes, 0);
      assert.equal(line.enabled, false);
    }
  });

  test('rate and ETA', () => {
    // 10 of 40 files in 30 s: 30 s more per 10 files, so 90 s to go; 600 records in 30 s is 20 a second.
    assert.deepEqual(measure({ done: 10, total: 40, items: 600 }, 30_000), { rate: 20, eta: '1:30' });
    assert.equal(measure({ done: 0, total: 40, items: 0 }, 1000).eta, '--:--', 'no ETA before the first unit is done');
    assert.equal(formatEta(3725), '1:02:05');
    assert.equal(formatEta(59), '0:59');
  });
});

describe('vouch ingest --from DIR', () => {
  let env: TestWorkflowEnvironment;
  let dir: string;
  let accountsFile: string;
  before(async () => {
    env = await startDevServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-progress-'));
    // Two files of the shipped sample records, each in its own account so the reviews are new ones.
    const sample = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../src/demo/fixtures/sample-events.json'), 'utf8')) as {
      Records: Record<string, unknown>[];
    };
    // Recent records of watched accounts: intake reviews only those (VOUCH_ACCOUNTS_FILE, VOUCH_INTAKE_MAX_AGE_SECONDS).
    const eventTime = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    const accounts: string[] = [];
    for (const n of [1, 2]) {
      const account = String(100000000000 + Math.floor(Math.random() * 899999999999));
      accounts.push(account);
      const records = sample.Records.map((r) => ({ ...r, eventID: randomUUID(), recipientAccountId: account, eventTime }));
      fs.writeFileSync(path.join(dir, `part-${n}.json`), JSON.stringify({ Records: records }));
    }
    accountsFile = path.join(os.tmpdir(), `vouch-progress-accounts-${process.pid}.yaml`);
    fs.writeFileSync(accountsFile, `defaults:\n  regions: [us-east-1]\naccounts:\n${accounts.map((a) => `  - id: "${a}"\n`).join('')}`);
  });
  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await env?.teardown();
  });

  async function ingest(progress: ProgressStream, extra: string[] = []): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const deps = {
      client: env.client,
      config: loadIntakeConfig({
        TEMPORAL_TASK_QUEUE: `progress-${process.pid}`,
        VOUCH_LOG_LEVEL: 'error',
        VOUCH_ACCOUNTS_FILE: accountsFile,
        VOUCH_INTAKE_MAX_AGE_SECONDS: '3600',
      }),
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true },
      progress,
    };
    const code = await runCommand(ingestCommand(deps), ['--from', dir, '--dead-letter', path.join(dir, 'dead'), ...extra], deps);
    return { code, stdout };
  }

  test('a terminal gets a progress line; its last state matches the summary', async () => {
    const tty = stream(true);
    const res = await ingest(tty);
    assert.equal(res.code, 0, res.stdout);
    const summary = JSON.parse(res.stdout.trim()) as { records: number; started: number; files: number };
    assert.equal(summary.records, 6);
    assert.equal(summary.files, 2);
    const last = screen(tty.text).filter(Boolean).at(-1) ?? '';
    assert.match(last, new RegExp(`^ingest: 6 records read, ${summary.started} reviews started \\(`));
    assert.match(last, /2\/2 files, [\d.]+ records\/s, ETA 0:00$/);
    assert.ok(tty.text.endsWith('\n'));
  });

  test('not a terminal (or --no-progress): no progress line, the same summary', async () => {
    const pipe = stream(false);
    const res = await ingest(pipe);
    assert.equal(res.code, 0);
    assert.equal(pipe.writes, 0);
    assert.equal((JSON.parse(res.stdout.trim()) as { records: number }).records, 6);
    const off = stream(true);
    assert.equal((await ingest(off, ['--no-progress'])).code, 0);
    assert.equal(off.writes, 0);
  });
});
