// Faults on the production topology (docker-compose.yml's stack as loopback processes: PostgreSQL, the Temporal
// server built from source, and vouch's worker, handler and intake as their own OS processes, vendors as stand-ins):
// nothing lost, nothing doubled. `npm run test:faults` runs the full counts (VOUCH_FAULT_SCALE=full); `npm test` runs
// the reduced ones (test/helpers/fault-scale.ts). Every wait is bounded; everything is torn down even on failure;
// each fault's time is printed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startProdTopology, type ProdTopology } from '../helpers/prod-topology';
import { startFaultStack, type FaultStack } from '../helpers/fault-stack';
import { awaitOutcomes, driveFleet, fleetProblems, ingestFleet, liftHolds, prepareFleet, stageFleet, type FleetReview } from '../helpers/fault-fleet';
import { installScript, removeScript, retryProblems, type RetryExpectation } from '../helpers/fault-vendors';
import { SCALE } from '../helpers/fault-scale';
import { deliverAtOnce, intakeBatch, killFileIntake, killLookupIntake, killSqsIntake, type KillReport } from '../helpers/fault-intake';
import { secretsEverywhere } from '../helpers/fault-secrets';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let topo: ProdTopology;
let stack: FaultStack;
let dir: string;
const timings: Record<string, number> = {};

function say(line: string): void {
  process.stderr.write(`[faults ${SCALE.name}] ${line}\n`);
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - t0;
    say(`${name}: ${timings[name]} ms`);
  }
}

