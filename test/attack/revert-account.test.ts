// Attack: a misdirected revert. An engineer attaches AdministratorAccess to their role `deployer` in a sandbox
// account; production has a role of the same name that needs it. "No, this wasn't me" (or a timeout) reverts the
// change: the revert must act in the sandbox only. Played through `vouch ingest`, the policy, the review workflow on
// Temporal, a signed Slack click, and the worker's AWS activity on moto with two accounts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AttachRolePolicyCommand, CreateRoleCommand, ListAttachedRolePoliciesCommand } from '@aws-sdk/client-iam';
import { ConfigError } from '../../src/cli/config';
import { cloudTrailRecord, HOME, REVERT_ROLE_TEMPLATE, SANDBOX, startAttackStack, type AttackStack } from '../intake/helpers/attack-stack';

const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

let stack: AttackStack;
before(async () => {
  stack = await startAttackStack();
});
after(async () => {
  await stack?.stop();
});

async function attached(account: string, role: string): Promise<string[]> {
  const res = await stack.admin('iam', account).send(new ListAttachedRolePoliciesCommand({ RoleName: role }));
  return (res.AttachedPolicies ?? []).map((p) => p.PolicyArn ?? '?');
}

test('"No" to an admin policy in a sandbox account never detaches the same-named role\'s policy in production', async () => {
  // Production: deployer needs AdministratorAccess. Sandbox: carol gives her deployer the same.
  for (const account of [HOME, SANDBOX]) {
    const iam = stack.admin('iam', account);
    await iam.send(new CreateRoleCommand({ RoleName: 'deployer', AssumeRolePolicyDocument: TRUST }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'deployer', PolicyArn: ADMIN }));
  }
  assert.deepEqual([await attached(HOME, 'deployer'), await attached(SANDBOX, 'deployer')], [[ADMIN], [ADMIN]]);

  // The worker as an operator could configure it: no revert role. vouch refuses to start that way, and says why.
  try {
    await stack.startWorker({});
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, /VOUCH_REVERT_ROLE_ARN_TEMPLATE is required while reverts are on/);
    await stack.startWorker({ VOUCH_REVERT_ROLE_ARN_TEMPLATE: REVERT_ROLE_TEMPLATE });
  }

  const record = cloudTrailRecord(SANDBOX, 'iam.amazonaws.com', 'AttachRolePolicy', { roleName: 'deployer', policyArn: ADMIN });
  const run = await stack.ingestRecords([record]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.summary.started, 1);
  const id = stack.reviewId(SANDBOX, String(record.eventID));
  await stack.click(id, 'vouch_no');
  const outcome = await stack.outcome(id);
  assert.equal(outcome.outcome, 'DENIED', outcome.reason);

  // The harm that must not happen: production's deployer keeps its policy. The sandbox change is undone.
  assert.deepEqual(await attached(HOME, 'deployer'), [ADMIN], 'production deployer lost AdministratorAccess');
  assert.deepEqual(await attached(SANDBOX, 'deployer'), [], 'the sandbox change was not reverted');
  assert.ok(
    outcome.timeline.some((t) => t.step === 'revert.done'),
    `timeline: ${JSON.stringify(outcome.timeline.map((t) => `${t.step}: ${t.result}`))}`,
  );
});
