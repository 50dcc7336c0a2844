import { eventPlan, isRecord, items, none, str, strings, type PlanArgs, type PlanDecision } from '../plan-common';

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

export function planRdsShare(cluster: boolean) {
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
