// EC2 beyond security groups: network ACL entries, routes, internet gateways, snapshot and AMI sharing, and the
// account switches (EBS encryption by default, serial console access). Every plan comes from the record; every
// handler reads the resource, makes the opposite call (EC2 DryRun where asked), and reads it again.
import {
  DeleteNetworkAclEntryCommand,
  DeleteRouteCommand,
  DescribeImageAttributeCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSnapshotAttributeCommand,
  DetachInternetGatewayCommand,
  DisableSerialConsoleAccessCommand,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
  GetSerialConsoleAccessStatusCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { AwsService } from '../core/types';
import { isRecord } from '../core/text';
import { bool, eventPlan, int, items, none, str, strings, type PlanArgs, type PlanDecision } from './plan-common';
import { forbidden, Gone, orGone, unless } from './failures';
import { ec2DryRun, need, onlyKeys, sdkInput, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

// ---- network ACL entries, routes, internet gateways (rows 4–5) ----

export function planNaclEntry({ req }: PlanArgs): PlanDecision {
  const aclId = str(req.networkAclId);
  const ruleNumber = int(req.ruleNumber);
  const egress = bool(req.egress);
  if (!aclId || ruleNumber === undefined || egress === undefined) {
    return none('CreateNetworkAclEntry without networkAclId, ruleNumber and egress: cannot name the entry');
  }
  const range = isRecord(req.portRange) ? req.portRange : {};
  const ports = int(range.from) !== undefined ? ` ${String(range.from)}-${String(range.to ?? range.from)}` : '';
  const what = `${String(req.ruleAction ?? '?')} proto ${String(req.aclProtocol ?? req.protocol ?? '?')}${ports} ${
    str(req.cidrBlock) ?? str(req.ipv6CidrBlock) ?? '?'
  }`;
  return {
    plan: eventPlan(
      'ec2',
      'DeleteNetworkAclEntry',
      { NetworkAclId: aclId, RuleNumber: ruleNumber, Egress: egress },
      `delete ${egress ? 'egress' : 'ingress'} entry #${ruleNumber} (${what}) from ${aclId}`,
    ),
    reason: 'the entry is named by network ACL, rule number and direction in the request',
  };
}

export function planRoute({ req }: PlanArgs): PlanDecision {
  const table = str(req.routeTableId);
  const dest: Record<string, string> = {};
  if (str(req.destinationCidrBlock)) dest.DestinationCidrBlock = req.destinationCidrBlock as string;
  else if (str(req.destinationIpv6CidrBlock)) dest.DestinationIpv6CidrBlock = req.destinationIpv6CidrBlock as string;
  else if (str(req.destinationPrefixListId)) dest.DestinationPrefixListId = req.destinationPrefixListId as string;
  const destination = Object.values(dest)[0];
  if (!table || !destination) return none('CreateRoute without routeTableId and a destination: cannot name the route');
  const target =
    ['gatewayId', 'natGatewayId', 'transitGatewayId', 'networkInterfaceId', 'instanceId', 'vpcPeeringConnectionId']
      .map((k) => str(req[k]))
      .find(Boolean) ?? '?';
  return {
    plan: eventPlan(
      'ec2',
      'DeleteRoute',
      { RouteTableId: table, ...dest },
      `delete route ${destination} → ${target} from ${table}`,
    ),
    reason: 'the route is named by table and destination in the request',
  };
}

export function planIgwAttach({ req }: PlanArgs): PlanDecision {
  const igw = str(req.internetGatewayId);
  const vpc = str(req.vpcId);
  if (!igw || !vpc) return none('AttachInternetGateway without internetGatewayId and vpcId');
  return {
    plan: eventPlan('ec2', 'DetachInternetGateway', { InternetGatewayId: igw, VpcId: vpc }, `detach ${igw} from ${vpc}`),
    reason: 'gateway and VPC from the request',
  };
}
// ---- account switches (row 41) ----

export function planFixed(service: AwsService, operation: string, description: string) {
  return (): PlanDecision => ({
    plan: eventPlan(service, operation, {}, description),
    reason: 'an account-level switch: the opposite call needs no input',
  });
}

// ---- snapshot, AMI and RDS snapshot sharing (rows 36–38) ----

type Grantee = Record<string, string>;

/** `{items:[{userId}|{group}]}` (CloudTrail) → SDK permission entries. */
function grantees(v: unknown, fields: Record<string, string>): Grantee[] {
  const out: Grantee[] = [];
  for (const item of items(v)) {
    for (const [from, to] of Object.entries(fields)) {
      const value = str(item[from]);
      if (value) {
        out.push({ [to]: value });
        break;
      }
    }
  }
  return out;
}

function granteeText(g: Grantee[]): string {
  return g.map((x) => Object.values(x)[0]).join(', ');
}

/** One kind of EC2 sharing: a snapshot's create-volume permissions, an image's launch permissions. */
interface Sharing {
  operation: 'ModifySnapshotAttribute' | 'ModifyImageAttribute';
  noun: 'snapshot' | 'image';
  /** The request key and the SDK key of the shared resource's id, and the id's form. */
  reqId: 'snapshotId' | 'imageId';
  idKey: 'SnapshotId' | 'ImageId';
  idPattern: RegExp;
  /** The attribute that shares it: the SDK name, how CloudTrail may write it, the request and SDK list keys. */
  attribute: 'createVolumePermission' | 'launchPermission';
  attributeInRecord: RegExp;
  listKey: 'CreateVolumePermission' | 'LaunchPermission';
  /** CloudTrail grantee keys → SDK grantee keys. */
  grantees: Record<string, string>;
  /** What the request adds, for humans: "permission", "launch permission". */
  what: string;
  /** "Not found" answers: the resource is gone. */
  gone: string[];
  /** The grantees the resource is shared with now, as the SDK returns them. */
  describe(ec2: EC2Client, id: string): Promise<object[]>;
  modify(ec2: EC2Client, input: never): Promise<unknown>;
}

const SNAPSHOT: Sharing = {
  operation: 'ModifySnapshotAttribute',
  noun: 'snapshot',
  reqId: 'snapshotId',
  idKey: 'SnapshotId',
  idPattern: /^snap-[0-9a-z]+$/i,
  attribute: 'createVolumePermission',
  attributeInRecord: /^create_?volume_?permission$/i,
  listKey: 'CreateVolumePermission',
  grantees: { userId: 'UserId', group: 'Group', groups: 'Group' },
  what: 'permission',
  gone: ['InvalidSnapshot.NotFound', 'InvalidSnapshotID.Malformed'],
  describe: async (ec2, SnapshotId) =>
    (await ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission' }))).CreateVolumePermissions ?? [],
  modify: (ec2, input) => ec2.send(new ModifySnapshotAttributeCommand(input)),
};

const IMAGE: Sharing = {
  operation: 'ModifyImageAttribute',
  noun: 'image',
  reqId: 'imageId',
  idKey: 'ImageId',
  idPattern: /^ami-[0-9a-z]+$/i,
  attribute: 'launchPermission',
  attributeInRecord: /^launch_?permission$/i,
  listKey: 'LaunchPermission',
  grantees: { userId: 'UserId', group: 'Group', organizationArn: 'OrganizationArn', organizationalUnitArn: 'OrganizationalUnitArn' },
  what: 'launch permission',
  gone: ['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'],
  describe: async (ec2, ImageId) =>
    (await ec2.send(new DescribeImageAttributeCommand({ ImageId, Attribute: 'launchPermission' }))).LaunchPermissions ?? [],
  modify: (ec2, input) => ec2.send(new ModifyImageAttributeCommand(input)),
};

/** The grantees a Modify*Attribute request added. Snapshots also come in the OperationType form (plain lists). */
function addedGrantees(s: Sharing, req: Record<string, unknown>): Grantee[] {
  const list = isRecord(req[s.attribute]) ? (req[s.attribute] as Record<string, unknown>) : undefined;
  const added = list ? grantees(list.add, s.grantees) : [];
  if (added.length || s !== SNAPSHOT || str(req.operationType)?.toLowerCase() !== 'add') return added;
  return [
    ...strings(req.userIds ?? req.userId, 'userId').map((UserId) => ({ UserId })),
    ...strings(req.groupNames ?? req.groupName, 'groupName').map((Group) => ({ Group })),
  ];
}

function planShare(s: Sharing) {
  return ({ req }: PlanArgs): PlanDecision => {
    const id = str(req[s.reqId]);
    const attr = str(req.attributeType) ?? str(req.attribute);
    if (attr && !s.attributeInRecord.test(attr)) {
      return none(`${s.operation} of ${attr} does not share the ${s.noun}: nothing to revert`);
    }
    const added = addedGrantees(s, req);
    if (!id) return none(`${s.operation} without ${s.reqId}`);
    if (!added.length) return none(`${s.operation} on ${id} added no ${s.what}: nothing to revert`);
    return {
      plan: eventPlan(
        'ec2',
        s.operation,
        { [s.idKey]: id, Attribute: s.attribute, [s.listKey]: { Remove: added } },
        `stop sharing ${id} with ${granteeText(added)}`,
      ),
      reason: `the same call with remove, for the ${s.what}s the request added`,
    };
  };
}

// ---- run ----

function granteesOf(list: unknown): Grantee[] {
  if (!Array.isArray(list) || list.length === 0) return [];
  return list.map((g: unknown) => {
    if (!isRecord(g)) throw forbidden('revert plan has a malformed permission entry');
    const entries = Object.entries(g).filter(([, v]) => typeof v === 'string' && v);
    if (entries.length !== 1) throw forbidden('revert plan permission entries must name exactly one grantee');
    return Object.fromEntries(entries) as Grantee;
  });
}

function granteeKey(g: Record<string, unknown>): string {
  return Object.entries(g)
    .filter(([, v]) => typeof v === 'string' && v)
    .map(([k, v]) => `${k}=${String(v)}`)
    .sort()
    .join(',');
}

function stillGranted(current: unknown, planned: Grantee[]): string[] {
  const have = new Set((Array.isArray(current) ? current : []).filter(isRecord).map(granteeKey));
  return planned.filter((g) => have.has(granteeKey(g))).map((g) => `still shared with ${Object.values(g)[0]}`);
}

// Network ACL entries, routes, internet gateways (rows 4–5).

export const naclEntry: Handler = {
  service: 'ec2',
  operation: 'DeleteNetworkAclEntry',
  iam: { write: ['ec2:DeleteNetworkAclEntry'], read: ['ec2:DescribeNetworkAcls'] },
  dryRun: true,
  check(a) {
    need(a, 'NetworkAclId', /^acl-[0-9a-z]+$/i);
    if (!Number.isInteger(a.RuleNumber) || typeof a.Egress !== 'boolean') throw forbidden('revert plan needs RuleNumber and Egress');
    onlyKeys(a, ['NetworkAclId', 'RuleNumber', 'Egress'], 'DeleteNetworkAclEntry');
  },
  async read(ctx) {
    const id = ctx.args.NetworkAclId as string;
    const res = await orGone(['InvalidNetworkAclID.NotFound'], `network ACL ${id}`, () =>
      ctx.client('ec2').send(new DescribeNetworkAclsCommand({ NetworkAclIds: [id] })),
    );
    const acl = res.NetworkAcls?.find((a) => a.NetworkAclId === id);
    if (!acl) throw new Gone(`network ACL ${id}`, 'not in DescribeNetworkAcls');
    return (acl.Entries ?? [])
      .map((e) => ({
        ruleNumber: e.RuleNumber,
        egress: e.Egress,
        action: e.RuleAction,
        protocol: e.Protocol,
        cidr: e.CidrBlock ?? e.Ipv6CidrBlock,
        ...(e.PortRange ? { ports: `${String(e.PortRange.From)}-${String(e.PortRange.To)}` } : {}),
      }))
      .sort((x, y) => Number(x.egress) - Number(y.egress) || (x.ruleNumber ?? 0) - (y.ruleNumber ?? 0));
  },
  pending(state, ctx) {
    const found = (state as { ruleNumber?: number; egress?: boolean }[]).some(
      (e) => e.ruleNumber === ctx.args.RuleNumber && e.egress === ctx.args.Egress,
    );
    return found ? [`${ctx.args.Egress ? 'egress' : 'ingress'} entry #${String(ctx.args.RuleNumber)} present`] : [];
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DeleteNetworkAclEntryCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await unless(['InvalidNetworkAclEntry.NotFound'], undefined, async () => void (await send()));
  },
};

export const route: Handler = {
  service: 'ec2',
  operation: 'DeleteRoute',
  iam: { write: ['ec2:DeleteRoute'], read: ['ec2:DescribeRouteTables'] },
  dryRun: true,
  check(a) {
    need(a, 'RouteTableId', /^rtb-[0-9a-z]+$/i);
    const dests = ['DestinationCidrBlock', 'DestinationIpv6CidrBlock', 'DestinationPrefixListId'].filter((k) => typeof a[k] === 'string');
    if (dests.length !== 1) throw forbidden('revert plan must name exactly one route destination');
    onlyKeys(a, ['RouteTableId', ...dests], 'DeleteRoute');
  },
  async read(ctx) {
    const id = ctx.args.RouteTableId as string;
    const res = await orGone(['InvalidRouteTableID.NotFound'], `route table ${id}`, () =>
      ctx.client('ec2').send(new DescribeRouteTablesCommand({ RouteTableIds: [id] })),
    );
    const table = res.RouteTables?.find((t) => t.RouteTableId === id);
    if (!table) throw new Gone(`route table ${id}`, 'not in DescribeRouteTables');
    return (table.Routes ?? []).map((r) => ({
      destination: r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId,
      target: r.GatewayId ?? r.NatGatewayId ?? r.TransitGatewayId ?? r.NetworkInterfaceId ?? r.InstanceId ?? r.VpcPeeringConnectionId,
      state: r.State,
    }));
  },
  pending(state, ctx) {
    const dest = ctx.args.DestinationCidrBlock ?? ctx.args.DestinationIpv6CidrBlock ?? ctx.args.DestinationPrefixListId;
    return (state as { destination?: string }[]).some((r) => r.destination === dest) ? [`route ${String(dest)} present`] : [];
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DeleteRouteCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await unless(['InvalidRoute.NotFound'], undefined, async () => void (await send()));
  },
};

export const igw: Handler = {
  service: 'ec2',
  operation: 'DetachInternetGateway',
  iam: { write: ['ec2:DetachInternetGateway'], read: ['ec2:DescribeInternetGateways'] },
  dryRun: true,
  check(a) {
    need(a, 'InternetGatewayId', /^igw-[0-9a-z]+$/i);
    need(a, 'VpcId', /^vpc-[0-9a-z]+$/i);
    onlyKeys(a, ['InternetGatewayId', 'VpcId'], 'DetachInternetGateway');
  },
  async read(ctx) {
    const id = ctx.args.InternetGatewayId as string;
    const res = await orGone(['InvalidInternetGatewayID.NotFound'], `internet gateway ${id}`, () =>
      ctx.client('ec2').send(new DescribeInternetGatewaysCommand({ InternetGatewayIds: [id] })),
    );
    const gw = res.InternetGateways?.find((g) => g.InternetGatewayId === id);
    if (!gw) throw new Gone(`internet gateway ${id}`, 'not in DescribeInternetGateways');
    return (gw.Attachments ?? []).map((a) => ({ vpcId: a.VpcId, state: a.State }));
  },
  pending(state, ctx) {
    return (state as { vpcId?: string; state?: string }[]).some((a) => a.vpcId === ctx.args.VpcId && a.state !== 'detached')
      ? [`attached to ${String(ctx.args.VpcId)}`]
      : [];
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DetachInternetGatewayCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await unless(['Gateway.NotAttached'], undefined, async () => void (await send()));
  },
};

// Snapshot and AMI sharing: only ever Remove.

function shareHandler(s: Sharing): Handler {
  return {
    service: 'ec2',
    operation: s.operation,
    iam: { write: [`ec2:${s.operation}`], read: [`ec2:${s.operation.replace(/^Modify/, 'Describe')}`] },
    dryRun: true,
    check(a) {
      need(a, s.idKey, s.idPattern);
      if (a.Attribute !== s.attribute) throw forbidden(`${s.operation} reverts only ${s.attribute}`);
      const list = a[s.listKey];
      if (!isRecord(list) || Object.keys(list).some((k) => k !== 'Remove') || !granteesOf(list.Remove).length) {
        throw forbidden(`a ${s.operation} revert may only Remove ${s.listKey} entries`);
      }
      onlyKeys(a, [s.idKey, 'Attribute', s.listKey], s.operation);
    },
    async read(ctx) {
      const id = ctx.args[s.idKey] as string;
      const now = await orGone(s.gone, `${s.noun} ${id}`, () => s.describe(ctx.client('ec2'), id));
      return now.map((p) => Object.fromEntries(Object.entries(p).filter(([, v]) => typeof v === 'string' && v)));
    },
    pending(state, ctx) {
      return stillGranted(state, granteesOf((ctx.args[s.listKey] as Record<string, unknown>).Remove));
    },
    async apply(ctx, _state, dryRun) {
      const ec2 = ctx.client('ec2');
      const send = () => s.modify(ec2, sdkInput(ctx, dryRun ? { DryRun: true } : {}));
      if (dryRun) return ec2DryRun(send);
      await send();
    },
  };
}

// Account switches (row 41).

export const ebsEncryption: Handler = {
  service: 'ec2',
  operation: 'EnableEbsEncryptionByDefault',
  iam: { write: ['ec2:EnableEbsEncryptionByDefault'], read: ['ec2:GetEbsEncryptionByDefault'] },
  dryRun: true,
  check: (a) => onlyKeys(a, [], 'EnableEbsEncryptionByDefault'),
  async read(ctx) {
    const res = await ctx.client('ec2').send(new GetEbsEncryptionByDefaultCommand({}));
    return { ebsEncryptionByDefault: res.EbsEncryptionByDefault === true };
  },
  pending: (s) => ((s as { ebsEncryptionByDefault: boolean }).ebsEncryptionByDefault ? [] : ['EBS encryption by default off']),
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new EnableEbsEncryptionByDefaultCommand(dryRun ? { DryRun: true } : {}));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

export const serialConsole: Handler = {
  service: 'ec2',
  operation: 'DisableSerialConsoleAccess',
  iam: { write: ['ec2:DisableSerialConsoleAccess'], read: ['ec2:GetSerialConsoleAccessStatus'] },
  dryRun: true,
  check: (a) => onlyKeys(a, [], 'DisableSerialConsoleAccess'),
  async read(ctx) {
    const res = await ctx.client('ec2').send(new GetSerialConsoleAccessStatusCommand({}));
    return { serialConsoleAccessEnabled: res.SerialConsoleAccessEnabled === true };
  },
  pending: (s) => ((s as { serialConsoleAccessEnabled: boolean }).serialConsoleAccessEnabled ? ['serial console access on'] : []),
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new DisableSerialConsoleAccessCommand(dryRun ? { DryRun: true } : {}));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

const EC2 = ['ec2.amazonaws.com'];

export const ec2Reverts: ServiceReverts = {
  planners: {
    CreateNetworkAclEntry: { eventSources: EC2, from: 'event', produces: ['ec2:DeleteNetworkAclEntry'], plan: planNaclEntry },
    CreateRoute: { eventSources: EC2, from: 'event', produces: ['ec2:DeleteRoute'], plan: planRoute },
    AttachInternetGateway: { eventSources: EC2, from: 'event', produces: ['ec2:DetachInternetGateway'], plan: planIgwAttach },
    ModifySnapshotAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifySnapshotAttribute'], plan: planShare(SNAPSHOT) },
    ModifyImageAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifyImageAttribute'], plan: planShare(IMAGE) },
    DisableEbsEncryptionByDefault: {
      eventSources: EC2,
      from: 'event',
      produces: ['ec2:EnableEbsEncryptionByDefault'],
      plan: planFixed('ec2', 'EnableEbsEncryptionByDefault', 'enable EBS encryption by default again'),
    },
    EnableSerialConsoleAccess: {
      eventSources: EC2,
      from: 'event',
      produces: ['ec2:DisableSerialConsoleAccess'],
      plan: planFixed('ec2', 'DisableSerialConsoleAccess', 'disable EC2 serial console access again'),
    },
  },
  handlers: [naclEntry, route, igw, shareHandler(SNAPSHOT), shareHandler(IMAGE), ebsEncryption, serialConsole],
};
