import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  planRevert,
  ipPermissionsFromRequest,
  isRevertPrincipal,
  revertVerdictFields,
  revertRoleNameFrom,
  REVERTIBLE_EVENTS,
  type IpPermissionInput,
  revertCatalogue,
} from '../../src/revert';
import { BASELINE_FORMAT, lookupFromDocs, type BaselineDoc } from '../../src/revert/baseline/types';
import type { Change, RevertPlan } from '../../src/core/types';

/** The smallest CloudTrail record → Change mapping these tests need (the real normaliser lives elsewhere). */
function changeFrom(record: Record<string, unknown>): Change {
  const change: Change = {
    eventId: String(record.eventID ?? 'evt-1'),
    eventTime: String(record.eventTime ?? '2024-08-01T12:23:55Z'),
    account: String(record.recipientAccountId ?? '123456789012'),
    region: String(record.awsRegion ?? 'us-east-1'),
    eventSource: String(record.eventSource ?? 'ec2.amazonaws.com'),
    eventName: String(record.eventName),
    actor: { type: 'IAMUser', name: 'alice' },
    request: (record.requestParameters ?? {}) as Record<string, unknown>,
    response: (record.responseElements ?? null) as Record<string, unknown> | null,
    summary: 'test',
  };
  if (typeof record.errorCode === 'string') change.errorCode = record.errorCode;
  return change;
}

// Shaped like the Stratus detonation (CLI flat form) and the Invictus Terraform records (nested form).
const flatIngress = {
  eventID: '00000000-0000-4000-8000-0000000000a3',
  eventName: 'AuthorizeSecurityGroupIngress',
  eventSource: 'ec2.amazonaws.com',
  requestParameters: {
    cidrIp: '0.0.0.0/0',
    fromPort: 22,
    groupId: 'sg-0f1a2b3c4d5e60001',
    ipPermissions: {},
    ipProtocol: 'tcp',
    toPort: 22,
  },
  responseElements: {
    _return: true,
    requestId: '00000000-0000-4000-8000-0000000000a1',
    securityGroupRuleSet: {
      items: [
        {
          cidrIpv4: '0.0.0.0/0',
          fromPort: 22,
          groupId: 'sg-0f1a2b3c4d5e60001',
          groupOwnerId: '111122223333',
          ipProtocol: 'tcp',
          isEgress: false,
          securityGroupRuleId: 'sgr-0f1a2b3c4d5e60001',
          toPort: 22,
        },
      ],
    },
  },
};

const nestedEgress = {
  eventID: '00000000-0000-4000-8000-0000000000a4',
  eventName: 'AuthorizeSecurityGroupEgress',
  eventSource: 'ec2.amazonaws.com',
  requestParameters: {
    groupId: 'sg-0f1a2b3c4d5e60002',
    ipPermissions: {
      items: [
        {
          ipProtocol: '-1',
          groups: {},
          ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] },
          ipv6Ranges: { items: [{ cidrIpv6: '::/0' }] },
          prefixListIds: {},
        },
      ],
    },
  },
  responseElements: {
    requestId: '00000000-0000-4000-8000-0000000000a2',
    _return: true,
    securityGroupRuleSet: {
      items: [
        {
          groupOwnerId: '444455556666',
          groupId: 'sg-0f1a2b3c4d5e60002',
          securityGroupRuleId: 'sgr-0f1a2b3c4d5e60003',
          isEgress: true,
          ipProtocol: '-1',
          fromPort: -1,
          toPort: -1,
          cidrIpv4: '0.0.0.0/0',
        },
        {
          groupOwnerId: '444455556666',
          groupId: 'sg-0f1a2b3c4d5e60002',
          securityGroupRuleId: 'sgr-0f1a2b3c4d5e60002',
          isEgress: true,
          ipProtocol: '-1',
          fromPort: -1,
          toPort: -1,
          cidrIpv6: '::/0',
        },
      ],
    },
  },
};

