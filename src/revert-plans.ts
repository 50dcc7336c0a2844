// Pure: how to undo a change (risky-changes.md §2 rows marked Y, §3, §4), as the exact AWS SDK v3 command(s).
//
// Two kinds of plan:
// - From the event alone (source 'event'): the CloudTrail record holds everything needed, e.g. a security-group rule
//   id, a snapshot's added account, a trail name. Security groups: the rule ids AWS returned
//   (`responseElements.securityGroupRuleSet.items[].securityGroupRuleId`) name exactly what was added and are
//   preferred; without them the request's permissions are replayed as `IpPermissions` (values must match exactly),
//   from either request shape (flat CLI form or nested `ipPermissions.items[]`).
// - From the trusted baseline (source 'baseline'): changes that overwrite state (trail settings, event selectors,
//   bucket policies, trust policies, inline policies) are undone by putting back the last configuration vouch trusted
//   before the change (src/baseline). Without a baseline the plan is null and the review pages instead of guessing.
//
// Safety (§3): never a failed call (errorCode), never vouch's own revert sessions (`vouch-revert-*`).
// planRevert never throws and does no I/O: `vouch classify` and the policy engine call it for every record.
import type { Actor, AwsService, Change, RevertPlan, RevertStep, Verdict } from '../workflows/types';
import {
  canonicalJson,
  parsePolicyDocument,
  samePolicy,
  scopeFor,
  type BaselineLookup,
  type BaselineVersion,
  type BucketPolicyConfig,
  type PrincipalConfig,
  type ResourceKind,
  type TrailConfig,
} from './baseline/types';

export interface PlanDecision {
  plan: RevertPlan | null;
  /** Why there is (or is not) a plan, for humans and the verdict's reasons. */
  reason: string;
}

/** The `IpPermissions` shape of `@aws-sdk/client-ec2` (only the fields a revoke needs). */
export interface IpPermissionInput {
  IpProtocol: string;
  FromPort?: number;
  ToPort?: number;
  IpRanges?: { CidrIp: string }[];
  Ipv6Ranges?: { CidrIpv6: string }[];
  PrefixListIds?: { PrefixListId: string }[];
  UserIdGroupPairs?: { GroupId?: string; GroupName?: string; UserId?: string }[];
}

type Direction = 'ingress' | 'egress';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function int(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  return undefined;
}

/** CloudTrail wraps every list as `{items:[…]}` and writes an empty list as `{}`; plain arrays are accepted too. */
function items(v: unknown): Record<string, unknown>[] {
  const list = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v.items) ? v.items : [];
  return list.filter(isRecord);
}

/** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | '-1' (all), or the protocol number as given. */
export function normalizeProtocol(p: unknown): string | undefined {
  const s = typeof p === 'number' ? String(p) : str(p)?.toLowerCase();
  if (s === undefined) return undefined;
  const byNumber: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6', all: '-1' };
  return byNumber[s] ?? s;
}

function portsFor(protocol: string, from: unknown, to: unknown): { FromPort?: number; ToPort?: number } {
  // "All traffic" ignores ports; CloudTrail may write 0/0 or -1/-1 for it, which a revoke must not repeat.
  if (protocol === '-1') return {};
  const out: { FromPort?: number; ToPort?: number } = {};
  const f = int(from);
  const t = int(to);
  if (f !== undefined) out.FromPort = f;
  if (t !== undefined) out.ToPort = t;
  return out;
}

function permissionFrom(raw: Record<string, unknown>): IpPermissionInput | null {
  const protocol = normalizeProtocol(raw.ipProtocol);
  if (!protocol) return null;
  const perm: IpPermissionInput = { IpProtocol: protocol, ...portsFor(protocol, raw.fromPort, raw.toPort) };
  const ipRanges = items(raw.ipRanges).flatMap((r) => (str(r.cidrIp) ? [{ CidrIp: r.cidrIp as string }] : []));
  const ipv6Ranges = items(raw.ipv6Ranges).flatMap((r) =>
    str(r.cidrIpv6) ? [{ CidrIpv6: r.cidrIpv6 as string }] : [],
  );
  const prefixLists = items(raw.prefixListIds).flatMap((r) =>
    str(r.prefixListId) ? [{ PrefixListId: r.prefixListId as string }] : [],
  );
  const groups = items(raw.groups).flatMap((g) => {
    const pair: { GroupId?: string; GroupName?: string; UserId?: string } = {};
    if (str(g.groupId)) pair.GroupId = g.groupId as string;
    else if (str(g.groupName)) pair.GroupName = g.groupName as string;
    else return [];
    if (str(g.userId)) pair.UserId = g.userId as string;
    return [pair];
  });
  if (ipRanges.length) perm.IpRanges = ipRanges;
  if (ipv6Ranges.length) perm.Ipv6Ranges = ipv6Ranges;
  if (prefixLists.length) perm.PrefixListIds = prefixLists;
  if (groups.length) perm.UserIdGroupPairs = groups;
  return ipRanges.length + ipv6Ranges.length + prefixLists.length + groups.length > 0 ? perm : null;
}

