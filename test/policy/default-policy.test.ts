// The shipped default policy: it loads, it covers every row of the risky-changes catalogue (see the header of
// default-policy.yaml), and it gives the expected tiers on hand-written records (this file needs nothing from
// ../shared).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { normalise, parseRecords } from '../../src/intake/normalise';
import { assess, DEFAULT_POLICY_FILE, loadPolicy, parsePolicy, toVerdict } from '../../src/policy';
import { ACCOUNT, assumedRole, change } from './records';

const FIXTURES = path.resolve(__dirname, 'fixtures/records.json');
const CATALOGUE_ROWS = 46;

describe('default policy', () => {
  const policy = loadPolicy();

  test('cites every row of the catalogue, and every row cited exists', () => {
    const cited = new Set(policy.rules.flatMap((r) => r.rows));
    const missing = Array.from({ length: CATALOGUE_ROWS }, (_, i) => i + 1).filter((n) => !cited.has(n));
    assert.deepEqual(missing, [], `rows without a rule: ${missing.join(', ')}`);
    assert.ok([...cited].every((n) => n >= 1 && n <= CATALOGUE_ROWS));
    const text = fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8');
    const rulesSection = text.slice(text.indexOf('\nrules:\n'));
    assert.equal(policy.rules.length, (rulesSection.match(/^ {2}- id: /gm) ?? []).length, 'every rule in the file compiled');
  });

  test('hand-written records: the tiers the catalogue suggests', () => {
    const records = parseRecords(fs.readFileSync(FIXTURES, 'utf8'), FIXTURES);
    const withRevertRole = loadPolicy(undefined, { revertRoleArnTemplate: 'arn:aws:iam::{account}:role/vouch-revert' });
    const got = records.map((r, i) => {
      const c = normalise(r, FIXTURES, i);
      const a = assess(c, withRevertRole);
      return `${c.eventName}:${a.tier}`;
    });
    assert.deepEqual(got, [
      'AuthorizeSecurityGroupIngress:revert', // row 1: port 22 to a rewritten /0, flat form, eventVersion 1.05
      'AuthorizeSecurityGroupIngress:confirm', // row 1: 443 to the world, nested form: ask, revert on "not me"
      'AddPermission20150331v2:revert', // row 42: Lambda suffix, principal "*"
      'PutBucketPolicy:page', // row 32: public policy object; no plan without a saved baseline → page
      'PutRolePolicy:confirm', // row 23: policy document as a JSON string granting *
      'StopLogging:notify', // row 6, but failed (TrailNotFoundException): noted only
      'DescribeInstances:ignore', // read-only
      'ConsoleLogin:confirm', // row 31: no MFA
      'RevokeSecurityGroupIngress:ignore', // vouch's own revert: session vouch-revert-* of the configured revert role
      'CreateUser:confirm', // row 26 by an IdentityCenterUser
      'StopLogging:revert', // row 6 by a FederatedUser: StartLogging
      'ModifySnapshotAttribute:revert', // row 36: shared with group all
    ]);
  });

  test('reasons name the resource', () => {
    const a = assess(change({ requestParameters: { groupId: 'sg-1', ipPermissions: {}, cidrIp: '0.0.0.0/0', fromPort: 22, toPort: 22, ipProtocol: 'tcp' } }), policy);
    assert.deepEqual(a.reasons, ['security group sg-1 opened to 0.0.0.0/0 on port 22']);
    const trail = assess(change({ eventSource: 'cloudtrail.amazonaws.com', eventName: 'DeleteTrail', requestParameters: { name: 'org-trail' } }), policy);
    assert.deepEqual(trail.reasons, ['CloudTrail trail org-trail deleted']);
    const admin = assess(change({ eventSource: 'iam.amazonaws.com', eventName: 'AttachRolePolicy', requestParameters: { roleName: 'deployer', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' } }), policy);
    assert.deepEqual(admin.reasons, ['arn:aws:iam::aws:policy/AdministratorAccess attached to deployer']);
    assert.equal(admin.tier, 'confirm');
    assert.equal(admin.revertPlan?.operation, 'DetachRolePolicy');
  });

  test('root activity pages; a root console sign-in pages; a root access key pages and is never reverted', () => {
    const root = { type: 'Root', principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT };
    const login = assess(change({ eventSource: 'signin.amazonaws.com', eventName: 'ConsoleLogin', userIdentity: root, requestParameters: null, responseElements: { ConsoleLogin: 'Success' } }), policy);
    assert.equal(login.tier, 'page');
    assert.deepEqual(login.rules, ['root-console-login']);
    const key = assess(change({ eventSource: 'iam.amazonaws.com', eventName: 'CreateAccessKey', userIdentity: root, responseElements: { accessKey: { accessKeyId: 'AKIA1' } } }), policy);
    assert.equal(key.tier, 'page');
    assert.equal(key.revertPlan, null);
    const other = assess(change({ eventSource: 'ec2.amazonaws.com', eventName: 'CreateVpc', userIdentity: root }), policy);
    assert.equal(other.tier, 'page');
    assert.deepEqual(other.rules, ['root-activity']);
    assert.equal(assess(change({ eventName: 'CreateVpc' }), policy).tier, 'ignore', 'the same call by a person is not flagged');
  });

  test('the worked allow-list example compiles, trusts only the CI role of its account, and sets aside only what it names', () => {
    const text = fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8');
    const example = /^# {2}- id: terraform-ci\n(# {4}.*\n)+/m.exec(text)?.[0];
    assert.ok(example, 'the example is in the file');
    const live = text.replace(/^allow: \[\]\n/m, `allow:\n${example.replace(/^#/gm, '')}`);
    const p = parsePolicy(live, 'with-example');
    const tf = 'APN/1.0 HashiCorp/1.0 Terraform/1.9.0';
    const ci = assumedRole('ci-deploy', 'run-1');
    const role = (by: Record<string, unknown>, agent = tf) => assess(change({ eventSource: 'iam.amazonaws.com', eventName: 'CreateRole', userIdentity: by, userAgent: agent, requestParameters: { roleName: 'app' } }), p);
    assert.equal(role(ci).tier, 'ignore', 'a new role from CI is expected');
    assert.equal(role(assumedRole('ci-deploy', 'run-1', '999988887777')).tier, 'notify', 'the same role name in another account is not trusted');
    assert.equal(role(assumedRole('someone', 'alice')).tier, 'notify');
    // What the entry does not name still applies to CI: a public bucket policy, the floor's confirm tiers.
    const publicBucket = assess(
      change({ eventSource: 's3.amazonaws.com', eventName: 'PutBucketPolicy', userIdentity: ci, userAgent: tf, requestParameters: { bucketName: 'b', bucketPolicy: { Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' }] } } }),
      p,
    );
    assert.ok(['page', 'revert'].includes(publicBucket.tier), publicBucket.tier);
    assert.equal(assess(change({ eventSource: 'rds.amazonaws.com', eventName: 'DeleteDBClusterSnapshot', userIdentity: ci, userAgent: tf }), p).tier, 'confirm');
  });

  test('a notify-tier change becomes a notify verdict without a plan', () => {
    const a = assess(change({ eventSource: 'ssm.amazonaws.com', eventName: 'StartSession', userIdentity: assumedRole('AWSReservedSSO_Dev_1', 'alice@example.com'), requestParameters: { target: 'i-1' } }), policy);
    const v = toVerdict(a);
    assert.equal(v?.tier, 'notify');
    assert.equal(v?.revertPlan, null);
    assert.deepEqual(v?.reasons, ['StartSession to i-1']);
  });
});
