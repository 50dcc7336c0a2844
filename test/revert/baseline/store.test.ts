// The baseline store: a local folder and an S3 bucket (moto_server), both through the same interface; concurrent
// writers never lose each other's changes (a lock file; S3 conditional writes), and a damaged document is refused
// with an error naming where it is.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startMoto, type MotoServer } from '../../../src/demo/sandbox/moto';
import { BaselineStoreError, createBaselineStore, FolderStore, S3Store, type BaselineStore } from '../../../src/revert/baseline/store';
import { BASELINE_FORMAT, lookupFromDocs } from '../../../src/revert/baseline/types';
import { recordVersion } from '../../../src/revert/baseline/capture';

const ACCOUNT = '123456789012';
const CREDS = { accessKeyId: 'test', secretAccessKey: 'test' };

function policyOf(n: number): { Bucket: string; Policy: unknown } {
  return { Bucket: `b${n}`, Policy: { Version: '2012-10-17', Statement: [{ Sid: `s${n}`, Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*' }] } };
}

async function exercise(store: BaselineStore): Promise<void> {
  assert.equal(await store.load(ACCOUNT, 'global'), null, 'nothing stored yet');
  const doc = await store.update(ACCOUNT, 'global', (d) => {
    recordVersion(d, { kind: 's3-bucket-policy', id: 'b1', config: policyOf(1) }, '2024-01-01T00:00:00.000Z');
  });
  assert.equal(doc.format, BASELINE_FORMAT);
  const loaded = await store.load(ACCOUNT, 'global');
  assert.deepEqual(loaded?.resources['s3-bucket-policy:b1']?.versions[0]?.config, policyOf(1));
  await store.update(ACCOUNT, 'us-east-1', () => undefined);
  assert.deepEqual(await store.list(), [
    { account: ACCOUNT, scope: 'global' },
    { account: ACCOUNT, scope: 'us-east-1' },
  ]);
  // The planner's view: the version in force at a time.
  const lookup = lookupFromDocs([loaded ?? assert.fail('no doc')]);
  assert.equal(lookup.get(ACCOUNT, 'global', 's3-bucket-policy', 'b1', '2023-12-31T23:59:59Z'), undefined, 'not captured yet then');
  assert.ok(lookup.get(ACCOUNT, 'global', 's3-bucket-policy', 'b1', '2024-01-01T00:00:01Z'));
  assert.equal(lookup.has(ACCOUNT, 'us-west-2'), false);

  // Concurrent writers: every change lands.
  await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      store.update(ACCOUNT, 'global', (d) => {
        recordVersion(d, { kind: 's3-bucket-policy', id: `c${i}`, config: policyOf(i) }, new Date().toISOString());
      }),
    ),
  );
  const after = await store.load(ACCOUNT, 'global');
  assert.deepEqual(
    Object.keys(after?.resources ?? {}).sort(),
    ['s3-bucket-policy:b1', ...Array.from({ length: 8 }, (_, i) => `s3-bucket-policy:c${i}`)].sort(),
  );
  await assert.rejects(store.load('12345', 'global'), /not an AWS account id/);
  await assert.rejects(store.load(ACCOUNT, '../etc'), /not a region or "global"/);
}

describe('folder store', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-baseline-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('load, update, list, concurrent writers', async () => {
    const store = createBaselineStore(dir);
    assert.ok(store instanceof FolderStore);
    await exercise(store);
    assert.ok(fs.existsSync(path.join(dir, ACCOUNT, 'global.json')));
    assert.deepEqual(fs.readdirSync(path.join(dir, ACCOUNT)).sort(), ['global.json', 'us-east-1.json'], 'no lock or temp files left');
  });

  test('a damaged document is refused with an error naming the file', async () => {
    const store = new FolderStore(dir);
    fs.mkdirSync(path.join(dir, '210987654321'), { recursive: true });
    const file = path.join(dir, '210987654321', 'global.json');
    fs.writeFileSync(file, '{"format":"vouch-baseline/1","account":"210987654321"');
    await assert.rejects(store.load('210987654321', 'global'), (err: unknown) => err instanceof BaselineStoreError && err.message.startsWith(`${file}: not JSON`));
    fs.writeFileSync(file, JSON.stringify({ format: 'other', account: '210987654321', scope: 'global', resources: {} }));
    await assert.rejects(store.load('210987654321', 'global'), /not a vouch baseline/);
    fs.writeFileSync(file, JSON.stringify({ format: BASELINE_FORMAT, account: '999999999999', scope: 'global', resources: {} }));
    await assert.rejects(store.load('210987654321', 'global'), /holds 999999999999\/global, expected 210987654321\/global/);
  });
});

describe('S3 store on moto_server', () => {
  let moto: MotoServer;
  let s3: S3Client;
  before(async () => {
    moto = await startMoto();
    s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: CREDS, forcePathStyle: true });
    await s3.send(new CreateBucketCommand({ Bucket: 'vouch-baseline' }));
  });
  after(async () => {
    s3?.destroy();
    await moto?.stop();
  });

  test('load, update, list, concurrent writers (conditional writes)', async () => {
    const store = createBaselineStore('s3://vouch-baseline/prod/baseline', { endpoint: moto.endpoint, credentials: CREDS });
    assert.ok(store instanceof S3Store);
    assert.equal(store.location, 's3://vouch-baseline/prod/baseline/');
    // Eight writers on one object need up to eight rounds of If-Match conflicts.
    (store as unknown as { opts: { maxAttempts: number } }).opts.maxAttempts = 10;
    await exercise(store);
    const obj = await s3.send(new GetObjectCommand({ Bucket: 'vouch-baseline', Key: `prod/baseline/${ACCOUNT}/global.json` }));
    assert.match((await obj.Body?.transformToString()) ?? '', /"format": "vouch-baseline\/1"/);
  });

  test('a write that races another is retried from a fresh read (If-Match), so neither change is lost', async () => {
    const raw = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: CREDS, forcePathStyle: true });
    const theirs = new S3Store({ client: raw, bucket: 'vouch-baseline', prefix: 'race' });
    await theirs.update(ACCOUNT, 'global', () => undefined);
    // Our client: just before its first write goes out, another writer saves its own change to the same object.
    const ours = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', credentials: CREDS, forcePathStyle: true });
    let puts = 0;
    ours.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'PutObjectCommand' && ++puts === 1) {
          await theirs.update(ACCOUNT, 'global', (d) => {
            recordVersion(d, { kind: 's3-bucket-policy', id: 'theirs', config: policyOf(2) }, new Date().toISOString());
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'raceAnotherWriter' },
    );
    let mutations = 0;
    await new S3Store({ client: ours, bucket: 'vouch-baseline', prefix: 'race' }).update(ACCOUNT, 'global', (d) => {
      mutations++;
      recordVersion(d, { kind: 's3-bucket-policy', id: 'mine', config: policyOf(1) }, new Date().toISOString());
    });
    assert.equal(puts, 2, 'the first write was refused (412) and retried');
    assert.equal(mutations, 2, 'the change was re-applied to the fresh document');
    const final = await theirs.load(ACCOUNT, 'global');
    assert.deepEqual(Object.keys(final?.resources ?? {}).sort(), ['s3-bucket-policy:mine', 's3-bucket-policy:theirs']);
    ours.destroy();
    raw.destroy();
  });

  test('a damaged object is refused with an error naming the s3 key', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'vouch-baseline', Key: `bad/${ACCOUNT}/global.json`, Body: 'not json' }));
    const store = new S3Store({ client: s3, bucket: 'vouch-baseline', prefix: 'bad/' });
    await assert.rejects(store.load(ACCOUNT, 'global'), new RegExp(`s3://vouch-baseline/bad/${ACCOUNT}/global.json: not JSON`));
  });
});
