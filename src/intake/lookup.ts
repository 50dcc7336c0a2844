// Polling intake: CloudTrail LookupEvents per account and Region, run by durable poller workflows
// (workflows/lookup-poller.ts) whose activity reads one page at a time (lookup-page.ts). This module is the Node
// side: the page's records into the pipeline, the page reader's dependencies for the worker, and `ensurePollers`
// (`vouch ingest --from lookup`), which starts one poller per configured account and Region.
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LookupTarget, PageCounts } from '../core/lookup';
import type { LookupDeps, LookupRecord } from './lookup-page';
import { RecordError } from './record-check';
import { isRecord } from '../core/records';
import { LOOKUP_POLLER_WORKFLOW_TYPE, lookupPollerWorkflowId } from '../../workflows/messages';
import type { LookupPollerInput, lookupPollerWorkflow } from '../../workflows/lookup-poller';
import { createCloudTrailClients, type CloudTrailClientOptions } from './accounts';
import { DEFAULT_INTAKE_CONCURRENCY, type IntakeItem, type IntakePipeline } from './pipeline';

/**
 * Turns one page's records into pipeline items: the CloudTrailEvent string is the record. A page read with account
 * X's role holds X's records only: a record naming another account is refused (provenance.ts).
 */
function lookupItems(target: LookupTarget, records: LookupRecord[]): IntakeItem[] {
  return records.map((r) => {
    const base = { kind: 'lookup' as const, source: r.source, index: 0 };
    if (r.cloudTrailEvent === undefined) {
      return { ...base, record: new RecordError(r.source, 0, 'CloudTrailEvent', 'is missing from the LookupEvents event'), text: JSON.stringify(r) };
    }
    let record: unknown;
    try {
      record = JSON.parse(r.cloudTrailEvent);
    } catch (err) {
      record = new RecordError(r.source, 0, 'CloudTrailEvent', `is not valid JSON: ${(err as Error).message}`);
    }
    const account = isRecord(record) ? record.recipientAccountId : undefined;
    if (isRecord(record) && account !== undefined && account !== target.account) {
      record = new RecordError(r.source, 0, 'recipientAccountId', `is ${JSON.stringify(account)}, but this page was read from account ${target.account}: not reviewed`);
    }
    return { ...base, record, text: r.cloudTrailEvent };
  });
}

/** `ingestPage` for the activity: every record of the page through the pipeline, counted. */
export function pageIngester(pipeline: IntakePipeline, concurrency = DEFAULT_INTAKE_CONCURRENCY) {
  return async (target: LookupTarget, records: LookupRecord[]): Promise<PageCounts> => {
    const results = await pipeline.processAll(lookupItems(target, records), concurrency);
    const counts: PageCounts = { ignored: 0, started: 0, existing: 0, deadLettered: 0 };
    for (const r of results) {
      if (r.status === 'dead-lettered') counts.deadLettered += 1;
      else counts[r.status] += 1;
    }
    return counts;
  };
}

export interface LookupDepsOptions extends CloudTrailClientOptions {
  pipeline: IntakePipeline;
  concurrency?: number;
}

/** The page reader's dependencies from a pipeline and client options. */
export function createLookupDeps(opts: LookupDepsOptions): { cloudtrailLookup: LookupDeps } {
  const clientFor = createCloudTrailClients(opts);
  const ingest = pageIngester(opts.pipeline, opts.concurrency);
  return { cloudtrailLookup: { clientFor, ingestPage: (target, records) => ingest(target, records) } };
}

export type PollerSettings = Omit<LookupPollerInput, 'account' | 'region' | 'roleArn' | 'externalId' | 'state'>;

export interface EnsuredPoller {
  workflowId: string;
  account: string;
  region: string;
  status: 'started' | 'existing';
}

/** Starts one poller per target unless it runs already (USE_EXISTING); returns what it found or started. */
export async function ensurePollers(
  client: Client,
  targets: LookupTarget[],
  opts: { taskQueue: string; settings?: PollerSettings },
): Promise<EnsuredPoller[]> {
  const out: EnsuredPoller[] = [];
  for (const t of targets) {
    const workflowId = lookupPollerWorkflowId(t.account, t.region);
    const handle = client.workflow.getHandle(workflowId);
    try {
      const desc = await handle.describe();
      if (desc.status.name === 'RUNNING') {
        out.push({ workflowId, account: t.account, region: t.region, status: 'existing' });
        continue;
      }
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    const input: LookupPollerInput = { ...(opts.settings ?? {}), ...t };
    await client.workflow.start<typeof lookupPollerWorkflow>(LOOKUP_POLLER_WORKFLOW_TYPE, {
      taskQueue: opts.taskQueue,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      memo: { summary: `CloudTrail LookupEvents poller for ${t.account}/${t.region}` },
    });
    out.push({ workflowId, account: t.account, region: t.region, status: 'started' });
  }
  return out;
}

/** Running pollers that the accounts file no longer lists (candidates to terminate). */
export async function orphanPollers(client: Client, targets: LookupTarget[]): Promise<string[]> {
  const wanted = new Set(targets.map((t) => lookupPollerWorkflowId(t.account, t.region)));
  const orphans: string[] = [];
  for await (const wf of client.workflow.list({
    query: `WorkflowType = '${LOOKUP_POLLER_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running'`,
  })) {
    if (!wanted.has(wf.workflowId)) orphans.push(wf.workflowId);
  }
  return orphans;
}
