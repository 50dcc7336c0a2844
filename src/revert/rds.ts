// RDS: a DB snapshot or cluster snapshot shared with another account (ModifyDBSnapshotAttribute /
// ModifyDBClusterSnapshotAttribute adding values to "restore") is unshared with the same call and ValuesToRemove.
import {
  DescribeDBClusterSnapshotAttributesCommand,
  DescribeDBSnapshotAttributesCommand,
  ModifyDBClusterSnapshotAttributeCommand,
  ModifyDBSnapshotAttributeCommand,
} from '@aws-sdk/client-rds';
import { eventPlan, none, str, strings, type PlanArgs, type PlanDecision } from './plan-common';
import { forbidden, orGone } from './failures';
import { need, onlyKeys, sdkInput, type Handler, type ServiceReverts } from './handler';

// ---- plan ----

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

// ---- run ----

function rdsShare(cluster: boolean): Handler {
  const op = cluster ? 'ModifyDBClusterSnapshotAttribute' : 'ModifyDBSnapshotAttribute';
  const idKey = cluster ? 'DBClusterSnapshotIdentifier' : 'DBSnapshotIdentifier';
  return {
    service: 'rds',
    operation: op,
    iam: { write: [`rds:${op}`], read: [cluster ? 'rds:DescribeDBClusterSnapshotAttributes' : 'rds:DescribeDBSnapshotAttributes'] },
    check(a) {
      need(a, idKey);
      if (a.AttributeName !== 'restore') throw forbidden(`${op} reverts only the restore attribute`);
      if (!Array.isArray(a.ValuesToRemove) || !a.ValuesToRemove.length || !a.ValuesToRemove.every((v) => typeof v === 'string')) {
        throw forbidden(`${op} revert needs ValuesToRemove`);
      }
      onlyKeys(a, [idKey, 'AttributeName', 'ValuesToRemove'], op);
    },
    async read(ctx) {
      const id = ctx.args[idKey] as string;
      const rds = ctx.client('rds');
      const what = `${cluster ? 'cluster snapshot' : 'snapshot'} ${id}`;
      const attrs = cluster
        ? (
            await orGone(['DBClusterSnapshotNotFoundFault', 'DBClusterSnapshotNotFound'], what, () =>
              rds.send(new DescribeDBClusterSnapshotAttributesCommand({ DBClusterSnapshotIdentifier: id })),
            )
          ).DBClusterSnapshotAttributesResult?.DBClusterSnapshotAttributes
        : (
            await orGone(['DBSnapshotNotFound', 'DBSnapshotNotFoundFault'], what, () =>
              rds.send(new DescribeDBSnapshotAttributesCommand({ DBSnapshotIdentifier: id })),
            )
          ).DBSnapshotAttributesResult?.DBSnapshotAttributes;
      return { restore: (attrs ?? []).find((x) => x.AttributeName === 'restore')?.AttributeValues ?? [] };
    },
    pending(state, ctx) {
      const now = (state as { restore: string[] }).restore;
      return (ctx.args.ValuesToRemove as string[]).filter((v) => now.includes(v)).map((v) => `still shared with ${v}`);
    },
    async apply(ctx) {
      const rds = ctx.client('rds');
      if (cluster) await rds.send(new ModifyDBClusterSnapshotAttributeCommand(sdkInput(ctx)));
      else await rds.send(new ModifyDBSnapshotAttributeCommand(sdkInput(ctx)));
    },
  };
}

const RDS = ['rds.amazonaws.com'];

export const rdsReverts: ServiceReverts = {
  planners: {
    ModifyDBSnapshotAttribute: { eventSources: RDS, from: 'event', produces: ['rds:ModifyDBSnapshotAttribute'], plan: planRdsShare(false) },
    ModifyDBClusterSnapshotAttribute: {
      eventSources: RDS,
      from: 'event',
      produces: ['rds:ModifyDBClusterSnapshotAttribute'],
      plan: planRdsShare(true),
    },
  },
  handlers: [rdsShare(false), rdsShare(true)],
};