describe('planRevert: rule ids from the response', () => {
  test('flat-form ingress is revoked by the rule id AWS returned', () => {
    const { plan, reason } = planRevert(changeFrom(flatIngress));
    assert.ok(plan, reason);
    assert.equal(plan.service, 'ec2');
    assert.equal(plan.operation, 'RevokeSecurityGroupIngress');
    assert.deepEqual(plan.input, { GroupId: 'sg-0f1a2b3c4d5e60001', SecurityGroupRuleIds: ['sgr-0f1a2b3c4d5e60001'] });
    assert.match(plan.description, /sgr-0f1a2b3c4d5e60001/);
    assert.match(plan.description, /tcp\/22 0\.0\.0\.0\/0/);
    assert.match(plan.description, /sg-0f1a2b3c4d5e60001/);
    assert.match(reason, /rule ids/);
  });

  test('nested egress with IPv4 and IPv6 revokes both rules with RevokeSecurityGroupEgress', () => {
    const { plan } = planRevert(changeFrom(nestedEgress));
    assert.ok(plan);
    assert.equal(plan.operation, 'RevokeSecurityGroupEgress');
    assert.deepEqual(plan.input, {
      GroupId: 'sg-0f1a2b3c4d5e60002',
      SecurityGroupRuleIds: ['sgr-0f1a2b3c4d5e60003', 'sgr-0f1a2b3c4d5e60002'],
    });
    assert.match(plan.description, /^revoke egress /);
  });

  test('rule items of the other direction or another group are not revoked', () => {
    const record = structuredClone(flatIngress);
    const items = record.responseElements.securityGroupRuleSet.items;
    items.push({ ...items[0]!, securityGroupRuleId: 'sgr-0egress', isEgress: true });
    items.push({ ...items[0]!, securityGroupRuleId: 'sgr-0other', groupId: 'sg-0other' });
    const { plan } = planRevert(changeFrom(record));
    assert.deepEqual(plan?.input.SecurityGroupRuleIds, ['sgr-0f1a2b3c4d5e60001']);
  });

  test('the group id comes from the response when the request named the group only by name', () => {
    const record = structuredClone(flatIngress) as { requestParameters: Record<string, unknown> };
    delete record.requestParameters.groupId;
    record.requestParameters.groupName = 'launch-wizard-1';
    const { plan } = planRevert(changeFrom(record));
    assert.equal(plan?.input.GroupId, 'sg-0f1a2b3c4d5e60001');
  });
});

describe('planRevert: IpPermissions fallback', () => {
  test('flat form without a response replays cidrIp/ports/protocol as IpPermissions', () => {
    const { plan, reason } = planRevert(changeFrom({ ...flatIngress, responseElements: null }));
    assert.ok(plan, reason);
    assert.equal(plan.operation, 'RevokeSecurityGroupIngress');
    assert.deepEqual(plan.input, {
      GroupId: 'sg-0f1a2b3c4d5e60001',
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    });
    assert.match(reason, /IpPermissions/);
    assert.match(plan.description, /tcp\/22 0\.0\.0\.0\/0/);
  });

  test('nested form maps ipRanges, ipv6Ranges, prefixListIds and groups, dropping descriptions and empty {}', () => {
    const change = changeFrom({
      eventName: 'AuthorizeSecurityGroupIngress',
      requestParameters: {
        groupId: 'sg-0aaa',
        ipPermissions: {
          items: [
            {
              ipProtocol: 'tcp',
              fromPort: 443,
              toPort: 443,
              groups: {},
              ipRanges: { items: [{ cidrIp: '0.0.0.0/0', description: 'TLS from Internet' }] },
              ipv6Ranges: { items: [{ cidrIpv6: '::/0' }] },
              prefixListIds: {},
            },
            {
              ipProtocol: 'udp',
              fromPort: 53,
              toPort: 53,
              groups: { items: [{ groupId: 'sg-0bbb', userId: '123456789012' }] },
              ipRanges: {},
              ipv6Ranges: {},
              prefixListIds: { items: [{ prefixListId: 'pl-0ccc' }] },
            },
            { ipProtocol: 'tcp', fromPort: 1, toPort: 2, groups: {}, ipRanges: {}, ipv6Ranges: {}, prefixListIds: {} },
          ],
        },
      },
      responseElements: { requestId: 'r', _return: true },
    });
    const { plan } = planRevert(change);
    assert.deepEqual(plan?.input, {
      GroupId: 'sg-0aaa',
      IpPermissions: [
        {
          IpProtocol: 'tcp',
          FromPort: 443,
          ToPort: 443,
          IpRanges: [{ CidrIp: '0.0.0.0/0' }],
          Ipv6Ranges: [{ CidrIpv6: '::/0' }],
        },
        {
          IpProtocol: 'udp',
          FromPort: 53,
          ToPort: 53,
          PrefixListIds: [{ PrefixListId: 'pl-0ccc' }],
          UserIdGroupPairs: [{ GroupId: 'sg-0bbb', UserId: '123456789012' }],
        },
      ],
    });
  });

  test('"all traffic" permissions carry no ports, whatever CloudTrail wrote for them', () => {
    const perms = ipPermissionsFromRequest({
      groupId: 'sg-0aaa',
      ipPermissions: { items: [{ ipProtocol: '-1', fromPort: 0, toPort: 0, ipRanges: { items: [{ cidrIp: '0.0.0.0/0' }] } }] },
    });
    assert.deepEqual(perms, [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]);
  });

  test('egress without rule ids falls back to IpPermissions with RevokeSecurityGroupEgress', () => {
    const { plan } = planRevert(changeFrom({ ...nestedEgress, responseElements: { _return: true } }));
    assert.equal(plan?.operation, 'RevokeSecurityGroupEgress');
    assert.deepEqual(plan?.input.IpPermissions, [
      { IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] },
    ]);
  });
});

