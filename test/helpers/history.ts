// Reading a review's event history (WorkflowHandle.fetchHistory) for fault tests: each activity's schedulings with the
// attempt that finally ran and the failure of the attempt before it (Temporal records retries on the started event:
// `attempt` and `lastFailure`; ActivityTaskFailed only when the retries are used up), and the whole history as text
// with every payload decoded, to look for what must not be there.
import type { WorkflowHandle } from '@temporalio/client';

type Long = { toString(): string } | number | string | null | undefined;
interface Failure {
  message?: string | null;
  cause?: Failure | null;
}
interface HistoryEvent {
  eventId?: Long;
  eventTime?: { seconds?: Long; nanos?: number | null } | null;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: Long; attempt?: number | null; lastFailure?: Failure | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: Long } | null;
  activityTaskFailedEventAttributes?: { scheduledEventId?: Long; failure?: Failure | null } | null;
  activityTaskTimedOutEventAttributes?: { scheduledEventId?: Long; failure?: Failure | null } | null;
}

export interface ActivityRun {
  name: string;
  scheduledAt: number;
  /** When the attempt that the history records started (the last one). */
  startedAt?: number;
  attempt: number;
  /** The failure of the attempt before `attempt`, with its causes, as one line. */
  lastFailure?: string;
  outcome: 'completed' | 'failed' | 'timed out' | 'open';
  failure?: string;
}

function num(v: Long): number {
  return v === null || v === undefined ? 0 : Number(v.toString());
}

function ms(t: HistoryEvent['eventTime']): number {
  return t ? num(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
}

function failureText(f: Failure | null | undefined): string | undefined {
  if (!f) return undefined;
  const parts: string[] = [];
  for (let c: Failure | null | undefined = f; c; c = c.cause) if (c.message) parts.push(c.message);
  return parts.join(' <- ');
}

/** Every activity scheduling of the review, in order. */
export async function activityRuns(handle: WorkflowHandle): Promise<ActivityRun[]> {
  const history = await handle.fetchHistory();
  const byScheduled = new Map<number, ActivityRun>();
  for (const e of (history.events ?? []) as HistoryEvent[]) {
    const id = num(e.eventId);
    if (e.activityTaskScheduledEventAttributes) {
      byScheduled.set(id, { name: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?', scheduledAt: ms(e.eventTime), attempt: 1, outcome: 'open' });
    }
    const started = e.activityTaskStartedEventAttributes;
    if (started) {
      const run = byScheduled.get(num(started.scheduledEventId));
      if (run) {
        run.startedAt = ms(e.eventTime);
        run.attempt = started.attempt ?? 1;
        const last = failureText(started.lastFailure);
        if (last) run.lastFailure = last;
      }
    }
    const done: Array<[ActivityRun['outcome'], { scheduledEventId?: Long; failure?: Failure | null } | null | undefined]> = [
      ['completed', e.activityTaskCompletedEventAttributes],
      ['failed', e.activityTaskFailedEventAttributes],
      ['timed out', e.activityTaskTimedOutEventAttributes],
    ];
    for (const [outcome, attrs] of done) {
      const run = attrs ? byScheduled.get(num(attrs.scheduledEventId)) : undefined;
      if (run && attrs) {
        run.outcome = outcome;
        const f = failureText(attrs.failure);
        if (f) run.failure = f;
      }
    }
  }
  return [...byScheduled.values()];
}

/**
 * A plain copy of a decoded protobuf message: byte strings (payload data and metadata) as UTF-8 text, 64-bit numbers
 * as decimal text. Walked by hand: the messages' own toJSON would turn bytes into base64, hiding what they say.
 */
export function plain(v: unknown, depth = 0): unknown {
  if (depth > 64) return '<too deep>';
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (Array.isArray(v)) return v.map((x) => plain(x, depth + 1));
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.low === 'number' && typeof o.high === 'number' && typeof o.unsigned === 'boolean') return String(o.toString());
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) out[k] = plain(o[k], depth + 1);
    return out;
  }
  return v;
}

/** The history as JSON text, every payload decoded. */
export async function historyText(handle: WorkflowHandle): Promise<string> {
  return JSON.stringify(plain(await handle.fetchHistory()));
}
