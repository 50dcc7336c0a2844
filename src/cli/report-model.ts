// The numbers of `vouch report` (see report.ts for where they come from): outcomes by rule, account and team, the
// share of confirmations per rule, time to confirm, pages per week; and the formatting both renderings share.
import { z } from 'zod';
import { globRegExp } from '../core/glob';

export const NOISY_SHARE = 0.8;
export const NOISY_MIN_REVIEWS = 5;
const UNKNOWN_TEAM = 'unknown';

/** One review, as the report needs it. */
export interface ReviewRecord {
  workflowId: string;
  startTime: Date;
  closeTime?: Date;
  tier: string;
  outcome: string;
  account: string;
  actor: string;
  rules: string[];
  summary?: string;
  /** Seconds to confirmation, for CONFIRMED reviews. */
  confirmSeconds?: number;
  /** true when the review paged security (PagerDuty trigger in its timeline); undefined when still open. */
  paged?: boolean;
}

export interface Counted {
  key: string;
  total: number;
  outcomes: Record<string, number>;
  /** CONFIRMED / finished reviews (PENDING excluded); null when none finished. */
  confirmedShare: number | null;
}

export interface Report {
  since: Date;
  until: Date;
  total: number;
  open: number;
  truncated: boolean;
  outcomes: Record<string, number>;
  byRule: Counted[];
  byAccount: Counted[];
  byTeam: Counted[];
  /** Rules whose finished reviews were confirmed at least 80% of the time, over at least 5 reviews. */
  noisyRules: string[];
  timeToConfirm: { count: number; p50: number | null; p90: number | null; samples: number[] };
  pagesPerWeek: { week: string; pages: number; reviews: number }[];
  teamsConfigured: boolean;
}

// ---- teams ----

export type TeamMatcher = (actor: string) => string;

const teamsSchema = z.record(z.string().trim().min(1, 'team names must not be empty'), z.array(z.string().trim().min(1)).min(1));

/** Parse a teams file; errors name the file, the team and the entry. */
export function parseTeams(jsonText: string, source: string): TeamMatcher {
  let data: unknown;
  try {
    data = JSON.parse(jsonText);
  } catch (err) {
    throw new Error(`${source}: teams file is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = teamsSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(top level)'}: ${i.message}`);
    throw new Error(`${source}: invalid teams file (expected {"team": ["actor or glob", …]}): ${problems.join('; ')}`);
  }
  const rules: { team: string; pattern: RegExp }[] = [];
  for (const [team, actors] of Object.entries(parsed.data)) {
    for (const actor of actors) {
      rules.push({ team, pattern: globRegExp(actor, { ignoreCase: true }) });
    }
  }
  return (actor: string) => rules.find((r) => r.pattern.test(actor))?.team ?? UNKNOWN_TEAM;
}

// ---- the numbers ----

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? null;
}

/** Monday 00:00 UTC of the week `d` is in, as YYYY-MM-DD. */
export function weekOf(d: Date): string {
  const day = (d.getUTCDay() + 6) % 7; // Monday = 0
  const monday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - day));
  return monday.toISOString().slice(0, 10);
}

function countBy(reviews: ReviewRecord[], keysOf: (r: ReviewRecord) => string[]): Counted[] {
  const map = new Map<string, Counted>();
  for (const r of reviews) {
    for (const key of new Set(keysOf(r))) {
      const c = map.get(key) ?? { key, total: 0, outcomes: {}, confirmedShare: null };
      c.total += 1;
      c.outcomes[r.outcome] = (c.outcomes[r.outcome] ?? 0) + 1;
      map.set(key, c);
    }
  }
  for (const c of map.values()) {
    const finished = c.total - (c.outcomes.PENDING ?? 0);
    c.confirmedShare = finished > 0 ? (c.outcomes.CONFIRMED ?? 0) / finished : null;
  }
  return [...map.values()].sort((a, b) => b.total - a.total || a.key.localeCompare(b.key));
}

export function buildReport(
  reviews: ReviewRecord[],
  opts: { since: Date; until: Date; team?: TeamMatcher; truncated?: boolean },
): Report {
  const team = opts.team ?? (() => UNKNOWN_TEAM);
  const outcomes: Record<string, number> = {};
  for (const r of reviews) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
  const byRule = countBy(reviews, (r) => (r.rules.length > 0 ? r.rules : ['(no rule)']));
  const samples = reviews
    .filter((r) => r.outcome === 'CONFIRMED' && r.confirmSeconds !== undefined)
    .map((r) => r.confirmSeconds as number)
    .sort((a, b) => a - b);
  const weeks = new Map<string, { pages: number; reviews: number }>();
  for (let t = Date.parse(weekOf(opts.since)); t <= opts.until.getTime(); t += 7 * 86_400_000) {
    weeks.set(new Date(t).toISOString().slice(0, 10), { pages: 0, reviews: 0 });
  }
  for (const r of reviews) {
    const w = weekOf(r.startTime);
    const entry = weeks.get(w) ?? { pages: 0, reviews: 0 };
    entry.reviews += 1;
    if (r.paged) entry.pages += 1;
    weeks.set(w, entry);
  }
  return {
    since: opts.since,
    until: opts.until,
    total: reviews.length,
    open: outcomes.PENDING ?? 0,
    truncated: opts.truncated ?? false,
    outcomes,
    byRule,
    byAccount: countBy(reviews, (r) => [r.account]),
    byTeam: countBy(reviews, (r) => [team(r.actor)]),
    noisyRules: byRule
      .filter((c) => c.confirmedShare !== null && c.confirmedShare >= NOISY_SHARE && c.total - (c.outcomes.PENDING ?? 0) >= NOISY_MIN_REVIEWS)
      .map((c) => c.key),
    timeToConfirm: { count: samples.length, p50: percentile(samples, 50), p90: percentile(samples, 90), samples },
    pagesPerWeek: [...weeks.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([week, v]) => ({ week, ...v })),
    teamsConfigured: opts.team !== undefined,
  };
}


// ---- formatting shared by the terminal and HTML renderings ----

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Outcome columns in a stable, meaningful order (then anything else seen). */
export function outcomeColumns(report: Report): string[] {
  const order = ['CONFIRMED', 'APPROVED', 'DENIED', 'TIMED_OUT', 'REVERTED', 'REVERT_FAILED', 'ESCALATED', 'NOTIFIED', 'PENDING'];
  const seen = Object.keys(report.outcomes);
  return [...order.filter((o) => seen.includes(o)), ...seen.filter((o) => !order.includes(o)).sort()];
}

/** `7d`, `24h`, `90m`, `2w`, or an ISO date/time, as the start of the period. */
export function parseSince(value: string, now: Date = new Date()): Date {
  const m = /^(\d+)\s*([mhdw])$/.exec(value.trim());
  if (m) {
    const n = Number(m[1]);
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 }[m[2] as 'm' | 'h' | 'd' | 'w'];
    if (n <= 0) throw new Error(`--since ${value}: must be more than zero`);
    return new Date(now.getTime() - n * unit);
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const at = Date.parse(value);
    if (!Number.isNaN(at)) {
      if (at > now.getTime()) throw new Error(`--since ${value}: is in the future`);
      return new Date(at);
    }
  }
  throw new Error(`--since ${value}: expected a duration like 7d, 24h, 90m, 2w, or an ISO date such as 2026-11-01`);
}