describe('planRevert: no plan', () => {
  test('a failed call is never reverted', () => {
    const { plan, reason } = planRevert(
      changeFrom({ ...flatIngress, errorCode: 'Client.InvalidPermission.Duplicate', responseElements: null }),
    );
    assert.equal(plan, null);
    assert.match(reason, /InvalidPermission\.Duplicate/);
  });

  test('other event names get no plan', () => {
    const { plan, reason } = planRevert(changeFrom({ ...flatIngress, eventName: 'ModifySecurityGroupRules' }));
    assert.equal(plan, null);
    assert.match(reason, /ModifySecurityGroupRules/);
  });

  test('a record with neither rule ids nor permissions gets no plan', () => {
    const { plan, reason } = planRevert(
      changeFrom({
        eventName: 'AuthorizeSecurityGroupIngress',
        requestParameters: { groupId: 'sg-0aaa', ipPermissions: {} },
        responseElements: { _return: true },
      }),
    );
    assert.equal(plan, null);
    assert.match(reason, /sg-0aaa/);
  });

  test('a flat record without a protocol is not guessed at', () => {
    const { plan } = planRevert(
      changeFrom({
        eventName: 'AuthorizeSecurityGroupIngress',
        requestParameters: { groupId: 'sg-0aaa', cidrIp: '0.0.0.0/0', ipPermissions: {} },
        responseElements: null,
      }),
    );
    assert.equal(plan, null);
  });

  test('a record without any group id gets no plan', () => {
    const { plan, reason } = planRevert(
      changeFrom({
        eventName: 'AuthorizeSecurityGroupIngress',
        requestParameters: { groupName: 'default', cidrIp: '0.0.0.0/0', ipProtocol: 'tcp', fromPort: 22, toPort: 22 },
        responseElements: null,
      }),
    );
    assert.equal(plan, null);
    assert.match(reason, /group/);
  });
});

// ---- real records from /work/shared/data (read in place, never copied into the repo) ----

const DATA = path.resolve(__dirname, '../../../shared/data/cloudtrail');
const hasData = fs.existsSync(DATA);
const skipReal = !hasData && process.env.CI !== 'true' ? `no shared data at ${DATA}` : false;

