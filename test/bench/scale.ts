// `npm run bench -- scale [--reviews N] [--server dev|prod]`: N reviews waiting on their deadline on one worker. The
// worker is the production worker in its own process (scale-worker.ts) over activities that answer at once; the
// reviews are started by the production starter with a confirm-tier verdict from the shipped policy (deadline one
// hour). Measured: the worker's RSS and CPU before the reviews, once all N have posted their DM and wait (idle CPU
// over 20 s), and the time to drain when every engineer answers "yes" at once (one decision Update per review, then
// the Duo push answered allow at once) until none is running. Bounded: N (default 3,000), every wait capped.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { normalise } from '../../src/intake/normalise';
import { policyJudge } from '../../src/intake/judges';
import { startReview } from '../../src/intake/starter';
import { loadPolicy } from '../../src/policy';
import { confirmVariants } from '../../src/demo/scenarios';
import { decisionUpdate } from '../../workflows/messages';
import { WORKFLOW_CACHE_SIZE } from '../../src/cli/worker';
import { fmt, table, writeSection } from './report';
import { parseServers, startBenchServer } from './servers';

const TICK = 100; // clock ticks per second (Linux USER_HZ)

function procStats(pid: number): { rssMiB: number; cpuSeconds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 'NaN');
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICK; // utime, stime
  return { rssMiB: rssKb / 1024, cpuSeconds };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, timeoutMs: number, probe: () => boolean | Promise<boolean>): Promise<number> {
  const t0 = Date.now();
  while (!(await probe())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
  return (Date.now() - t0) / 1000;
}

export async function benchScale(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { reviews: { type: 'string', default: '3000' }, server: { type: 'string', default: 'prod' }, cache: { type: 'string' } },
  });
  const cache = values.cache === undefined ? WORKFLOW_CACHE_SIZE : Number(values.cache);
  if (!Number.isInteger(cache) || cache < 0) throw new Error('--cache must be a whole number (0: no cache)');
  const n = Number(values.reviews);
  if (!Number.isInteger(n) || n < 1 || n > 20_000) throw new Error('--reviews must be a whole number in 1..20,000');
  const [kind] = parseServers(values.server);
  if (!kind || values.server === 'both') throw new Error('--server must be dev or prod');
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  const server = await startBenchServer(kind);
  const taskQueue = `bench-scale-${randomUUID().slice(0, 8)}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, 'scale-worker.ts')], {
    env: { ...process.env, VOUCH_BENCH_CACHE: String(cache), TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, TEMPORAL_TASK_QUEUE: taskQueue },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let counts: Record<string, number> = {};
  let reported = false;
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    const last = lines.filter(Boolean).pop();
    if (last) {
      counts = JSON.parse(last) as Record<string, number>;
      reported = true;
    }
  });
  const pid = child.pid as number;
  await until('the worker to start', 120_000, () => {
    if (child.exitCode !== null) throw new Error(`the worker exited (${child.exitCode})`);
    return reported;
  });
  await sleep(5_000);
  const before = procStats(pid);
  say(`${kind}: worker up, RSS ${fmt(before.rssMiB)} MiB; starting ${n} reviews…`);

  try {
    // ---- N reviews, each asking its engineer and waiting on a one-hour deadline ----
    const template = confirmVariants()[0]?.record as Record<string, unknown>;
    const judge = policyJudge(loadPolicy());
    const t0 = Date.now();
    const ids: Array<{ workflowId: string; actor: string }> = [];
    await pLimit(32).map(Array.from({ length: n }), async (_x, i) => {
      const change = normalise({ ...structuredClone(template), eventID: randomUUID() }, 'bench', i);
      const verdict = judge(change);
      if (!verdict || verdict.tier !== 'confirm') throw new Error(`the template record is not confirm tier (${verdict?.tier})`);
      verdict.deadlineSeconds = 3600;
      const res = await startReview(server.client, { change, verdict, securityResponders: ['USEC1'] }, { taskQueue, uiBaseUrl: 'http://127.0.0.1:8080' });
      ids.push({ workflowId: res.workflowId, actor: change.actor.name });
    });
    const startSeconds = (Date.now() - t0) / 1000;
    const waitSeconds = await until(`${n} DMs`, 30 * 60_000, () => (counts.postReviewMessage ?? 0) >= n);
    say(`${kind}: ${n} started in ${startSeconds.toFixed(1)} s, all waiting ${waitSeconds.toFixed(1)} s later`);
    await sleep(5_000);
    const waiting = procStats(pid);
    await sleep(20_000);
    const idle = procStats(pid);
    const idleCpu = (idle.cpuSeconds - waiting.cpuSeconds) / 20;
    say(`${kind}: worker RSS ${fmt(idle.rssMiB)} MiB with ${n} waiting; idle CPU ${(idleCpu * 100).toFixed(1)}% of one core`);

    // ---- every engineer says yes at once ----
    const t1 = Date.now();
    let refused = 0;
    let retried = 0;
    await pLimit(64).map(ids, async ({ workflowId, actor }) => {
      // An answer the server timed out on is sent again (at most 3 times); "already answered" means the first got in.
      for (let attempt = 1; ; attempt++) {
        try {
          await server.client.workflow
            .getHandle(workflowId)
            .executeUpdate(decisionUpdate, { args: [{ slackUserId: `U-${actor.replace(/^eng-/, '')}`, answer: 'yes', messageTs: `${workflowId}.0001` }] });
          return;
        } catch (err) {
          const cause = (err as { cause?: { message?: string } }).cause;
          const message = `${(err as Error).message}${cause?.message ? `: ${cause.message}` : ''}`;
          if (/already answered/.test(message)) return;
          if (attempt >= 3) {
            refused++;
            if (refused === 1) say(`first refused answer: ${message}`);
            return;
          }
          retried++;
        }
      }
    });
    const answeredSeconds = (Date.now() - t1) / 1000;
    const q = `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'`;
    let running = n;
    try {
      // Reviews whose answer was given up keep waiting on their deadline: the drain is done when only they are left.
      await until('the drain', 10 * 60_000, async () => (running = (await server.client.workflow.count(q)).count) <= refused);
    } catch {
      say(`${kind}: ${running} reviews still running 10 minutes after the answers`);
    }
    const drainSeconds = (Date.now() - t1) / 1000;
    const after = procStats(pid);
    const confirmed = (await server.client.workflow.count(`TaskQueue = '${taskQueue}' AND VouchOutcome = 'CONFIRMED'`)).count;
    say(`${kind}: ${n} answers in ${answeredSeconds.toFixed(1)} s (${refused} refused); drained in ${drainSeconds.toFixed(1)} s; ${confirmed} CONFIRMED`);

    // One section per cache size, so the production default and another size stand side by side.
    const file = writeSection(
      `scale, workflow cache ${cache}`,
      `${fmt(n)} reviews waiting on a one-hour deadline on one worker (the issue asks 10,000: scaled to finish in minutes here), ` +
        `on the ${server.label}. The worker is the production worker (createWorkerWith, SDK defaults for slots and pollers, a workflow cache of ` +
        `${fmt(cache)}${cache === WORKFLOW_CACHE_SIZE ? ", the production worker's" : ''}) in its own process over activities that answer at once; reviews started by the production starter ` +
        `(32 at a time) with the shipped policy's confirm-tier verdict.\n\n` +
        table(
          ['figure', 'value'],
          [
            ['worker RSS, no reviews', `${fmt(before.rssMiB)} MiB`],
            [`worker RSS, ${fmt(n)} waiting`, `${fmt(idle.rssMiB)} MiB (target < 1 GiB at 10,000)`],
            [`worker RSS per waiting review`, `${fmt(((idle.rssMiB - before.rssMiB) * 1024) / n, 1)} KiB`],
            ['worker idle CPU over 20 s, all waiting', `${(idleCpu * 100).toFixed(1)}% of one core`],
            [`time to start ${fmt(n)} reviews`, `${startSeconds.toFixed(1)} s (${fmt(n / startSeconds)} starts/s)`],
            ['all DMs posted after the last start', `${waitSeconds.toFixed(1)} s`],
            [`${fmt(n)} "yes" answers delivered (64 at a time)`, `${answeredSeconds.toFixed(1)} s (${retried} sent again after a server timeout, ${refused} given up)`],
            [
              'drain: first answer → none running',
              running <= refused ? `${drainSeconds.toFixed(1)} s (${fmt(n / drainSeconds, 1)} reviews/s)` : `NOT drained: ${running} still running after ${drainSeconds.toFixed(0)} s`,
            ],
            ['reviews CONFIRMED', `${fmt(confirmed)} of ${fmt(n)}`],
            ['worker RSS after the drain', `${fmt(after.rssMiB)} MiB`],
          ],
        ),
      argv,
    );
    say(`written to ${file}`);
  } finally {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await new Promise((r) => child.once('exit', r));
    clearTimeout(timer);
    await server.stop();
  }
  return 0;
}
