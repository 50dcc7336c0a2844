// Normalising, field by field, against CloudTrail's documented record shapes (AWS CloudTrail User Guide, "CloudTrail
// record contents" and "CloudTrail userIdentity element"; Amazon EventBridge User Guide, "AWS API Call via CloudTrail"
// events). Written to pin what the mutation run (README "Test strength") found no test noticed: every branch of the
// actor name, each line form of the input, each summary shape and the redaction fast path's edges.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { normalise, normaliseHeader, parseRecords, actorOf, redactShared, unwrapEnvelope } from '../../src/intake/normalise';
import { readHeader, RecordError } from '../../src/intake/record-check';
import { redact, REDACTED } from '../../src/core/redact';
import type { Actor } from '../../src/core/types';

const ACCOUNT = '123456789012';

/** A management event as CloudTrail records it (eventVersion 1.08 fields). */
function record(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    eventID: 'e6d3a6c5-1111-4c1b-9f0c-0123456789ab',
    eventTime: '2026-03-04T05:06:07Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateUser',
    awsRegion: 'eu-west-1',
    eventType: 'AwsApiCall',
    recipientAccountId: ACCOUNT,
    ...over,
  };
}

/** An EventBridge "AWS API Call via CloudTrail" event around a record. */
function envelope(detail: unknown, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '36eb8523-97d0-4518-b33d-ee3579ff19f0',
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.iam',
    account: ACCOUNT,
    time: '2026-03-04T05:06:07Z',
    region: 'us-east-1',
    resources: [],
    detail,
    ...over,
  };
}

