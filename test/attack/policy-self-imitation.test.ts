// Attack: borrow vouch's own name. vouch never reviews its own reverts, and anyone can choose a RoleSessionName: a CI
// role (or any role) that assumes itself as `vouch-revert-x` and opens SSH to the world must not pass as vouch. The
// record goes the whole real path: the intake pipeline with the judge intake builds (the shipped policy and the
// configured revert role), the review workflow on a Temporal dev server with the production worker and activities,
// and the PagerDuty stand-in, which must hold the page. vouch's genuine revert session (the configured revert role of
// the same account) is still ignored.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDemoStack, DEMO_SECURITY_RESPONDERS, type DemoStack } from '../../src/demo/stack';
import { IntakePipeline } from '../../src/intake/pipeline';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { policyJudge } from '../../src/intake/judges';
import { loadPolicy } from '../../src/policy';
import { eventually } from '../helpers/temporal';
import { assumedRole, record } from '../policy/records';

const REVERT_ROLE_TEMPLATE = 'arn:aws:iam::{account}:role/vouch-revert';
let stack: DemoStack;
let pipeline: IntakePipeline;
const deadLetters = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-attack-dl-'));

before(async () => {
  stack = await startDemoStack({ moto: false });
  pipeline = new IntakePipeline({
    judge: policyJudge(loadPolicy(undefined, { revertRoleArnTemplate: REVERT_ROLE_TEMPLATE })),
    starter: (input) => stack.start(input),
    deadLetters: new FolderDeadLetterStore(deadLetters),
    review: { securityResponders: DEMO_SECURITY_RESPONDERS },
  });
});

after(async () => {
  await stack?.stop();
  fs.rmSync(deadLetters, { recursive: true, force: true });
});

function sshToTheWorld(identity: Record<string, unknown>, eventID: string): Record<string, unknown> {
  return record({
    eventID,
    userIdentity: identity,
    requestParameters: { groupId: 'sg-0imitate', ipPermissions: {}, cidrIp: '0.0.0.0/0', fromPort: 22, toPort: 22, ipProtocol: 'tcp' },
  });
}

describe("a session named like vouch's reverts", () => {
  test('a CI role with RoleSessionName vouch-revert-x opening SSH to the world is paged, not ignored', async () => {
    const eventID = `imitate-${process.pid}-${Date.now()}`;
    const result = await pipeline.process({ kind: 'sqs', source: 'attack', index: 0, record: sshToTheWorld(assumedRole('ci-deploy', 'vouch-revert-x'), eventID) });
    assert.equal(result.status, 'started', JSON.stringify(result));
    const workflowId = (result as { workflowId: string }).workflowId;
    const incident = await eventually(() => stack.pagerduty.incidents.find((i) => i.dedupKey === workflowId), 120_000, `a PagerDuty incident for ${workflowId}`);
    assert.equal(incident.events[0]?.action, 'trigger');
    const input = (await stack.client.workflow.getHandle(workflowId).fetchHistory()).events?.[0]?.workflowExecutionStartedEventAttributes;
    assert.ok(input, 'the review ran on the server');
    const verdict = (await stack.client.workflow.getHandle(workflowId).describe()).typedSearchAttributes.get({ name: 'VouchTier', type: 'KEYWORD' });
    assert.ok(verdict === 'page' || verdict === 'revert', String(verdict));
  });

  test("the same call from vouch's revert role of the record's own account is vouch's revert: ignored, nothing started", async () => {
    const result = await pipeline.process({ kind: 'sqs', source: 'attack', index: 1, record: sshToTheWorld(assumedRole('vouch-revert', 'vouch-revert-abc'), `own-${process.pid}-${Date.now()}`) });
    assert.equal(result.status, 'ignored');
  });
});
