// The intake pipeline every source shares (SQS, LookupEvents, S3 and folder backfills, `vouch review`):
//
//   record (unknown) → size check → normalise (normalise.ts) → an account vouch watches? (provenance.ts)
//     → judge (the policy, or a fixed tier: judges.ts)
//     → ignore: done
//     → older than the maximum age: reported (kept in the dead-letter store as "too old", counted), never reviewed:
//       a replayed backfill must not re-ask engineers or undo what security approved
//     → otherwise: start the review (workflow id from account + eventID, one start call that the server refuses when
//       the event already has a review: every path dedups, so the fast path and a backfill can overlap)
//
// A record that cannot be processed (too big, not a CloudTrail record, a field missing or of the wrong type, a
// policy error, a start the server refuses as invalid) goes to the dead-letter store with the reason: kept, never
// dropped. A transient failure (Temporal unreachable) is thrown as TransientIntakeError, and the caller leaves its
// input unacknowledged (SQS message not deleted, activity retried, backfill stopped with a non-zero exit).
//
// The first three stages are `checkRecord`: pure and synchronous, so a source can also run them as a dry pass over
// all its records before anything starts (`vouch review` is all or nothing).
import pLimit from 'p-limit';
import type { ReviewInput, Verdict } from '../core/types';
import type { DeadLetterStore } from './dead-letter';
import { JudgeRefusal, type Judge } from './judges';
import { IntakeMetrics, type SourceKind } from './metrics';
import { normalise, type NormalisedChange } from './normalise';
import { RecordError } from './record-check';
import type { AccountAllowList } from './provenance';

/** Starts (or finds) the review for one change. */
export type Starter = (input: Omit<ReviewInput, 'reviewUrl'>) => Promise<{ workflowId: string; status: 'started' | 'existing' }>;

/** What every review started by intake carries besides the change and the verdict (from config). */
export interface ReviewSettings {
  securityResponders: string[];
  /** Rehearse: reviews run, reverts only as EC2 DryRun or plans (VOUCH_DRY_RUN, --dry-run). */
  dryRun?: boolean;
  maxDuoPushes?: number;
  notifyChannel?: string;
  /** Notify tier: seconds of one person's digest window (VOUCH_NOTIFY_DIGEST_SECONDS); absent: one DM per change. */
  notifyDigestSeconds?: number;
  /** Confirm tier: seconds of one person's batch window (VOUCH_CONFIRM_BATCH_SECONDS); absent: one ask per change. */
  confirmBatchSeconds?: number;
}

export interface IntakeItem {
  kind: SourceKind;
  /** Where the record came from, for errors and dead letters: `s3://bucket/key.json.gz`, `sqs://…#<messageId>`. */
  source: string;
  /** Index of the record in its source (0 for single-record sources). */
  index: number;
  /** The parsed record (a RecordError from parseRecords when one line of JSON lines was unreadable). */
  record: unknown;
  /** The record's text as received, when the source has it (kept in dead letters instead of a re-serialisation). */
  text?: string;
  /** Bytes of the record as received; computed from `text` or the record when absent. */
  bytes?: number;
}

/** What the checks (size, normalise, judge) make of one record, before anything is started or kept. */
export type Checked =
  | { status: 'rejected'; reason: string; field?: string; details?: Record<string, unknown> }
  | { status: 'ignored'; change: NormalisedChange }
  | { status: 'review'; change: NormalisedChange; verdict: Verdict };

export type RecordResult =
  | { status: 'ignored'; eventId: string }
  | { status: 'started' | 'existing'; eventId: string; workflowId: string }
  /** `tooOld`: older than the maximum age; reported (kept in the dead-letter store with the reason), never reviewed. */
  | { status: 'dead-lettered'; reason: string; location: string; eventId?: string; tooOld?: true };

/** Intake could not finish a record for a reason that may pass (Temporal unreachable): retry or redeliver it. */
export class TransientIntakeError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'TransientIntakeError';
  }
}

