// Intake metrics as plain counters and one histogram, per source kind (sqs, lookup, files, review). `snapshot()`
// returns a plain object; a Prometheus exporter can read it (or replace these objects) without touching intake code.

export type SourceKind = 'sqs' | 'lookup' | 'files' | 'review' | 'other';

/** Upper bounds (seconds) of the lag histogram: eventTime → review start. */
const LAG_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 6 * 3600, 24 * 3600] as const;

export class Histogram {
  private readonly counts: number[];
  count = 0;
  sum = 0;
  max = 0;

  constructor(readonly buckets: readonly number[] = LAG_BUCKETS) {
    this.counts = new Array<number>(buckets.length + 1).fill(0);
  }

  observe(value: number): void {
    const v = Math.max(0, value);
    let i = this.buckets.findIndex((b) => v <= b);
    if (i < 0) i = this.buckets.length;
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.count += 1;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  /** Cumulative buckets, as Prometheus expects them (`le` = "+Inf" for the last). */
  snapshot(): HistogramSnapshot {
    let running = 0;
    const buckets = this.counts.map((c, i) => {
      running += c;
      return { le: i < this.buckets.length ? String(this.buckets[i]) : '+Inf', count: running };
    });
    return { count: this.count, sum: this.sum, max: this.max, buckets };
  }
}

export interface HistogramSnapshot {
  count: number;
  sum: number;
  max: number;
  buckets: Array<{ le: string; count: number }>;
}

export interface IntakeCounters {
  /** Records (or messages/files that could not even be split into records) handed to the pipeline. */
  read: number;
  /** Judged `ignore` by the policy. */
  ignored: number;
  /** A new review workflow was started. */
  started: number;
  /** The review already existed (a duplicate delivery, an overlapping window or a replay). */
  existing: number;
  /** Could not be processed and went to the dead-letter store. */
  failed: number;
  /** Transient failures handed back to the caller (to retry or redeliver): not lost, not yet done. */
  retried: number;
  /** Older than the maximum age: reported (in the dead-letter store), never reviewed. */
  tooOld: number;
  /** Reviews started later after their event than the LookupEvents overlap: raise the overlap (README, Intake). */
  late: number;
}

export interface IntakeSnapshot extends IntakeCounters {
  reviewed: number;
  lagSeconds: HistogramSnapshot;
  bySource: Partial<Record<SourceKind, IntakeCounters & { lagSeconds: HistogramSnapshot }>>;
}

function zero(): IntakeCounters {
  return { read: 0, ignored: 0, started: 0, existing: 0, failed: 0, retried: 0, tooOld: 0, late: 0 };
}

export class IntakeMetrics {
  private readonly total = zero();
  private readonly lag = new Histogram();
  private readonly perSource = new Map<SourceKind, { counters: IntakeCounters; lag: Histogram }>();

  private slot(kind: SourceKind): { counters: IntakeCounters; lag: Histogram } {
    let s = this.perSource.get(kind);
    if (!s) {
      s = { counters: zero(), lag: new Histogram() };
      this.perSource.set(kind, s);
    }
    return s;
  }

  inc(kind: SourceKind, counter: keyof IntakeCounters, by = 1): void {
    this.total[counter] += by;
    this.slot(kind).counters[counter] += by;
  }

  observeLag(kind: SourceKind, seconds: number): void {
    this.lag.observe(seconds);
    this.slot(kind).lag.observe(seconds);
  }

  snapshot(): IntakeSnapshot {
    const bySource: IntakeSnapshot['bySource'] = {};
    for (const [kind, s] of this.perSource) bySource[kind] = { ...s.counters, lagSeconds: s.lag.snapshot() };
    return {
      ...this.total,
      reviewed: this.total.started + this.total.existing,
      lagSeconds: this.lag.snapshot(),
      bySource,
    };
  }
}
