// `vouch report --since 7d [--html FILE] [--json] [--teams FILE]`: what the reviews of a period say, read from
// Temporal's visibility API. Numbers:
//   - outcomes by rule, by account and by team;
//   - the share of each rule's finished reviews that the engineer confirmed (a rule whose reviews are nearly always
//     "yes, this was me" is noisy: it asks people about their own intended changes);
//   - time to confirm, p50 / p90: from the review's start to its CONFIRMED outcome, read from the workflow result's
//     timeline (`review.started` → `review.outcome`), falling back to close time − start time;
//   - pages per week: finished reviews whose timeline shows a PagerDuty trigger, by the UTC week (Monday) they started.
// Sources: `WorkflowType="reviewChangeWorkflow" AND StartTime > "<since>"` lists the reviews with their search
// attributes (VouchTier, VouchOutcome, VouchAccount, VouchActor, VouchRules) and memo; each closed review's result
// (one close-event history read, at most REPORT_CONCURRENCY at a time) gives the timeline. Open reviews count as
// PENDING and are not in the page or time-to-confirm figures.
// Teams: `--teams FILE` or VOUCH_TEAMS_FILE, a JSON object `{ "team": ["actor", "glob*", …] }` matched against the
// review's actor (VouchActor: IAM user / session name, usually an e-mail for SSO; case-insensitive, `*` matches any
// run of characters; first team in file order wins). Without a mapping, or with no match, the team is "unknown".
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { z } from 'zod';
import { WORKFLOW_TYPE } from '../../workflows/messages';
import { VouchAccount, VouchActor, VouchOutcome, VouchRules, VouchTier } from '../../workflows/search-attributes';
import type { ReviewOutcome, TimelineEntry } from '../core/types';
import { connectClientFromEnv } from './temporal-client';
import { renderHtml } from './report-html';

export const REPORT_CONCURRENCY = 8;
/** Reviews read at most; the report says when it stopped there. */
export const DEFAULT_REPORT_LIMIT = 5000;
const NOISY_SHARE = 0.8;
const NOISY_MIN_REVIEWS = 5;
export const UNKNOWN_TEAM = 'unknown';

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
      const body = actor
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*');
      rules.push({ team, pattern: new RegExp(`^${body}$`, 'i') });
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

// ---- reading Temporal ----

/** Seconds from the review's start to its outcome, from the timeline; else close − start. */
export function confirmSecondsOf(timeline: TimelineEntry[], start: Date, close?: Date): number | undefined {
  const started = timeline.find((t) => t.step === 'review.started');
  const ended = [...timeline].reverse().find((t) => t.step === 'review.outcome');
  if (started && ended) {
    const s = (Date.parse(ended.at) - Date.parse(started.at)) / 1000;
    if (Number.isFinite(s) && s >= 0) return s;
  }
  return close ? Math.max(0, (close.getTime() - start.getTime()) / 1000) : undefined;
}

export function visibilityQuery(since: Date): string {
  return `WorkflowType="${WORKFLOW_TYPE}" AND StartTime > "${since.toISOString()}"`;
}

function recordFrom(info: WorkflowExecutionInfo): ReviewRecord {
  const sa = info.typedSearchAttributes;
  const summary = typeof info.memo?.summary === 'string' ? info.memo.summary : undefined;
  const status = info.status.name;
  let outcome = sa.get(VouchOutcome) ?? 'PENDING';
  // A review that did not complete normally (terminated, failed, timed out) is named by its workflow status.
  if (status !== 'RUNNING' && status !== 'COMPLETED' && outcome === 'PENDING') outcome = `WORKFLOW_${status}`;
  return {
    workflowId: info.workflowId,
    startTime: info.startTime,
    ...(info.closeTime ? { closeTime: info.closeTime } : {}),
    tier: sa.get(VouchTier) ?? 'unknown',
    outcome,
    account: sa.get(VouchAccount) ?? 'unknown',
    actor: sa.get(VouchActor) ?? 'unknown',
    rules: sa.get(VouchRules) ?? [],
    ...(summary ? { summary } : {}),
  };
}

/** Every review started after `since` (up to `limit`), with timeline facts for the finished ones. */
export async function collectReviews(
  client: Client,
  since: Date,
  opts: { limit?: number; concurrency?: number } = {},
): Promise<{ reviews: ReviewRecord[]; truncated: boolean }> {
  const limit = opts.limit ?? DEFAULT_REPORT_LIMIT;
  const infos: WorkflowExecutionInfo[] = [];
  let truncated = false;
  for await (const info of client.workflow.list({ query: visibilityQuery(since) })) {
    if (infos.length >= limit) {
      truncated = true;
      break;
    }
    infos.push(info);
  }
  const reviews = infos.map(recordFrom);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      const info = infos[i];
      const review = reviews[i];
      if (!info || !review) return;
      if (info.status.name !== 'COMPLETED') continue;
      const result = (await client.workflow.getHandle(info.workflowId, info.runId).result()) as ReviewOutcome;
      const timeline = Array.isArray(result?.timeline) ? result.timeline : [];
      review.paged = timeline.some((t) => t.step === 'pagerduty.triggered');
      if (review.outcome === 'CONFIRMED') {
        const s = confirmSecondsOf(timeline, info.startTime, info.closeTime);
        if (s !== undefined) review.confirmSeconds = s;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? REPORT_CONCURRENCY, infos.length) }, worker));
  return { reviews, truncated };
}

