import { eventPlan, none, str, strings, type PlanArgs, type PlanDecision } from '../plan-common';

// ---- RDS snapshot sharing (row 38) ----

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
