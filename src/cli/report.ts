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
import { Command } from 'commander';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WORKFLOW_TYPE } from '../../workflows/messages';
import { VouchAccount, VouchActor, VouchOutcome, VouchRules, VouchTier } from '../../workflows/search-attributes';
import type { ReviewOutcome, TimelineEntry } from '../core/types';
import { act, UsageError } from './program';
import {
  buildReport,
  formatDuration,
  NOISY_MIN_REVIEWS,
  NOISY_SHARE,
  outcomeColumns,
  parseSince,
  parseTeams,
  type Counted,
  type Report,
  type ReviewRecord,
  type TeamMatcher,
} from './report-model';
import { renderHtml } from './report-html';
import { connectClientFromEnv } from './temporal-client';

const REPORT_CONCURRENCY = 8;
/** Reviews read at most; the report says when it stopped there. */
const DEFAULT_REPORT_LIMIT = 5000;

// ---- reading Temporal ----

/** Seconds from the review's start to its outcome, from the timeline; else close − start. */
function confirmSecondsOf(timeline: TimelineEntry[], start: Date, close?: Date): number | undefined {
  const started = timeline.find((t) => t.step === 'review.started');
  const ended = [...timeline].reverse().find((t) => t.step === 'review.outcome');
  if (started && ended) {
    const s = (Date.parse(ended.at) - Date.parse(started.at)) / 1000;
    if (Number.isFinite(s) && s >= 0) return s;
  }
  return close ? Math.max(0, (close.getTime() - start.getTime()) / 1000) : undefined;
}

function visibilityQuery(since: Date): string {
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
async function collectReviews(
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

function pct(share: number | null): string {
  return share === null ? '—' : `${Math.round(share * 100)}%`;
}

function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
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

function renderTerminal(report: Report): string {
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

export interface ReportDeps {
  /** Default: a client from the TEMPORAL_* environment. */
  connect?: () => Promise<{ client: Client; close(): Promise<void> }>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  env?: Record<string, string | undefined>;
  now?: () => Date;
}

export function reportCommand(deps: ReportDeps = {}): Command {
  const cmd = new Command('report')
    .summary('outcomes by rule, account and team; time to confirm; pages per week')
    .description('what the reviews of a period say: outcomes by rule, account and team, time to confirm, pages per week')
    .option('--since <when>', 'start of the period: 7d, 24h, 90m, 2w, or an ISO date', '7d')
    .option('--html <file>', 'also write the report as an HTML page')
    .option('--json', 'print the report as JSON instead of tables')
    .option('--teams <file>', 'teams file, {"team": ["actor or glob", …]} (default VOUCH_TEAMS_FILE)')
    .option('--limit <n>', `read at most this many reviews (default ${DEFAULT_REPORT_LIMIT})`);
  return act(cmd, (opts: ReportOptions) => report(opts, deps));
}

interface ReportOptions {
  since: string;
  html?: string;
  json?: boolean;
  teams?: string;
  limit?: string;
}

async function report(values: ReportOptions, deps: ReportDeps): Promise<number> {
  const out = deps.stdout ?? ((t: string) => process.stdout.write(t));
  const err = deps.stderr ?? ((t: string) => process.stderr.write(t));
  const env = deps.env ?? process.env;
  const now = deps.now?.() ?? new Date();
  let since: Date;
  let team: TeamMatcher | undefined;
  let limit = DEFAULT_REPORT_LIMIT;
  try {
    since = parseSince(values.since, now);
    const teamsFile = values.teams ?? env.VOUCH_TEAMS_FILE;
    if (teamsFile) team = parseTeams(fs.readFileSync(teamsFile, 'utf8'), teamsFile);
    if (values.limit !== undefined) {
      if (!/^\d+$/.test(values.limit) || Number(values.limit) < 1) throw new Error(`--limit ${values.limit}: must be a whole number ≥ 1`);
      limit = Number(values.limit);
    }
  } catch (e) {
    throw new UsageError((e as Error).message);
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
    const built = buildReport(reviews, { since, until: now, ...(team ? { team } : {}), truncated });
    out(values.json ? `${JSON.stringify(built, null, 2)}\n` : renderTerminal(built));
    if (values.html) {
      fs.mkdirSync(path.dirname(path.resolve(values.html)), { recursive: true });
      fs.writeFileSync(values.html, renderHtml(built));
      err(`vouch report: wrote ${values.html}\n`);
    }
    return 0;
  } finally {
    await close();
  }
}