/** The request's permissions in SDK form, from either CloudTrail shape. Empty when there are none. */
export function ipPermissionsFromRequest(request: Record<string, unknown>): IpPermissionInput[] {
  const perms = items(request.ipPermissions).flatMap((raw) => {
    const p = permissionFrom(raw);
    return p ? [p] : [];
  });
  // Flat form (the API's legacy top-level CidrIp/IpProtocol/FromPort/ToPort). Without a protocol there is no exact
  // match to replay, and a wrong guess would come back as "not found", i.e. a false "already reverted".
  const flatCidr = str(request.cidrIp);
  if (flatCidr && normalizeProtocol(request.ipProtocol)) {
    const flat = permissionFrom({
      ipProtocol: request.ipProtocol,
      fromPort: request.fromPort,
      toPort: request.toPort,
      ipRanges: [{ cidrIp: flatCidr }],
    });
    if (flat) perms.push(flat);
  }
  return perms;
}

interface ResponseRule {
  id: string;
  text: string;
}

function ruleText(item: Record<string, unknown>): string {
  const protocol = normalizeProtocol(item.ipProtocol) ?? '?';
  const from = int(item.fromPort);
  const to = int(item.toPort);
  const ports =
    protocol === '-1' ? 'all' : from === undefined || from === to ? `${from ?? '?'}` : `${from}-${to ?? '?'}`;
  const target =
    str(item.cidrIpv4) ??
    str(item.cidrIpv6) ??
    str(item.prefixListId) ??
    (isRecord(item.referencedGroupInfo) ? str(item.referencedGroupInfo.groupId) : undefined) ??
    '?';
  return protocol === '-1' ? `all traffic ${target}` : `${protocol}/${ports} ${target}`;
}

function ruleIdsFromResponse(
  response: Record<string, unknown> | null,
  direction: Direction,
  groupId: string | undefined,
): ResponseRule[] {
  if (!response) return [];
  const seen = new Set<string>();
  const out: ResponseRule[] = [];
  for (const item of items(response.securityGroupRuleSet)) {
    const id = str(item.securityGroupRuleId);
    if (!id || seen.has(id)) continue;
    // A rule of the other direction or another group is never ours to revoke.
    if (typeof item.isEgress === 'boolean' && item.isEgress !== (direction === 'egress')) continue;
    if (groupId && str(item.groupId) && item.groupId !== groupId) continue;
    seen.add(id);
    out.push({ id, text: ruleText(item) });
  }
  return out;
}

function permissionText(p: IpPermissionInput): string {
  const ports =
    p.IpProtocol === '-1'
      ? 'all traffic'
      : p.FromPort === undefined
        ? p.IpProtocol
        : p.FromPort === p.ToPort
          ? `${p.IpProtocol}/${p.FromPort}`
          : `${p.IpProtocol}/${p.FromPort}-${p.ToPort ?? '?'}`;
  const targets = [
    ...(p.IpRanges ?? []).map((r) => r.CidrIp),
    ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6),
    ...(p.PrefixListIds ?? []).map((r) => r.PrefixListId),
    ...(p.UserIdGroupPairs ?? []).map((g) => g.GroupId ?? g.GroupName ?? '?'),
  ];
  return `${ports} ${targets.join(', ')}`;
}


// ---- context, safety ----

export interface PlanContext {
  /** Trusted baselines already loaded for the change's account (src/baseline); without it, baseline rows get no plan. */
  baseline?: BaselineLookup;
  /**
   * Name of vouch's revert role (the role in VOUCH_REVERT_ROLE_ARN_TEMPLATE). When set, only `vouch-revert-*` sessions
   * of this role count as vouch's own; otherwise any `vouch-revert-*` role session does.
   */
  revertRoleName?: string;
}

/** Role session names of vouch's reverts: `vouch-revert-<eventID>` (activities/aws-revert.ts). */
export const REVERT_SESSION_PREFIX = 'vouch-revert-';

/** Is this vouch's own revert principal (a role session `vouch-revert-*`)? Only assumed-role sessions qualify. */
export function isRevertPrincipal(actor: Actor, revertRoleName?: string): boolean {
  if (actor.type !== 'AssumedRole') return false;
  const session = actor.arn?.split('/').pop() ?? actor.name;
  if (!session.startsWith(REVERT_SESSION_PREFIX)) return false;
  if (!revertRoleName) return true;
  const role = actor.sessionIssuerArn?.split('/').pop() ?? actor.arn?.split('/')[1];
  return role === revertRoleName;
}

/** Lambda (and a few other) event names carry an API version: `AddPermission20150331v2` → `AddPermission`. */
export function canonicalEventName(eventName: string): string {
  return eventName.replace(/\d{8}(v\d+)?$/, '');
}

/** The verdict fields for a decision: baseline plans also revert when the deadline passes unconfirmed. */
export function revertVerdictFields(d: PlanDecision): Pick<Verdict, 'revertPlan' | 'revertReason' | 'revertOnTimeout'> {
  return {
    revertPlan: d.plan,
    revertReason: d.reason,
    ...(d.plan?.source === 'baseline' ? { revertOnTimeout: true } : {}),
  };
}

// ---- small readers ----

