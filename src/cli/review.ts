// `vouch review FILE|-`: CloudTrail records in, reviews started. Every record is checked first; if any is
// unusable, the errors name the file, record and field, and nothing starts.
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { normalise, parseRecords, RecordError } from '../intake/normalise';
import { planRevert } from '../revert/plan';
import { assess, loadPolicy, toVerdict, type Policy } from '../policy';
import { intakeSchema, loadConfig, type IntakeConfig } from './config';
import { policyFromConfig, reviewSettings } from './intake-settings';
import { act, type CommandIo } from './program';
import { connectClient } from './temporal-client';
import { startReview } from '../intake/starter';
import type { Change, ReviewInput, Verdict } from '../core/types';

export interface PreparedReview {
  source: string;
  index: number;
  input: Omit<ReviewInput, 'reviewUrl' | 'securityResponders'>;
}

/** A record the policy judged `ignore`: reported, never started. */
export interface IgnoredRecord {
  source: string;
  index: number;
  eventID: string;
  eventName: string;
}

const TIERS = ['notify', 'confirm', 'page', 'revert'] as const;
const DEFAULT_SCORE: Record<Verdict['tier'], number> = { notify: 20, confirm: 50, page: 80, revert: 90 };

export function prepareReviews(
  inputs: Array<{ source: string; text: string }>,
  flags: { tier?: string; deadline?: string; score?: string },
  defaults: { deadlineSeconds: number; maxDuoPushes?: number; policy?: Policy } = { deadlineSeconds: 900 },
): { reviews: PreparedReview[]; ignored: IgnoredRecord[]; errors: string[] } {
  const errors: string[] = [];
  const ignored: IgnoredRecord[] = [];
  // Without --tier the policy decides (the shipped default, or VOUCH_POLICY_FILE via the caller).
  const usePolicy = flags.tier === undefined;
  const policy = usePolicy ? (defaults.policy ?? loadPolicy()) : undefined;
  const tier = (flags.tier ?? 'confirm') as Verdict['tier'];
  if (!usePolicy && !TIERS.includes(tier)) errors.push(`--tier must be one of ${TIERS.join(', ')}, got "${flags.tier}"`);
  const deadlineSeconds = flags.deadline === undefined ? defaults.deadlineSeconds : Number(flags.deadline);
  if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 1) {
    errors.push(`--deadline must be a whole number of seconds, got "${flags.deadline}"`);
  }
  const score = flags.score === undefined ? DEFAULT_SCORE[tier] ?? 50 : Number(flags.score);
  if (!Number.isFinite(score) || score < 0 || score > 100) errors.push(`--score must be 0–100, got "${flags.score}"`);
  if (errors.length) return { reviews: [], ignored, errors };

  const reviews: PreparedReview[] = [];
  for (const { source, text } of inputs) {
    let records: unknown[];
    try {
      records = parseRecords(text, source);
    } catch (err) {
      errors.push((err as Error).message);
      continue;
    }
    if (records.length === 0) errors.push(`${source}: no CloudTrail records found`);
    records.forEach((raw, index) => {
      let change: Change;
      try {
        change = normalise(raw, source, index);
      } catch (err) {
        errors.push(err instanceof RecordError ? err.message : `${source}#${index}: ${(err as Error).message}`);
        return;
      }
      if (policy) {
        const assessment = assess(change, policy);
        const verdict = toVerdict(assessment);
        if (!verdict) {
          ignored.push({ source, index, eventID: change.eventId, eventName: change.eventName });
          return;
        }
        if (flags.deadline !== undefined) verdict.deadlineSeconds = deadlineSeconds;
        reviews.push({
          source,
          index,
          input: { change, verdict, ...(defaults.maxDuoPushes ? { maxDuoPushes: defaults.maxDuoPushes } : {}) },
        });
        return;
      }
      const { plan, reason } = planRevert(change);
      if (tier === 'revert' && !plan) {
        errors.push(`${source}#${index}: --tier revert, but ${change.eventName} ${change.eventId} has no revert plan (${reason})`);
        return;
      }
      reviews.push({
        source,
        index,
        input: {
          change,
          verdict: {
            tier,
            score,
            rules: [`manual-${tier}`],
            reasons: [`${change.summary} (tier ${tier} set on the command line)`],
            deadlineSeconds,
            revertPlan: plan,
          },
          ...(defaults.maxDuoPushes ? { maxDuoPushes: defaults.maxDuoPushes } : {}),
        },
      });
    });
  }
  return { reviews, ignored, errors };
}

