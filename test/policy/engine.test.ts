// The policy language and engine on small inline policies: conditions, tiers, allow-lists, exemptions, demotion,
// vouch's own reverts, revert-plan permission.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assess, parsePolicy, toVerdict, type Policy } from '../../src/policy';
import { ACCOUNT, assumedRole, change, iamUser, quickAssess, sgFlat, sgNested } from './records';

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

  test("vouch's own revert: the configured revert role of the record's account and a vouch-revert-* session, both", () => {
    const configured = parsePolicy(`version: 1\nrules:\n${SG_WORLD}`, 'p', { revertRoleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert' });
    const own = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('vouch-revert', 'vouch-revert-1234') }), configured);
    assert.equal(own.tier, 'ignore');
    assert.deepEqual(own.rules, ['vouch-self']);
    const elsewhere = assess(
      sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('vouch-revert', 'vouch-revert-1', '999988887777'), recipientAccountId: '999988887777' }),
      configured,
    );
    assert.equal(elsewhere.tier, 'ignore', '{account} is the event account');
    // The revert role with another session name is not a revert: judged as anyone.
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('vouch-revert', 'someone-else') }), configured).tier, 'revert');
  });

  test('a vouch-revert-* session from any other role, from the revert role of another account, or with no role configured pages', () => {
    const configured = parsePolicy(`version: 1\nrules:\n${SG_WORLD}`, 'p', { revertRoleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert' });
    const ci = assess(change({ eventName: 'CreateVpc', userIdentity: assumedRole('ci-deploy', 'vouch-revert-x') }), configured);
    assert.equal(ci.tier, 'page', 'a harmless call, but the name was chosen to hide');
    assert.deepEqual(ci.rules, ['vouch-self-imitation']);
    assert.match(ci.reasons[0] ?? '', /vouch-revert-x is named like vouch's own revert sessions but comes from arn:aws:iam::111122223333:role\/ci-deploy, not from vouch's revert role arn:aws:iam::111122223333:role\/vouch-revert/);
    // The revert role of another account acting here (cross-account) is not vouch for this account.
    const foreign = assumedRole('vouch-revert', 'vouch-revert-1', '999988887777');
    assert.equal(assess(change({ eventName: 'CreateVpc', userIdentity: foreign }), configured).tier, 'page');
    // Its risky change keeps its own rule too (tier revert > page).
    const sg = assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('ci-deploy', 'vouch-revert-x') }), configured);
    assert.equal(sg.tier, 'revert');
    assert.deepEqual(sg.rules, ['vouch-self-imitation', 'sg-world']);
    // Without a revert role configured nothing is vouch's own.
    const unconfigured = assess(change({ eventName: 'CreateVpc', userIdentity: assumedRole('vouch-revert', 'vouch-revert-1') }), policy(SG_WORLD));
    assert.equal(unconfigured.tier, 'page');
    assert.match(unconfigured.reasons[0] ?? '', /no revert role is configured/);
    // A read by the imitator is noted, not ignored; a failed call is capped as any failed call.
    assert.equal(assess(change({ eventName: 'DescribeInstances', readOnly: true, userIdentity: assumedRole('ci', 'vouch-revert-2') }), configured).tier, 'notify');
    assert.equal(assess(change({ eventName: 'CreateVpc', errorCode: 'AccessDenied', userIdentity: assumedRole('ci', 'vouch-revert-2') }), configured).tier, 'notify');
    // A federated user can choose the name too.
    const fed = { type: 'FederatedUser', principalId: `${ACCOUNT}:vouch-revert-9`, arn: `arn:aws:sts::${ACCOUNT}:federated-user/vouch-revert-9`, accountId: ACCOUNT };
    assert.equal(assess(change({ eventName: 'CreateVpc', userIdentity: fed }), configured).tier, 'page');
  });

  test('self.roleArns takes exact role ARNs only: a glob is refused', () => {
    assert.throws(() => parsePolicy(`version: 1\nself: { roleArns: ['arn:aws:iam::*:role/vouch-revert'] }\nrules:\n${SG_WORLD}`, 'p'), /not an exact role ARN/);
    const exact = parsePolicy(`version: 1\nself: { roleArns: ['arn:aws:iam::{account}:role/ops/vouch-revert'] }\nrules:\n${SG_WORLD}`, 'p');
    const roleWithPath = assumedRole('vouch-revert', 'vouch-revert-3');
    (roleWithPath.sessionContext as { sessionIssuer: { arn: string } }).sessionIssuer.arn = `arn:aws:iam::${ACCOUNT}:role/ops/vouch-revert`;
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: roleWithPath }), exact).tier, 'ignore');
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
    const self = parsePolicy(`version: 1\nrules:\n${SG_WORLD}`, 'p', { revertRoleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert' });
    const own = sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('vouch-revert', 'vouch-revert-1') });
    assert.deepEqual(quickAssess({ eventSource: own.eventSource, eventName: own.eventName, actor: own.actor, account: own.account }, self), assess(own, self));
    const imitator = change({ eventName: 'DescribeInstances', readOnly: true, userIdentity: assumedRole('r', 'vouch-revert-1') });
    assert.equal(quickAssess({ eventSource: imitator.eventSource, eventName: imitator.eventName, readOnly: true, actor: imitator.actor, account: imitator.account }, self), null, 'an imitator is always assessed in full');
    const cases = [sgFlat('0.0.0.0/0', 22), sgFlat('0.0.0.0/0', 22, 22, 'tcp', { readOnly: true }), change({ eventName: 'DescribeInstances', readOnly: undefined }), imitator];
    let answered = 0;
    for (const c of cases) {
      const q = quickAssess({ eventSource: c.eventSource, eventName: c.eventName, readOnly: (c as { readOnly?: boolean }).readOnly, actor: c.actor, account: c.account }, p);
      if (q) {
        answered += 1;
        assert.deepEqual(q, assess(c, p));
      }
    }
    assert.equal(answered, 2);
  });
});