describe('reading records from text', () => {
  test('empty or blank text holds no records', () => {
    assert.deepEqual(parseRecords('', 's'), []);
    assert.deepEqual(parseRecords('  \n\t\r\n ', 's'), []);
  });

  test('a document that is JSON null, a string or a number is one record, kept as it is for the check to refuse', () => {
    assert.deepEqual(parseRecords('null', 's'), [null]);
    assert.deepEqual(parseRecords('"x"', 's'), ['x']);
    assert.deepEqual(parseRecords('{"Records":"not a list"}', 's'), [{ Records: 'not a list' }]);
    assert.deepEqual(parseRecords('["x", 1, null, true]', 's'), ['x', 1, null, true]);
  });

  test('JSON lines: CRLF endings and blank lines between records are fine', () => {
    const a = record({ eventID: 'a' });
    const b = record({ eventID: 'b' });
    assert.deepEqual(parseRecords(`${JSON.stringify(a)}\r\n\r\n   \r\n${JSON.stringify(b)}\r\n`, 's'), [a, b]);
  });

  test('JSON lines: a bad line becomes an error at its own index, and the lines around it are still read', () => {
    const a = record({ eventID: 'a' });
    const b = record({ eventID: 'b' });
    const c = record({ eventID: 'c' });
    const out = parseRecords(`${JSON.stringify({ Records: [a, b] })}\n{"eventID": "trunc\n${JSON.stringify(c)}`, 'lines.jsonl');
    assert.equal(out.length, 4);
    assert.deepEqual([out[0], out[1], out[3]], [a, b, c]);
    const err = out[2];
    assert.ok(err instanceof RecordError);
    assert.deepEqual([err.source, err.index, err.field], ['lines.jsonl', 2, '(json)']);
    assert.match(err.message, /^lines\.jsonl#2: \(json\) is not valid JSON: \S/);
  });

  test('one line of bad JSON is refused as a whole, at index 0', () => {
    assert.throws(
      () => parseRecords('  {"Records": [  ', 'one.json'),
      (e: unknown) => e instanceof RecordError && e.index === 0 && e.field === '(json)' && /^one\.json#0: \(json\) is not valid JSON: \S/.test(e.message),
    );
  });

  test('JSON lines of EventBridge events: each is unwrapped, and a forged one is an error at its line', () => {
    const a = record({ eventID: 'a' });
    const b = record({ eventID: 'b' });
    const text = [envelope(a), envelope(b, { source: 'my.app' }), a].map((d) => JSON.stringify(d)).join('\n');
    const out = parseRecords(text, 'archive');
    assert.equal(out.length, 3);
    assert.deepEqual(out[0], a);
    assert.deepEqual(out[2], a);
    const err = out[1];
    assert.ok(err instanceof RecordError);
    assert.deepEqual([err.source, err.index, err.field], ['archive', 1, 'envelope source']);
    assert.match(err.message, /^archive#1: envelope source must be an AWS service's \(aws\.\*\), got "my\.app"/);
  });

  test('a {"Records":[…]} file or an array may hold envelopes among plain records; each error names its index', () => {
    const a = record({ eventID: 'a' });
    const b = record({ eventID: 'b' });
    for (const doc of [{ Records: [a, envelope(b), envelope(a, { 'detail-type': 'EC2 Instance State-change Notification' })] }, [a, envelope(b), envelope(a, { 'detail-type': 'EC2 Instance State-change Notification' })]]) {
      const out = parseRecords(JSON.stringify(doc), 'mixed');
      assert.equal(out.length, 3);
      assert.deepEqual(out[0], a);
      assert.deepEqual(out[1], b);
      const err = out[2];
      assert.ok(err instanceof RecordError);
      assert.equal(err.message, 'mixed#2: envelope detail-type must be "AWS API Call via CloudTrail", got "EC2 Instance State-change Notification"');
    }
  });
});

describe('EventBridge envelopes', () => {
  test('anything that is not an envelope comes back as it is', () => {
    const r = record();
    assert.equal(unwrapEnvelope(r), r);
    assert.equal(unwrapEnvelope('text'), 'text');
    assert.equal(unwrapEnvelope(null), null);
  });

  test('a CloudTrail event gives its detail; a refused one names "envelope" and index 0 unless told otherwise', () => {
    const r = record();
    assert.deepEqual(unwrapEnvelope(envelope(r)), r);
    const refused = unwrapEnvelope(envelope(r, { detail: 'x' }));
    assert.ok(refused instanceof RecordError);
    assert.equal(refused.message, 'envelope#0: envelope detail must be an object (the CloudTrail record), got string');
    const named = unwrapEnvelope(envelope(r, { account: '12' }), 'queue', 7);
    assert.ok(named instanceof RecordError);
    assert.equal(named.message, 'queue#7: envelope account must be the 12-digit account the event was delivered for, got "12"');
  });
});

describe('userIdentity → actor, per documented identity type', () => {
  test('IAMUser: the userName, the ARN and the access key', () => {
    const identity = {
      type: 'IAMUser',
      principalId: 'AIDAJ45Q7YFFAREXAMPLE',
      arn: `arn:aws:iam::${ACCOUNT}:user/Alice`,
      accountId: ACCOUNT,
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      userName: 'Alice',
    };
    assert.deepEqual(actorOf(identity), { type: 'IAMUser', name: 'Alice', arn: identity.arn, accessKeyId: 'AKIAIOSFODNN7EXAMPLE' });
    assert.equal(actorOf({ ...identity, userName: undefined }).name, 'Alice', 'without userName, the ARN names the user');
    assert.equal(actorOf({ ...identity, userName: '', arn: `arn:aws:iam::${ACCOUNT}:user/division/Alice` }).name, 'Alice', 'a path in the ARN');
    assert.deepEqual(actorOf({ type: 'IAMUser', principalId: 'AIDAJ45Q7YFFAREXAMPLE' }), { type: 'IAMUser', name: 'unknown' });
  });

  test('AssumedRole: the session name, the role that issued it, the temporary key', () => {
    const identity = {
      type: 'AssumedRole',
      principalId: 'AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName',
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/RoleToBeAssumed/MySessionName`,
      accountId: ACCOUNT,
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
      sessionContext: {
        sessionIssuer: { type: 'Role', principalId: 'AROAIDPPEZS35WEXAMPLE', arn: `arn:aws:iam::${ACCOUNT}:role/RoleToBeAssumed`, accountId: ACCOUNT, userName: 'RoleToBeAssumed' },
        attributes: { creationDate: '2026-03-04T04:00:00Z', mfaAuthenticated: 'false' },
      },
    };
    assert.deepEqual(actorOf(identity), {
      type: 'AssumedRole',
      name: 'MySessionName',
      arn: identity.arn,
      sessionIssuerArn: `arn:aws:iam::${ACCOUNT}:role/RoleToBeAssumed`,
      accessKeyId: 'ASIAIOSFODNN7EXAMPLE',
    });
    assert.equal(actorOf({ ...identity, arn: undefined }).name, 'AssumedRoleSessionName', 'without an ARN, the principalId after the colon');
    assert.equal(actorOf({ type: 'AssumedRole', principalId: 'AROAIDPPEZS35WEXAMPLE' }).name, 'AROAIDPPEZS35WEXAMPLE');
    assert.equal(actorOf({ type: 'AssumedRole' }).name, 'unknown');
    const noIssuerArn = actorOf({ ...identity, sessionContext: { sessionIssuer: { type: 'Role', userName: 'RoleToBeAssumed' } } });
    assert.equal('sessionIssuerArn' in noIssuerArn, false);
    assert.equal('sessionIssuerArn' in actorOf({ ...identity, sessionContext: 'x' }), false);
  });

  test('FederatedUser: the name after the account in principalId when there is no ARN', () => {
    assert.deepEqual(actorOf({ type: 'FederatedUser', principalId: `${ACCOUNT}:Bob`, accountId: ACCOUNT }), { type: 'FederatedUser', name: 'Bob' });
  });

  test('IdentityCenterUser: userName, else the Identity Store user id, else principalId', () => {
    const onBehalfOf = { userId: '94482488-3041-7026-18f3-be45837cd0e4', identityStoreArn: 'arn:aws:identitystore::123456789012:identitystore/d-9067642ac7' };
    assert.deepEqual(actorOf({ type: 'IdentityCenterUser', accountId: ACCOUNT, userName: 'alice', onBehalfOf }), {
      type: 'IdentityCenterUser',
      name: 'alice',
      identityCenterUserId: onBehalfOf.userId,
    });
    assert.equal(actorOf({ type: 'IdentityCenterUser', principalId: 'p-1', onBehalfOf: { identityStoreArn: onBehalfOf.identityStoreArn } }).name, 'p-1');
    assert.equal(actorOf({ type: 'IdentityCenterUser', principalId: 'p-1', onBehalfOf: 'x' }).name, 'p-1');
    assert.deepEqual(actorOf({ type: 'IdentityCenterUser', onBehalfOf: { userId: '' } }), { type: 'IdentityCenterUser', name: 'unknown' });
  });

  test('AWSService and AWSAccount, and identities with no or an unknown type', () => {
    assert.deepEqual(actorOf({ type: 'AWSService', invokedBy: 'cloudtrail.amazonaws.com' }), { type: 'AWSService', name: 'cloudtrail.amazonaws.com' });
    assert.deepEqual(actorOf({ type: 'AWSService' }), { type: 'AWSService', name: 'aws-service' });
    assert.deepEqual(actorOf({ type: '', invokedBy: 'ec2.amazonaws.com' }), { type: 'AWSService', name: 'ec2.amazonaws.com' });
    assert.deepEqual(actorOf({ type: 'AWSAccount', principalId: 'AIDAJ45Q7YFFAREXAMPLE', accountId: '111122223333' }), { type: 'AWSAccount', name: 'AIDAJ45Q7YFFAREXAMPLE' });
    assert.deepEqual(actorOf({ type: 'Unknown', principalId: 'AIDAJ45Q7YFFAREXAMPLE', userName: 'Alice' }), { type: 'Unknown', name: 'Alice' });
    assert.deepEqual(actorOf({ accountId: ACCOUNT }), { type: 'Unknown', name: 'unknown' });
    assert.deepEqual(actorOf(undefined), { type: 'Unknown', name: 'unknown' }, 'a record with no userIdentity');
    assert.deepEqual(actorOf({ type: 'IAMUser', userName: 7, arn: `arn:aws:iam::${ACCOUNT}:user/Alice`, accessKeyId: 12 }), { type: 'IAMUser', name: 'Alice', arn: `arn:aws:iam::${ACCOUNT}:user/Alice` }, 'fields of the wrong type are not read');
    assert.deepEqual(actorOf({ type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root`, principalId: ACCOUNT }), { type: 'Root', name: 'root', arn: `arn:aws:iam::${ACCOUNT}:root` });
  });

  test('e-mail: the sourceIdentity first, then the session name; only whole addresses count', () => {
    const role = (session: string, sourceIdentity?: string): Actor =>
      actorOf({ type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_1/${session}`, sourceIdentity });
    assert.equal(role('bob@example.com', 'alice@example.com').email, 'alice@example.com');
    assert.equal(role('bob@example.com', 'alice').email, 'bob@example.com');
    assert.equal(role('bob@example.com').email, 'bob@example.com');
    for (const notEmail of ['bob', 'bob@example', 'b ob@example.com', '@example.com', 'bob@@example.com', 'bob@example.com@evil']) {
      assert.equal('email' in role(notEmail), false, notEmail);
      assert.equal('email' in role('x', notEmail), false, notEmail);
    }
  });
});

describe('the one-line summary', () => {
  const base = { eventSource: 'ec2.amazonaws.com', eventID: 's1' };
  const summary = (eventName: string, requestParameters: unknown): string =>
    normalise(record({ ...base, eventName, requestParameters }), 's', 0).summary;
  const perm = (ipProtocol: string, fromPort: number | undefined, toPort: number | undefined, ranges: Record<string, unknown>) => ({ items: [{ ipProtocol, fromPort, toPort, ...ranges }] });
  const v4 = (...cidrs: string[]) => ({ ipRanges: { items: cidrs.map((cidrIp) => ({ cidrIp })) } });

  test('revoking closes, authorising opens; ranges, ICMP and all ports read as people write them', () => {
    assert.equal(summary('RevokeSecurityGroupIngress', { groupId: 'sg-1', ipPermissions: perm('udp', 1000, 2000, v4('10.0.0.0/8')) }), 'sg-1 closed for 10.0.0.0/8 on udp/1000-2000');
    assert.equal(summary('RevokeSecurityGroupEgress', { groupId: 'sg-1', ipPermissions: perm('tcp', 443, 443, v4('10.0.0.0/8')) }), 'sg-1 closed for 10.0.0.0/8 on tcp/443');
    assert.equal(summary('AuthorizeSecurityGroupIngress', { groupId: 'sg-1', ipPermissions: perm('icmp', -1, -1, v4('0.0.0.0/0')) }), 'sg-1 opened to 0.0.0.0/0 on icmp');
    assert.equal(
      summary('AuthorizeSecurityGroupIngress', { groupId: 'sg-1', ipPermissions: perm('icmpv6', -1, -1, { ipv6Ranges: { items: [{ cidrIpv6: '::/0' }] } }) }),
      'sg-1 opened to ::/0 on icmpv6',
    );
    assert.equal(summary('AuthorizeSecurityGroupIngress', { groupId: 'sg-1', ipPermissions: perm('tcp', 0, 65535, v4('0.0.0.0/0')) }), 'sg-1 opened to 0.0.0.0/0 on all tcp ports');
    assert.equal(summary('AuthorizeSecurityGroupEgress', { groupId: 'sg-1', ipPermissions: perm('-1', undefined, undefined, v4('0.0.0.0/0')) }), 'sg-1 opened to 0.0.0.0/0 on all ports');
  });

  test('several ranges are listed once each; the group by name, else "a security group"', () => {
    assert.equal(
      summary('AuthorizeSecurityGroupIngress', { groupName: 'web', cidrIp: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 22, toPort: 22, ipPermissions: perm('tcp', 22, 22, v4('0.0.0.0/0', '198.51.100.0/24')) }),
      'web opened to 0.0.0.0/0 on tcp/22, 198.51.100.0/24 on tcp/22',
    );
    assert.equal(summary('AuthorizeSecurityGroupIngress', { ipPermissions: perm('tcp', 22, 22, v4('0.0.0.0/0')) }), 'a security group opened to 0.0.0.0/0 on tcp/22');
  });

  test('a rule with no address range (group to group) or no request at all gives the call and the group', () => {
    const fromGroup = { items: [{ ipProtocol: 'tcp', fromPort: 5432, toPort: 5432, groups: { items: [{ groupId: 'sg-2' }] } }] };
    assert.equal(summary('AuthorizeSecurityGroupIngress', { groupId: 'sg-1', ipPermissions: fromGroup }), 'AuthorizeSecurityGroupIngress on sg-1');
    assert.equal(summary('AuthorizeSecurityGroupIngress', null), 'AuthorizeSecurityGroupIngress on a security group');
  });

  test('only the four security-group rule calls get a rule summary', () => {
    const req = { groupId: 'sg-1', cidrIp: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 22, toPort: 22 };
    assert.equal(summary('XAuthorizeSecurityGroupIngress', req), 'XAuthorizeSecurityGroupIngress on sg-1');
    assert.equal(summary('AuthorizeSecurityGroupIngressX', req), 'AuthorizeSecurityGroupIngressX on sg-1');
  });

  test('other calls name what they act on, from the request field CloudTrail records for that call', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['CreateDBInstance', { name: 'orders' }, 'orders'],
      ['PutBucketPolicy', { bucketName: 'logs-bucket', host: 'logs-bucket.s3.amazonaws.com', bucketPolicy: {} }, 'logs-bucket'],
      ['CreateAccessKey', { userName: 'Alice' }, 'Alice'],
      ['AttachRolePolicy', { roleName: 'Deploy', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }, 'Deploy'],
      ['DeleteSecurityGroup', { groupId: 'sg-9' }, 'sg-9'],
      ['ScheduleKeyDeletion', { keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', pendingWindowInDays: 7 }, '1234abcd-12ab-34cd-56ef-1234567890ab'],
      ['DeleteDetector', { detectorId: '12abc34d567e8fa901bc2d34e56789f0' }, '12abc34d567e8fa901bc2d34e56789f0'],
      ['UpdateFunctionConfiguration20150331v2', { functionName: 'billing' }, 'billing'],
    ];
    for (const [eventName, req, target] of cases) assert.equal(summary(eventName, req), `${eventName} on ${target}`);
    assert.equal(summary('StopLogging', { name: '' }), 'StopLogging', 'an empty name names nothing');
    assert.equal(summary('GetCallerIdentity', null), 'GetCallerIdentity');
  });
});

describe('the whole change', () => {
  test('a failed ConsoleLogin-style record keeps every field the policy reads, redacted', () => {
    const rec = record({
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      sourceIPAddress: '192.0.2.10',
      userAgent: 'aws-cli/2.15.0 Python/3.11',
      readOnly: false,
      errorCode: 'AccessDenied',
      errorMessage: 'User is not authorized',
      userIdentity: { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/Alice`, userName: 'Alice' },
      requestParameters: { userName: 'Alice' },
      responseElements: { accessKey: { userName: 'Alice', accessKeyId: 'AKIAI44QH8DHBEXAMPLE', status: 'Active', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } },
      additionalEventData: { MFAUsed: 'No', password: 'typed-in-error' },
    });
    assert.deepEqual(normalise(rec, 's', 0), {
      eventId: rec.eventID,
      eventTime: '2026-03-04T05:06:07.000Z',
      account: ACCOUNT,
      region: 'eu-west-1',
      eventSource: 'iam.amazonaws.com',
      eventName: 'CreateAccessKey',
      actor: { type: 'IAMUser', name: 'Alice', arn: `arn:aws:iam::${ACCOUNT}:user/Alice` },
      sourceIp: '192.0.2.10',
      userAgent: 'aws-cli/2.15.0 Python/3.11',
      request: { userName: 'Alice' },
      response: { accessKey: { userName: 'Alice', accessKeyId: 'AKIAI44QH8DHBEXAMPLE', status: 'Active', secretAccessKey: REDACTED } },
      errorCode: 'AccessDenied',
      summary: 'CreateAccessKey on Alice',
      readOnly: false,
      eventType: 'AwsApiCall',
      additionalEventData: { MFAUsed: 'No', password: REDACTED },
    });
  });

  test('fields a record leaves out (or leaves empty) are left out of the change; no region means us-east-1', () => {
    const c = normalise(
      { eventID: 'e', eventTime: '2026-03-04T05:06:07Z', eventSource: 's3.amazonaws.com', eventName: 'ListBuckets', recipientAccountId: ACCOUNT, sourceIPAddress: '', userAgent: '', eventType: '' },
      's',
      0,
    );
    assert.deepEqual(Object.keys(c).sort(), ['account', 'actor', 'eventId', 'eventName', 'eventSource', 'eventTime', 'region', 'request', 'response', 'summary']);
    assert.equal(c.region, 'us-east-1');
    assert.equal(normalise({ ...record(), awsRegion: '' }, 's', 0).region, 'us-east-1');
  });

  test('an actor the caller already has is used as it is', () => {
    const rec = record({ userIdentity: { type: 'IAMUser', userName: 'Alice' } });
    const given: Actor = { type: 'Root', name: 'root' };
    assert.equal(normaliseHeader(readHeader(rec, 's', 0), given).actor, given);
    assert.deepEqual(normaliseHeader(readHeader(rec, 's', 0)).actor, { type: 'IAMUser', name: 'Alice' });
  });

  test('event times: milliseconds kept, other fractions and impossible days through Date', () => {
    const at = (eventTime: string): string => normalise(record({ eventTime }), 's', 0).eventTime;
    assert.equal(at('2026-03-04T05:06:07.123Z'), '2026-03-04T05:06:07.123Z');
    assert.equal(at('2026-03-04T05:06:07.1Z'), '2026-03-04T05:06:07.100Z');
    assert.equal(at('2026-03-04T05:06:07.123456Z'), '2026-03-04T05:06:07.123Z');
    assert.equal(at('2026-02-28T23:59:59Z'), '2026-02-28T23:59:59.000Z');
    assert.equal(at('2026-02-29T00:00:00Z'), '2026-03-01T00:00:00.000Z');
    assert.equal(at('2026-04-31T00:00:00.500Z'), '2026-05-01T00:00:00.500Z');
  });
});

