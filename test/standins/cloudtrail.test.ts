// The LookupEvents stand-in, driven by the real @aws-sdk/client-cloudtrail: paging, tokens bound to their
// parameters, the 2 requests/second limit, and the wire checks a real endpoint makes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { CloudTrailClient, LookupEventsCommand, paginateLookupEvents } from '@aws-sdk/client-cloudtrail';
import { startCloudTrailStandIn, type CloudTrailStandIn } from './cloudtrail';
import { inAccount, loadRecords, randomAccount, retime, type Rec } from '../intake/helpers/records';

const ACCOUNT = randomAccount();
const { records: loaded } = loadRecords();
const records = retime(inAccount(loaded, ACCOUNT), Date.now() - 60_000);
const region = String(records[0]?.awsRegion);
const writes = records.filter((r) => r.readOnly !== true);
let standIn: CloudTrailStandIn;

function client(opts: { region?: string; key?: string } = {}): CloudTrailClient {
  return new CloudTrailClient({
    region: opts.region ?? region,
    endpoint: standIn.url,
    maxAttempts: 1,
    credentials: { accessKeyId: opts.key ?? 'AKIASTANDINTEST00001', secretAccessKey: 'test-secret' },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  standIn = await startCloudTrailStandIn({
    records,
    accountOf: (key) => (key === 'AKIAOTHERACCOUNT0001' ? '000000000000' : ACCOUNT),
  });
});
after(async () => {
  await standIn?.stop();
});

describe('LookupEvents stand-in', () => {
  test('pages the window newest first with NextToken; every write is served once with its full record', async () => {
    const seen: string[] = [];
    const times: number[] = [];
    let pages = 0;
    for await (const page of paginateLookupEvents(
      { client: client(), pageSize: 50 },
      { StartTime: new Date(Date.now() - 3 * 3600_000), EndTime: new Date(), LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }] },
    )) {
      pages += 1;
      for (const e of page.Events ?? []) {
        const rec = JSON.parse(e.CloudTrailEvent ?? '{}') as Rec;
        assert.equal(rec.eventID, e.EventId);
        assert.equal(e.ReadOnly, 'false');
        assert.ok(e.EventTime instanceof Date);
        seen.push(String(e.EventId));
        times.push(e.EventTime.getTime());
      }
      await sleep(550); // the paginator does not pace itself
    }
    assert.equal(seen.length, writes.length);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(pages, Math.ceil(writes.length / 50));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
    assert.equal(standIn.requests.filter((r) => r.error).length, 0);
  });

  test('a NextToken is refused with other parameters, and another account sees nothing of this one', async () => {
    await sleep(1000);
    const params = { StartTime: new Date(Date.now() - 3 * 3600_000), EndTime: new Date(), MaxResults: 5 };
    const first = await client().send(new LookupEventsCommand(params));
    assert.ok(first.NextToken);
    await sleep(550);
    await assert.rejects(
      client().send(new LookupEventsCommand({ ...params, MaxResults: 6, NextToken: first.NextToken })),
      (err: Error) => err.name === 'InvalidNextTokenException',
    );
    await sleep(550);
    await assert.rejects(
      client().send(new LookupEventsCommand({ ...params, NextToken: 'made-up' })),
      (err: Error) => err.name === 'InvalidNextTokenException',
    );
    const other = await client({ key: 'AKIAOTHERACCOUNT0001' }).send(new LookupEventsCommand(params));
    assert.deepEqual(other.Events, []);
    const otherRegion = await client({ region: 'eu-central-1' }).send(new LookupEventsCommand(params));
    assert.deepEqual(otherRegion.Events, [], 'each Region has its own events');
  });

  test('above 2 requests per second per account and Region: ThrottlingException', async () => {
    await sleep(1000);
    const c = client();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => c.send(new LookupEventsCommand({ MaxResults: 1 }))));
    const throttled = results.filter((r) => r.status === 'rejected');
    assert.equal(results.length - throttled.length, 2);
    for (const r of throttled) {
      assert.equal((r as PromiseRejectedResult).reason.name, 'ThrottlingException');
      assert.equal((r as PromiseRejectedResult).reason.$metadata.httpStatusCode, 400);
    }
    // Another account's budget is its own.
    await client({ key: 'AKIAOTHERACCOUNT0001' }).send(new LookupEventsCommand({ MaxResults: 1 }));
    await sleep(1000);
    await c.send(new LookupEventsCommand({ MaxResults: 1 }));
  });

  test('checks what CloudTrail checks: one attribute, MaxResults 1–50, time range, signature scope and target', async () => {
    await sleep(1000);
    const c = client();
    await assert.rejects(
      c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }, { AttributeKey: 'EventName', AttributeValue: 'X' }] })),
      (err: Error) => err.name === 'InvalidLookupAttributesException',
    );
    await assert.rejects(c.send(new LookupEventsCommand({ MaxResults: 51 })), (err: Error) => err.name === 'InvalidMaxResultsException');
    await sleep(1000);
    await assert.rejects(
      c.send(new LookupEventsCommand({ StartTime: new Date(), EndTime: new Date(Date.now() - 60_000) })),
      (err: Error) => err.name === 'InvalidTimeRangeException',
    );
    const raw = (headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(`${standIn.url}/`, { method: 'POST', headers: { 'content-type': 'application/x-amz-json-1.1', ...headers } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end('{}');
      });
    const sig = (service: string) =>
      `AWS4-HMAC-SHA256 Credential=AKIASTANDINTEST00001/20260101/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${'a'.repeat(64)}`;
    const target = { 'x-amz-target': 'CloudTrail_20131101.LookupEvents', 'x-amz-date': '20260101T000000Z' };
    assert.match((await raw(target)).body, /MissingAuthenticationTokenException/);
    assert.match((await raw({ ...target, authorization: sig('ec2') })).body, /InvalidSignatureException.*'cloudtrail', not 'ec2'/);
    await sleep(1000);
    assert.match((await raw({ ...target, 'x-amz-target': 'CloudTrail_20131101.StopLogging', authorization: sig('cloudtrail') })).body, /UnknownOperationException/);
    const ok = await raw({ ...target, authorization: sig('cloudtrail') });
    assert.equal(ok.status, 200, ok.body);
  });
});