export interface PipelineOptions {
  judge: Judge;
  starter: Starter;
  deadLetters: DeadLetterStore;
  review: ReviewSettings;
  metrics?: IntakeMetrics;
  /** Records above this size are dead-lettered (a review's input must stay well under Temporal's 2 MB payload limit). */
  maxRecordBytes?: number;
  /** Only records of these accounts are reviewed; others are dead-lettered with the reason. Absent: any account. */
  accounts?: AccountAllowList;
  /**
   * Records whose eventTime is older than this (seconds) are reported, never reviewed (VOUCH_INTAKE_MAX_AGE_SECONDS;
   * checked at start-up not to be longer than the namespace retention, so the review a replayed record would repeat is
   * still there to be found). Absent: no limit.
   */
  maxAgeSeconds?: number;
  /** A review started more than this many seconds after its event is counted as late (the LookupEvents overlap). */
  lateAfterSeconds?: number;
  /**
   * Refines a verdict before its review starts (judges.ts baselineReplanner: plans that need the trusted baseline).
   * A failure is transient: the record is retried or redelivered, never started with a verdict that lacks its plan.
   */
  replan?: (change: NormalisedChange, verdict: Verdict) => Promise<Verdict>;
  /** Called for each late review (e.g. a Prometheus counter). */
  onLate?: (kind: SourceKind, eventTime: string, seconds: number) => void;
  /** At most this many records per second through `process` (backfills that must not flood the server). */
  maxPerSecond?: number;
  /** Called after each record (tests, logs). */
  onResult?: (item: IntakeItem, result: RecordResult) => void;
  /** Called when a review is started, with its lag (e.g. src/cli/metrics.ts's observeIntakeLag). */
  onLag?: (kind: SourceKind, eventTime: string, seconds: number) => void;
  now?: () => number;
}

const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

/**
 * Records in flight at once by default. A start waits on one round trip to the Temporal server (and its database
 * write), so more in flight means more records/s until the server is the limit; README "Speed" has the measurements.
 */
export const DEFAULT_INTAKE_CONCURRENCY = 32;

/** gRPC INVALID_ARGUMENT: the server refuses this start for good (e.g. a payload over its size limit). */
const GRPC_INVALID_ARGUMENT = 3;

function isPermanentStartError(err: unknown): boolean {
  for (let e = err, depth = 0; e && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === GRPC_INVALID_ARGUMENT) return true;
  }
  return false;
}

/** The error's message and its causes' (the Temporal client wraps the server's answer in `cause`). */
function messageOf(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const m = e instanceof Error ? e.message : String(e);
    if (m && !parts.includes(m)) parts.push(m);
    if (typeof e !== 'object') break;
  }
  return parts.join(': ');
}

function eventIdOf(record: unknown): string | undefined {
  if (record && typeof record === 'object' && !Array.isArray(record)) {
    const id = (record as { eventID?: unknown }).eventID;
    if (typeof id === 'string' && id.length <= 128) return id;
  }
  return undefined;
}

function byteSize(item: IntakeItem): number | Error | undefined {
  if (item.bytes !== undefined) return item.bytes;
  if (item.text !== undefined) return Buffer.byteLength(item.text);
  if (item.record && typeof item.record === 'object' && !(item.record instanceof RecordError)) {
    try {
      return Buffer.byteLength(JSON.stringify(item.record));
    } catch (err) {
      return err as Error;
    }
  }
  return undefined;
}

/** Size check, normalise and judge: what the pipeline would do with the record, without doing it. */
export function checkRecord(item: IntakeItem, opts: { judge: Judge; maxRecordBytes?: number; accounts?: AccountAllowList }): Checked {
  const where = `${item.source}#${item.index}`;
  const max = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const bytes = byteSize(item);
  if (bytes instanceof Error) return { status: 'rejected', reason: `${where}: (record) cannot be serialised: ${messageOf(bytes)}`, field: '(record)' };
  if (bytes !== undefined && bytes > max) {
    return { status: 'rejected', reason: `${where}: (record) is ${bytes} bytes, over the ${max}-byte limit for one record`, field: '(record)', details: { bytes } };
  }
  let change: NormalisedChange;
  try {
    change = normalise(item.record, item.source, item.index);
  } catch (err) {
    if (err instanceof RecordError) return { status: 'rejected', reason: err.message, field: err.field };
    return { status: 'rejected', reason: `${where}: cannot be normalised: ${messageOf(err)}` };
  }
  if (opts.accounts && !opts.accounts.has(change.account)) {
    return {
      status: 'rejected',
      reason: `${where}: account ${change.account} is not one vouch watches (${opts.accounts.source}): ${change.eventName} ${change.eventId} is not reviewed`,
      field: 'recipientAccountId',
      details: { account: change.account, eventName: change.eventName },
    };
  }
  let verdict: Verdict | null;
  try {
    verdict = opts.judge(change);
  } catch (err) {
    if (err instanceof JudgeRefusal) return { status: 'rejected', reason: `${where}: ${err.message}`, details: { eventName: change.eventName } };
    return {
      status: 'rejected',
      reason: `${where}: the policy failed on ${change.eventName} ${change.eventId}: ${messageOf(err)}`,
      details: { eventName: change.eventName },
    };
  }
  return verdict === null ? { status: 'ignored', change } : { status: 'review', change, verdict };
}

/** Spaces calls at least 1/rate seconds apart (in this process). */
class RateLimiter {
  private next = 0;
  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  async take(): Promise<void> {
    const now = this.now();
    const at = Math.max(now, this.next);
    this.next = at + 1000 / this.perSecond;
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }
}