function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return undefined;
}

/** A list of strings from `["a"]`, `{items:[…]}` or a single string. */
function strings(v: unknown, key?: string): string[] {
  const list = Array.isArray(v) ? v : isRecord(v) && Array.isArray(v.items) ? v.items : typeof v === 'string' ? [v] : [];
  return list.flatMap((x: unknown) => {
    if (typeof x === 'string' && x) return [x];
    if (key && isRecord(x) && str(x[key])) return [x[key] as string];
    return [];
  });
}

function eventPlan(
  service: AwsService,
  operation: string,
  input: Record<string, unknown>,
  description: string,
  then?: RevertStep[],
): RevertPlan {
  return { service, operation, input, description, ...(then?.length ? { then } : {}), source: 'event' };
}

function baselinePlan(service: AwsService, operation: string, input: Record<string, unknown>, description: string): RevertPlan {
  return { service, operation, input, description, source: 'baseline' };
}

const none = (reason: string): PlanDecision => ({ plan: null, reason });

interface PlanArgs {
  change: Change;
  req: Record<string, unknown>;
  res: Record<string, unknown> | null;
  ctx: PlanContext;
}

interface Planner {
  eventSources: string[];
  /** 'event': planned from the record; 'baseline': needs the trusted baseline. */
  from: 'event' | 'baseline';
  /** The revert operations this planner may produce (service:Operation), for documentation and tests. */
  produces: string[];
  plan(a: PlanArgs): PlanDecision;
}

// ---- security groups (rows 1–2) ----

function planSecurityGroup({ change, req, res }: PlanArgs, direction: Direction): PlanDecision {
  const operation = direction === 'ingress' ? 'RevokeSecurityGroupIngress' : 'RevokeSecurityGroupEgress';
  const requestGroupId = str(req.groupId);
  const rules = ruleIdsFromResponse(res, direction, requestGroupId);
  const responseGroupId = res
    ? items(res.securityGroupRuleSet)
        .map((i) => str(i.groupId))
        .find((g) => g !== undefined)
    : undefined;
  const groupId = requestGroupId ?? responseGroupId;
  if (!groupId) {
    return none(`${change.eventName} names no security group id (groupName only): cannot revert safely`);
  }
  if (rules.length > 0) {
    const ids = rules.map((r) => r.id);
    return {
      plan: eventPlan(
        'ec2',
        operation,
        { GroupId: groupId, SecurityGroupRuleIds: ids },
        `revoke ${direction} ${rules.map((r) => `${r.id} (${r.text})`).join(', ')} from ${groupId}`,
      ),
      reason: `rule ids from the response (${ids.join(', ')})`,
    };
  }
  const perms = ipPermissionsFromRequest(req);
  if (perms.length > 0) {
    return {
      plan: eventPlan(
        'ec2',
        operation,
        { GroupId: groupId, IpPermissions: perms },
        `revoke ${direction} ${perms.map(permissionText).join('; ')} from ${groupId}`,
      ),
      reason: 'no rule ids in the response: IpPermissions replayed from the request',
    };
  }
  return none(`${change.eventName} on ${groupId} has neither rule ids in the response nor permissions in the request`);
}

// ---- network ACL entries, routes, internet gateways (rows 4–5) ----

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
    plan: eventPlan(
      'ec2',
      'DeleteRoute',
      { RouteTableId: table, ...dest },
      `delete route ${destination} → ${target} from ${table}`,
    ),
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

