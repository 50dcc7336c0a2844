// The revert catalogue: which plan kinds vouch runs (and nothing else), the steps allowed after one, and what the
// revert role's policy is built from. Expected facts come from the AWS API references: EC2 calls take DryRun, KMS
// calls do not; a KMS key whose deletion is cancelled is left Disabled, so EnableKey follows CancelKeyDeletion.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planRevert, REVERTIBLE_EVENTS, revertCatalogue, RevertFailure, revertRoleNameFrom } from '../../src/revert';
import { handlerFor } from '../../src/revert/catalogue';
import type { Change, RevertPlan } from '../../src/core/types';

const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function refused(plan: RevertPlan, why: RegExp): void {
  assert.throws(() => handlerFor(plan), (err: unknown) => err instanceof RevertFailure && err.type === 'RevertForbidden' && why.test(err.message));
}

describe('revert catalogue', () => {
  test('a known plan kind has its handler; an unknown one is refused', () => {
    const h = handlerFor({ service: 'kms', operation: 'CancelKeyDeletion', input: { KeyId: KEY }, description: 'd' });
    assert.equal(`${h.service}:${h.operation}`, 'kms:CancelKeyDeletion');
    refused({ service: 'iam', operation: 'DeleteUser', input: {}, description: 'd' } as RevertPlan, /does not run iam:DeleteUser as a revert/);
  });

  test('a step after the revert must be allowed for it and act on the same input', () => {
    const cancel = { service: 'kms', operation: 'CancelKeyDeletion', input: { KeyId: KEY }, description: 'd' } as const;
    const ok = handlerFor({ ...cancel, then: [{ service: 'kms', operation: 'EnableKey', input: { KeyId: KEY } }] } as RevertPlan);
    assert.equal(ok.operation, 'CancelKeyDeletion');
    refused({ ...cancel, then: [{ service: 'kms', operation: 'ScheduleKeyDeletion', input: { KeyId: KEY } }] } as RevertPlan, /does not run kms:ScheduleKeyDeletion after kms:CancelKeyDeletion/);
    refused({ ...cancel, then: [{ service: 'kms', operation: 'EnableKey', input: { KeyId: `${KEY}-other` } }] } as RevertPlan, /kms:EnableKey must act on the same input as CancelKeyDeletion/);
    // A plan kind with no follow-up allowed takes none.
    refused(
      { service: 'kms', operation: 'EnableKey', input: { KeyId: KEY }, description: 'd', then: [{ service: 'kms', operation: 'EnableKey', input: { KeyId: KEY } }] } as RevertPlan,
      /does not run kms:EnableKey after kms:EnableKey/,
    );
  });

  test('the catalogue lists each plan kind with its follow-ups, IAM actions and whether it dry-runs', () => {
    const entries = revertCatalogue();
    const byKind = new Map(entries.map((e) => [`${e.service}:${e.operation}`, e]));
    const cancel = byKind.get('kms:CancelKeyDeletion');
    assert.deepEqual(cancel?.then, ['kms:EnableKey']);
    assert.ok(cancel?.iamActions.includes('kms:CancelKeyDeletion'));
    assert.equal(cancel?.dryRun, false);
    const enable = byKind.get('kms:EnableKey');
    assert.deepEqual(enable?.then, [], 'no follow-up: an empty list');
    assert.equal(enable?.dryRun, false);
    const revoke = byKind.get('ec2:RevokeSecurityGroupIngress');
    assert.equal(revoke?.dryRun, true);
    assert.ok(revoke && revoke.readActions.length > 0, 'it reads the group before and after');
    for (const e of entries) assert.equal(typeof e.dryRun, 'boolean');
  });

  test('revertible events name their sources, where the plan comes from and the calls it makes', () => {
    const sg = REVERTIBLE_EVENTS.find((e) => e.eventName === 'AuthorizeSecurityGroupIngress');
    assert.deepEqual(sg?.eventSources, ['ec2.amazonaws.com']);
    assert.equal(sg?.from, 'event');
    assert.ok(sg?.produces.includes('ec2:RevokeSecurityGroupIngress'));
    const kms = REVERTIBLE_EVENTS.find((e) => e.eventName === 'ScheduleKeyDeletion');
    assert.deepEqual(kms?.eventSources, ['kms.amazonaws.com']);
  });

  test('the same event name from another service is not planned', () => {
    const change = {
      eventId: 'e', eventTime: '2026-11-28T10:00:00Z', account: '111122223333', region: 'eu-west-1',
      eventSource: 'iam.amazonaws.com', eventName: 'AuthorizeSecurityGroupIngress',
      actor: { type: 'IAMUser', name: 'bob' }, request: { groupId: 'sg-1' }, response: null, summary: 's',
    } as Change;
    const d = planRevert(change);
    assert.equal(d.plan, null);
    assert.match(d.reason, /from iam\.amazonaws\.com is not the ec2\.amazonaws\.com call vouch reverts/);
  });

  test('the revert role name is the last part of the role ARN template, with or without a path', () => {
    assert.equal(revertRoleNameFrom('arn:aws:iam::{account}:role/vouch-revert'), 'vouch-revert');
    assert.equal(revertRoleNameFrom('arn:aws:iam::{account}:role/security/tools/vouch-revert'), 'vouch-revert');
    assert.equal(revertRoleNameFrom('arn:aws:iam::{account}:role/a+b=c,d.e@f-g_h'), 'a+b=c,d.e@f-g_h');
    assert.equal(revertRoleNameFrom('arn:aws:iam::{account}:user/vouch-revert'), undefined);
    assert.equal(revertRoleNameFrom('arn:aws:iam::{account}:role/vouch revert'), undefined);
    assert.equal(revertRoleNameFrom(undefined), undefined);
  });
});
