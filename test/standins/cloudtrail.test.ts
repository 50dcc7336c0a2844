// The LookupEvents stand-in, driven by the real @aws-sdk/client-cloudtrail: paging, tokens bound to their
// parameters and caller, the 2 requests/second limit, the signature (secret key and X-Amz-Date window), and the wire
// checks a real endpoint makes. The paging and checks tests use a stand-in with a generous rate, so they need no
// pauses; the rate test has a stand-in of its own at CloudTrail's 2 per second.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { CloudTrailClient, LookupEventsCommand, paginateLookupEvents } from '@aws-sdk/client-cloudtrail';
import { startCloudTrailStandIn, type CloudTrailStandIn } from './cloudtrail';
import { canonicalRequest, signature } from './sigv4';
import { inAccount, loadRecords, randomAccount, retime, type Rec } from '../intake/helpers/records';

const ACCOUNT = randomAccount();
const { records: loaded } = loadRecords();
const records = retime(inAccount(loaded, ACCOUNT), Date.now() - 60_000);
const region = String(records[0]?.awsRegion);
const writes = records.filter((r) => r.readOnly !== true);
let standIn: CloudTrailStandIn;
let limited: CloudTrailStandIn;

function client(opts: { region?: string; key?: string; secret?: string; url?: string; clockOffsetMs?: number } = {}): CloudTrailClient {
  return new CloudTrailClient({
    region: opts.region ?? region,
    endpoint: opts.url ?? standIn.url,
    maxAttempts: 1,
    credentials: { accessKeyId: opts.key ?? 'AKIASTANDINTEST00001', secretAccessKey: opts.secret ?? 'test-secret' },
    ...(opts.clockOffsetMs !== undefined ? { systemClockOffset: opts.clockOffsetMs } : {}),
  });
}

