// The EC2 reverts (network ACL entries, routes, internet gateways, snapshot and AMI sharing, account switches), each:
// make the risky change with @aws-sdk/client-ec2 against
// moto_server, build the CloudTrail record the way CloudTrail writes it, plan, revert, read back, revert again (no-op).
// moto 5.2.5 lacks serial console access and reads ModifySnapshotAttribute only in its OperationType form: those
// calls run against a loopback EC2 stand-in (test/standins/ec2.ts) that checks the wire request; moto still covers the
// snapshot's read-back, DryRun and no-op paths.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSnapshotCommand,
  CreateVolumeCommand,
  CreateVpcCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSnapshotAttributeCommand,
  DisableEbsEncryptionByDefaultCommand,
  type EC2Client,
  EnableEbsEncryptionByDefaultCommand,
  EnableSerialConsoleAccessCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RegisterImageCommand,
} from '@aws-sdk/client-ec2';
import { ApplicationFailure } from '@temporalio/common';
import { createAwsClientFactory } from '../../src/revert';
import { createAwsActivities } from '../../activities/aws-revert';
import { ACCOUNT, CREDS, REGION, changeOf, inputFor, items, planOf, record, revertTwice, startAws, type Aws } from './helpers';
import { startEc2StandIn, type Ec2StandIn } from '../standins/ec2';

let aws: Aws;
let ec2: EC2Client;
let vpcId: string;

before(async () => {
  aws = await startAws();
  ec2 = aws.admin('ec2');
  vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc?.VpcId ?? assert.fail('no vpc');
});

after(async () => {
  await aws?.stop();
});

const EC2_SOURCE = 'ec2.amazonaws.com';

async function aclEntries(aclId: string): Promise<{ n?: number; egress?: boolean; cidr?: string }[]> {
  const res = await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [aclId] }));
  return (res.NetworkAcls?.[0]?.Entries ?? []).map((e) => ({ n: e.RuleNumber, egress: e.Egress, cidr: e.CidrBlock }));
}

describe('network ACL entries', () => {
  test('an ingress allow 0.0.0.0/0 entry is deleted by number and direction; the egress entry of the same number stays', async () => {
    const aclId = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl?.NetworkAclId ?? assert.fail('no acl');
    await ec2.send(
      new CreateNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Protocol: '6', RuleAction: 'allow', Egress: true, CidrBlock: '10.0.0.0/8', PortRange: { From: 443, To: 443 } }),
    );
    const res = await ec2.send(
      new CreateNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Protocol: '6', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0', PortRange: { From: 22, To: 22 } }),
    );
    const change = changeOf(
      record(EC2_SOURCE, 'CreateNetworkAclEntry', {
        networkAclId: aclId,
        ruleNumber: 100,
        egress: false,
        ruleAction: 'allow',
        icmpTypeCode: {},
        portRange: { from: 22, to: 22 },
        aclProtocol: '6',
        cidrBlock: '0.0.0.0/0',
      }, { requestId: res.$metadata.requestId, _return: true }),
    );
    const plan = planOf(change);
    assert.deepEqual([plan.service, plan.operation, plan.input], ['ec2', 'DeleteNetworkAclEntry', { NetworkAclId: aclId, RuleNumber: 100, Egress: false }]);
    assert.ok((await aclEntries(aclId)).some((e) => e.n === 100 && e.egress === false));

    await revertTwice(aws, change, plan);

    const left = await aclEntries(aclId);
    assert.equal(left.some((e) => e.n === 100 && e.egress === false), false, 'the ingress entry is gone');
    assert.ok(left.some((e) => e.n === 100 && e.egress === true && e.cidr === '10.0.0.0/8'), 'the egress entry #100 stays');
  });

  test('an endpoint that ignores DryRun (moto does for DeleteNetworkAclEntry) is reported, never taken for a rehearsal', async () => {
    const aclId = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl?.NetworkAclId ?? assert.fail('no acl');
    await ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 90, Protocol: '-1', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' }));
    const change = changeOf(
      record(EC2_SOURCE, 'CreateNetworkAclEntry', { networkAclId: aclId, ruleNumber: 90, egress: false, ruleAction: 'allow', aclProtocol: '-1', cidrBlock: '0.0.0.0/0' }, { _return: true }),
    );
    await assert.rejects(aws.revert(inputFor(change, planOf(change), true)), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'DryRunIgnored');
      assert.equal(err.nonRetryable, true);
      return true;
    });
  });
});