function planSnapshotShare({ req }: PlanArgs): PlanDecision {
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

function planImageShare({ req }: PlanArgs): PlanDecision {
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

function planRdsShare(cluster: boolean) {
  return ({ req }: PlanArgs): PlanDecision => {
    const idKey = cluster ? 'dBClusterSnapshotIdentifier' : 'dBSnapshotIdentifier';
    const id = str(req[idKey]);
    const attribute = str(req.attributeName) ?? 'restore';
    const added = strings(req.valuesToAdd);
    const op = cluster ? 'ModifyDBClusterSnapshotAttribute' : 'ModifyDBSnapshotAttribute';
    if (!id) return none(`${op} without ${idKey}`);
    if (attribute !== 'restore') return none(`${op} of ${attribute} does not share the snapshot: nothing to revert`);
    if (!added.length) return none(`${op} on ${id} added no account: nothing to revert`);
    return {
      plan: eventPlan(
        'rds',
        op,
        {
          [cluster ? 'DBClusterSnapshotIdentifier' : 'DBSnapshotIdentifier']: id,
          AttributeName: attribute,
          ValuesToRemove: added,
        },
        `stop sharing ${cluster ? 'cluster snapshot' : 'snapshot'} ${id} with ${added.join(', ')}`,
      ),
      reason: 'the same call with ValuesToRemove, for the values the request added',
    };
  };
}

// ---- account switches (row 41), logging and detection (rows 6, 10, 13), KMS (rows 17–18) ----

function planFixed(service: AwsService, operation: string, description: string) {
  return (): PlanDecision => ({
    plan: eventPlan(service, operation, {}, description),
    reason: 'an account-level switch: the opposite call needs no input',
  });
}

function planStartLogging({ req }: PlanArgs): PlanDecision {
  const name = str(req.name);
  if (!name) return none('StopLogging without the trail name');
  return { plan: eventPlan('cloudtrail', 'StartLogging', { Name: name }, `start logging on trail ${name}`), reason: 'trail name from the request' };
}

function planGuardDuty({ req }: PlanArgs): PlanDecision {
  const detector = str(req.detectorId);
  if (bool(req.enable) !== false) return none('UpdateDetector did not disable the detector: nothing to revert');
  if (!detector) return none('UpdateDetector without detectorId');
  return {
    plan: eventPlan('guardduty', 'UpdateDetector', { DetectorId: detector, Enable: true }, `re-enable GuardDuty detector ${detector}`),
    reason: 'detector id from the request',
  };
}

function planConfigRecorder({ req }: PlanArgs): PlanDecision {
  const name = str(req.configurationRecorderName);
  if (!name) return none('StopConfigurationRecorder without configurationRecorderName');
  return {
    plan: eventPlan(
      'config',
      'StartConfigurationRecorder',
      { ConfigurationRecorderName: name },
      `restart AWS Config recorder ${name}`,
    ),
    reason: 'recorder name from the request',
  };
}

function kmsKey(req: Record<string, unknown>, res: Record<string, unknown> | null): string | undefined {
  const id = str(res?.keyId) ?? str(req.keyId);
  return id && !id.startsWith('alias/') ? id : undefined;
}

function planKmsDeletion({ req, res }: PlanArgs): PlanDecision {
  const key = kmsKey(req, res);
  if (!key) return none('ScheduleKeyDeletion without a key id (aliases cannot be scheduled)');
  return {
    plan: eventPlan('kms', 'CancelKeyDeletion', { KeyId: key }, `cancel the deletion of ${key} and enable it again`, [
      { service: 'kms', operation: 'EnableKey', input: { KeyId: key } },
    ]),
    reason: 'CancelKeyDeletion leaves the key Disabled, so EnableKey follows',
  };
}

function planKmsDisable({ req, res }: PlanArgs): PlanDecision {
  const key = kmsKey(req, res);
  if (!key) return none('DisableKey without a key id');
  return { plan: eventPlan('kms', 'EnableKey', { KeyId: key }, `enable ${key} again`), reason: 'key id from the request' };
}

// ---- IAM (rows 20, 22) ----

const PRINCIPAL_KEYS = {
  User: { req: 'userName', input: 'UserName' },
  Role: { req: 'roleName', input: 'RoleName' },
  Group: { req: 'groupName', input: 'GroupName' },
} as const;
type PrincipalType = keyof typeof PRINCIPAL_KEYS;

function planDetach(type: PrincipalType) {
  return ({ req }: PlanArgs): PlanDecision => {
    const keys = PRINCIPAL_KEYS[type];
    const name = str(req[keys.req]);
    const arn = str(req.policyArn);
    if (!name || !arn) return none(`Attach${type}Policy without ${keys.req} and policyArn`);
    return {
      plan: eventPlan('iam', `Detach${type}Policy`, { [keys.input]: name, PolicyArn: arn }, `detach ${arn} from ${type.toLowerCase()} ${name}`),
      reason: `${type.toLowerCase()} and policy ARN from the request`,
    };
  };
}

function planAccessKey({ change, req, res }: PlanArgs): PlanDecision {
  if (change.actor.type === 'Root') return none('an access key created by the root user: root-only task, not auto-reverted (paging instead)');
  const user = str(req.userName);
  if (!user) return none('CreateAccessKey for the caller itself: not a key for another user');
  if (change.actor.type === 'IAMUser' && change.actor.name === user) {
    return none(`CreateAccessKey by ${user} for itself: not a key for another user`);
  }
  const key = isRecord(res?.accessKey) ? str(res.accessKey.accessKeyId) : undefined;
  if (!key) return none(`CreateAccessKey for ${user} has no accessKey.accessKeyId in the response`);
  return {
    plan: eventPlan(
      'iam',
      'UpdateAccessKey',
      { UserName: user, AccessKeyId: key, Status: 'Inactive' },
      `deactivate access key ${key} of ${user}`,
    ),
    reason: `a key created for another user (${user}) by ${change.actor.name}: deactivated, not deleted, so it can be inspected`,
  };
}

// ---- Lambda (row 42) ----

function planLambdaPermission({ req }: PlanArgs): PlanDecision {
  const fn = str(req.functionName);
  const sid = str(req.statementId);
  if (!fn || !sid) return none('AddPermission without functionName and statementId');
  const qualifier = str(req.qualifier);
  return {
    plan: eventPlan(
      'lambda',
      'RemovePermission',
      { FunctionName: fn, StatementId: sid, ...(qualifier ? { Qualifier: qualifier } : {}) },
      `remove permission ${sid} (principal ${String(req.principal ?? '?')}) from ${fn}${qualifier ? `:${qualifier}` : ''}`,
    ),
    reason: 'function and statement id from the request',
  };
}

// ---- S3 public access block (row 34) ----

const PAB_FLAGS = ['BlockPublicAcls', 'IgnorePublicAcls', 'BlockPublicPolicy', 'RestrictPublicBuckets'] as const;
export const FULL_PUBLIC_ACCESS_BLOCK = Object.fromEntries(PAB_FLAGS.map((f) => [f, true])) as Record<(typeof PAB_FLAGS)[number], true>;

/** The flags a Put*PublicAccessBlock request left off (a missing flag is off). Empty when all four are on. */
function pabFlagsOff(req: Record<string, unknown>): string[] {
  const conf = [req.PublicAccessBlockConfiguration, req.publicAccessBlockConfiguration, req.publicAccessBlock].find(isRecord);
  if (!conf) return [...PAB_FLAGS];
  return PAB_FLAGS.filter((f) => bool(conf[f] ?? conf[f.charAt(0).toLowerCase() + f.slice(1)]) !== true);
}

function planBucketPab(deleted: boolean) {
  return ({ req }: PlanArgs): PlanDecision => {
    const bucket = str(req.bucketName);
    if (!bucket) return none('no bucketName in the request');
    const off = deleted ? [...PAB_FLAGS] : pabFlagsOff(req);
    if (!off.length) return none(`the public access block of ${bucket} has all four flags on: nothing to revert`);
    return {
      plan: eventPlan(
        's3',
        'PutPublicAccessBlock',
        { Bucket: bucket, PublicAccessBlockConfiguration: { ...FULL_PUBLIC_ACCESS_BLOCK } },
        `turn the public access block of bucket ${bucket} fully on (was off: ${off.join(', ')})`,
      ),
      reason: 'restored to all four flags on (the safe state; the record does not hold the flags before the change)',
    };
  };
}

function planAccountPab(deleted: boolean) {
  return ({ change, req }: PlanArgs): PlanDecision => {
    const off = deleted ? [...PAB_FLAGS] : pabFlagsOff(req);
    if (!off.length) return none(`the account public access block of ${change.account} has all four flags on: nothing to revert`);
    return {
      plan: eventPlan(
        's3control',
        'PutPublicAccessBlock',
        { AccountId: change.account, PublicAccessBlockConfiguration: { ...FULL_PUBLIC_ACCESS_BLOCK } },
        `turn the account-level public access block of ${change.account} fully on (was off: ${off.join(', ')})`,
      ),
      reason: 'restored to all four flags on (the safe state; the record does not hold the flags before the change)',
    };
  };
}

// ---- from the trusted baseline (rows 8, 9, 23, 25, 32) ----

/** The baseline resource a change overwrites, if it is one vouch keeps a baseline of. */
export interface BaselineTarget {
  kind: ResourceKind;
  id: string;
  scope: string;
  /** Human name: "role app-deployer", "trail org-trail". */
  what: string;
}

function trailNameOf(v: unknown): string | undefined {
  const s = str(v);
  if (!s) return undefined;
  const m = /:trail\/(.+)$/.exec(s);
  return m ? m[1] : s;
}

/** Which baseline resource a (successful) change touches; null when the event is not a baseline row. */
export function baselineTarget(change: Change): BaselineTarget | null {
  const req = isRecord(change.request) ? change.request : {};
  const name = canonicalEventName(change.eventName);
  const mk = (kind: ResourceKind, id: string | undefined, what: string): BaselineTarget | null =>
    id ? { kind, id, scope: scopeFor(kind, change.region), what: `${what} ${id}` } : null;
  switch (name) {
    case 'UpdateTrail':
      return mk('cloudtrail-trail', trailNameOf(req.name), 'trail');
    case 'PutEventSelectors':
      return mk('cloudtrail-trail', trailNameOf(req.trailName), 'trail');
    case 'PutBucketPolicy':
    case 'DeleteBucketPolicy':
      return mk('s3-bucket-policy', str(req.bucketName), 'bucket');
    case 'UpdateAssumeRolePolicy':
    case 'PutRolePolicy':
      return mk('iam-role', str(req.roleName), 'role');
    case 'PutUserPolicy':
      return mk('iam-user', str(req.userName), 'user');
    case 'PutGroupPolicy':
      return mk('iam-group', str(req.groupName), 'group');
    default:
      return null;
  }
}

/** The trusted version of the change's resource from before the change, or the reason there is none. */
function trusted<T>(a: PlanArgs): { target: BaselineTarget; version: BaselineVersion; config: T } | PlanDecision {
  const target = baselineTarget(a.change);
  if (!target) return none(`${a.change.eventName} names no resource vouch keeps a baseline of`);
  const where = `${a.change.account}/${target.scope}`;
  const lookup = a.ctx.baseline;
  if (!lookup || !lookup.has(a.change.account, target.scope)) {
    return none(`no trusted baseline for ${target.what} (${where}); paging instead`);
  }
  const version = lookup.get(a.change.account, target.scope, target.kind, target.id, a.change.eventTime);
  if (!version) {
    return none(`no trusted baseline for ${target.what} captured before the change at ${a.change.eventTime} (${where}); paging instead`);
  }
  if (version.config === null) {
    return none(`${target.what} did not exist in the trusted baseline of ${version.capturedAt} (${where}); paging instead`);
  }
  return { target, version, config: version.config as T };
}

function isDecision(v: object): v is PlanDecision {
  return 'plan' in v && 'reason' in v;
}

function trustedNote(v: BaselineVersion): string {
  return `trusted baseline of ${v.capturedAt}${v.source === 'accepted' ? ` (accepted change ${v.eventId ?? ''})` : ''}`;
}

/** UpdateTrail request key → [UpdateTrail input key, GetTrail key, kind]. */
const TRAIL_FIELDS: [string, string, keyof TrailConfig, 'string' | 'boolean'][] = [
  ['s3BucketName', 'S3BucketName', 'S3BucketName', 'string'],
  ['s3KeyPrefix', 'S3KeyPrefix', 'S3KeyPrefix', 'string'],
  ['snsTopicName', 'SnsTopicName', 'SnsTopicName', 'string'],
  ['includeGlobalServiceEvents', 'IncludeGlobalServiceEvents', 'IncludeGlobalServiceEvents', 'boolean'],
  ['isMultiRegionTrail', 'IsMultiRegionTrail', 'IsMultiRegionTrail', 'boolean'],
  ['enableLogFileValidation', 'EnableLogFileValidation', 'LogFileValidationEnabled', 'boolean'],
  ['cloudWatchLogsLogGroupArn', 'CloudWatchLogsLogGroupArn', 'CloudWatchLogsLogGroupArn', 'string'],
  ['cloudWatchLogsRoleArn', 'CloudWatchLogsRoleArn', 'CloudWatchLogsRoleArn', 'string'],
  ['kmsKeyId', 'KmsKeyId', 'KmsKeyId', 'string'],
  ['isOrganizationTrail', 'IsOrganizationTrail', 'IsOrganizationTrail', 'boolean'],
];

/** `UpdateTrail` input key → the `GetTrail` key it is read back from. */
export const TRAIL_READBACK: Record<string, keyof TrailConfig> = Object.fromEntries(TRAIL_FIELDS.map(([, i, g]) => [i, g]));

function planUpdateTrail(a: PlanArgs): PlanDecision {
  const t = trusted<TrailConfig>(a);
  if (isDecision(t)) return t;
  const input: Record<string, unknown> = { Name: str(a.req.name) ?? t.target.id };
  const restored: string[] = [];
  const kept: string[] = [];
  for (const [reqKey, inputKey, configKey, kind] of TRAIL_FIELDS) {
    if (!(reqKey in a.req)) continue;
    const trustedValue = t.config[configKey];
    const now = kind === 'boolean' ? bool(a.req[reqKey]) : (a.req[reqKey] ?? '');
    if (trustedValue !== undefined) {
      if (trustedValue === now) continue;
      input[inputKey] = trustedValue;
      restored.push(`${inputKey}=${JSON.stringify(trustedValue)}`);
    } else if (kind === 'string' && reqKey !== 'kmsKeyId' && now !== '') {
      input[inputKey] = ''; // unset in the trusted state: clear it
      restored.push(`${inputKey} cleared`);
    } else if (reqKey === 'kmsKeyId') {
      kept.push('KmsKeyId (the trusted trail had no key; encrypting is not undone)');
    }
  }
  if (!restored.length) {
    return none(`UpdateTrail on ${t.target.id} left every setting it names as in the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'cloudtrail',
      'UpdateTrail',
      input,
      `restore trail ${t.target.id}: ${restored.join(', ')}${kept.length ? `; kept ${kept.join(', ')}` : ''}`,
    ),
    reason: `settings the change named, put back from the ${trustedNote(t.version)}`,
  };
}

/** CloudTrail writes request keys in lower camel case; the SDK (and the baseline) use PascalCase. */
function pascalKeys(v: unknown, depth = 0): unknown {
  if (depth > 16) return v;
  if (Array.isArray(v)) return v.map((x) => pascalKeys(x, depth + 1));
  if (isRecord(v)) {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.charAt(0).toUpperCase() + k.slice(1), pascalKeys(x, depth + 1)]),
    );
  }
  return v;
}

function planEventSelectors(a: PlanArgs): PlanDecision {
  const t = trusted<TrailConfig>(a);
  if (isDecision(t)) return t;
  const trailName = str(a.req.trailName) ?? t.target.id;
  const basic = t.config.EventSelectors ?? [];
  const advanced = t.config.AdvancedEventSelectors ?? [];
  const key = basic.length ? 'EventSelectors' : advanced.length ? 'AdvancedEventSelectors' : undefined;
  if (!key) return none(`the ${trustedNote(t.version)} of trail ${t.target.id} has no event selectors to restore; paging instead`);
  const selectors = key === 'EventSelectors' ? basic : advanced;
  const requested = pascalKeys(key === 'EventSelectors' ? a.req.eventSelectors : a.req.advancedEventSelectors);
  if (requested !== undefined && canonicalJson(requested) === canonicalJson(selectors)) {
    return none(`PutEventSelectors on ${t.target.id} set the selectors of the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'cloudtrail',
      'PutEventSelectors',
      { TrailName: trailName, [key]: selectors },
      `restore the ${selectors.length} ${key === 'EventSelectors' ? 'event' : 'advanced event'} selector(s) of trail ${t.target.id}`,
    ),
    reason: `selectors put back from the ${trustedNote(t.version)}`,
  };
}

function planBucketPolicy(deleted: boolean) {
  return (a: PlanArgs): PlanDecision => {
    const t = trusted<BucketPolicyConfig>(a);
    if (isDecision(t)) return t;
    const bucket = t.target.id;
    const prior = parsePolicyDocument(t.config.Policy);
    if (!deleted && prior !== undefined && samePolicy(prior, a.req.bucketPolicy ?? a.req.policy)) {
      return none(`PutBucketPolicy on ${bucket} set the policy of the ${trustedNote(t.version)}: nothing to revert`);
    }
    if (prior === undefined) {
      if (deleted) return none(`bucket ${bucket} had no policy in the ${trustedNote(t.version)}: nothing to restore`);
      return {
        plan: baselinePlan('s3', 'DeleteBucketPolicy', { Bucket: bucket }, `delete the policy of bucket ${bucket} (it had none when trusted)`),
        reason: `the ${trustedNote(t.version)} has no policy on ${bucket}`,
      };
    }
    return {
      plan: baselinePlan('s3', 'PutBucketPolicy', { Bucket: bucket, Policy: JSON.stringify(prior) }, `restore the trusted policy of bucket ${bucket}`),
      reason: `policy put back from the ${trustedNote(t.version)}`,
    };
  };
}

function planAssumeRolePolicy(a: PlanArgs): PlanDecision {
  const t = trusted<PrincipalConfig>(a);
  if (isDecision(t)) return t;
  const prior = parsePolicyDocument(t.config.AssumeRolePolicyDocument);
  if (prior === undefined) return none(`the ${trustedNote(t.version)} holds no trust policy for role ${t.target.id}; paging instead`);
  if (samePolicy(prior, a.req.policyDocument)) {
    return none(`UpdateAssumeRolePolicy on ${t.target.id} set the trust policy of the ${trustedNote(t.version)}: nothing to revert`);
  }
  return {
    plan: baselinePlan(
      'iam',
      'UpdateAssumeRolePolicy',
      { RoleName: t.target.id, PolicyDocument: JSON.stringify(prior) },
      `restore the trusted trust policy of role ${t.target.id}`,
    ),
    reason: `trust policy put back from the ${trustedNote(t.version)}`,
  };
}

function planInlinePolicy(type: PrincipalType) {
  return (a: PlanArgs): PlanDecision => {
    const t = trusted<PrincipalConfig>(a);
    if (isDecision(t)) return t;
    const policyName = str(a.req.policyName);
    if (!policyName) return none(`Put${type}Policy without policyName`);
    const nameKey = PRINCIPAL_KEYS[type].input;
    const who = `${type.toLowerCase()} ${t.target.id}`;
    const prior = parsePolicyDocument((t.config.InlinePolicies ?? {})[policyName]);
    if (prior === undefined) {
      return {
        plan: baselinePlan(
          'iam',
          `Delete${type}Policy`,
          { [nameKey]: t.target.id, PolicyName: policyName },
          `delete inline policy ${policyName} from ${who} (not in the trusted baseline)`,
        ),
        reason: `the ${trustedNote(t.version)} of ${who} has no inline policy ${policyName}`,
      };
    }
    if (samePolicy(prior, a.req.policyDocument)) {
      return none(`Put${type}Policy ${policyName} on ${who} set the document of the ${trustedNote(t.version)}: nothing to revert`);
    }
    return {
      plan: baselinePlan(
        'iam',
        `Put${type}Policy`,
        { [nameKey]: t.target.id, PolicyName: policyName, PolicyDocument: JSON.stringify(prior) },
        `restore the trusted inline policy ${policyName} of ${who}`,
      ),
      reason: `inline policy put back from the ${trustedNote(t.version)}`,
    };
  };
}

// ---- the catalogue ----

const EC2 = ['ec2.amazonaws.com'];
const S3 = ['s3.amazonaws.com'];
const S3_ACCOUNT = ['s3.amazonaws.com', 's3-control.amazonaws.com', 's3control.amazonaws.com'];
const IAM = ['iam.amazonaws.com'];

const PLANNERS: Record<string, Planner> = {
  AuthorizeSecurityGroupIngress: { eventSources: EC2, from: 'event', produces: ['ec2:RevokeSecurityGroupIngress'], plan: (a) => planSecurityGroup(a, 'ingress') },
  AuthorizeSecurityGroupEgress: { eventSources: EC2, from: 'event', produces: ['ec2:RevokeSecurityGroupEgress'], plan: (a) => planSecurityGroup(a, 'egress') },
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
  ModifyDBSnapshotAttribute: { eventSources: ['rds.amazonaws.com'], from: 'event', produces: ['rds:ModifyDBSnapshotAttribute'], plan: planRdsShare(false) },
  ModifyDBClusterSnapshotAttribute: {
    eventSources: ['rds.amazonaws.com'],
    from: 'event',
    produces: ['rds:ModifyDBClusterSnapshotAttribute'],
    plan: planRdsShare(true),
  },
  StopLogging: { eventSources: ['cloudtrail.amazonaws.com'], from: 'event', produces: ['cloudtrail:StartLogging'], plan: planStartLogging },
  UpdateDetector: { eventSources: ['guardduty.amazonaws.com'], from: 'event', produces: ['guardduty:UpdateDetector'], plan: planGuardDuty },
  StopConfigurationRecorder: {
    eventSources: ['config.amazonaws.com'],
    from: 'event',
    produces: ['config:StartConfigurationRecorder'],
    plan: planConfigRecorder,
  },
  ScheduleKeyDeletion: { eventSources: ['kms.amazonaws.com'], from: 'event', produces: ['kms:CancelKeyDeletion', 'kms:EnableKey'], plan: planKmsDeletion },
  DisableKey: { eventSources: ['kms.amazonaws.com'], from: 'event', produces: ['kms:EnableKey'], plan: planKmsDisable },
  AttachUserPolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachUserPolicy'], plan: planDetach('User') },
  AttachRolePolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachRolePolicy'], plan: planDetach('Role') },
  AttachGroupPolicy: { eventSources: IAM, from: 'event', produces: ['iam:DetachGroupPolicy'], plan: planDetach('Group') },
  CreateAccessKey: { eventSources: IAM, from: 'event', produces: ['iam:UpdateAccessKey'], plan: planAccessKey },
  AddPermission: { eventSources: ['lambda.amazonaws.com'], from: 'event', produces: ['lambda:RemovePermission'], plan: planLambdaPermission },
  PutBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(false) },
  DeleteBucketPublicAccessBlock: { eventSources: S3, from: 'event', produces: ['s3:PutPublicAccessBlock'], plan: planBucketPab(true) },
  PutAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(false) },
  DeleteAccountPublicAccessBlock: { eventSources: S3_ACCOUNT, from: 'event', produces: ['s3control:PutPublicAccessBlock'], plan: planAccountPab(true) },

  UpdateTrail: { eventSources: ['cloudtrail.amazonaws.com'], from: 'baseline', produces: ['cloudtrail:UpdateTrail'], plan: planUpdateTrail },
  PutEventSelectors: { eventSources: ['cloudtrail.amazonaws.com'], from: 'baseline', produces: ['cloudtrail:PutEventSelectors'], plan: planEventSelectors },
  PutBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy', 's3:DeleteBucketPolicy'], plan: planBucketPolicy(false) },
  DeleteBucketPolicy: { eventSources: S3, from: 'baseline', produces: ['s3:PutBucketPolicy'], plan: planBucketPolicy(true) },
  UpdateAssumeRolePolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:UpdateAssumeRolePolicy'], plan: planAssumeRolePolicy },
  PutRolePolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutRolePolicy', 'iam:DeleteRolePolicy'], plan: planInlinePolicy('Role') },
  PutUserPolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutUserPolicy', 'iam:DeleteUserPolicy'], plan: planInlinePolicy('User') },
  PutGroupPolicy: { eventSources: IAM, from: 'baseline', produces: ['iam:PutGroupPolicy', 'iam:DeleteGroupPolicy'], plan: planInlinePolicy('Group') },
};

