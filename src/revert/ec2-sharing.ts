// EC2 sharing: a snapshot shared by ModifySnapshotAttribute (create-volume permissions) or an image shared by
// ModifyImageAttribute (launch permissions) is unshared with the same call, removing exactly the grantees the request
// added. Read before and after with Describe*Attribute; EC2 DryRun where asked.
import {
  DescribeImageAttributeCommand,
  DescribeSnapshotAttributeCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { isRecord } from '../core/text';
import { eventPlan, items, none, str, strings, type PlanArgs, type PlanDecision } from './plan-common';
import { forbidden, orGone } from './failures';
import { applyEc2, need, onlyKeys, sdkInput, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

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
    apply: (ctx, _state, dryRun) => applyEc2(dryRun, (extra) => s.modify(ctx.client('ec2'), sdkInput(ctx, extra))),
  };
}

const EC2 = ['ec2.amazonaws.com'];

export const ec2SharingReverts: ServiceReverts = {
  planners: {
    ModifySnapshotAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifySnapshotAttribute'], plan: planShare(SNAPSHOT) },
    ModifyImageAttribute: { eventSources: EC2, from: 'event', produces: ['ec2:ModifyImageAttribute'], plan: planShare(IMAGE) },
  },
  handlers: [shareHandler(SNAPSHOT), shareHandler(IMAGE)],
};