describe('redaction fast path', () => {
  test('arrays: copied only when an element changes, and the input is left alone', () => {
    const plain = ['a', { keep: 1 }, [2]];
    assert.equal(redactShared(plain), plain);
    const secret = ['a', { password: 'hunter2' }, { keep: 1 }];
    const out = redactShared(secret);
    assert.notEqual(out, secret);
    assert.deepEqual(out, ['a', { password: REDACTED }, { keep: 1 }]);
    assert.equal(out[2], secret[2]);
    assert.deepEqual(secret[1], { password: 'hunter2' });
  });

  test('a sensitive key with an empty, null or absent value has nothing to hide and is kept', () => {
    const empty = { password: '', token: null, secretAccessKey: undefined, other: 1 };
    assert.equal(redactShared(empty), empty);
    assert.deepEqual(redactShared({ password: 0 }), { password: REDACTED });
  });

  test('deeper than 32 levels is cut off, as redact does', () => {
    let deep: unknown = { password: 'x', keep: 'y' };
    for (let i = 0; i < 40; i++) deep = i % 2 ? { a: deep } : [deep];
    assert.deepEqual(redactShared(deep), redact(deep));
    let level: unknown = redactShared(deep);
    let n = 0;
    while (level !== REDACTED) {
      level = Array.isArray(level) ? level[0] : (level as { a: unknown }).a;
      n += 1;
    }
    assert.equal(n, 33, 'the value 33 levels down is replaced whole');
    let shallow: unknown = { keep: 'y' };
    for (let i = 0; i < 31; i++) shallow = { a: shallow };
    assert.equal(redactShared(shallow), shallow, 'a value 32 levels down is still read');
    const cut = { a: shallow };
    assert.deepEqual(redactShared(cut), redact(cut), 'a plain value 33 levels down is cut off too');
    assert.notDeepEqual(redactShared(cut), cut);
    assert.deepEqual(redactShared({ keep: 1 }, 33), redact({ keep: 1 }, 33));
  });

  test('values that are not objects come back as they are, as redact returns them', () => {
    for (const v of [null, undefined, 'password', 7, true]) assert.equal(redactShared(v), redact(v));
  });

  test('a redacted copy is an ordinary object: its properties stay writable and deletable, as in the copy redact makes', () => {
    const out = redactShared({ password: 'hunter2', keep: 1 });
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, 'password'), Object.getOwnPropertyDescriptor(redact({ password: 'hunter2' }), 'password'));
  });
});
