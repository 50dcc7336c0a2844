import {
  DescribeDBClusterSnapshotAttributesCommand,
  DescribeDBSnapshotAttributesCommand,
  ModifyDBClusterSnapshotAttributeCommand,
  ModifyDBSnapshotAttributeCommand,
} from '@aws-sdk/client-rds';
import { forbidden, orGone } from '../failures';
import { need, onlyKeys, sdkInput, type Handler } from '../handler';

// RDS snapshot sharing (row 38): only ever ValuesToRemove.

export function rdsShare(cluster: boolean): Handler {
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
