import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { normalise, parseRecords, actorOf, redactShared } from '../../src/intake/normalise';
import { checkHeader, readHeader, RecordError } from '../../src/intake/record-check';
import { loadRecords, type Rec } from './helpers/records';
import { policyStatements } from '../../src/core/policy-document';
import { securityGroupRules } from '../../src/core/security-group-rules';
import { baseEventName } from '../../src/policy/paths';
import { redact } from '../../src/core/redact';
import type { Change } from '../../src/core/types';

const SAMPLE = path.resolve(__dirname, '../../src/demo/fixtures/sample-events.json');

describe('CloudTrail records', () => {
  test('a {"Records":[…]} file gives one change per record, with actor, place and summary', () => {
    const records = parseRecords(fs.readFileSync(SAMPLE, 'utf8'), 'sample');
    assert.equal(records.length, 3);
    const [a, b, c] = records.map((r, i) => normalise(r, 'sample', i));
    assert.equal(a?.actor.type, 'AssumedRole');
    assert.equal(a?.actor.name, 'alice@example.com');
    assert.equal(a?.actor.email, 'alice@example.com');
    assert.match(a?.actor.sessionIssuerArn ?? '', /AWSReservedSSO_Developer/);
    assert.equal(a?.summary, 'sg-0a1b2c3d4e5f60001 opened to 0.0.0.0/0 on tcp/22');
    assert.equal(b?.summary, 'sg-0a1b2c3d4e5f60002 opened to 0.0.0.0/0 on tcp/3389', 'flat (CLI) form');
    assert.equal(c?.summary, 'sg-0a1b2c3d4e5f60003 opened to 0.0.0.0/0 on all ports');
    assert.equal(c?.account, '444455556666');
    assert.equal(b?.actor.name, 'bob');
  });

  test('arrays, single records, EventBridge envelopes and JSON lines are all read', () => {
    const rec = { eventID: 'e1', eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com', eventTime: '2026-01-01T00:00:00Z', recipientAccountId: '123456789012' };
    assert.equal(parseRecords(JSON.stringify([rec, rec]), 's').length, 2);
    assert.equal(parseRecords(JSON.stringify(rec), 's').length, 1);
    const envelope = { version: '0', id: 'x', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.cloudtrail', account: '123456789012', detail: rec };
    const [fromEnv] = parseRecords(JSON.stringify(envelope), 's');
    assert.equal(normalise(fromEnv, 's', 0).account, '123456789012');
    // Provenance: an envelope for another account than the record's, or without the record's account, is refused.
    const [other] = parseRecords(JSON.stringify({ ...envelope, account: '210987654321' }), 's');
    assert.throws(() => normalise(other, 's', 0), /s#0: envelope account the envelope's account 210987654321 is not the record's recipientAccountId "123456789012"/);
    const [bare] = parseRecords(JSON.stringify({ ...envelope, detail: { ...rec, recipientAccountId: undefined } }), 's');
    assert.throws(() => normalise(bare, 's', 0), /the record has no recipientAccountId to match the envelope's account/);
    assert.equal(parseRecords(`${JSON.stringify(rec)}\n${JSON.stringify(rec)}\n`, 's').length, 2);
  });

  test('a record missing a required field gets an error naming the source, index and field', () => {
    const bad = { eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com', eventTime: '2026-01-01T00:00:00Z', recipientAccountId: '123456789012' };
    assert.throws(() => normalise(bad, 'file.json', 4), (e: unknown) => e instanceof RecordError && e.message === 'file.json#4: eventID is missing');
    assert.throws(() => normalise({ ...bad, eventID: 'x', recipientAccountId: undefined }, 'f', 0), /recipientAccountId is missing/);
    assert.throws(() => normalise({ ...bad, eventID: 7 }, 'f', 0), /eventID must be a string, got number/);
    assert.throws(() => normalise({ ...bad, eventID: 'x', eventTime: 'yesterday' }, 'f', 0), /eventTime is not a timestamp/);
    assert.throws(() => normalise('junk', 'f', 2), /f#2: \(record\) must be a JSON object/);
    assert.throws(() => parseRecords('{"Records": [', 'trunc.json'), /trunc.json#0: \(json\) is not valid JSON/);
  });

  test('sensitive request values are redacted before they go anywhere', () => {
    const rec = {
      eventID: 'e2', eventName: 'RunInstances', eventSource: 'ec2.amazonaws.com', eventTime: '2026-01-01T00:00:00Z',
      recipientAccountId: '123456789012', requestParameters: { userData: 'IyEvYmluL2Jhc2gKZWNobyBzZWNyZXQ=', instanceType: 't3.micro', nested: { password: 'hunter2' } },
    };
    const change = normalise(rec, 's', 0);
    const text = JSON.stringify(change);
    assert.ok(!text.includes('hunter2'));
    assert.ok(!text.includes('IyEvYmluL2Jhc2g'));
    assert.equal((change.request as { instanceType: string }).instanceType, 't3.micro');
  });

  test('root, service and unknown identities are recognised', () => {
    assert.equal(actorOf({ type: 'Root', arn: 'arn:aws:iam::123456789012:root' }).type, 'Root');
    assert.equal(actorOf({ type: 'AWSService', invokedBy: 'config.amazonaws.com' }).name, 'config.amazonaws.com');
    assert.equal(actorOf(undefined).type, 'Unknown');
    assert.equal(actorOf({ type: 'SomethingNew', principalId: 'p' }).type, 'Unknown');
  });
});

describe('normalisation variants seen in real CloudTrail data', () => {
  const base = { eventID: 'v1', eventSource: 'ec2.amazonaws.com', eventTime: '2026-01-01T00:00:00Z', recipientAccountId: '123456789012' };

  test('AuthorizeSecurityGroupIngress flat (CLI) and nested (SDK) forms give the same rules', () => {
    const flat = normalise({ ...base, eventName: 'AuthorizeSecurityGroupIngress', requestParameters: { groupId: 'sg-1', ipPermissions: {}, cidrIp: '0.0.0.0/0', fromPort: 22, toPort: 22, ipProtocol: 'tcp' } }, 's', 0);
    const nested = normalise(
      { ...base, eventName: 'AuthorizeSecurityGroupIngress', requestParameters: { groupId: 'sg-1', ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, groups: {}, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] }, ipv6Ranges: {}, prefixListIds: {} }] } } },
      's',
      0,
    );
    assert.equal(flat.summary, nested.summary);
    const pick = (c: Change): unknown => securityGroupRules(c).map((p) => [p.direction, p.cidr, p.fromPort, p.toPort, p.ports]);
    assert.deepEqual(pick(flat), [['ingress', '0.0.0.0/0', 22, 22, 'port 22']]);
    assert.deepEqual(pick(flat), pick(nested));
    const all = normalise({ ...base, eventName: 'AuthorizeSecurityGroupEgress', requestParameters: { groupId: 'sg-1', ipPermissions: { items: [{ ipProtocol: '-1', ipv6Ranges: { items: [{ cidrIpv6: '::/0' }] } }] } } }, 's', 0);
    assert.deepEqual(pick(all), [['egress', '::/0', 0, 65535, 'all ports']]);
  });

  test('Lambda event names lose their API-version suffix for matching, and keep it in the change', () => {
    assert.equal(baseEventName('AddPermission20150331v2'), 'AddPermission');
    assert.equal(baseEventName('UpdateFunctionConfiguration20150331v2'), 'UpdateFunctionConfiguration');
    assert.equal(baseEventName('CreateFunction20150331'), 'CreateFunction');
    assert.equal(baseEventName('StopLogging'), 'StopLogging');
    assert.equal(normalise({ ...base, eventSource: 'lambda.amazonaws.com', eventName: 'AddPermission20150331v2' }, 's', 0).eventName, 'AddPermission20150331v2');
  });

  test('policy documents as JSON strings (IAM), URL-encoded strings (IAM responses) and objects (S3) read the same', () => {
    const doc = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::999988887777:root' }, Action: 'sts:AssumeRole' }] };
    const fromObject = policyStatements(doc);
    assert.deepEqual(policyStatements(JSON.stringify(doc)), fromObject);
    assert.deepEqual(policyStatements(encodeURIComponent(JSON.stringify(doc))), fromObject);
    assert.deepEqual(fromObject?.statements[0]?.principals, [{ kind: 'AWS', value: 'arn:aws:iam::999988887777:root' }]);
    assert.equal(policyStatements('not a policy'), null);
  });

  test('responseElements null, requestParameters null, eventVersion 1.05 … 1.11 or none', () => {
    for (const eventVersion of ['1.05', '1.08', '1.11', '2.0', undefined]) {
      const c = normalise({ ...base, eventName: 'ConsoleLogin', eventVersion, requestParameters: null, responseElements: null }, 's', 0);
      assert.equal(c.response, null);
      assert.deepEqual(c.request, {});
    }
  });

  test('every userIdentity type: IAMUser, AssumedRole, IdentityCenterUser, Root, AWSService, FederatedUser', () => {
    assert.equal(actorOf({ type: 'IAMUser', userName: 'bob', arn: 'arn:aws:iam::1:user/bob' }).name, 'bob');
    const icu = actorOf({ type: 'IdentityCenterUser', accountId: '123456789012', onBehalfOf: { userId: '94482488-3041', identityStoreArn: 'arn:aws:identitystore::1:identitystore/d-1' }, credentialId: 'c' });
    assert.deepEqual([icu.type, icu.name, icu.identityCenterUserId], ['IdentityCenterUser', '94482488-3041', '94482488-3041']);
    // An Identity Center session of a role names its user in onBehalfOf when CloudTrail records it.
    const ssoRole = actorOf({ type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/AWSReservedSSO_A_1/alice', onBehalfOf: { userId: 'u-1' } });
    assert.deepEqual([ssoRole.name, ssoRole.identityCenterUserId], ['alice', 'u-1']);
    const fed = actorOf({ type: 'FederatedUser', arn: 'arn:aws:sts::123456789012:federated-user/dave', sessionContext: { sessionIssuer: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/dave' } } });
    assert.deepEqual([fed.type, fed.name, fed.sessionIssuerArn], ['FederatedUser', 'dave', 'arn:aws:iam::123456789012:user/dave']);
    assert.deepEqual(actorOf({ type: 'Root', arn: 'arn:aws:iam::1:root' }).name, 'root');
    const svc = actorOf({ accountId: '123456789012', invokedBy: 'ec2.amazonaws.com' });
    assert.deepEqual([svc.type, svc.name], ['AWSService', 'ec2.amazonaws.com'], 'service events carry no type, only invokedBy');
    const sso = actorOf({ type: 'AssumedRole', arn: 'arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_1/carol@example.com', sourceIdentity: 'carol' });
    assert.equal(sso.email, 'carol@example.com');
  });

  test('readOnly, failed calls and wrong types', () => {
    assert.equal(normalise({ ...base, eventName: 'X', readOnly: 'true' }, 's', 0).readOnly, true);
    assert.throws(() => normalise({ ...base, eventName: 'X', readOnly: 1 }, 'f', 3), /f#3: readOnly must be a boolean, got number/);
    assert.equal(normalise({ ...base, eventName: 'X', errorMessage: 'denied' }, 's', 0).errorCode, 'UnknownError');
    assert.throws(() => normalise({ ...base, eventName: 'X', userIdentity: 'root' }, 'f', 0), /userIdentity must be an object, got string/);
    assert.equal(normalise({ ...base, eventName: 'X', eventTime: '2023-02-31T00:00:00Z' }, 's', 0).eventTime, new Date('2023-02-31T00:00:00Z').toISOString());
    assert.equal(normalise({ ...base, eventName: 'X', eventTime: '2023-07-10T12:00:00Z' }, 's', 0).eventTime, '2023-07-10T12:00:00.000Z');
  });

  test('redaction on the fast path gives the same result as redact, and keeps a "__proto__" key redacted', () => {
    const records = parseRecords(fs.readFileSync(SAMPLE, 'utf8'), 'sample');
    for (const r of records) assert.deepEqual(redactShared(r), redact(r));
    const nested = { a: { b: [{ password: 'p', keep: 1 }] }, untouched: { x: 1 } };
    const out = redactShared(nested);
    assert.deepEqual(out, redact(nested));
    assert.equal(out.untouched, nested.untouched, 'parts with nothing sensitive are shared, not copied');
    assert.equal(nested.a.b[0]?.password, 'p', 'the input is not modified');
    const hostile = JSON.parse('{"__proto__": {"password": "hunter2"}}') as Record<string, unknown>;
    assert.ok(!JSON.stringify(redactShared(hostile)).includes('hunter2'));
  });
});

describe('the record check: plain fast path and zod schema agree', () => {
  test('on every record of the data and on each field broken every way, both accept the same and name the same field', () => {
    const { records } = loadRecords();
    const fixtures = (JSON.parse(fs.readFileSync(path.resolve(__dirname, 'fixtures/records.json'), 'utf8')) as { Records: Rec[] }).Records;
    const fields = ['eventID', 'eventName', 'eventSource', 'eventTime', 'recipientAccountId', 'userIdentity', 'requestParameters', 'responseElements', 'readOnly'];
    const values: unknown[] = [undefined, null, '', 42, true, [], {}, 'true', 'yesterday', '2026-01-01 10:00:00', '12345', '123456789012', { accountId: '210987654321' }];
    const outcome = (fn: typeof readHeader, r: unknown) => {
      try {
        return { header: fn(r, 's', 0) };
      } catch (err) {
        assert.ok(err instanceof RecordError, `a RecordError, not ${String(err)}`);
        return { error: err.message };
      }
    };
    let compared = 0;
    let fast = 0;
    const check = (r: unknown): void => {
      const a = outcome(readHeader, r);
      assert.deepEqual(a, outcome(checkHeader, r), JSON.stringify(r).slice(0, 300));
      compared += 1;
      if (a.header) fast += 1;
    };
    for (const r of [...records, ...fixtures]) check(r);
    const sample = [...records.filter((_, i) => i % 97 === 0), ...fixtures];
    for (const r of sample) {
      for (const f of fields) {
        for (const v of values) {
          const copy: Rec = { ...r };
          if (v === undefined) delete copy[f];
          else copy[f] = v;
          check(copy);
        }
      }
    }
    for (const junk of [null, 'junk', 7, [], new RecordError('f', 3, '(json)', 'is not valid JSON')]) check(junk);
    assert.ok(compared > records.length + 1000, `compared ${compared}`);
    assert.ok(fast > 0);
  });
});