describe('allow-lists and exemptions', () => {
  const extra = `
allow:
  - id: terraform-ci
    note: infrastructure through CI
    principal: 'arn:aws:iam::${ACCOUNT}:role/ci-deploy'
    userAgent: '*Terraform*'
  - id: lab-account
    note: the sandbox account
    principal: 'arn:aws:iam::555566667777:*'
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
    // The same role name in another account is another principal.
    assert.equal(assess(sgFlat('0.0.0.0/0', 22, 22, 'tcp', { userIdentity: assumedRole('ci-deploy', 'build-42', '999988887777'), userAgent: tf }), p).tier, 'revert');
  });

  test('an entry keyed on a user agent, an account or events alone, or with a glob in the account, is refused', () => {
    const refused = (entry: string): string => {
      try {
        policy(SG_WORLD, `allow:\n  - id: x\n    note: n\n${entry}`);
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    assert.match(refused("    userAgent: '*Terraform*'"), /keyed on userAgent alone: needs "principal".*A user agent is chosen by the caller/);
    assert.match(refused("    account: '555566667777'"), /keyed on account alone: needs "principal"/);
    assert.match(refused('    events: [AuthorizeSecurityGroupIngress]'), /keyed on events alone/);
    assert.match(refused("    principal: 'arn:aws:iam::*:role/ci-deploy'\n    userAgent: '*Terraform*'"), /must name an exact 12-digit account, got "\*"/);
    assert.match(refused("    principal: 'arn:aws:iam::1111*:role/ci-deploy'"), /exact 12-digit account/);
    assert.match(refused("    principal: '*'"), /not an ARN/);
    assert.match(refused("    principal: 'arn:*:111122223333:role/x'"), /not an ARN/);
    assert.match(refused("    principal: 'arn:aws:*:*:111122223333:*'"), /no globs before the account/);
    assert.equal(refused("    principal: 'arn:aws:iam::111122223333:role/ci-*'"), 'accepted');
    // Exemptions too.
    assert.throws(() => policy(SG_WORLD, 'exemptions:\n  - { id: e, approver: a, reason: r, expires: 2027-01-01T00:00:00Z, userAgent: x }'), /keyed on userAgent alone/);
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
