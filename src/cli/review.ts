// `vouch review FILE|-`: CloudTrail records in, reviews started. Every record is checked first; if any is
// unusable, the errors name the file, record and field, and nothing starts.
import { normalise, parseRecords } from '../intake/normalise';
import { RecordError } from '../intake/record-check';
import { planRevert } from '../revert/plan';
import { assess, loadPolicy, toVerdict, type Policy } from '../policy';
import { intakeSchema, loadConfig, type IntakeConfig } from './config';
import { reviewSettings } from '../intake/settings';
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
