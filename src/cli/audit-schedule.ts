// The Temporal Schedule that runs the audit of terminated reviews (workflows/terminated-audit.ts), created or updated
// in place by every `vouch worker` at start-up, so it exists wherever reviews run. Overlapping runs are skipped; a
// missed run is caught up within a window (the next run covers the gap anyway: it starts where the last one ended).
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import { TERMINATED_AUDIT_SCHEDULE_ID, TERMINATED_AUDIT_WORKFLOW_TYPE } from '../../workflows/messages';
import type { TerminatedAuditInput } from '../../workflows/terminated-audit';

export interface AuditScheduleOptions {
  taskQueue: string;
  /** Seconds between runs (VOUCH_AUDIT_INTERVAL_SECONDS). */
  everySeconds: number;
  input: TerminatedAuditInput;
  scheduleId?: string;
}

/** Creates the schedule, or updates it when it exists. Returns 'created' or 'updated'. */
export async function ensureAuditSchedule(client: Client, o: AuditScheduleOptions): Promise<'created' | 'updated'> {
  const scheduleId = o.scheduleId ?? TERMINATED_AUDIT_SCHEDULE_ID;
  const spec = { intervals: [{ every: o.everySeconds * 1000 }] };
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: TERMINATED_AUDIT_WORKFLOW_TYPE,
    workflowId: `${scheduleId}-run`,
    taskQueue: o.taskQueue,
    args: [o.input],
    workflowExecutionTimeout: '30 minutes',
  };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.update((prev) => ({ ...prev, spec, action }));
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      memo: { purpose: 'page security about reviews terminated through Temporal' },
    });
  } catch (err) {
    // Two workers starting at once: the other one created it.
    if (err instanceof ScheduleAlreadyRunning) return 'updated';
    throw err;
  }
  return 'created';
}