export interface StartedLine {
  source: string;
  index: number;
  eventID: string;
  workflowId: string;
  status: 'started' | 'existing';
  url: string;
}

export async function* startPrepared(
  reviews: PreparedReview[],
  config: IntakeConfig = loadConfig(intakeSchema),
): AsyncGenerator<StartedLine> {
  const { client, connection } = await connectClient(config);
  try {
    for (const r of reviews) {
      const res = await startReview(
        client,
        {
          ...r.input,
          ...reviewSettings(config),
        },
        { taskQueue: config.TEMPORAL_TASK_QUEUE, uiBaseUrl: config.VOUCH_UI_BASE_URL },
      );
      yield {
        source: r.source,
        index: r.index,
        eventID: r.input.change.eventId,
        workflowId: res.workflowId,
        status: res.status,
        url: `${config.VOUCH_UI_BASE_URL.replace(/\/+$/, '')}/namespaces/${config.TEMPORAL_NAMESPACE}/workflows/${res.workflowId}`,
      };
    }
  } finally {
    await connection.close();
  }
}

// ---- the command ----

interface ReviewOptions {
  policy?: string;
  tier?: Verdict['tier'];
  dryRun?: boolean;
  deadline?: string;
  score?: string;
}

export function reviewCommand(io: CommandIo = {}): Command {
  const cmd = new Command('review')
    .summary('start reviews for files of CloudTrail records')
    .description('start reviews for CloudTrail records ({"Records":[…]}, an array, one record, JSON lines); every record is checked first')
    .argument('<file...>', 'files of CloudTrail records, or - for standard input')
    .option('--policy <file>', 'the policy that decides (default VOUCH_POLICY_FILE, else the shipped one)')
    .addOption(new Option('--tier <tier>', 'force one tier for every record instead of the policy').choices(TIERS))
    .option('--dry-run', 'rehearse: reverts only as EC2 DryRun calls or plans (VOUCH_DRY_RUN)')
    .option('--deadline <seconds>', 'answer deadline (default VOUCH_DEADLINE_SECONDS or 900)')
    .option('--score <n>', 'risk score to record (default by tier)');
  return act(cmd, async (files: string[], opts: ReviewOptions) => {
    const stdout = io.stdout ?? process.stdout;
    const stderr = io.stderr ?? process.stderr;
    const loaded = loadConfig(intakeSchema);
    const config = opts.dryRun ? { ...loaded, VOUCH_DRY_RUN: true } : loaded;
    const inputs = files.map((p) => ({ source: p === '-' ? 'stdin' : p, text: fs.readFileSync(p === '-' ? 0 : p, 'utf8') }));
    const prepared = prepareReviews(
      inputs,
      { tier: opts.tier, deadline: opts.deadline, score: opts.score },
      {
        deadlineSeconds: config.VOUCH_DEADLINE_SECONDS,
        maxDuoPushes: config.VOUCH_MAX_DUO_PUSHES,
        ...(opts.tier === undefined ? { policy: policyFromConfig(config, opts.policy) } : {}),
      },
    );
    if (prepared.errors.length > 0) {
      for (const e of prepared.errors) stderr.write(`vouch review: ${e}\n`);
      stderr.write(`vouch review: ${prepared.errors.length} record(s) rejected; no review was started\n`);
      return 1;
    }
    for (const i of prepared.ignored) {
      stdout.write(`${JSON.stringify({ source: i.source, index: i.index, eventID: i.eventID, eventName: i.eventName, status: 'ignored' })}\n`);
    }
    for await (const line of startPrepared(prepared.reviews, config)) stdout.write(`${JSON.stringify(line)}\n`);
    return 0;
  });
}