/** Every event vouch can plan a revert for: its source, whether it needs the baseline, and the calls it may make. */
export const REVERTIBLE_EVENTS: readonly { eventName: string; eventSources: string[]; from: 'event' | 'baseline'; produces: string[] }[] =
  Object.entries(PLANNERS).map(([eventName, p]) => ({ eventName, eventSources: p.eventSources, from: p.from, produces: p.produces }));

/** Decides the revert for a change, or says why there is none. Never throws on odd input; no I/O. */
export function planRevert(change: Change, ctx: PlanContext = {}): PlanDecision {
  const name = canonicalEventName(String(change.eventName ?? ''));
  const planner = Object.prototype.hasOwnProperty.call(PLANNERS, name) ? PLANNERS[name] : undefined;
  if (!planner) return none(`no automatic revert for ${change.eventName}`);
  if (change.eventSource && !planner.eventSources.includes(change.eventSource)) {
    return none(`${change.eventName} from ${change.eventSource} is not the ${planner.eventSources[0]} call vouch reverts`);
  }
  if (change.errorCode) {
    return none(`the call failed (${change.errorCode}): nothing was changed, nothing to revert`);
  }
  if (change.actor && isRevertPrincipal(change.actor, ctx.revertRoleName)) {
    return none(`made by vouch's own revert session (${change.actor.name}): never reverted again`);
  }
  const req = isRecord(change.request) ? change.request : {};
  const res = isRecord(change.response) ? change.response : null;
  try {
    return planner.plan({ change, req, res, ctx });
  } catch (err) {
    return none(`could not plan a revert for ${change.eventName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The revert role's name from VOUCH_REVERT_ROLE_ARN_TEMPLATE (`arn:aws:iam::{account}:role/path/NAME` → NAME). */
export function revertRoleNameFrom(template: string | undefined): string | undefined {
  const m = /:role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(template ?? '');
  return m ? m[1] : undefined;
}
