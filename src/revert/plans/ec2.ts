import type { AwsService } from '../../core/types';
import { bool, eventPlan, int, isRecord, none, str, type PlanArgs, type PlanDecision } from '../plan-common';

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