export class IntakePipeline {
  readonly metrics: IntakeMetrics;
  private readonly limiter?: RateLimiter;
  private readonly maxBytes: number;
  private readonly now: () => number;

  constructor(private readonly opts: PipelineOptions) {
    this.metrics = opts.metrics ?? new IntakeMetrics();
    this.maxBytes = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.now = opts.now ?? Date.now;
    if (opts.maxPerSecond && opts.maxPerSecond > 0) this.limiter = new RateLimiter(opts.maxPerSecond, this.now);
  }

  /**
   * Keeps something that never became a record (an SQS body that is not an envelope, a file that is not JSON or not
   * gzip) in the dead-letter store, counted as read and failed.
   */
  async reject(letter: {
    kind: SourceKind;
    source: string;
    reason: string;
    raw: unknown;
    field?: string;
    eventId?: string;
    details?: Record<string, unknown>;
  }): Promise<RecordResult & { status: 'dead-lettered' }> {
    this.metrics.inc(letter.kind, 'read');
    return this.deadLetter(letter);
  }

  private async deadLetter(letter: {
    kind: SourceKind;
    source: string;
    reason: string;
    raw: unknown;
    field?: string;
    eventId?: string;
    details?: Record<string, unknown>;
  }): Promise<RecordResult & { status: 'dead-lettered' }> {
    let location: string;
    try {
      location = await this.opts.deadLetters.put({
        sourceKind: letter.kind,
        source: letter.source,
        reason: letter.reason,
        raw: letter.raw,
        ...(letter.field ? { field: letter.field } : {}),
        ...(letter.eventId ? { eventId: letter.eventId } : {}),
        ...(letter.details ? { details: letter.details } : {}),
      });
    } catch (err) {
      // Not kept anywhere yet: the caller must not acknowledge the input.
      this.metrics.inc(letter.kind, 'retried');
      throw new TransientIntakeError(`${letter.source}: could not keep the dead letter (${messageOf(err)}); reason was: ${letter.reason}`, err);
    }
    this.metrics.inc(letter.kind, 'failed');
    return {
      status: 'dead-lettered',
      reason: letter.reason,
      location,
      ...(letter.eventId ? { eventId: letter.eventId } : {}),
    };
  }

  /** One record through the pipeline. Throws TransientIntakeError only for failures worth retrying. */
  async process(item: IntakeItem): Promise<RecordResult> {
    if (this.limiter) await this.limiter.take();
    this.metrics.inc(item.kind, 'read');
    const result = await this.processCounted(item);
    this.opts.onResult?.(item, result);
    return result;
  }

  private rawOf(item: IntakeItem): unknown {
    if (item.text !== undefined) return item.text;
    if (item.record instanceof RecordError) return undefined;
    return item.record;
  }

  private check(item: IntakeItem): Checked {
    return checkRecord(item, { judge: this.opts.judge, maxRecordBytes: this.maxBytes, ...(this.opts.accounts ? { accounts: this.opts.accounts } : {}) });
  }

  /** Reports a record too old to review: kept with the reason, counted, never started. */
  private async reportTooOld(item: IntakeItem, change: NormalisedChange, verdict: Verdict, ageSeconds: number): Promise<RecordResult> {
    const max = this.opts.maxAgeSeconds as number;
    const reason =
      `${item.source}#${item.index}: too old to review: ${change.eventName} ${change.eventId} at ${change.eventTime} is ` +
      `${Math.round(ageSeconds)} s old, over the maximum age of ${max} s (VOUCH_INTAKE_MAX_AGE_SECONDS); reported, not reviewed ` +
      `(the policy said ${verdict.tier}: ${verdict.rules.join(', ') || 'no rule'})`;
    let location: string;
    try {
      location = await this.opts.deadLetters.put({
        sourceKind: item.kind,
        source: `${item.source}#${item.index}`,
        reason,
        raw: this.rawOf(item),
        field: 'eventTime',
        eventId: change.eventId,
        details: { tooOld: true, ageSeconds: Math.round(ageSeconds), maxAgeSeconds: max, tier: verdict.tier, rules: verdict.rules, account: change.account },
      });
    } catch (err) {
      this.metrics.inc(item.kind, 'retried');
      throw new TransientIntakeError(`${item.source}#${item.index}: could not keep the too-old report (${messageOf(err)})`, err);
    }
    this.metrics.inc(item.kind, 'tooOld');
    return { status: 'dead-lettered', tooOld: true, reason, location, eventId: change.eventId };
  }

  /** Keeps a record the checks rejected (a dry pass found it unusable) in the dead-letter store, counted. */
  async deadLetterItem(item: IntakeItem, rejected: Checked & { status: 'rejected' }): Promise<RecordResult & { status: 'dead-lettered' }> {
    this.metrics.inc(item.kind, 'read');
    return this.keep(item, rejected);
  }

