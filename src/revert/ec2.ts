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

export function planSnapshotShare({ req }: PlanArgs): PlanDecision {
  const snapshot = str(req.snapshotId);
  const attr = str(req.attributeType) ?? str(req.attribute);
  if (attr && !/^create_?volume_?permission$/i.test(attr)) {
    return none(`ModifySnapshotAttribute of ${attr} does not share the snapshot: nothing to revert`);
  }
  const cvp = isRecord(req.createVolumePermission) ? req.createVolumePermission : undefined;
  let added = cvp ? grantees(cvp.add, { userId: 'UserId', group: 'Group', groups: 'Group' }) : [];
  if (!added.length && str(req.operationType)?.toLowerCase() === 'add') {
    // The OperationType form: user ids and group names as plain lists.
    added = [
      ...strings(req.userIds ?? req.userId, 'userId').map((UserId) => ({ UserId })),
      ...strings(req.groupNames ?? req.groupName, 'groupName').map((Group) => ({ Group })),
    ];
  }
  if (!snapshot) return none('ModifySnapshotAttribute without snapshotId');
  if (!added.length) return none(`ModifySnapshotAttribute on ${snapshot} added no permission: nothing to revert`);
  return {
    plan: eventPlan(
      'ec2',
      'ModifySnapshotAttribute',
      { SnapshotId: snapshot, Attribute: 'createVolumePermission', CreateVolumePermission: { Remove: added } },
      `stop sharing ${snapshot} with ${granteeText(added)}`,
    ),
    reason: 'the same call with remove, for the accounts/groups the request added',
  };
}

export function planImageShare({ req }: PlanArgs): PlanDecision {
  const image = str(req.imageId);
  const attr = str(req.attributeType) ?? str(req.attribute);
  if (attr && !/^launch_?permission$/i.test(attr)) {
    return none(`ModifyImageAttribute of ${attr} does not share the image: nothing to revert`);
  }
  const lp = isRecord(req.launchPermission) ? req.launchPermission : undefined;
  const added = lp
    ? grantees(lp.add, {
        userId: 'UserId',
        group: 'Group',
        organizationArn: 'OrganizationArn',
        organizationalUnitArn: 'OrganizationalUnitArn',
      })
    : [];
  if (!image) return none('ModifyImageAttribute without imageId');
  if (!added.length) return none(`ModifyImageAttribute on ${image} added no launch permission: nothing to revert`);
  return {
    plan: eventPlan(
      'ec2',
      'ModifyImageAttribute',
      { ImageId: image, Attribute: 'launchPermission', LaunchPermission: { Remove: added } },
      `stop sharing ${image} with ${granteeText(added)}`,
    ),
    reason: 'the same call with remove, for the launch permissions the request added',
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

// Snapshot and AMI sharing (rows 36–37): only ever Remove.

export const snapshotShare: Handler = {
  service: 'ec2',
  operation: 'ModifySnapshotAttribute',
  iam: { write: ['ec2:ModifySnapshotAttribute'], read: ['ec2:DescribeSnapshotAttribute'] },
  dryRun: true,
  check(a) {
    need(a, 'SnapshotId', /^snap-[0-9a-z]+$/i);
    if (a.Attribute !== 'createVolumePermission') throw forbidden('ModifySnapshotAttribute reverts only createVolumePermission');
    const cvp = a.CreateVolumePermission;
    if (!isRecord(cvp) || Object.keys(cvp).some((k) => k !== 'Remove') || !granteesOf(cvp.Remove).length) {
      throw forbidden('a snapshot revert may only Remove create-volume permissions');
    }
    onlyKeys(a, ['SnapshotId', 'Attribute', 'CreateVolumePermission'], 'ModifySnapshotAttribute');
  },
  async read(ctx) {
    const id = ctx.args.SnapshotId as string;
    const res = await orGone(['InvalidSnapshot.NotFound', 'InvalidSnapshotID.Malformed'], `snapshot ${id}`, () =>
      ctx.client('ec2').send(new DescribeSnapshotAttributeCommand({ SnapshotId: id, Attribute: 'createVolumePermission' })),
    );
    return (res.CreateVolumePermissions ?? []).map((p) => ({ ...(p.UserId ? { UserId: p.UserId } : {}), ...(p.Group ? { Group: p.Group } : {}) }));
  },
  pending(state, ctx) {
    return stillGranted(state, granteesOf((ctx.args.CreateVolumePermission as Record<string, unknown>).Remove));
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new ModifySnapshotAttributeCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

export const imageShare: Handler = {
  service: 'ec2',
  operation: 'ModifyImageAttribute',
  iam: { write: ['ec2:ModifyImageAttribute'], read: ['ec2:DescribeImageAttribute'] },
  dryRun: true,
  check(a) {
    need(a, 'ImageId', /^ami-[0-9a-z]+$/i);
    if (a.Attribute !== 'launchPermission') throw forbidden('ModifyImageAttribute reverts only launchPermission');
    const lp = a.LaunchPermission;
    if (!isRecord(lp) || Object.keys(lp).some((k) => k !== 'Remove') || !granteesOf(lp.Remove).length) {
      throw forbidden('an AMI revert may only Remove launch permissions');
    }
    onlyKeys(a, ['ImageId', 'Attribute', 'LaunchPermission'], 'ModifyImageAttribute');
  },
  async read(ctx) {
    const id = ctx.args.ImageId as string;
    const res = await orGone(['InvalidAMIID.NotFound', 'InvalidAMIID.Unavailable'], `image ${id}`, () =>
      ctx.client('ec2').send(new DescribeImageAttributeCommand({ ImageId: id, Attribute: 'launchPermission' })),
    );
    return (res.LaunchPermissions ?? []).map((p) =>
      Object.fromEntries(Object.entries(p).filter(([, v]) => typeof v === 'string' && v)),
    );
  },
  pending(state, ctx) {
    return stillGranted(state, granteesOf((ctx.args.LaunchPermission as Record<string, unknown>).Remove));
  },
  async apply(ctx, _state, dryRun) {
    const ec2 = ctx.client('ec2');
    const send = () => ec2.send(new ModifyImageAttributeCommand(sdkInput(ctx, dryRun ? { DryRun: true } : {})));
    if (dryRun) return ec2DryRun(send);
    await send();
  },
};

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
    ModifySnapshotAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifySnapshotAttribute'], plan: planSnapshotShare },
    ModifyImageAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifyImageAttribute'], plan: planImageShare },
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
  handlers: [naclEntry, route, igw, snapshotShare, imageShare, ebsEncryption, serialConsole],
};
