// The scheduled refresh on a real Temporal dev server: `ensureBaselineSchedule` creates the schedule (and updates
// it in place the second time), a triggered run executes baselineRefreshWorkflow on a worker with the baseline
// activities against moto_server, and the store then holds the account's baseline. An account that cannot be read
// fails the run by name, while the other account's baseline is still saved.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { startDevServer, eventually } from '../../helpers/temporal';
import { createBaselineActivities } from '../../../activities/baseline';
import { createAwsClientFactory } from '../../../src/revert';
import { createBaselineStore } from '../../../src/revert/baseline/store';
import { BASELINE_SCHEDULE_ID, ensureBaselineSchedule } from '../../../src/revert/baseline/schedule';
import { ACCOUNT, CREDS, REGION, startAws, type Aws } from '../helpers';

const TASK_QUEUE = 'vouch-baseline-test';
let env: TestWorkflowEnvironment;
let aws: Aws;
let dir: string;
let worker: Worker;
let running: Promise<void>;

before(async () => {
  [env, aws] = await Promise.all([startDevServer(), startAws()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-refresh-'));
  await aws.admin('iam').send(
    new CreateRoleCommand({
      RoleName: 'app-deployer',
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }),
  );
  const factory = createAwsClientFactory({ endpoint: aws.moto.endpoint, credentials: CREDS });
  worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await bundleWorkflowCode({ workflowsPath: require.resolve('../../../workflows/baseline-refresh'), logger: new DefaultLogger('WARN') }),
    activities: createBaselineActivities({ baselineStore: createBaselineStore(dir), clientFor: factory.clientFor }),
  });
  running = worker.run();
});

after(async () => {
  worker?.shutdown();
  await running?.catch(() => undefined);
  await env?.teardown();
  await aws?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('the schedule runs the refresh workflow, which saves the baseline; a failing account is named', async () => {
  const input = { targets: [{ account: ACCOUNT, regions: [REGION] }] };
  assert.equal(await ensureBaselineSchedule(env.client, { input, taskQueue: TASK_QUEUE, every: '1 day' }), 'created');
  const schedule = env.client.schedule.getHandle(BASELINE_SCHEDULE_ID);
  await schedule.trigger();
  const run = await eventually(async () => (await schedule.describe()).info.recentActions[0]?.action, 20_000, 'a scheduled run');
  const result = await env.client.workflow.getHandle(run.workflow.workflowId, run.workflow.firstExecutionRunId).result();
  assert.equal(result[0]?.account, ACCOUNT);
  assert.ok(result[0]?.scopes?.find((s: { scope: string }) => s.scope === 'global')?.added.includes('iam-role:app-deployer'));
  assert.ok(fs.existsSync(path.join(dir, ACCOUNT, 'global.json')));
  assert.ok(fs.existsSync(path.join(dir, ACCOUNT, `${REGION}.json`)));

  // Update in place (a second `vouch baseline schedule`), now with an account the store refuses.
  const bad = { targets: [{ account: ACCOUNT, regions: [REGION] }, { account: '12345', regions: [REGION] }] };
  assert.equal(await ensureBaselineSchedule(env.client, { input: bad, taskQueue: TASK_QUEUE, every: '1 day' }), 'updated');
  assert.deepEqual((await schedule.describe()).action.type, 'startWorkflow');
  const handle = await env.client.workflow.start('baselineRefreshWorkflow', { taskQueue: TASK_QUEUE, workflowId: 'refresh-with-bad-account', args: [bad] });
  await assert.rejects(handle.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(String(err.cause?.message), /baseline refresh failed for 12345: .*not an AWS account id/);
    return true;
  });
  await schedule.delete();
});
