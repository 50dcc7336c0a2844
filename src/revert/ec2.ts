// EC2 beyond security groups and sharing: network ACL entries, routes, internet gateways, and the
// account switches (EBS encryption by default, serial console access). Every plan comes from the record; every
// handler reads the resource, makes the opposite call (EC2 DryRun where asked), and reads it again.
import {
  DeleteNetworkAclEntryCommand,
  DeleteRouteCommand,
  DescribeInternetGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DetachInternetGatewayCommand,
  DisableSerialConsoleAccessCommand,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsEncryptionByDefaultCommand,
  GetSerialConsoleAccessStatusCommand,
} from '@aws-sdk/client-ec2';
import type { AwsService } from '../core/types';
import { isRecord } from '../core/text';
import { bool, eventPlan, int, none, str, type PlanArgs, type PlanDecision } from './plan-common';
import { forbidden, Gone, orGone } from './failures';
import { applyEc2, need, onlyKeys, sdkInput, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

// ---- network ACL entries, routes, internet gateways ----

function planNaclEntry({ req }: PlanArgs): PlanDecision {
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
  // The entry as the change made it: it is deleted only while the entry at that number is still this one.
  const expect: Record<string, unknown> = {};
  if (str(req.ruleAction)) expect.action = req.ruleAction;
  const protocol = str(req.aclProtocol) ?? str(req.protocol) ?? (typeof req.aclProtocol === 'number' ? String(req.aclProtocol) : undefined);
  if (protocol) expect.protocol = protocol;
  const cidr = str(req.cidrBlock) ?? str(req.ipv6CidrBlock);
  if (cidr) expect.cidr = cidr;
  if (int(range.from) !== undefined) expect.ports = `${String(int(range.from))}-${String(int(range.to) ?? int(range.from))}`;
  return {
    plan: {
      ...eventPlan(
        'ec2',
        'DeleteNetworkAclEntry',
        { NetworkAclId: aclId, RuleNumber: ruleNumber, Egress: egress },
        `delete ${egress ? 'egress' : 'ingress'} entry #${ruleNumber} (${what}) from ${aclId}`,
      ),
      ...(Object.keys(expect).length ? { expect } : {}),
    },
    reason: 'the entry is named by network ACL, rule number and direction in the request',
  };
}

function planRoute({ req }: PlanArgs): PlanDecision {
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
    plan: {
      ...eventPlan('ec2', 'DeleteRoute', { RouteTableId: table, ...dest }, `delete route ${destination} → ${target} from ${table}`),
      // Deleted only while the route to that destination still goes where the change sent it.
      ...(target !== '?' ? { expect: { target } } : {}),
    },
    reason: 'the route is named by table and destination in the request',
  };
}

function planIgwAttach({ req }: PlanArgs): PlanDecision {
  const igw = str(req.internetGatewayId);
  const vpc = str(req.vpcId);
  if (!igw || !vpc) return none('AttachInternetGateway without internetGatewayId and vpcId');
  return {
    plan: eventPlan('ec2', 'DetachInternetGateway', { InternetGatewayId: igw, VpcId: vpc }, `detach ${igw} from ${vpc}`),
    reason: 'gateway and VPC from the request',
  };
}

// ---- account switches ----

function planFixed(service: AwsService, operation: string, description: string) {
  return (): PlanDecision => ({
    plan: eventPlan(service, operation, {}, description),
    reason: 'an account-level switch: the opposite call needs no input',
  });
}

// ---- run ----

// Network ACL entries, routes, internet gateways.

const naclEntry: Handler = {
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
  mismatch(state, ctx) {
    const want = isRecord(ctx.plan.expect) ? ctx.plan.expect : {};
    const entry = (state as Record<string, unknown>[]).find((e) => e.ruleNumber === ctx.args.RuleNumber && e.egress === ctx.args.Egress) ?? {};
    return Object.entries(want)
      .filter(([k, v]) => String(entry[k] ?? '') !== String(v))
      .map(([k, v]) => `entry #${String(ctx.args.RuleNumber)} ${k} is ${JSON.stringify(entry[k] ?? null)}, the change made ${JSON.stringify(v)}`);
  },
  apply: (ctx, _state, dryRun) =>
    applyEc2(dryRun, (extra) => ctx.client('ec2').send(new DeleteNetworkAclEntryCommand(sdkInput(ctx, extra))), ['InvalidNetworkAclEntry.NotFound']),
};

const route: Handler = {
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
  mismatch(state, ctx) {
    const want = isRecord(ctx.plan.expect) ? str(ctx.plan.expect.target) : undefined;
    const dest = ctx.args.DestinationCidrBlock ?? ctx.args.DestinationIpv6CidrBlock ?? ctx.args.DestinationPrefixListId;
    const live = (state as { destination?: string; target?: string }[]).find((r) => r.destination === dest);
    return want && live && live.target !== want ? [`route ${String(dest)} now goes to ${String(live.target)}, the change sent it to ${want}`] : [];
  },
  apply: (ctx, _state, dryRun) =>
    applyEc2(dryRun, (extra) => ctx.client('ec2').send(new DeleteRouteCommand(sdkInput(ctx, extra))), ['InvalidRoute.NotFound']),
};

const igw: Handler = {
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
  apply: (ctx, _state, dryRun) =>
    applyEc2(dryRun, (extra) => ctx.client('ec2').send(new DetachInternetGatewayCommand(sdkInput(ctx, extra))), ['Gateway.NotAttached']),
};

// Account switches.

const ebsEncryption: Handler = {
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
  apply: (ctx, _state, dryRun) =>
    applyEc2(dryRun, (extra) => ctx.client('ec2').send(new EnableEbsEncryptionByDefaultCommand(extra))),
};

const serialConsole: Handler = {
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
  apply: (ctx, _state, dryRun) =>
    applyEc2(dryRun, (extra) => ctx.client('ec2').send(new DisableSerialConsoleAccessCommand(extra))),
};

const EC2 = ['ec2.amazonaws.com'];

export const ec2Reverts: ServiceReverts = {
  planners: {
    CreateNetworkAclEntry: { eventSources: EC2, from: 'event', produces: ['ec2:DeleteNetworkAclEntry'], plan: planNaclEntry },
    CreateRoute: { eventSources: EC2, from: 'event', produces: ['ec2:DeleteRoute'], plan: planRoute },
    AttachInternetGateway: { eventSources: EC2, from: 'event', produces: ['ec2:DetachInternetGateway'], plan: planIgwAttach },
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
  handlers: [naclEntry, route, igw, ebsEncryption, serialConsole],
};