function realAuthorizeRecords(): { file: string; record: Record<string, unknown> }[] {
  if (!hasData && process.env.CI === 'true') assert.fail(`shared CloudTrail data missing at ${DATA}`);
  const files = [
    path.join(DATA, 'stratus-detonations', 'aws.exfiltration.ec2-security-group-open-port-22-ingress.json'),
    ...fs
      .readdirSync(path.join(DATA, 'invictus-aws-dataset', 'CloudTrail'))
      .filter((f) => f.endsWith('.json'))
      .map((f) => path.join(DATA, 'invictus-aws-dataset', 'CloudTrail', f)),
  ];
  const out: { file: string; record: Record<string, unknown> }[] = [];
  for (const file of files) {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    const records = Array.isArray(parsed) ? parsed : (parsed as { Records: unknown[] }).Records;
    for (const r of records as Record<string, unknown>[]) {
      if (r.eventName === 'AuthorizeSecurityGroupIngress' || r.eventName === 'AuthorizeSecurityGroupEgress') {
        out.push({ file: path.basename(file), record: r });
      }
    }
  }
  return out;
}

type RuleItem = { securityGroupRuleId: string; cidrIpv4?: string; cidrIpv6?: string };

describe('planRevert on real CloudTrail records', () => {
  test('the Stratus port-22 detonation (flat form) is revoked by its rule id', { skip: skipReal }, () => {
    const stratus = realAuthorizeRecords().filter((r) => r.file.startsWith('aws.exfiltration'));
    assert.equal(stratus.length, 1);
    const record = stratus[0]!.record as {
      requestParameters: { groupId: string; cidrIp: string };
      responseElements: { securityGroupRuleSet: { items: Array<{ securityGroupRuleId: string }> } };
    };
    const { plan } = planRevert(changeFrom(stratus[0]!.record));
    // Expected values come from the record itself (read in place from ../shared), never written down here.
    assert.deepEqual(plan?.input, {
      GroupId: record.requestParameters.groupId,
      SecurityGroupRuleIds: record.responseElements.securityGroupRuleSet.items.map((i) => i.securityGroupRuleId),
    });
    // Without the response, the flat request alone still gives an exact revoke (anonymised /0 CIDR kept as is).
    const fallback = planRevert(changeFrom({ ...stratus[0]!.record, responseElements: null }));
    assert.match(record.requestParameters.cidrIp, /\/0$/);
    assert.deepEqual(fallback.plan?.input.IpPermissions, [
      { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: record.requestParameters.cidrIp }] },
    ]);
  });

  const title = 'every successful Invictus Authorize* record gets a rule-id plan, and its fallback names the same CIDRs';
  test(title, { skip: skipReal }, () => {
    const invictus = realAuthorizeRecords().filter((r) => !r.file.startsWith('aws.'));
    const ok = invictus.filter((r) => !r.record.errorCode);
    assert.ok(ok.length >= 3, `expected the nested and flat Invictus records, found ${ok.length}`);
    const shapes = new Set<string>();
    for (const { file, record } of ok) {
      const request = record.requestParameters as Record<string, unknown>;
      shapes.add(typeof request.cidrIp === 'string' ? 'flat' : 'nested');
      const ruleItems = (record.responseElements as { securityGroupRuleSet: { items: RuleItem[] } }).securityGroupRuleSet
        .items;
      const { plan, reason } = planRevert(changeFrom(record));
      assert.ok(plan, `${file} ${String(record.eventID)}: ${reason}`);
      assert.equal(
        plan.operation,
        record.eventName === 'AuthorizeSecurityGroupIngress' ? 'RevokeSecurityGroupIngress' : 'RevokeSecurityGroupEgress',
      );
      assert.deepEqual(plan.input, {
        GroupId: request.groupId,
        SecurityGroupRuleIds: ruleItems.map((i) => i.securityGroupRuleId),
      });

      const fallback = planRevert(changeFrom({ ...record, responseElements: null }));
      assert.ok(fallback.plan, `${file}: ${fallback.reason}`);
      const perms = fallback.plan.input.IpPermissions as IpPermissionInput[];
      const planned = perms.flatMap((p) => [
        ...(p.IpRanges ?? []).map((r) => r.CidrIp),
        ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6),
      ]);
      const created = ruleItems.map((i) => i.cidrIpv4 ?? i.cidrIpv6);
      assert.deepEqual(planned.sort(), created.sort(), `${file}: fallback CIDRs differ from the rules AWS created`);
    }
    assert.deepEqual([...shapes].sort(), ['flat', 'nested']);
    for (const { record } of invictus.filter((r) => r.record.errorCode)) {
      assert.equal(planRevert(changeFrom(record)).plan, null);
    }
  });
});

