// Attack: make a change as someone vouch cannot map to a person (an identity in no directory, a name that maps to
// nobody), so there is nobody to ask. Through the real path: intake and the shipped policy, the production worker on
// a Temporal dev server, the change made for real in moto and reverted there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enactInMoto, ruleGone } from '../../src/demo/scenarios';
import type { ReviewOutcome } from '../../src/core/types';
import { iamUser, openSecurityGroup, startAttackStack, type AttackStack } from '../helpers/workflow-attack-stack';

let stack: AttackStack;

before(async () => {
  stack = await startAttackStack({ people: {}, slackUsers: [], duoUsers: [], moto: true });
});
after(async () => {
  await stack?.stop();
});

describe('attack: nobody to ask', { timeout: 120_000 }, () => {
  test('a change by someone nobody is mapped to is reverted and security paged, not left in place', async () => {
    const record = openSecurityGroup(iamUser('mallory'));
    await enactInMoto(stack.ec2(), record);
    assert.equal(await ruleGone(stack.ec2(), record), false, 'the rule is open in moto');

    const { handle } = await stack.ingest(record);
    const out: ReviewOutcome = await handle.result();

    assert.equal(await ruleGone(stack.ec2(), record), true, 'the change stays: nobody was asked and nothing was undone');
    assert.equal(out.outcome, 'REVERTED');
    assert.match(out.reason, /nobody to ask, so vouch reverted the change and paged security/);
    const incident = stack.pagerduty.incident(handle.workflowId);
    assert.equal(incident?.status, 'triggered', 'security is paged');
    assert.equal(incident?.severity, 'critical');
    assert.match(incident?.summary ?? '', /nobody to ask: reverted/);
  });
});