describe('routes and internet gateways', () => {
  test('a 0.0.0.0/0 route to an internet gateway is deleted; the local route stays', async () => {
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId ?? assert.fail('no igw');
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
    const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable?.RouteTableId ?? assert.fail('no rtb');
    const res = await ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
    const change = changeOf(
      record(EC2_SOURCE, 'CreateRoute', { routeTableId: rtb, destinationCidrBlock: '0.0.0.0/0', gatewayId: igw }, { requestId: res.$metadata.requestId, _return: true }),
    );
    const plan = planOf(change);
    assert.deepEqual(plan.input, { RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0' });

    await revertTwice(aws, change, plan);

    const routes = (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }))).RouteTables?.[0]?.Routes ?? [];
    assert.deepEqual(routes.map((r) => r.DestinationCidrBlock), ['10.40.0.0/16']);
  });

  test('an internet gateway attached to a VPC is detached', async () => {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.41.0.0/16' }))).Vpc?.VpcId ?? assert.fail('no vpc');
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway?.InternetGatewayId ?? assert.fail('no igw');
    const res = await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    const change = changeOf(
      record(EC2_SOURCE, 'AttachInternetGateway', { internetGatewayId: igw, vpcId: vpc }, { requestId: res.$metadata.requestId, _return: true }),
    );
    const dry = await aws.revert(inputFor(change, planOf(change), true));
    assert.deepEqual([dry.dryRun, dry.changed], [true, false]);
    assert.match(dry.message, /dry run: would detach .* EC2 DryRun says the call is allowed/);
    const attachments = async () => (await ec2.send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [igw] }))).InternetGateways?.[0]?.Attachments ?? [];
    assert.equal((await attachments()).length, 1, 'still attached after the dry run');

    const first = await revertTwice(aws, change);

    assert.deepEqual(first.before, [{ vpcId: vpc, state: 'available' }]);
    assert.deepEqual(await attachments(), []);
  });
});

async function anImage(): Promise<string> {
  const res = await ec2.send(new RegisterImageCommand({ Name: `vouch-${Date.now()}`, RootDeviceName: '/dev/xvda' }));
  return res.ImageId ?? (await ec2.send(new DescribeImagesCommand({}))).Images?.[0]?.ImageId ?? assert.fail('no image');
}