// ---- every revertible event, the safety rules and baseline plans ----

const USER = { type: 'IAMUser', name: 'alice', arn: 'arn:aws:iam::123456789012:user/alice' } as const;

function ev(eventSource: string, eventName: string, request: Record<string, unknown>, response: Record<string, unknown> | null = null, extra: Partial<Change> = {}): Change {
  return {
    eventId: 'evt-1',
    eventTime: '2024-08-01T12:00:00.000Z',
    account: '123456789012',
    region: 'us-east-1',
    eventSource,
    eventName,
    actor: { ...USER },
    request,
    response,
    summary: eventName,
    ...extra,
  };
}

describe('planRevert: one plan per revertible row, from the event alone', () => {
  const cases: [string, Change, Pick<RevertPlan, 'service' | 'operation' | 'input'> & { then?: RevertPlan['then'] }][] = [
    ['network ACL entry', ev('ec2.amazonaws.com', 'CreateNetworkAclEntry', { networkAclId: 'acl-1', ruleNumber: '12', egress: 'false', ruleAction: 'allow', aclProtocol: '6', cidrBlock: '0.0.0.0/0' }), { service: 'ec2', operation: 'DeleteNetworkAclEntry', input: { NetworkAclId: 'acl-1', RuleNumber: 12, Egress: false } }],
    ['IPv6 route', ev('ec2.amazonaws.com', 'CreateRoute', { routeTableId: 'rtb-1', destinationIpv6CidrBlock: '::/0', gatewayId: 'igw-1' }), { service: 'ec2', operation: 'DeleteRoute', input: { RouteTableId: 'rtb-1', DestinationIpv6CidrBlock: '::/0' } }],
    ['IGW attachment', ev('ec2.amazonaws.com', 'AttachInternetGateway', { internetGatewayId: 'igw-1', vpcId: 'vpc-1' }), { service: 'ec2', operation: 'DetachInternetGateway', input: { InternetGatewayId: 'igw-1', VpcId: 'vpc-1' } }],
    ['snapshot made public (OperationType form)', ev('ec2.amazonaws.com', 'ModifySnapshotAttribute', { snapshotId: 'snap-1', attributeType: 'CREATE_VOLUME_PERMISSION', operationType: 'add', groupNames: { items: [{ groupName: 'all' }] } }), { service: 'ec2', operation: 'ModifySnapshotAttribute', input: { SnapshotId: 'snap-1', Attribute: 'createVolumePermission', CreateVolumePermission: { Remove: [{ Group: 'all' }] } } }],
    ['AMI shared with an organization', ev('ec2.amazonaws.com', 'ModifyImageAttribute', { imageId: 'ami-1', attributeType: 'launchPermission', launchPermission: { add: { items: [{ organizationArn: 'arn:aws:organizations::1:organization/o-1' }] } } }), { service: 'ec2', operation: 'ModifyImageAttribute', input: { ImageId: 'ami-1', Attribute: 'launchPermission', LaunchPermission: { Remove: [{ OrganizationArn: 'arn:aws:organizations::1:organization/o-1' }] } } }],
    ['EBS default encryption off', ev('ec2.amazonaws.com', 'DisableEbsEncryptionByDefault', {}), { service: 'ec2', operation: 'EnableEbsEncryptionByDefault', input: {} }],
    ['serial console on', ev('ec2.amazonaws.com', 'EnableSerialConsoleAccess', {}), { service: 'ec2', operation: 'DisableSerialConsoleAccess', input: {} }],
    ['RDS snapshot shared', ev('rds.amazonaws.com', 'ModifyDBSnapshotAttribute', { dBSnapshotIdentifier: 's1', attributeName: 'restore', valuesToAdd: ['all', '210987654321'] }), { service: 'rds', operation: 'ModifyDBSnapshotAttribute', input: { DBSnapshotIdentifier: 's1', AttributeName: 'restore', ValuesToRemove: ['all', '210987654321'] } }],
    ['RDS cluster snapshot shared', ev('rds.amazonaws.com', 'ModifyDBClusterSnapshotAttribute', { dBClusterSnapshotIdentifier: 'c1', attributeName: 'restore', valuesToAdd: ['210987654321'] }), { service: 'rds', operation: 'ModifyDBClusterSnapshotAttribute', input: { DBClusterSnapshotIdentifier: 'c1', AttributeName: 'restore', ValuesToRemove: ['210987654321'] } }],
    ['CloudTrail StopLogging', ev('cloudtrail.amazonaws.com', 'StopLogging', { name: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/t1' }), { service: 'cloudtrail', operation: 'StartLogging', input: { Name: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/t1' } }],
    ['GuardDuty disabled', ev('guardduty.amazonaws.com', 'UpdateDetector', { detectorId: 'd1', enable: false }), { service: 'guardduty', operation: 'UpdateDetector', input: { DetectorId: 'd1', Enable: true } }],
    ['Config recorder stopped', ev('config.amazonaws.com', 'StopConfigurationRecorder', { configurationRecorderName: 'default' }), { service: 'config', operation: 'StartConfigurationRecorder', input: { ConfigurationRecorderName: 'default' } }],
    ['KMS key deletion (key from the response)', ev('kms.amazonaws.com', 'ScheduleKeyDeletion', { keyId: 'k1', pendingWindowInDays: 7 }, { keyId: 'arn:aws:kms:us-east-1:123456789012:key/k1', keyState: 'PendingDeletion' }), { service: 'kms', operation: 'CancelKeyDeletion', input: { KeyId: 'arn:aws:kms:us-east-1:123456789012:key/k1' } }],
    ['admin policy on a group', ev('iam.amazonaws.com', 'AttachGroupPolicy', { groupName: 'g', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }), { service: 'iam', operation: 'DetachGroupPolicy', input: { GroupName: 'g', PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' } }],
    ['access key for another user', ev('iam.amazonaws.com', 'CreateAccessKey', { userName: 'bob' }, { accessKey: { accessKeyId: 'AKIAEXAMPLEBOB000001', status: 'Active', userName: 'bob' } }), { service: 'iam', operation: 'UpdateAccessKey', input: { UserName: 'bob', AccessKeyId: 'AKIAEXAMPLEBOB000001', Status: 'Inactive' } }],
    ['Lambda permission on an alias', ev('lambda.amazonaws.com', 'AddPermission20150331v2', { functionName: 'f', statementId: 'x', principal: '*', qualifier: 'live' }), { service: 'lambda', operation: 'RemovePermission', input: { FunctionName: 'f', StatementId: 'x', Qualifier: 'live' } }],
    ['account public access block deleted', ev('s3.amazonaws.com', 'DeleteAccountPublicAccessBlock', {}), { service: 's3control', operation: 'PutPublicAccessBlock', input: { AccountId: '123456789012', PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true } } }],
  ];
  for (const [name, change, expected] of cases) {
    test(name, () => {
      const { plan, reason } = planRevert(change);
      assert.ok(plan, reason);
      assert.deepEqual({ service: plan.service, operation: plan.operation, input: plan.input, ...(plan.then ? { then: plan.then } : {}) }, expected);
      assert.equal(plan.source, 'event');
      assert.ok(plan.description.length > 10);
      // The activity runs every plan the planner makes, and the IAM policy covers it.
      const entry = revertCatalogue().find((c) => c.service === plan.service && c.operation === plan.operation);
      assert.ok(entry, `no handler for ${plan.service}:${plan.operation}`);
    });
  }

  test('changes that reduce exposure, or name nothing, get no plan', () => {
    const none: Change[] = [
      ev('guardduty.amazonaws.com', 'UpdateDetector', { detectorId: 'd1', enable: true }),
      ev('ec2.amazonaws.com', 'ModifySnapshotAttribute', { snapshotId: 'snap-1', createVolumePermission: { remove: { items: [{ userId: '1' }] } } }),
      ev('ec2.amazonaws.com', 'ModifyImageAttribute', { imageId: 'ami-1', attributeType: 'description', description: { value: 'x' } }),
      ev('rds.amazonaws.com', 'ModifyDBSnapshotAttribute', { dBSnapshotIdentifier: 's1', attributeName: 'restore', valuesToRemove: ['all'] }),
      ev('s3.amazonaws.com', 'PutBucketPublicAccessBlock', { bucketName: 'b', PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: 'true', BlockPublicPolicy: true, RestrictPublicBuckets: true } }),
      ev('kms.amazonaws.com', 'DisableKey', { keyId: 'alias/prod' }),
      ev('iam.amazonaws.com', 'CreateAccessKey', { userName: 'bob' }, { accessKey: { accessKeyId: 'AKIAEXAMPLEBOB000001' } }, { actor: { type: 'Root', name: 'root' } }),
      ev('ec2.amazonaws.com', 'ReplaceRoute', { routeTableId: 'rtb-1', destinationCidrBlock: '0.0.0.0/0', gatewayId: 'igw-1' }),
      ev('sns.amazonaws.com', 'AddPermission', { topicArn: 't', label: 'x' }),
    ];
    for (const c of none) {
      const { plan, reason } = planRevert(c);
      assert.equal(plan, null, `${c.eventName}: ${JSON.stringify(plan)}`);
      assert.ok(reason.length > 10);
    }
  });

  test('a failed call of every revertible event gets no plan', () => {
    for (const e of REVERTIBLE_EVENTS) {
      const { plan, reason } = planRevert(ev(e.eventSources[0] as string, e.eventName, { groupId: 'sg-1', name: 't' }, null, { errorCode: 'AccessDenied' }));
      assert.equal(plan, null, e.eventName);
      assert.match(reason, /the call failed \(AccessDenied\)/);
    }
  });

  test("vouch's own revert sessions are never reverted; look-alikes are", () => {
    const attach = (actor: Change['actor']) => ev('iam.amazonaws.com', 'AttachUserPolicy', { userName: 'u', policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }, null, { actor });
    const own = {
      type: 'AssumedRole' as const,
      name: 'vouch-revert-9fd68588',
      arn: 'arn:aws:sts::123456789012:assumed-role/vouch-revert/vouch-revert-9fd68588',
      sessionIssuerArn: 'arn:aws:iam::123456789012:role/vouch-revert',
    };
    assert.equal(planRevert(attach(own)).plan, null);
    assert.match(planRevert(attach(own)).reason, /vouch's own revert session \(vouch-revert-9fd68588\)/);
    assert.equal(isRevertPrincipal(own, 'vouch-revert'), true);
    assert.equal(isRevertPrincipal(own, 'other'), false);
    assert.equal(revertRoleNameFrom('arn:aws:iam::{account}:role/security/vouch-revert'), 'vouch-revert');
    assert.equal(revertRoleNameFrom(undefined), undefined);
    // An IAM user may be called anything: only role sessions can be vouch's.
    assert.ok(planRevert(attach({ type: 'IAMUser', name: 'vouch-revert-x', arn: 'arn:aws:iam::123456789012:user/vouch-revert-x' })).plan);
  });

  test('odd input never throws', () => {
    const junk: unknown[] = [null, 7, 'x', [], { items: 'no' }, { add: { items: [null, 3, { userId: 9 }] } }];
    for (const e of REVERTIBLE_EVENTS) {
      for (const j of junk) {
        const c = ev(e.eventSources[0] as string, e.eventName, { a: j, groupId: j, name: j, bucketName: j, createVolumePermission: j, launchPermission: j, valuesToAdd: j, PublicAccessBlockConfiguration: j } as Record<string, unknown>, { keyId: j, accessKey: j, securityGroupRuleSet: j } as Record<string, unknown>);
        assert.doesNotThrow(() => planRevert(c));
      }
    }
  });
});

describe('planRevert from a trusted baseline', () => {
  const doc = (resources: BaselineDoc['resources']): BaselineDoc => ({ format: BASELINE_FORMAT, account: '123456789012', scope: 'global', updatedAt: 'x', resources });
  const trailDoc = (config: Record<string, unknown> | null, capturedAt = '2024-08-01T11:00:00.000Z'): BaselineDoc => ({
    ...doc({ 'cloudtrail-trail:t1': { kind: 'cloudtrail-trail', id: 't1', versions: [{ capturedAt, source: 'capture', config: config as never }] } }),
    scope: 'us-east-1',
  });

  test('UpdateTrail restores only the settings it changed; a prefix unset when trusted is cleared; encryption added is kept', () => {
    const baseline = lookupFromDocs([trailDoc({ Name: 't1', S3BucketName: 'logs', IsMultiRegionTrail: true, LogFileValidationEnabled: true })]);
    const change = ev('cloudtrail.amazonaws.com', 'UpdateTrail', { name: 't1', s3BucketName: 'evil', s3KeyPrefix: 'x', isMultiRegionTrail: false, enableLogFileValidation: true, kmsKeyId: 'k' });
    const { plan } = planRevert(change, { baseline });
    assert.deepEqual(plan?.input, { Name: 't1', S3BucketName: 'logs', S3KeyPrefix: '', IsMultiRegionTrail: true });
    assert.equal(plan?.source, 'baseline');
    assert.match(plan?.description ?? '', /kept KmsKeyId/);
  });

  test('a baseline read after the change, or a resource absent from it, gives no plan', () => {
    const change = ev('cloudtrail.amazonaws.com', 'UpdateTrail', { name: 't1', s3BucketName: 'evil' });
    const late = lookupFromDocs([trailDoc({ Name: 't1', S3BucketName: 'logs' }, '2024-08-01T12:00:01.000Z')]);
    assert.match(planRevert(change, { baseline: late }).reason, /no trusted baseline for trail t1 captured before the change/);
    const gone = lookupFromDocs([trailDoc(null)]);
    assert.match(planRevert(change, { baseline: gone }).reason, /trail t1 did not exist in the trusted baseline/);
    const same = lookupFromDocs([trailDoc({ Name: 't1', S3BucketName: 'evil' })]);
    assert.match(planRevert(change, { baseline: same }).reason, /nothing to revert/);
  });

  test('DeleteBucketPolicy puts the trusted policy back; PutBucketPolicy on a bucket trusted without one deletes it', () => {
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 's3:*', Resource: '*' }] };
    const baseline = lookupFromDocs([
      doc({
        's3-bucket-policy:with': { kind: 's3-bucket-policy', id: 'with', versions: [{ capturedAt: '2024-01-01T00:00:00Z', source: 'capture', config: { Bucket: 'with', Policy: policy } }] },
        's3-bucket-policy:without': { kind: 's3-bucket-policy', id: 'without', versions: [{ capturedAt: '2024-01-01T00:00:00Z', source: 'capture', config: { Bucket: 'without', Policy: null } }] },
      }),
    ]);
    const del = planRevert(ev('s3.amazonaws.com', 'DeleteBucketPolicy', { bucketName: 'with' }), { baseline }).plan;
    assert.deepEqual([del?.operation, del?.input], ['PutBucketPolicy', { Bucket: 'with', Policy: JSON.stringify(policy) }]);
    const put = planRevert(ev('s3.amazonaws.com', 'PutBucketPolicy', { bucketName: 'without', bucketPolicy: policy }), { baseline }).plan;
    assert.deepEqual([put?.operation, put?.input], ['DeleteBucketPolicy', { Bucket: 'without' }]);
    assert.deepEqual(revertVerdictFields({ plan: put, reason: 'r' }), { revertPlan: put, revertReason: 'r', revertOnTimeout: true });
    assert.deepEqual(revertVerdictFields({ plan: null, reason: 'r' }), { revertPlan: null, revertReason: 'r' });
  });
});
