// Real CloudTrail data (../shared/data/cloudtrail, read in place). The Invictus hour holds an operator's own
// share-then-unshare pairs (ModifySnapshotAttribute, ModifyImageAttribute, ModifyDBSnapshotAttribute): the revert
// vouch plans for each share must be the very call the operator made to undo it. For EC2 the plan is sent by
// @aws-sdk/client-ec2 to a recording loopback endpoint, and the query on the wire is turned into CloudTrail's
// requestParameters shape (lower camel case, N-indexed lists as {items:[…]}, Attribute recorded as attributeType:
// in enum form for snapshots, as given for images, exactly as the add/remove records show); RDS is JSON-like in
// CloudTrail (keys with the first letter lowered, plain arrays).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { EC2Client, ModifyImageAttributeCommand, ModifySnapshotAttributeCommand } from '@aws-sdk/client-ec2';
import { planRevert, REVERTIBLE_EVENTS, canonicalEventName } from '../../src/revert';
import { changeOf } from './helpers';
import type { RevertPlan } from '../../src/core/types';

const DATA = path.resolve(__dirname, '../../../shared/data/cloudtrail');
const hasData = fs.existsSync(DATA);
const skip = !hasData && process.env.CI !== 'true' ? `no shared data at ${DATA}` : false;

type Rec = Record<string, unknown> & { eventName: string; eventID: string; requestParameters: Record<string, unknown> };

function load(): { invictus: Rec[]; stratus: { file: string; record: Rec }[] } {
  if (!hasData) assert.fail(`shared CloudTrail data missing at ${DATA}`);
  const dir = path.join(DATA, 'invictus-aws-dataset', 'CloudTrail');
  const invictus = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((f) => (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { Records: Rec[] }).Records);
  const sdir = path.join(DATA, 'stratus-detonations');
  const stratus = fs
    .readdirSync(sdir)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => (JSON.parse(fs.readFileSync(path.join(sdir, file), 'utf8')) as Rec[]).map((record) => ({ file, record })));
  return { invictus, stratus };
}

/** The add record and its matching remove record (same resource, operator's undo later in the hour). */
function pair(records: Rec[], eventName: string, resourceKey: string, isAdd: (r: Rec) => boolean): { add: Rec; remove: Rec } {
  const mine = records.filter((r) => r.eventName === eventName && !r.errorCode);
  const add = mine.find(isAdd) ?? assert.fail(`no ${eventName} add in the Invictus hour`);
  const remove =
    mine.find((r) => r !== add && !isAdd(r) && r.requestParameters[resourceKey] === add.requestParameters[resourceKey]) ??
    assert.fail(`no matching ${eventName} remove`);
  assert.ok(String(remove.eventTime) > String(add.eventTime), 'the remove comes after the add');
  return { add, remove };
}

// ---- EC2 query → CloudTrail requestParameters ----

const lc = (s: string): string => s.charAt(0).toLowerCase() + s.slice(1);
const upperSnake = (s: string): string => s.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();

function ec2QueryToCloudTrail(q: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of q) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node: Record<string, unknown> = out;
    parts.forEach((part, i) => {
      const last = i === parts.length - 1;
      if (/^\d+$/.test(part)) {
        const list = ((node.items as Record<string, unknown>[] | undefined) ??= []);
        const idx = Number(part) - 1;
        if (last) (list as unknown[])[idx] = value;
        else node = list[idx] ??= {};
      } else if (last) {
        node[lc(part)] = value;
      } else {
        node = (node[lc(part)] as Record<string, unknown> | undefined) ??= {};
      }
    });
  }
  if (typeof out.attribute === 'string') {
    out.attributeType = q.get('Action') === 'ModifySnapshotAttribute' ? upperSnake(out.attribute) : out.attribute;
    delete out.attribute;
  }
  return out;
}

