// Policy documents judged by what they allow. Each expected answer is IAM's, from its documented evaluation rules
// (explicit Deny wins; a missing key makes a condition false, except negated operators, IfExists and ForAllValues)
// and from who controls each condition key (the caller's own address, headers and VPC endpoints; AWS sets the
// principal's account, ARN and organization).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesOf, exposureOf } from '../../src/policy/analysis';
import { coverage } from '../../src/policy/ip-coverage';

const ACCOUNT = '111122223333';
const FOREIGN = '999988887777';
const ctx = (eventSource = 's3.amazonaws.com', trusted: string[] = []) => ({ account: ACCOUNT, trusted: new Set(trusted), eventSource });

function bucket(statements: object[], extra?: { trusted?: string[] }) {
  const e = exposureOf({ Version: '2012-10-17', Statement: statements }, ctx('s3.amazonaws.com', extra?.trusted));
  assert.ok(e);
  return e;
}

const GET = { Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/*' };
const publicTo = (statements: object[]) => bucket(statements).publicTo;

describe('resource policies: who could get in', () => {
  test('Principal "*" is anyone; an AWS "*" too; a service principal is not a caller', () => {
    assert.equal(publicTo([{ Effect: 'Allow', Principal: '*', ...GET }]), 'anyone');
    assert.equal(publicTo([{ Effect: 'Allow', Principal: { AWS: ['*'] }, ...GET }]), 'anyone');
    assert.equal(publicTo([{ Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 's3:PutObject', Resource: 'arn:aws:s3:::b/*' }]), null);
    assert.deepEqual(bucket([{ Effect: 'Allow', Principal: '*', ...GET }]).publicActions, ['s3:GetObject']);
  });

  test('conditions the caller controls do not narrow: always-true operators, source address, TLS, headers, its own VPC endpoint', () => {
    const cond = (c: object) => publicTo([{ Effect: 'Allow', Principal: '*', ...GET, Condition: c }]);
    assert.equal(cond({ StringLike: { 'aws:SourceIp': '*' } }), 'anyone');
    assert.equal(cond({ IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } }), 'anyone');
    assert.equal(cond({ IpAddress: { 'aws:SourceIp': ['0.0.0.0/1', '128.0.0.0/1'] } }), 'anyone');
    assert.equal(cond({ IpAddress: { 'aws:SourceIp': '1.0.0.0/8' } }), 'anyone', 'a /8 of the internet is not an allow-list');
    assert.equal(cond({ IpAddress: { 'aws:SourceIp': '198.51.100.0/24' } }), null, 'a small range the attacker cannot stand in');
    assert.equal(cond({ NotIpAddress: { 'aws:SourceIp': '198.51.100.0/24' } }), 'anyone');
    assert.equal(cond({ Bool: { 'aws:SecureTransport': 'true' } }), 'anyone');
    assert.equal(cond({ StringEquals: { 'aws:UserAgent': 'internal-tool/1.0' } }), 'anyone');
    assert.equal(cond({ StringLike: { 'aws:Referer': 'https://example.com/*' } }), 'anyone');
    assert.equal(cond({ StringNotEquals: { 'aws:SourceVpce': 'vpce-0abc' } }), 'anyone', 'any other endpoint, or none');
    assert.equal(cond({ StringEquals: { 'aws:SourceVpce': 'vpce-0abc' } }), null, 'an endpoint id the attacker cannot own');
    assert.equal(cond({ StringLike: { 'aws:SourceVpc': 'vpc-*' } }), 'anyone', 'their own VPC matches the wildcard, signed in or not');
  });

  test('keys that pin the caller narrow: organization, account, ARN, source account; wildcards in them do not', () => {
    const cond = (c: object) => publicTo([{ Effect: 'Allow', Principal: '*', ...GET, Condition: c }]);
    assert.equal(cond({ StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } }), null);
    assert.equal(cond({ StringLike: { 'aws:PrincipalOrgID': 'o-*' } }), 'any AWS account', 'every organization matches');
    assert.equal(cond({ StringEquals: { 'aws:PrincipalAccount': ACCOUNT } }), null);
    assert.equal(cond({ StringEquals: { 'AWS:SourceOwner': ACCOUNT } }), null, 'keys are case-insensitive');
    assert.equal(cond({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/*` } }), null);
    assert.equal(cond({ ArnLike: { 'aws:PrincipalArn': 'arn:aws:iam::*:role/Admin' } }), 'any AWS account', 'the attacker names a role Admin in its own account');
    assert.equal(cond({ StringEquals: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } }), null);
  });

  test('a missing key: IfExists and ForAllValues hold, negated operators hold, Null says so', () => {
    const cond = (c: object) => publicTo([{ Effect: 'Allow', Principal: '*', ...GET, Condition: c }]);
    assert.equal(cond({ StringEqualsIfExists: { 'aws:PrincipalAccount': ACCOUNT } }), 'anyone', 'an anonymous request has no account: IfExists holds');
    assert.equal(cond({ 'ForAllValues:StringEquals': { 'aws:PrincipalOrgID': 'o-abc123' } }), 'anyone', 'ForAllValues over no values holds');
    assert.equal(cond({ 'ForAnyValue:StringEquals': { 'aws:PrincipalOrgID': 'o-abc123' } }), null);
    assert.equal(cond({ StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } }), 'anyone');
    assert.equal(cond({ Null: { 'aws:PrincipalOrgID': 'false' } }), 'any AWS account');
  });

  test('NotPrincipal in an Allow lets in everyone it does not name', () => {
    assert.equal(publicTo([{ Effect: 'Allow', NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, ...GET }]), 'anyone');
  });

  test('a Deny the attacker cannot step around closes it; one it can step around does not', () => {
    const allow = { Effect: 'Allow', Principal: '*', ...GET };
    assert.equal(publicTo([allow, { Effect: 'Deny', Principal: '*', ...GET, Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } } }]), null);
    assert.equal(publicTo([allow, { Effect: 'Deny', Principal: '*', ...GET, Condition: { NotIpAddress: { 'aws:SourceIp': '198.51.100.0/24' } } }]), null);
    assert.equal(publicTo([allow, { Effect: 'Deny', Principal: '*', ...GET, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }]), 'anyone', 'the attacker uses TLS');
    assert.equal(publicTo([allow, { Effect: 'Deny', NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 's3:*', Resource: '*' }]), null);
    assert.equal(publicTo([allow, { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${FOREIGN}:root` }, Action: 's3:*', Resource: '*' }]), 'anyone', 'a Deny for someone else');
  });

  test('actions are expanded: wildcards, NotAction, and a Deny removes only what it names', () => {
    const wide = bucket([{ Effect: 'Allow', Principal: '*', Action: 's3:Get*', Resource: '*' }]);
    assert.ok(wide.publicActions.includes('s3:GetObject') && wide.publicActions.includes('s3:GetBucketPolicy'));
    assert.ok(wide.publicActions.every((a) => a.startsWith('s3:Get')));
    const lower = bucket([{ Effect: 'Allow', Principal: '*', Action: 'S3:getobject', Resource: '*' }]);
    assert.deepEqual(lower.publicActions, ['s3:GetObject'], 'IAM matches actions without regard to case');
    const most = bucket([
      { Effect: 'Allow', Principal: '*', NotAction: 's3:DeleteObject', Resource: '*' },
      { Effect: 'Deny', Principal: '*', Action: 's3:Get*', Resource: '*' },
    ]);
    assert.ok(most.publicActions.includes('s3:PutObject') && !most.publicActions.includes('s3:DeleteObject') && !most.publicActions.some((a) => a.startsWith('s3:Get')));
    assert.equal(publicTo([{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: '*' }, { Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*' }]), null);
  });

  test('foreign: an account outside this one and the trusted ones, named as principal or in a pinning condition', () => {
    const grant = { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${FOREIGN}:root` }, ...GET };
    assert.deepEqual(bucket([grant]).foreign, [{ account: FOREIGN, actions: ['s3:GetObject'] }]);
    assert.equal(bucket([grant]).publicTo, null);
    assert.deepEqual(bucket([grant], { trusted: [FOREIGN] }).foreign, []);
    assert.deepEqual(bucket([{ ...grant, Principal: { AWS: ACCOUNT } }]).foreign, []);
    const byCondition = bucket([{ Effect: 'Allow', Principal: '*', ...GET, Condition: { StringEquals: { 'aws:PrincipalAccount': FOREIGN } } }]);
    assert.deepEqual([byCondition.publicTo, byCondition.foreign.map((f) => f.account)], [null, [FOREIGN]]);
  });

  test('a trust policy grants sts: actions to whoever it names', () => {
    const trust = (s: object[]) => exposureOf({ Statement: s }, ctx('iam.amazonaws.com'));
    assert.equal(trust([{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }])?.publicTo, 'anyone');
    const ext = trust([{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${FOREIGN}:role/x` }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'abc' } } }]);
    assert.deepEqual(ext?.foreign, [{ account: FOREIGN, actions: ['sts:AssumeRole'] }]);
    assert.equal(trust([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }])?.publicTo, null);
  });

  test('not a document: null, whatever the text', () => {
    assert.equal(exposureOf('{not json', ctx()), null);
    assert.equal(exposureOf(42, ctx()), null);
  });
});

describe('identity policies: what they grant after expansion', () => {
  const caps = (statements: object[]) => {
    const c = capabilitiesOf(JSON.stringify({ Version: '2012-10-17', Statement: statements }));
    assert.ok(c);
    return c;
  };
  const allow = (Action: unknown, Resource: unknown = '*') => ({ Effect: 'Allow', Action, Resource });

  test('admin-equivalent: every action on every resource, also written arn:aws:*:*:*:*', () => {
    assert.equal(caps([allow('*')]).admin, true);
    assert.equal(caps([allow('*:*', 'arn:aws:*:*:*:*')]).admin, true);
    assert.equal(caps([allow('*', 'arn:aws:s3:::b/*')]).admin, false);
    assert.equal(caps([allow('*'), { Effect: 'Deny', Action: 'iam:*', Resource: '*' }]).admin, false);
    assert.equal(caps([{ Effect: 'Allow', NotAction: ['iam:*', 'organizations:*', 'account:*'], Resource: '*' }]).admin, false, 'power user is not admin');
  });

  test('privilege escalation: iam:Put*, iam:Attach*, PassRole with a compute action, on any resource of the kind', () => {
    assert.match(caps([allow('iam:Put*')]).escalation.join(), /inline policy/);
    assert.match(caps([allow('iam:attach*')]).escalation.join(), /attach any managed policy/);
    assert.match(caps([allow(['iam:PassRole', 'lambda:CreateFunction'])]).escalation.join(), /pass a role to a new Lambda function/);
    assert.match(caps([allow('iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/*`), allow('ec2:RunInstances')]).escalation.join(), /EC2 instance/);
    assert.match(caps([allow(['iam:PassRole', 'cloudformation:CreateStack'])]).escalation.join(), /CloudFormation/);
    assert.deepEqual(caps([allow('iam:PassRole')]).escalation, [], 'PassRole alone runs nothing');
    assert.deepEqual(caps([allow('iam:PassRole', `arn:aws:iam::${ACCOUNT}:role/lambda-basic`), allow('lambda:CreateFunction')]).escalation, [], 'one named role to pass');
    assert.deepEqual(caps([allow(['iam:Get*', 'iam:List*'])]).escalation, []);
    assert.match(caps([allow('*:PassRole'), allow('ec2:Run*')]).escalation.join(), /EC2 instance/, 'a service wildcard');
  });

  test('data out: reading or sharing data on every resource', () => {
    assert.deepEqual(caps([allow('s3:GetObject')]).exfiltration, ['s3:GetObject']);
    assert.deepEqual(caps([allow('s3:GetObject', 'arn:aws:s3:::reports/*')]).exfiltration, [], 'one bucket');
    assert.ok(caps([allow('secretsmanager:*')]).exfiltration.includes('secretsmanager:GetSecretValue'));
  });

  test('the same document is analysed once', () => {
    const doc = JSON.stringify({ Statement: [allow('*')] });
    assert.equal(capabilitiesOf(doc), capabilitiesOf(doc));
  });
});

describe('internet coverage of address ranges', () => {
  test('the /1 pair and the IPv6 halves are the world; a /2 is about a quarter; private ranges reach nothing', () => {
    assert.equal(coverage(['0.0.0.0/1', '128.0.0.0/1']).share, 1);
    assert.equal(coverage(['::/1', '8000::/1']).ipv6, 1);
    assert.equal(coverage(['203.0.113.9/0']).share, 1, 'host bits under a /0 are ignored');
    const quarter = coverage(['64.0.0.0/2']).share;
    assert.ok(quarter > 0.2 && quarter < 0.3, String(quarter));
    assert.equal(coverage(['10.0.0.0/8', '192.168.0.0/16', 'fd00::/8']).share, 0);
    assert.deepEqual(coverage(['nonsense']).invalid, ['nonsense']);
  });
});