describe(`faults on the production topology (${SCALE.name})`, { timeout: 45 * 60_000 }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-faults-'));
    topo = await timed('topology start', () => startProdTopology({ log: (l) => say(l) }));
    stack = await timed('vouch processes start', () => startFaultStack(topo, { dir, say, logLevel: 'debug' }));
  });

  after(async () => {
    say(`timings: ${JSON.stringify(timings)}`);
    await stack?.stop();
    await topo?.stop();
    if (dir && !process.env.VOUCH_KEEP_FAULT_DIR) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('kill -9 the worker while reviews wait at every step: each reaches its outcome, once', async () => {
    const fleet = await timed('worker kill: prepare', () => prepareFleet(stack, 'worker-kill', SCALE.workerKill));
    await timed('worker kill: intake', () => ingestFleet(stack, fleet));
    await timed('worker kill: reviews at their steps', () => stageFleet(stack, fleet, SCALE.boundMs));

    await timed('worker kill: kill -9', () => stack.worker().kill9());
    liftHolds(stack, fleet);
    stack.aws.releaseAll();
    await timed('worker kill: new worker ready', () => stack.startWorker());
    const driver = driveFleet(stack, fleet);
    try {
      await timed('worker kill: every outcome', () => awaitOutcomes(fleet, SCALE.boundMs, say));
    } finally {
      await driver.stop();
    }
    assert.deepEqual(await fleetProblems(stack, fleet), []);
  });

  test('kill -9 the Temporal server and restart PostgreSQL mid-run: each review reaches its outcome, once', async () => {
    const fleet = await timed('server kill: prepare', () => prepareFleet(stack, 'server-kill', SCALE.serverKill));
    await timed('server kill: intake', () => ingestFleet(stack, fleet));
    await timed('server kill: reviews at their steps', () => stageFleet(stack, fleet, SCALE.boundMs));

    // Full scale: the server dies while people answer, Duo pushes are approved and reverts report back. Reduced: while
    // every review waits for its engineer (no activity in flight, so no completion is lost and retried after its
    // start-to-close timeout).
    let driver = SCALE.serverKillWhileDriving ? driveFleet(stack, fleet) : undefined;
    try {
      const outcomes = awaitOutcomes(fleet, SCALE.boundMs, say);
      const t0 = Date.now();
      while (driver && Date.now() - t0 < 15_000 && !fleet.reviews.some((r) => r.result)) await new Promise((r) => setTimeout(r, 200));
      say(`server kill: ${fleet.reviews.filter((r) => r.result).length} of ${fleet.reviews.length} done when the server dies`);
      await timed('server kill: kill -9 the server', () => topo.killServer());
      liftHolds(stack, fleet);
      stack.aws.releaseAll(); // the revokes' replies come back while the server is down
      await new Promise((r) => setTimeout(r, 1_000));
      await timed('server kill: server start', () => topo.startServer());
      await new Promise((r) => setTimeout(r, 500));
      await timed('server kill: PostgreSQL immediate stop and start', () => topo.restartPostgres({ mode: 'immediate' }));
      driver ??= driveFleet(stack, fleet);
      await timed('server kill: every outcome', () => outcomes);
    } finally {
      await driver?.stop();
    }
    assert.ok(stack.worker().running(), 'the worker process rode out the server and database restarts');
    assert.deepEqual(await fleetProblems(stack, fleet), []);
  });

  test('vendors answer 429 with Retry-After, 500, HTML 502 and time out, AWS throttles: outcomes stay right, each retry in the history', async () => {
    const n = SCALE.vendorReviews;
    // Duo faults are keyed by the Duo user: every confirming review has its own person.
    const fleet = await prepareFleet(stack, 'vendors', { confirm: n, deny: n }, { personOf: (kind, i) => (kind === 'deny' ? 'bob' : i === 0 ? 'alice' : 'carol') });
    liftHolds(stack, fleet);
    const script = installScript(stack, fleet);
    const expected = new Map<FleetReview, RetryExpectation[]>();
    const html = (status: number) => `<html><head><title>${status}</title></head><body><h1>${status}</h1></body></html>`;
    for (const r of fleet.reviews) {
      const e: RetryExpectation[] = [];
      if (r.kind === 'confirm') {
        // The DM: a 500 with an HTML body, then 429 with Retry-After 3 (longer than the policy's own backoff of 2 s
        // there): posted on the third attempt, 3 s after the 429.
        script.queue('slack', `chat.postMessage:${r.workflowId}`, [{ status: 500, body: html(500) }, { status: 429, retryAfter: 3 }]);
        const slack429 = (): number | undefined =>
          stack.slack.requests.filter((q) => q.method === 'chat.postMessage' && q.status === 429 && (q.params.blocks ?? '').includes(r.workflowId)).pop()?.at.getTime();
        e.push({ what: 'Slack 500 then 429 Retry-After 3', activities: ['postReviewMessage'], minAttempt: 3, lastFailure: /rate limited.*3 s/i, retryAfter: { seconds: 3, servedAt: slack429 } });
        // Duo's preauth: (a hung request,) the HTML 502 a proxy in front of Duo answers, then 429.
        const preauth: Array<Parameters<typeof script.queue<'duo'>>[2][number]> = [{ status: 502, html: true }, { status: 429 }];
        if (SCALE.timeouts) preauth.unshift({ delayMs: 35_000 });
        script.queue('duo', `preauth:${r.person}@example.com`, preauth);
        e.push({ what: `Duo preauth ${SCALE.timeouts ? 'hung, ' : ''}HTML 502, then 429`, activities: ['sendDuoPush', 'checkDuoUser'], minAttempt: preauth.length + 1, lastFailure: /429|too many/i });
        // Waiting for the answer: one 500.
        script.queue('duo', `auth_status:${r.workflowId}`, [{ status: 500 }]);
        e.push({ what: 'Duo auth_status 500', activities: ['awaitDuoResult'], minAttempt: 2, lastFailure: /500|internal/i });
        if (SCALE.timeouts) {
          // A Slack update that hangs past the client's 10 s timeout.
          script.queue('slack', `chat.update:${r.workflowId}`, [{ delayMs: 11_000 }]);
          e.push({ what: 'Slack chat.update timed out', activities: ['updateReviewMessage'], minAttempt: 2, lastFailure: /time|abort/i });
        }
      } else {
        // The page: (no answer at all,) a 500, then 429 with Retry-After 3 to all of pdjs's own tries (1 + 3).
        const trigger: Array<Parameters<typeof script.queue<'pd'>>[2][number]> = [{ status: 500 }, ...Array.from({ length: 4 }, () => ({ status: 429 as const, retryAfterSeconds: 3 }))];
        if (SCALE.timeouts) trigger.unshift({ status: 'stall' });
        script.queue('pd', `trigger:${r.workflowId}`, trigger);
        const pd429 = (): number | undefined => {
          const at = stack.pagerduty.received.filter((q) => q.status === 429 && q.rawBody.includes(r.workflowId)).pop()?.at;
          return at ? Date.parse(at) : undefined;
        };
        e.push({
          what: `PagerDuty ${SCALE.timeouts ? 'no answer, ' : ''}500, then 429 Retry-After 3`,
          activities: ['triggerIncident'],
          minAttempt: SCALE.timeouts ? 4 : 3,
          lastFailure: /429|rate limited/i,
          retryAfter: { seconds: 3, servedAt: pd429 },
        });
        // The revert: EC2 throttles both of the SDK's tries of the revoke.
        script.queue('aws', `RevokeSecurityGroupIngress:${r.sg?.groupId}`, [{ throttle: true }, { throttle: true }]);
        e.push({ what: 'EC2 RequestLimitExceeded on the revoke', activities: ['revertChange'], minAttempt: 2, lastFailure: /RequestLimitExceeded|request limit exceeded|throttl/i });
      }
      expected.set(r, e);
    }
    try {
      await timed('vendor faults: intake', () => ingestFleet(stack, fleet));
      const driver = driveFleet(stack, fleet);
      try {
        await timed('vendor faults: every outcome', () => awaitOutcomes(fleet, SCALE.boundMs, say));
      } finally {
        await driver.stop();
      }
    } finally {
      removeScript(stack);
    }
    const problems = await fleetProblems(stack, fleet);
    for (const [r, e] of expected) problems.push(...(await retryProblems(r, e)).problems);
    problems.push(...script.left());
    assert.deepEqual(problems, []);
  });

  for (const route of SCALE.intakePaths) {
    test(`kill -9 the intake mid-batch on the ${route} path: every risky record has one review, none has two`, async () => {
      const account = route === 'sqs' ? stack.accounts.sqs : route === 'files' ? stack.accounts.files : stack.accounts.lookup;
      const batch = intakeBatch(account, SCALE.intakeRecords);
      const run = route === 'sqs' ? killSqsIntake : route === 'files' ? killFileIntake : killLookupIntake;
      const report: KillReport = await timed(`intake kill (${route})`, () => run(stack, batch, SCALE.boundMs));
      say(`intake kill (${route}): killed with ${report.atKill} of ${report.risky} reviews started, ${report.killMs} ms in; the rerun took ${report.recoverMs} ms`);
      assert.ok(report.atKill < report.risky, `the kill landed mid-batch (${report.atKill} of ${report.risky} started)`);
      assert.deepEqual(report.problems, []);
    });
  }

  const d = SCALE.duplicates;
  const routes = [['SQS', d.sqs], ['files', d.files], ['LookupEvents', d.lookup], ['vouch review', d.review]] as const;
  test(`the same eventID fifty times at once (${routes.filter(([, n]) => n > 0).map(([r, n]) => `${n} via ${r}`).join(', ')}): one review`, async () => {
    assert.equal(d.sqs + d.files + d.lookup + d.review, 50);
    const report = await timed('the same eventID fifty times', () => deliverAtOnce(stack, d, SCALE.boundMs));
    say(`duplicates: ${JSON.stringify({ ...report, problems: report.problems.length })}`);
    assert.deepEqual(report.problems, []);
    assert.equal(report.runs, 1);
  });

  test('secrets: no log line, history, memo, search attribute or vendor message holds a token, key or sensitive parameter', async () => {
    const report = await timed('secrets', () => secretsEverywhere(stack, SCALE.boundMs));
    say(`secrets: looked at ${JSON.stringify(report.looked)}`);
    // Lines to look at from each kind of process that logs (`vouch review` and file backfills print only to stdout,
    // which is looked at too).
    const lines = Object.entries(report.looked.logLines);
    for (const prefix of ['worker.', 'handler.', 'ingest-sqs-']) {
      assert.ok(lines.some(([f, n]) => f.startsWith(prefix) && f.endsWith('.stderr.log') && n > 0), `${prefix}* wrote log lines to look at`);
    }
    assert.ok(lines.some(([f]) => f.startsWith('review-secrets.stdout')), 'vouch review printed its results');
    assert.ok(report.looked.histories >= 10, `${report.looked.histories} histories looked at`);
    assert.deepEqual(report.problems, []);
  });
});