before(async () => {
  const accountOf = (key: string) => (key === 'AKIAOTHERACCOUNT0001' ? '000000000000' : key === 'AKIAUNKNOWNKEY000001' ? undefined : ACCOUNT);
  standIn = await startCloudTrailStandIn({ records, accountOf, ratePerSecond: 1000 });
  limited = await startCloudTrailStandIn({ records, accountOf });
});
after(async () => {
  await standIn?.stop();
  await limited?.stop();
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
    }
    assert.equal(seen.length, writes.length);
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(pages, Math.ceil(writes.length / 50));
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
    assert.equal(standIn.requests.filter((r) => r.error).length, 0);
  });

  test('a NextToken is refused with other parameters or by another caller, and another account sees nothing of this one', async () => {
    const params = { StartTime: new Date(Date.now() - 3 * 3600_000), EndTime: new Date(), MaxResults: 5 };
    const first = await client().send(new LookupEventsCommand(params));
    assert.ok(first.NextToken);
    await assert.rejects(
      client().send(new LookupEventsCommand({ ...params, MaxResults: 6, NextToken: first.NextToken })),
      (err: Error) => err.name === 'InvalidNextTokenException',
    );
    await assert.rejects(
      client().send(new LookupEventsCommand({ ...params, EndTime: new Date(params.EndTime.getTime() + 1000), NextToken: first.NextToken })),
      (err: Error) => err.name === 'InvalidNextTokenException',
      'another time range',
    );
    await assert.rejects(
      client({ key: 'AKIAOTHERACCOUNT0001' }).send(new LookupEventsCommand({ ...params, NextToken: first.NextToken })),
      (err: Error) => err.name === 'InvalidNextTokenException',
      "another account cannot page through this account's results",
    );
    await assert.rejects(
      client({ region: 'eu-central-1' }).send(new LookupEventsCommand({ ...params, NextToken: first.NextToken })),
      (err: Error) => err.name === 'InvalidNextTokenException',
      'nor another Region',
    );
    const next = await client().send(new LookupEventsCommand({ ...params, NextToken: first.NextToken }));
    assert.equal(next.Events?.length, 5, 'the same query goes on with it');
    assert.notDeepEqual(next.Events?.map((e) => e.EventId), first.Events?.map((e) => e.EventId));
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
    const c = client({ url: limited.url });
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => c.send(new LookupEventsCommand({ MaxResults: 1 }))));
    const throttled = results.filter((r) => r.status === 'rejected');
    assert.equal(results.length - throttled.length, 2);
    for (const r of throttled) {
      assert.equal((r as PromiseRejectedResult).reason.name, 'ThrottlingException');
      assert.equal((r as PromiseRejectedResult).reason.$metadata.httpStatusCode, 400);
    }
    // Another account's budget is its own.
    await client({ url: limited.url, key: 'AKIAOTHERACCOUNT0001' }).send(new LookupEventsCommand({ MaxResults: 1 }));
    // The budget comes back once the second has passed: wait for that, not a fixed pause.
    const lastAccepted = Math.max(...limited.requests.filter((r) => r.account === ACCOUNT && r.status === 200).map((r) => r.at));
    await new Promise((r) => setTimeout(r, Math.max(0, lastAccepted + 1000 - Date.now())));
    await c.send(new LookupEventsCommand({ MaxResults: 1 }));
  });

  test('the signature is checked: a wrong secret key, a request more than 5 minutes old, an unknown access key', async () => {
    const bad = (c: CloudTrailClient) => c.send(new LookupEventsCommand({ MaxResults: 1 }));
    await assert.rejects(bad(client({ secret: 'not-the-secret' })), (err: Error & { $metadata: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'InvalidSignatureException');
      assert.match(err.message, /signature we calculated does not match/);
      assert.equal(err.$metadata.httpStatusCode, 403);
      return true;
    });
    // The SDK signs with its clock moved: ten minutes behind (a replayed capture) and ten minutes ahead.
    for (const offset of [-10 * 60_000, 10 * 60_000]) {
      await assert.rejects(bad(client({ clockOffsetMs: offset })), (err: Error) => err.name === 'InvalidSignatureException' && /Signature expired/.test(err.message));
    }
    await assert.rejects(bad(client({ key: 'AKIAUNKNOWNKEY000001' })), (err: Error) => err.name === 'UnrecognizedClientException');
    // Four minutes of skew is inside AWS's window.
    assert.ok(await bad(client({ clockOffsetMs: -4 * 60_000 })));
  });

  test('checks what CloudTrail checks: one attribute, MaxResults 1–50, time range, signature scope and target', async () => {
    const c = client();
    await assert.rejects(
      c.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'ReadOnly', AttributeValue: 'false' }, { AttributeKey: 'EventName', AttributeValue: 'X' }] })),
      (err: Error) => err.name === 'InvalidLookupAttributesException',
    );
    await assert.rejects(c.send(new LookupEventsCommand({ MaxResults: 51 })), (err: Error) => err.name === 'InvalidMaxResultsException');
    await assert.rejects(
      c.send(new LookupEventsCommand({ StartTime: new Date(), EndTime: new Date(Date.now() - 60_000) })),
      (err: Error) => err.name === 'InvalidTimeRangeException',
    );
    const host = new URL(standIn.url).host;
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
    // Signed by hand (test/standins/sigv4.ts) for a given service and target, as of now.
    const amzDate = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
    const signedFor = (service: string, target: string): Record<string, string> => {
      const headers = { host, 'x-amz-date': amzDate, 'x-amz-target': target };
      const canonical = canonicalRequest({ method: 'POST', url: '/', headers, signedHeaders: Object.keys(headers), payloadHash: createHash('sha256').update('{}').digest('hex') });
      const sig = signature('test-secret', amzDate, region, service, canonical);
      return {
        'x-amz-target': target,
        'x-amz-date': amzDate,
        authorization: `AWS4-HMAC-SHA256 Credential=AKIASTANDINTEST00001/${amzDate.slice(0, 8)}/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${sig}`,
      };
    };
    const LOOKUP = 'CloudTrail_20131101.LookupEvents';
    assert.match((await raw({ 'x-amz-target': LOOKUP, 'x-amz-date': amzDate })).body, /MissingAuthenticationTokenException/);
    assert.match((await raw(signedFor('ec2', LOOKUP))).body, /InvalidSignatureException.*'cloudtrail', not 'ec2'/);
    assert.match((await raw(signedFor('cloudtrail', 'CloudTrail_20131101.StopLogging'))).body, /UnknownOperationException/);
    const forged = signedFor('cloudtrail', LOOKUP);
    const tampered = await raw({ ...forged, authorization: forged.authorization?.replace(/Signature=[0-9a-f]{64}/, `Signature=${'a'.repeat(64)}`) ?? '' });
    assert.deepEqual([tampered.status, /InvalidSignatureException/.test(tampered.body)], [403, true], 'a made-up signature is refused');
    const ok = await raw(signedFor('cloudtrail', LOOKUP));
    assert.equal(ok.status, 200, ok.body);
  });
});