  private keep(item: IntakeItem, rejected: Checked & { status: 'rejected' }): Promise<RecordResult & { status: 'dead-lettered' }> {
    return this.deadLetter({
      kind: item.kind,
      source: `${item.source}#${item.index}`,
      reason: rejected.reason,
      raw: this.rawOf(item),
      field: rejected.field,
      eventId: eventIdOf(item.record),
      details: rejected.details,
    });
  }

  private async processCounted(item: IntakeItem): Promise<RecordResult> {
    const checked = this.check(item);
    if (checked.status === 'rejected') return this.keep(item, checked);
    const { change } = checked;
    if (checked.status === 'ignored') {
      this.metrics.inc(item.kind, 'ignored');
      return { status: 'ignored', eventId: change.eventId };
    }
    const where = `${item.source}#${item.index}`;
    if (this.opts.maxAgeSeconds !== undefined) {
      const age = (this.now() - Date.parse(change.eventTime)) / 1000;
      if (age > this.opts.maxAgeSeconds) return this.reportTooOld(item, change, checked.verdict, age);
    }
    let verdict = checked.verdict;
    if (this.opts.replan) {
      try {
        verdict = await this.opts.replan(change, verdict);
      } catch (err) {
        this.metrics.inc(item.kind, 'retried');
        throw new TransientIntakeError(`${where}: could not plan the revert of ${change.eventId} with the trusted baseline: ${messageOf(err)}`, err);
      }
    }
    let started: { workflowId: string; status: 'started' | 'existing' };
    try {
      started = await this.opts.starter({
        change,
        verdict,
        securityResponders: this.opts.review.securityResponders,
        ...(this.opts.review.maxDuoPushes ? { maxDuoPushes: this.opts.review.maxDuoPushes } : {}),
        ...(this.opts.review.notifyChannel ? { notifyChannel: this.opts.review.notifyChannel } : {}),
        ...(verdict.tier === 'notify' && this.opts.review.notifyDigestSeconds ? { notifyDigestSeconds: this.opts.review.notifyDigestSeconds } : {}),
        ...(verdict.tier === 'confirm' && this.opts.review.confirmBatchSeconds ? { confirmBatchSeconds: this.opts.review.confirmBatchSeconds } : {}),
        ...(this.opts.review.dryRun ? { dryRun: true } : {}),
      });
    } catch (err) {
      if (isPermanentStartError(err)) {
        return this.keep(item, { status: 'rejected', reason: `${where}: the Temporal server refused the review of ${change.eventName} ${change.eventId}: ${messageOf(err)}` });
      }
      this.metrics.inc(item.kind, 'retried');
      throw new TransientIntakeError(`${where}: could not start the review of ${change.eventId}: ${messageOf(err)}`, err);
    }
    this.metrics.inc(item.kind, started.status);
    if (started.status === 'started') {
      const lag = (this.now() - Date.parse(change.eventTime)) / 1000;
      this.metrics.observeLag(item.kind, lag);
      this.opts.onLag?.(item.kind, change.eventTime, lag);
      if (this.opts.lateAfterSeconds !== undefined && lag > this.opts.lateAfterSeconds) {
        this.metrics.inc(item.kind, 'late');
        this.opts.onLate?.(item.kind, change.eventTime, lag);
      }
    }
    return { status: started.status, eventId: change.eventId, workflowId: started.workflowId };
  }

  /**
   * Many records with at most `concurrency` in flight. Results come back in input order. A transient failure stops
   * new work; the records already in flight finish, then the first transient error is thrown.
   */
  async processAll(items: Iterable<IntakeItem>, concurrency = DEFAULT_INTAKE_CONCURRENCY): Promise<RecordResult[]> {
    const results: RecordResult[] = [];
    for await (const r of this.processInOrder(items, concurrency)) results.push(r);
    return results;
  }

  /** `processAll`, yielding each result (in input order) as soon as it and those before it are done. */
  async *processInOrder(items: Iterable<IntakeItem>, concurrency = DEFAULT_INTAKE_CONCURRENCY): AsyncGenerator<RecordResult> {
    const limit = pLimit(Math.max(1, concurrency));
    let failure: { error: unknown } | undefined;
    const pending = Array.from(items, (item) =>
      limit(async (): Promise<RecordResult | undefined> => {
        if (failure) return undefined; // stopped: not started
        try {
          return await this.process(item);
        } catch (error) {
          failure ??= { error };
          return undefined;
        }
      }),
    );
    for (const p of pending) {
      const result = await p;
      if (result === undefined) break;
      yield result;
    }
    if (failure) {
      await Promise.all(pending); // the records in flight finish first
      throw failure.error;
    }
  }
}
