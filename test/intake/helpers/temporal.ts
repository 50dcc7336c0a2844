// Counting reviews on the test's Temporal server, through its visibility store (what security's queries use).
import type { Client } from '@temporalio/client';
import { eventually } from '../../helpers/temporal';

/** Review executions per workflow id for one account (VouchAccount), every run counted. */
export async function reviewsByWorkflowId(client: Client, account: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const wf of client.workflow.list({ query: `VouchAccount = '${account}'` })) {
    out.set(wf.workflowId, (out.get(wf.workflowId) ?? 0) + 1);
  }
  return out;
}

/** Waits until the account has at least `n` review executions (a cheap count), then lists them. */
export async function waitForReviews(client: Client, account: string, n: number, timeoutMs = 30_000): Promise<Map<string, number>> {
  await eventually(async () => (await client.workflow.count(`VouchAccount = '${account}'`)).count >= n, timeoutMs, `${n} reviews in ${account}`);
  return reviewsByWorkflowId(client, account);
}

/** eventIDs reviewed in `account`, from `vouch-<account>-<eventID>` ids. */
export function eventIdsOf(byId: Map<string, number>, account: string): Set<string> {
  const prefix = `vouch-${account}-`;
  return new Set([...byId.keys()].filter((id) => id.startsWith(prefix)).map((id) => id.slice(prefix.length)));
}