// ---- terminal output ----

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function pct(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 100)}%`;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Outcome columns in a stable, meaningful order (then anything else seen). */
export function outcomeColumns(report: Report): string[] {
  const order = ['CONFIRMED', 'APPROVED', 'DENIED', 'TIMED_OUT', 'REVERTED', 'REVERT_FAILED', 'ESCALATED', 'NOTIFIED', 'PENDING'];
  const seen = Object.keys(report.outcomes);
  return [...order.filter((o) => seen.includes(o)), ...seen.filter((o) => !order.includes(o)).sort()];
}

function countedTable(title: string, rows: Counted[], columns: string[], noisy: string[] = []): string {
  return `${title}\n${table(
    ['', 'reviews', ...columns.map((c) => c.toLowerCase()), '% confirmed'],
    rows.map((c) => [
      `${c.key}${noisy.includes(c.key) ? ' (noisy?)' : ''}`,
      String(c.total),
      ...columns.map((o) => String(c.outcomes[o] ?? 0)),
      pct(c.confirmedShare),
    ]),
  )}`;
}

export function renderTerminal(report: Report): string {
  const columns = outcomeColumns(report);
  const parts = [
    `vouch report: ${report.total} review(s) started ${report.since.toISOString()} … ${report.until.toISOString()}` +
      (report.open ? ` (${report.open} still open)` : '') +
      (report.truncated ? ` — stopped at ${report.total}; narrow --since` : ''),
    '',
    `Time to confirm: p50 ${formatDuration(report.timeToConfirm.p50)}, p90 ${formatDuration(report.timeToConfirm.p90)} ` +
      `(${report.timeToConfirm.count} confirmed)`,
    '',
    countedTable('By rule', report.byRule, columns, report.noisyRules),
    '',
    countedTable('By account', report.byAccount, columns),
    '',
    countedTable(`By team${report.teamsConfigured ? '' : ' (no teams file: set VOUCH_TEAMS_FILE or --teams)'}`, report.byTeam, columns),
    '',
    `Pages per week (UTC weeks from Monday)\n${table(
      ['week of', 'pages', 'reviews'],
      report.pagesPerWeek.map((w) => [w.week, String(w.pages), String(w.reviews)]),
    )}`,
  ];
  if (report.noisyRules.length > 0) {
    parts.push('', `Noisy rules (≥${NOISY_SHARE * 100}% confirmed over ≥${NOISY_MIN_REVIEWS} reviews): ${report.noisyRules.join(', ')}`);
  }
  return `${parts.join('\n')}\n`;
}

// ---- CLI ----

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

export interface ReportDeps {
  /** Default: a client from the TEMPORAL_* environment. */
  connect?: () => Promise<{ client: Client; close(): Promise<void> }>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  env?: Record<string, string | undefined>;
  now?: () => Date;
}

export async function reportCommand(argv: string[], deps: ReportDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => process.stderr.write(t));
  const env = deps.env ?? process.env;
  let values: { since?: string; html?: string; json?: boolean; teams?: string; limit?: string };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        since: { type: 'string', default: '7d' },
        html: { type: 'string' },
        json: { type: 'boolean', default: false },
        teams: { type: 'string' },
        limit: { type: 'string' },
      },
    }));
  } catch (e) {
    err(`vouch report: ${(e as Error).message}\nusage: vouch report [--since 7d] [--html FILE] [--json] [--teams FILE] [--limit N]\n`);
    return 2;
  }
  const now = deps.now?.() ?? new Date();
  let since: Date;
  let team: TeamMatcher | undefined;
  let limit = DEFAULT_REPORT_LIMIT;
  try {
    since = parseSince(values.since ?? '7d', now);
    const teamsFile = values.teams ?? env.VOUCH_TEAMS_FILE;
    if (teamsFile) team = parseTeams(fs.readFileSync(teamsFile, 'utf8'), teamsFile);
    if (values.limit !== undefined) {
      if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1) throw new Error(`--limit ${values.limit}: must be a whole number ≥ 1`);
      limit = Number(values.limit);
    }
  } catch (e) {
    err(`vouch report: ${(e as Error).message}\n`);
    return 2;
  }
  const connect =
    deps.connect ??
    (async () => {
      const { client, connection } = await connectClientFromEnv();
      return { client, close: () => connection.close() };
    });
  const { client, close } = await connect();
  try {
    const { reviews, truncated } = await collectReviews(client, since, { limit });
    const report = buildReport(reviews, { since, until: now, ...(team ? { team } : {}), truncated });
    out(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderTerminal(report));
    if (values.html) {
      fs.mkdirSync(path.dirname(path.resolve(values.html)), { recursive: true });
      fs.writeFileSync(values.html, renderHtml(report));
      err(`vouch report: wrote ${values.html}\n`);
    }
    return 0;
  } finally {
    await close();
  }
}
