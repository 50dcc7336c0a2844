// The policy language and engine on small inline policies: conditions, tiers, allow-lists, exemptions, demotion,
// vouch's own reverts, revert-plan permission.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assess, parsePolicy, toVerdict, quickAssess, type Policy } from '../../src/policy';
import { ACCOUNT, assumedRole, change, iamUser, sgFlat, sgNested } from './records';

function policy(rules: string, extra = ''): Policy {
  return parsePolicy(`version: 1\nthresholds: { notify: 20, confirm: 50, page: 80 }\n${extra}\nrules:\n${rules}`, 'inline');
}

const SG_WORLD = `
  - id: sg-world
    title: world
    source: ec2.amazonaws.com
    events: [AuthorizeSecurityGroupIngress]
    when:
      - some: permissions
        where:
          - { field: cidr, prefixLength: 0 }
          - { portsInclude: [22, 3389, "8000-8100", all] }
    score: 95
    tier: revert
    revert: allow
    reason: 'security group {request.groupId} opened to {$.cidr} on {$.ports}'
`;

describe('conditions', () => {
  test('prefix length, not string equality: a rewritten /0 is still the world, a /32 is not', () => {
    const p = policy(SG_WORLD);
    const anonymised = assess(sgFlat('208.236.235.254/0', 22), p);
    assert.equal(anonymised.tier, 'revert');
    assert.deepEqual(anonymised.reasons, ['security group sg-1 opened to 208.236.235.254/0 on port 22']);
    assert.equal(assess(sgFlat('0.0.0.0/32', 22), p).tier, 'ignore');
    assert.equal(assess(sgFlat('10.0.0.0/8', 22), p).tier, 'ignore');
    const v6 = assess(sgNested([{ protocol: 'tcp', from: 3389, cidrs: [], v6: ['::/0'] }]), p);
    assert.equal(v6.tier, 'revert');
    assert.match(v6.reasons[0] ?? '', /opened to ::\/0 on port 3389/);
  });

  test('ports: single ports, ranges that overlap, all traffic; the same permission must hold both the CIDR and the port', () => {
    const p = policy(SG_WORLD);
    assert.equal(assess(sgFlat('0.0.0.0/0', 443), p).tier, 'ignore');
    assert.equal(assess(sgFlat('0.0.0.0/0', 8050, 9000), p).tier, 'revert', 'range overlapping 8000-8100');
    assert.equal(assess(sgFlat('0.0.0.0/0', 20, 30), p).tier, 'revert', 'range containing 22');
    const all = assess(sgNested([{ protocol: '-1', cidrs: ['0.0.0.0/0'] }]), p);
    assert.equal(all.tier, 'revert');
    assert.match(all.reasons[0] ?? '', /on all ports/);
    // 0.0.0.0/0 on 443 and 10/8 on 22 in one call: no single permission opens 22 to the world.
    assert.equal(assess(sgNested([{ protocol: 'tcp', from: 443, cidrs: ['0.0.0.0/0'] }, { protocol: 'tcp', from: 22, cidrs: ['10.0.0.0/8'] }]), p).tier, 'ignore');
  });

  test('equals, in, exists, numeric compare, matches, and a missing field matching nothing but exists: false', () => {
    const p = policy(`
  - id: lifecycle
    title: short expiry
    source: s3.amazonaws.com
    events: [PutBucketLifecycle]
    when:
      - { field: request.LifecycleConfiguration.Rule.Expiration.Days, lte: 7 }
      - { field: request.bucketName, matches: 'prod-*' }
      - { field: request.missing, exists: false }
    score: 60
  - id: flags
    title: flags
    source: s3.amazonaws.com
    events: [PutBucketPublicAccessBlock]
    when:
      - { field: request.PublicAccessBlockConfiguration.BlockPublicAcls, equals: false }
      - { field: request.bucketName, in: [a, b] }
    score: 90
`);
    const lc = (days: unknown, bucket = 'prod-logs'): string =>
      assess(change({ eventSource: 's3.amazonaws.com', eventName: 'PutBucketLifecycle', requestParameters: { bucketName: bucket, LifecycleConfiguration: { Rule: [{ Expiration: { Days: days } }] } } }), p).tier;
    assert.equal(lc(1), 'confirm');
    assert.equal(lc('3'), 'confirm', 'numbers written as strings compare as numbers');
    assert.equal(lc(30), 'ignore');
    assert.equal(lc(1, 'dev-logs'), 'ignore');
    const pab = (flag: unknown, bucket = 'a'): string =>
      assess(change({ eventSource: 's3.amazonaws.com', eventName: 'PutBucketPublicAccessBlock', requestParameters: { bucketName: bucket, PublicAccessBlockConfiguration: { BlockPublicAcls: flag } } }), p).tier;
    assert.equal(pab(false), 'page');
    assert.equal(pab('false'), 'page', 'stringly booleans meet YAML booleans');
    assert.equal(pab(true), 'ignore');
    assert.equal(pab(undefined), 'ignore', 'missing field: no match');
    assert.equal(pab(false, 'c'), 'ignore');
  });

  test('"policy grants *" on IAM documents given as JSON strings and on S3 documents given as objects', () => {
    const p = policy(`
  - id: grants
    title: grants
    events: [PutRolePolicy, PutBucketPolicy]
    when:
      - any:
          - { field: request.policyDocument, policyGrants: ['*', 'iam:*'] }
          - { field: request.bucketPolicy, policyPublic: true }
    score: 70
`);
    const role = (doc: unknown): string => assess(change({ eventSource: 'iam.amazonaws.com', eventName: 'PutRolePolicy', requestParameters: { roleName: 'r', policyName: 'p', policyDocument: doc } }), p).tier;
    assert.equal(role(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] })), 'confirm');
    assert.equal(role(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: ['s3:Get*', 'iam:*'], Resource: ['*'] }] })), 'confirm');
    assert.equal(role(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: 'iam:Get*', Resource: '*' }] })), 'ignore');
    assert.equal(role(JSON.stringify({ Statement: [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::b/*' }] })), 'ignore');
    assert.equal(role(JSON.stringify({ Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }] })), 'ignore');
    assert.equal(role('{not json'), 'ignore', 'an unreadable document grants nothing (and does not throw)');
    const bucket = (doc: unknown): string => assess(change({ eventSource: 's3.amazonaws.com', eventName: 'PutBucketPolicy', requestParameters: { bucketName: 'b', bucketPolicy: doc } }), p).tier;
    assert.equal(bucket({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] }), 'confirm');
    assert.equal(bucket({ Statement: [{ Effect: 'Allow', Principal: { AWS: ['*'] }, Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] }), 'confirm');
    assert.equal(
      bucket({ Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-1' } } }] }),
      'ignore',
      'an organisation condition makes "*" not public',
    );
  });

  test('foreign accounts: not this account and not a trusted one; notEqualsField compares with the caller', () => {
    const p = policy(
      `
  - id: share
    title: share
    events: [ModifySnapshotAttribute]
    when:
      - { field: request.createVolumePermission.add.items.userId, foreignAccount: true }
    score: 90
  - id: key-for-other
    title: key
    events: [CreateAccessKey]
    when:
      - { field: request.userName, exists: true }
      - { field: request.userName, notEqualsField: actor.name }
    score: 60
`,
      "trustedAccounts: ['444455556666']",
    );
    const share = (user: string): string =>
      assess(change({ eventName: 'ModifySnapshotAttribute', requestParameters: { snapshotId: 's', createVolumePermission: { add: { items: [{ userId: user }] } } } }), p).tier;
    assert.equal(share('999988887777'), 'page');
    assert.equal(share('444455556666'), 'ignore', 'trusted account');
    assert.equal(share(ACCOUNT), 'ignore', 'own account');
    const key = (userName?: string): string =>
      assess(change({ eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', requestParameters: userName ? { userName } : {} }), p).tier;
    assert.equal(key('mallory'), 'confirm');
    assert.equal(key('bob'), 'ignore', 'bob made his own key');
    assert.equal(key(), 'ignore', 'no userName: the caller’s own key');
  });

  test('Lambda version suffixes: a rule for AddPermission matches AddPermission20150331v2', () => {
    const p = policy(`
  - id: lambda
    title: lambda
    source: lambda.amazonaws.com
    events: [AddPermission]
    when:
      - { field: request.principal, equals: '*' }
    score: 90
    tier: page
`);
    const a = assess(change({ eventSource: 'lambda.amazonaws.com', eventName: 'AddPermission20150331v2', requestParameters: { functionName: 'f', principal: '*' } }), p);
    assert.equal(a.tier, 'page');
    assert.deepEqual(a.rules, ['lambda']);
    assert.equal(assess(change({ eventSource: 'ec2.amazonaws.com', eventName: 'AddPermission20150331v2', requestParameters: { principal: '*' } }), p).tier, 'ignore', 'other source');
  });
});

describe('tiers and revert plans', () => {
  test('thresholds map scores to tiers; the highest rule wins; deadlines take the shortest', () => {
    const p = policy(`
  - { id: low, title: low, events: [StopLogging], score: 25, deadline: 600 }
  - { id: mid, title: mid, events: [StopLogging], score: 55, deadline: 300 }
  - { id: cond, title: cond, events: [StopLogging], when: [{ field: request.name, equals: never }], score: 99 }
`);
    const a = assess(change({ eventSource: 'cloudtrail.amazonaws.com', eventName: 'StopLogging', requestParameters: { name: 't' } }), p);
    assert.equal(a.tier, 'confirm');
    assert.equal(a.score, 55);
    assert.deepEqual(a.rules, ['low', 'mid']);
    assert.equal(a.deadlineSeconds, 300);
  });

  test('a revert-tier rule uses the plan from planRevert; without a plan it pages; revert: never vetoes the plan', () => {
    const p = policy(`${SG_WORLD}
  - id: veto
    title: veto
    events: [AuthorizeSecurityGroupIngress]
    when: [{ field: request.groupId, equals: sg-veto }]
    score: 10
    revert: never
`);
    const withPlan = assess(sgFlat('0.0.0.0/0', 22), p);
    assert.equal(withPlan.tier, 'revert');
    assert.equal(withPlan.revertPlan?.operation, 'RevokeSecurityGroupIngress');
    assert.deepEqual(withPlan.revertPlan?.input, { GroupId: 'sg-1', IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] });
    // groupName only: planRevert cannot revert safely → page instead, and say why.
    const noPlan = assess(change({ requestParameters: { groupName: 'web', ipPermissions: {}, cidrIp: '0.0.0.0/0', fromPort: 22, toPort: 22, ipProtocol: 'tcp' } }), p);
    assert.equal(noPlan.tier, 'page');
    assert.equal(noPlan.revertPlan, null);
    assert.match(noPlan.reasons.join(' '), /no automatic revert: .*paging instead/);
    const vetoed = assess(change({ requestParameters: { groupId: 'sg-veto', ipPermissions: {}, cidrIp: '0.0.0.0/0', fromPort: 22, toPort: 22, ipProtocol: 'tcp' } }), p);
    assert.equal(vetoed.revertPlan, null);
    assert.equal(vetoed.tier, 'page');
    assert.match(vetoed.revertReason, /veto never allows a revert/);
  });

  test('failed calls are capped at notify and never reverted; read-only calls are ignored', () => {
    const p = policy(SG_WORLD);
    const failed = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { errorCode: 'Client.UnauthorizedOperation', errorMessage: 'no' }), p);
    assert.equal(failed.tier, 'notify');
    assert.equal(failed.revertPlan, null);
    assert.match(failed.revertReason, /failed/);
    const errorMessageOnly = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { errorMessage: 'denied' }), p);
    assert.equal(errorMessageOnly.tier, 'notify', 'errorMessage without errorCode is a failed call too');
    const readOnly = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { readOnly: true }), p);
    assert.equal(readOnly.tier, 'ignore');
    assert.equal(toVerdict(readOnly), null);
    const ignoredFailures = parsePolicy(`version: 1\ndemote: { failed: ignore }\nrules:\n${SG_WORLD}`);
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { errorCode: 'AccessDenied' }), ignoredFailures).tier, 'ignore');
  });

  test("vouch's own revert principal is ignored: vouch-revert-* sessions and the configured revert role", () => {
    const p = policy(SG_WORLD);
    const own = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('anything', 'vouch-revert-1234') }), p);
    assert.equal(own.tier, 'ignore');
    assert.deepEqual(own.rules, ['vouch-self']);
    const other = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('vouch-revert', 'someone-else') }), p);
    assert.equal(other.tier, 'revert', 'the role alone is not vouch unless configured');
    const configured = parsePolicy(`version: 1\nrules:\n${SG_WORLD}`, 'p', { revertRoleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert' });
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('vouch-revert', 'someone-else') }), configured).tier, 'ignore');
    assert.equal(
      assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('vouch-revert', 'x', '999988887777'), recipientAccountId: '999988887777' }), configured).tier,
      'ignore',
      '{account} is the event account',
    );
  });

  test('toVerdict carries tier, score, rules, reasons, deadline and plan', () => {
    const a = assess(sgFlat('0.0.0.0/0', 22), policy(SG_WORLD));
    const v = toVerdict(a);
    assert.ok(v);
    assert.equal(v.tier, 'revert');
    assert.equal(v.score, 95);
    assert.deepEqual(v.rules, ['sg-world']);
    assert.equal(v.deadlineSeconds, 900);
    assert.equal(v.revertPlan, a.revertPlan);
  });

  test('quickAssess agrees with assess whenever it answers', () => {
    const p = policy(SG_WORLD);
    const cases = [sgFlat('0.0.0.0/0', 22), sgFlat('0.0.0.0/0', 22, 22, 'tcp', { readOnly: true }), change({ eventName: 'DescribeInstances', readOnly: undefined }), sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('r', 'vouch-revert-1') })];
    let answered = 0;
    for (const c of cases) {
      const q = quickAssess({ eventSource: c.eventSource, eventName: c.eventName, readOnly: (c as { readOnly?: boolean }).readOnly, actor: c.actor, account: c.account }, p);
      if (q) {
        answered += 1;
        assert.deepEqual(q, assess(c, p));
      }
    }
    assert.equal(answered, 3);
  });
});

describe('allow-lists and exemptions', () => {
  const extra = `
allow:
  - id: terraform-ci
    note: infrastructure through CI
    principal: 'arn:aws:iam::*:role/ci-deploy'
    userAgent: '*Terraform*'
  - id: lab-account
    note: the sandbox account
    account: '555566667777'
    tier: notify
exemptions:
  - id: migration
    approver: lead@example.com
    reason: planned migration
    expires: 2026-12-01T00:00:00Z
    principal: 'arn:aws:iam::${ACCOUNT}:user/bob'
    rules: [sg-world]
`;
  const p = policy(SG_WORLD, extra);

  test('Terraform from the CI role is allowed; Terraform from a person or the CI role without Terraform is not', () => {
    const ci = assumedRole('ci-deploy', 'build-42');
    const tf = 'APN/1.0 HashiCorp/1.0 Terraform/1.5.7 (+https://www.terraform.io)';
    const allowed = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: ci, userAgent: tf }), p);
    assert.equal(allowed.tier, 'ignore');
    assert.match(allowed.reasons.join(' '), /allow-listed by terraform-ci/);
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: iamUser('eve'), userAgent: tf }), p).tier, 'revert');
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: ci, userAgent: 'aws-cli/2' }), p).tier, 'revert');
  });

  test('an account allow-list entry with tier notify caps at notify', () => {
    const a = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { recipientAccountId: '555566667777', userIdentity: iamUser('eve', '555566667777') }), p);
    assert.equal(a.tier, 'notify');
    assert.equal(a.revertPlan, null);
  });

  test('exemptions are checked at the event time: valid before expiry, not after; vouch reading late changes nothing', () => {
    const before = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { eventTime: '2026-11-30T23:59:59Z' }), p, { now: new Date('2027-06-01T00:00:00Z') });
    assert.equal(before.tier, 'ignore');
    assert.match(before.reasons.join(' '), /exempted by migration \(approved by lead@example.com until 2026-12-01T00:00:00.000Z\)/);
    const after = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { eventTime: '2026-12-01T00:00:01Z' }), p, { now: new Date('2026-11-01T00:00:00Z') });
    assert.equal(after.tier, 'revert');
    assert.match(after.reasons.join(' '), /exemption migration had expired/);
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { eventTime: '2026-11-30T00:00:00Z', userIdentity: iamUser('eve') }), p).tier, 'revert', 'another principal');
  });

  test('an exemption naming rules sets only those rules aside', () => {
    const two = policy(
      `${SG_WORLD}
  - { id: any-sg, title: any, events: [AuthorizeSecurityGroupIngress], score: 55 }
`,
      extra,
    );
    const a = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { eventTime: '2026-11-30T00:00:00Z' }), two);
    assert.equal(a.tier, 'confirm', 'any-sg still applies');
    assert.equal(a.score, 55);
  });
});