describe('AMI and snapshot sharing', () => {
  test('an AMI shared with a foreign account and with everyone is unshared with the same call and remove', async () => {
    const imageId = await anImage();
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: '210987654321' }] } }));
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: '012345678901' }, { Group: 'all' }] } }));
    const change = changeOf(
      record(EC2_SOURCE, 'ModifyImageAttribute', {
        imageId,
        launchPermission: { add: items([{ userId: '012345678901' }, { group: 'all' }]) },
        attributeType: 'launchPermission',
      }, { _return: true }),
    );
    const plan = planOf(change);
    assert.deepEqual(plan.input, { ImageId: imageId, Attribute: 'launchPermission', LaunchPermission: { Remove: [{ UserId: '012345678901' }, { Group: 'all' }] } });

    await revertTwice(aws, change, plan);

    const left = (await ec2.send(new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: 'launchPermission' }))).LaunchPermissions ?? [];
    assert.deepEqual(left.map((p) => p.UserId ?? p.Group), ['210987654321'], 'only the earlier, unrelated share stays');
  });

  test('snapshot on moto: DryRun asks EC2, and a share already removed by someone else is a no-op', async () => {
    const vol = (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: `${REGION}a`, Size: 1 }))).VolumeId ?? assert.fail('no volume');
    const snap = (await ec2.send(new CreateSnapshotCommand({ VolumeId: vol }))).SnapshotId ?? assert.fail('no snapshot');
    // moto understands only this form of the call; the record is what CloudTrail writes for the share.
    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snap, Attribute: 'createVolumePermission', OperationType: 'add', UserIds: ['012345678912'] }));
    const change = changeOf(
      record(EC2_SOURCE, 'ModifySnapshotAttribute', {
        snapshotId: snap,
        createVolumePermission: { add: items([{ userId: '012345678912' }]) },
        attributeType: 'CREATE_VOLUME_PERMISSION',
      }, { _return: true }),
    );
    const plan = planOf(change);

    const dry = await aws.revert(inputFor(change, plan, true));
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.before, [{ UserId: '012345678912' }]);
    assert.match(dry.message, /dry run: would stop sharing .* with 012345678912 \(still shared with 012345678912\); EC2 DryRun/);
    const shared = async () => (await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId: snap, Attribute: 'createVolumePermission' }))).CreateVolumePermissions ?? [];
    assert.deepEqual(await shared(), [{ UserId: '012345678912' }]);

    await ec2.send(new ModifySnapshotAttributeCommand({ SnapshotId: snap, Attribute: 'createVolumePermission', OperationType: 'remove', UserIds: ['012345678912'] }));
    const noop = await aws.revert(inputFor(change, plan));
    assert.equal(noop.changed, false);
    assert.match(noop.message, /already reverted: nothing to undo/);
  });

  describe('snapshot share, full cycle on the loopback EC2 stand-in', () => {
    let standIn: Ec2StandIn;
    before(async () => {
      standIn = await startEc2StandIn();
    });
    after(async () => {
      await standIn?.stop();
    });

    test('shared with an account and with everyone (the structured form): unshared, verified, then a no-op', async () => {
      standIn.snapshots.set('snap-0aaa1111bbbb2222c', new Set());
      const factory = createAwsClientFactory({ endpoint: standIn.endpoint, credentials: CREDS });
      const client = factory.clientFor('ec2', ACCOUNT, REGION, 'engineer');
      await client.send(
        new ModifySnapshotAttributeCommand({
          SnapshotId: 'snap-0aaa1111bbbb2222c',
          Attribute: 'createVolumePermission',
          CreateVolumePermission: { Add: [{ UserId: '012345678912' }, { Group: 'all' }] },
        }),
      );
      assert.deepEqual([...(standIn.snapshots.get('snap-0aaa1111bbbb2222c') ?? [])], ['user:012345678912', 'group:all']);
      const change = changeOf(
        record(EC2_SOURCE, 'ModifySnapshotAttribute', {
          snapshotId: 'snap-0aaa1111bbbb2222c',
          createVolumePermission: { add: items([{ userId: '012345678912' }, { group: 'all' }]) },
          attributeType: 'CREATE_VOLUME_PERMISSION',
        }, { _return: true }),
      );
      const plan = planOf(change);
      const acts = createAwsActivities(factory);
      standIn.requests.length = 0;

      const first = await acts.revertChange(inputFor(change, plan));

      assert.equal(first.changed, true, first.message);
      const modify = standIn.requests.find((q) => q.get('Action') === 'ModifySnapshotAttribute') ?? assert.fail('no ModifySnapshotAttribute on the wire');
      assert.deepEqual(Object.fromEntries([...modify.entries()].filter(([k]) => k !== 'Version')), {
        Action: 'ModifySnapshotAttribute',
        SnapshotId: 'snap-0aaa1111bbbb2222c',
        Attribute: 'createVolumePermission',
        'CreateVolumePermission.Remove.1.UserId': '012345678912',
        'CreateVolumePermission.Remove.2.Group': 'all',
      });
      assert.deepEqual([...(standIn.snapshots.get('snap-0aaa1111bbbb2222c') ?? [])], []);
      const second = await acts.revertChange(inputFor(change, plan));
      assert.equal(second.changed, false);
      assert.match(second.message, /already reverted/);
      assert.equal(standIn.requests.filter((q) => q.get('Action') === 'ModifySnapshotAttribute').length, 1, 'no second modify');
    });

    test('serial console access turned on is turned off again', async () => {
      const factory = createAwsClientFactory({ endpoint: standIn.endpoint, credentials: CREDS });
      const res = await factory.clientFor('ec2', ACCOUNT, REGION, 'engineer').send(new EnableSerialConsoleAccessCommand({}));
      assert.equal(res.SerialConsoleAccessEnabled, true);
      // As in the Stratus detonation log (aws.lateral-movement.ec2-serial-console-send-ssh-public-key).
      const change = changeOf(
        record(EC2_SOURCE, 'EnableSerialConsoleAccess', { EnableSerialConsoleAccessRequest: '' }, {
          EnableSerialConsoleAccessResponse: { requestId: 'r-1', serialConsoleAccessEnabled: true, xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/' },
        }),
      );
      const plan = planOf(change);
      assert.deepEqual([plan.operation, plan.input], ['DisableSerialConsoleAccess', {}]);
      const acts = createAwsActivities(factory);

      const dry = await acts.revertChange(inputFor(change, plan, true));
      assert.equal(dry.dryRun, true);
      assert.equal(standIn.serialConsole, true, 'the dry run left it on');
      assert.equal(standIn.requests.at(-1)?.get('DryRun'), 'true');

      const first = await acts.revertChange(inputFor(change, plan));
      assert.equal(first.changed, true);
      assert.deepEqual([first.before, first.after], [{ serialConsoleAccessEnabled: true }, { serialConsoleAccessEnabled: false }]);
      assert.equal(standIn.serialConsole, false);
      const second = await acts.revertChange(inputFor(change, plan));
      assert.equal(second.changed, false);
    });
  });
});

describe('EBS encryption by default', () => {
  test('turned off is turned on again', async () => {
    await ec2.send(new EnableEbsEncryptionByDefaultCommand({}));
    const res = await ec2.send(new DisableEbsEncryptionByDefaultCommand({}));
    assert.equal(res.EbsEncryptionByDefault, false);
    const change = changeOf(
      record(EC2_SOURCE, 'DisableEbsEncryptionByDefault', { DisableEbsEncryptionByDefaultRequest: '' }, {
        DisableEbsEncryptionByDefaultResponse: { requestId: res.$metadata.requestId, ebsEncryptionByDefault: false, xmlns: 'http://ec2.amazonaws.com/doc/2016-11-15/' },
      }),
    );

    await revertTwice(aws, change);

    assert.equal((await ec2.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault, true);
  });
});

describe('refusals', () => {
  test('a plan that would widen access (Add) is refused as RevertForbidden before any call', async () => {
    const plan = {
      service: 'ec2' as const,
      operation: 'ModifySnapshotAttribute',
      input: { SnapshotId: 'snap-0123456789abcdef0', Attribute: 'createVolumePermission', CreateVolumePermission: { Add: [{ Group: 'all' }] } },
      description: 'share with everyone',
    };
    await assert.rejects(aws.revert({ plan, account: ACCOUNT, region: REGION, eventId: 'e-add' }), (err: unknown) => {
      assert.ok(err instanceof ApplicationFailure);
      assert.equal(err.type, 'RevertForbidden');
      assert.match(err.message, /only Remove/);
      return true;
    });
  });
});
