// Attacks on the policy: the same risky change written so that a policy reading the text, not the meaning, would
// let it through. Each record goes through intake's own checks (normalise, then the policy judge vouch runs, on the
// shipped policy); the harm is the change being ignored, so each test asserts a review starts at the tier the
// undisguised change gets.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRecord } from '../../src/intake/pipeline';
import { policyJudge } from '../../src/intake/judges';
import { loadPolicy } from '../../src/policy';
import type { Tier } from '../../src/core/types';
import { assumedRole, record } from '../policy/records';

const judge = policyJudge(loadPolicy(undefined, { revertRoleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert' }));

/** The verdict intake reaches for a record, or 'ignored'. */
function intake(rec: Record<string, unknown>): { tier: Tier | 'ignored'; rules: string[]; reasons: string[] } {
  const checked = checkRecord({ kind: 'files', source: 'attack', index: 0, record: rec }, { judge });
  assert.notEqual(checked.status, 'rejected', JSON.stringify(checked));
  return checked.status === 'review' ? { tier: checked.verdict.tier, rules: checked.verdict.rules, reasons: checked.verdict.reasons } : { tier: 'ignored', rules: [], reasons: [] };
}

const PAGE_OR_MORE: readonly string[] = ['page', 'revert'];

function sshOpenedTo(ranges: { v4?: string[]; v6?: string[]; lists?: string[] }): Record<string, unknown> {
  return record({
    eventSource: 'ec2.amazonaws.com',
    eventName: 'AuthorizeSecurityGroupIngress',
    userIdentity: assumedRole('ci-deploy', 'build-7'),
    requestParameters: {
      groupId: 'sg-0attack',
      ipPermissions: {
        items: [
          {
            ipProtocol: 'tcp',
            fromPort: 22,
            toPort: 22,
            groups: {},
            ipRanges: ranges.v4 ? { items: ranges.v4.map((cidrIp) => ({ cidrIp })) } : {},
            ipv6Ranges: ranges.v6 ? { items: ranges.v6.map((cidrIpv6) => ({ cidrIpv6 })) } : {},
            prefixListIds: ranges.lists ? { items: ranges.lists.map((prefixListId) => ({ prefixListId })) } : {},
          },
        ],
      },
    },
  });
}

describe('network evasions: SSH opened to the world without writing 0.0.0.0/0', () => {
  test('SSH opened as 0.0.0.0/1 + 128.0.0.0/1 is not ignored: reverted or paged like 0.0.0.0/0', () => {
    const v = intake(sshOpenedTo({ v4: ['0.0.0.0/1', '128.0.0.0/1'] }));
    assert.ok(PAGE_OR_MORE.includes(v.tier), `${v.tier}: ${v.reasons.join('; ')}`);
    assert.ok(v.rules.includes('sg-ingress-world-admin'));
  });

  test('SSH opened to a /2 (a quarter of the internet) is not ignored: reverted or paged', () => {
    const v = intake(sshOpenedTo({ v4: ['64.0.0.0/2'] }));
    assert.ok(PAGE_OR_MORE.includes(v.tier), `${v.tier}: ${v.reasons.join('; ')}`);
    assert.match(v.reasons.join(' '), /about 28% of the internet/);
  });

  test('SSH opened as the two IPv6 halves ::/1 + 8000::/1 is not ignored: reverted or paged', () => {
    const v = intake(sshOpenedTo({ v6: ['::/1', '8000::/1'] }));
    assert.ok(PAGE_OR_MORE.includes(v.tier), `${v.tier}: ${v.reasons.join('; ')}`);
  });

  test('SSH opened through a prefix list is not ignored: the engineer is asked, and the list filled with the world is a finding of its own', () => {
    const fill = intake(
      record({
        eventSource: 'ec2.amazonaws.com',
        eventName: 'CreateManagedPrefixList',
        userIdentity: assumedRole('ci-deploy', 'build-7'),
        requestParameters: { CreateManagedPrefixListRequest: { PrefixListName: 'partners', AddressFamily: 'IPv4', MaxEntries: 2, Entry: [{ Cidr: '0.0.0.0/1' }, { Cidr: '128.0.0.0/1' }] } },
      }),
    );
    assert.equal(fill.tier, 'confirm', fill.reasons.join('; '));
    const use = intake(sshOpenedTo({ lists: ['pl-0attack'] }));
    assert.equal(use.tier, 'confirm', use.reasons.join('; '));
    assert.match(use.reasons.join(' '), /prefix list pl-0attack \(entries unknown to vouch\) on port 22/);
  });
});

function bucketPolicy(statement: Record<string, unknown>): Record<string, unknown> {
  return record({
    eventSource: 's3.amazonaws.com',
    eventName: 'PutBucketPolicy',
    requestParameters: { bucketName: 'payroll-exports', bucketPolicy: { Version: '2012-10-17', Statement: [statement] }, Host: 'payroll-exports.s3.amazonaws.com', policy: '' },
  });
}

describe('resource-policy evasions: a public bucket whose policy does not look public', () => {
  test('a public bucket policy behind an always-true condition (StringLike aws:SourceIp "*") is not ignored: paged or reverted', () => {
    const v = intake(bucketPolicy({ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::payroll-exports/*', Condition: { StringLike: { 'aws:SourceIp': '*' } } }));
    assert.ok(PAGE_OR_MORE.includes(v.tier), `${v.tier}: ${v.reasons.join('; ')}`);
    assert.ok(v.rules.includes('s3-bucket-policy-public'));
  });

  test('a bucket opened with NotPrincipal (everyone but one account) is not ignored: paged or reverted', () => {
    const v = intake(bucketPolicy({ Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 's3:*', Resource: ['arn:aws:s3:::payroll-exports', 'arn:aws:s3:::payroll-exports/*'] }));
    assert.ok(PAGE_OR_MORE.includes(v.tier), `${v.tier}: ${v.reasons.join('; ')}`);
  });
});

function inlinePolicy(statements: Record<string, unknown>[]): Record<string, unknown> {
  return record({
    eventSource: 'iam.amazonaws.com',
    eventName: 'PutRolePolicy',
    requestParameters: { roleName: 'app-runtime', policyName: 'helper', policyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }) },
  });
}

describe('identity-policy evasions: admin or escalation without writing "*" or "iam:*"', () => {
  test('an inline policy granting iam:Put* (write any inline policy, including its own) is not ignored: the engineer is asked', () => {
    const v = intake(inlinePolicy([{ Effect: 'Allow', Action: 'iam:Put*', Resource: '*' }]));
    assert.equal(v.tier, 'confirm', v.reasons.join('; '));
    assert.match(v.reasons.join(' '), /privilege escalation/);
  });

  test('an inline policy granting iam:Attach* (attach AdministratorAccess to itself) is not ignored: the engineer is asked', () => {
    const v = intake(inlinePolicy([{ Effect: 'Allow', Action: ['iam:Attach*'], Resource: '*' }]));
    assert.equal(v.tier, 'confirm', v.reasons.join('; '));
  });

  test('an inline policy granting iam:PassRole with a compute action (a Lambda function running as any role) is not ignored: the engineer is asked', () => {
    const v = intake(inlinePolicy([{ Effect: 'Allow', Action: ['iam:PassRole', 'lambda:CreateFunction'], Resource: '*' }]));
    assert.equal(v.tier, 'confirm', v.reasons.join('; '));
    assert.match(v.reasons.join(' '), /pass a role to a new Lambda function/);
  });

  test('an inline policy granting * on Resource arn:aws:*:*:*:* (every resource, spelled out) is not ignored: the engineer is asked', () => {
    const v = intake(inlinePolicy([{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:*:*:*:*' }]));
    assert.equal(v.tier, 'confirm', v.reasons.join('; '));
    assert.match(v.reasons.join(' '), /admin-equivalent/);
  });
});