describe('the Invictus share-then-unshare pairs: the planned revert is the call the operator made', { skip }, () => {
  let server: http.Server;
  let endpoint = '';
  const wire: URLSearchParams[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        const q = new URLSearchParams(body);
        wire.push(q);
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(`<${q.get('Action')}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></${q.get('Action')}Response>`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  });

  async function onTheWire(plan: RevertPlan): Promise<Record<string, unknown>> {
    const ec2 = new EC2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    wire.length = 0;
    const input = structuredClone(plan.input) as never;
    if (plan.operation === 'ModifySnapshotAttribute') await ec2.send(new ModifySnapshotAttributeCommand(input));
    else if (plan.operation === 'ModifyImageAttribute') await ec2.send(new ModifyImageAttributeCommand(input));
    else assert.fail(`unexpected ${plan.operation}`);
    ec2.destroy();
    assert.equal(wire.length, 1);
    assert.equal(wire[0]?.get('Action'), plan.operation);
    return ec2QueryToCloudTrail(wire[0] as URLSearchParams);
  }

  test('ModifySnapshotAttribute: the plan for the add (12:11:28) is the remove made at 12:11:57', async () => {
    const { add, remove } = pair(load().invictus, 'ModifySnapshotAttribute', 'snapshotId', (r) =>
      Boolean((r.requestParameters.createVolumePermission as Record<string, unknown> | undefined)?.add),
    );
    const plan = planRevert(changeOf(add)).plan ?? assert.fail('no plan for the share');
    // The expected input is read from the operator's own share record, not written down here.
    const shared = add.requestParameters.createVolumePermission as { add: { items: Array<{ userId: string }> } };
    assert.deepEqual(plan.input, {
      SnapshotId: add.requestParameters.snapshotId,
      Attribute: 'createVolumePermission',
      CreateVolumePermission: { Remove: shared.add.items.map((i) => ({ UserId: i.userId })) },
    });
    assert.deepEqual(await onTheWire(plan), remove.requestParameters);
    // And the operator's remove itself is no share: nothing to revert.
    assert.equal(planRevert(changeOf(remove)).plan, null);
  });

  test('ModifyImageAttribute: the plan for the add (12:11:01) is the remove made at 12:11:57', async () => {
    const { add, remove } = pair(load().invictus, 'ModifyImageAttribute', 'imageId', (r) =>
      Boolean((r.requestParameters.launchPermission as Record<string, unknown> | undefined)?.add),
    );
    const plan = planRevert(changeOf(add)).plan ?? assert.fail('no plan for the share');
    assert.deepEqual(await onTheWire(plan), remove.requestParameters);
    assert.equal(planRevert(changeOf(remove)).plan, null);
  });

  test('ModifyDBSnapshotAttribute: the plan for valuesToAdd (12:22:06) is the valuesToRemove call of 12:28:24', () => {
    const { add, remove } = pair(load().invictus, 'ModifyDBSnapshotAttribute', 'dBSnapshotIdentifier', (r) => Array.isArray(r.requestParameters.valuesToAdd));
    const plan = planRevert(changeOf(add)).plan ?? assert.fail('no plan for the share');
    const asCloudTrail = Object.fromEntries(Object.entries(plan.input).map(([k, v]) => [lc(k), v]));
    assert.deepEqual(asCloudTrail, remove.requestParameters);
    assert.equal(planRevert(changeOf(remove)).plan, null);
  });
});

describe('every technique and record in the shared data', { skip }, () => {
  test('each Stratus detonation of a revertible row gets its plan from the event alone', () => {
    const { stratus } = load();
    const expected: Record<string, string> = {
      'aws.defense-evasion.cloudtrail-stop.json': 'cloudtrail:StartLogging',
      'aws.exfiltration.ec2-security-group-open-port-22-ingress.json': 'ec2:RevokeSecurityGroupIngress',
      'aws.exfiltration.ec2-share-ami.json': 'ec2:ModifyImageAttribute',
      'aws.exfiltration.ec2-share-ebs-snapshot.json': 'ec2:ModifySnapshotAttribute',
      'aws.exfiltration.rds-share-snapshot.json': 'rds:ModifyDBSnapshotAttribute',
      'aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json': 'ec2:DisableSerialConsoleAccess',
      'aws.persistence.iam-backdoor-user.json': 'iam:UpdateAccessKey',
      'aws.persistence.iam-create-admin-user.json': 'iam:DetachUserPolicy',
      'aws.persistence.iam-create-backdoor-role.json': 'iam:DetachRolePolicy',
      'aws.persistence.lambda-backdoor-function.json': 'lambda:RemovePermission',
    };
    const eventNames = new Set(REVERTIBLE_EVENTS.filter((e) => e.from === 'event').map((e) => e.eventName));
    for (const [file, operation] of Object.entries(expected)) {
      const records = stratus.filter((s) => s.file === file && !s.record.errorCode && eventNames.has(canonicalEventName(s.record.eventName)));
      assert.ok(records.length > 0, `${file}: no revertible record`);
      const plans = records.map((s) => planRevert(changeOf(s.record)).plan).filter((p): p is RevertPlan => p !== null);
      assert.ok(
        plans.some((p) => `${p.service}:${p.operation}` === operation),
        `${file}: expected a ${operation} plan, got ${plans.map((p) => `${p.service}:${p.operation}`).join(', ') || 'none'}`,
      );
    }
  });

  test('failed calls never get a plan; state-overwriting calls get none without a baseline, and say so', () => {
    const { invictus, stratus } = load();
    const all = [...invictus, ...stratus.map((s) => s.record)];
    const failed = all.filter((r) => r.errorCode && REVERTIBLE_EVENTS.some((e) => e.eventName === canonicalEventName(r.eventName)));
    assert.ok(failed.length >= 3, `expected the three failed StopLogging calls of the Invictus hour, found ${failed.length}`);
    for (const r of failed) {
      const { plan, reason } = planRevert(changeOf(r));
      assert.equal(plan, null, `${r.eventName} ${r.eventID}`);
      assert.match(reason, /the call failed/);
    }
    const overwriting = all.filter((r) => !r.errorCode && ['PutEventSelectors', 'UpdateAssumeRolePolicy', 'PutBucketPolicy', 'PutRolePolicy'].includes(r.eventName));
    assert.ok(overwriting.length >= 10);
    for (const r of overwriting) {
      const { plan, reason } = planRevert(changeOf(r));
      assert.equal(plan, null);
      assert.match(reason, /^no trusted baseline for .*; paging instead$/);
    }
  });
});
