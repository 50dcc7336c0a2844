import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { normalise, parseRecords, RecordError, actorOf } from '../src/cloudtrail';

const SAMPLE = path.resolve(__dirname, '../src/fixtures/sample-events.json');

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
    const envelope = { version: '0', id: 'x', 'detail-type': 'AWS API Call via CloudTrail', source: 'aws.cloudtrail', account: '210987654321', detail: { ...rec, recipientAccountId: undefined } };
    const [fromEnv] = parseRecords(JSON.stringify(envelope), 's');
    assert.equal(normalise(fromEnv, 's', 0).account, '210987654321');
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
