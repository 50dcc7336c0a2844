// The Temporal schedule that refreshes the trusted baseline (`vouch baseline schedule`): created or updated in place.
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptionsAction } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import type { BaselineRefreshInput } from '../../../workflows/baseline-refresh';

export const BASELINE_SCHEDULE_ID = 'vouch-baseline-refresh';
export const BASELINE_WORKFLOW_TYPE = 'baselineRefreshWorkflow';

export interface BaselineScheduleOptions {
  input: BaselineRefreshInput;
  taskQueue: string;
  /** e.g. '6 hours', '30 minutes' (Temporal duration). Default '6 hours'. */
  every?: Duration;
  scheduleId?: string;
}

/** Creates the schedule, or updates it when it exists. Returns 'created' or 'updated'. */
export async function ensureBaselineSchedule(client: Client, o: BaselineScheduleOptions): Promise<'created' | 'updated'> {
  const scheduleId = o.scheduleId ?? BASELINE_SCHEDULE_ID;
  const every = o.every ?? '6 hours';
  const action: ScheduleOptionsAction = {
    type: 'startWorkflow',
    workflowType: BASELINE_WORKFLOW_TYPE,
    workflowId: `${scheduleId}-run`,
    taskQueue: o.taskQueue,
    args: [o.input],
    workflowExecutionTimeout: '1 hour',
  };
  const handle = client.schedule.getHandle(scheduleId);
  try {
    await handle.update((prev) => ({ ...prev, spec: { intervals: [{ every }] }, action }));
    return 'updated';
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
  await client.schedule.create({
    scheduleId,
    spec: { intervals: [{ every }] },
    action,
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' },
    memo: { purpose: 'refresh the trusted baseline of watched AWS configuration' },
  });
  return 'created';
}
