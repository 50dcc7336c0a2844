// `vouch review FILE|-`: CloudTrail records in, reviews started, as one more source of the intake pipeline (the same
// size check, normalising, judging, dead-letter store and metrics as every other route). With `--tier` the judge is
// fixed (that tier for every record, the revert plan still from the planner); without it the policy decides.
//
// All or nothing: a dry pass runs every record through the pipeline's checks first. If any record (or file) is
// unusable, every problem is printed with file, record and field, the unusable records are kept in the dead-letter
// store, nothing starts, and the exit status is 1. Otherwise one JSON line per record, in input order: started,
// existing or ignored.
import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import { Command, Option } from 'commander';
import type { Change, ReviewInput, Verdict } from '../core/types';
import { FolderDeadLetterStore } from '../intake/dead-letter';
import { itemsOf, readText, splitRecords, type InputFile } from '../intake/files';
import { fixedJudge, policyJudge, type Judge } from '../intake/judges';
import { checkRecord, IntakePipeline, type Checked, type IntakeItem } from '../intake/pipeline';
import { RecordError } from '../intake/record-check';
import type { AccountAllowList } from '../intake/provenance';
import { accountsFromConfig, baselineFromConfig, deadLetterDir, policyFromConfig, reviewSettings } from './intake-settings';
import { reviewUrlFor, temporalStarter } from '../intake/starter';
import { loadPolicy, type Policy } from '../policy';
import { intakeSchema, loadConfig, type IntakeConfig } from './config';
import { act, type CommandIo } from './program';
import { connectClient } from './temporal-client';

export interface ReviewFlags {
  tier?: string;
  deadline?: string;
  score?: string;
}

export interface PreparedReview {
  source: string;
  index: number;
  input: Pick<ReviewInput, 'change' | 'verdict'>;
}

/** A record the policy judged `ignore`: reported, never started. */
export interface IgnoredRecord {
  source: string;
  index: number;
  eventID: string;
  eventName: string;
}

export interface Prepared {
  reviews: PreparedReview[];
  ignored: IgnoredRecord[];
  /** Every problem, one line each (file, record and field named); empty when every record is usable. */
  errors: string[];
  /** Every record in input order, with what the checks made of it. */
  checked: Array<{ item: IntakeItem; checked: Checked }>;
}

const TIERS = ['notify', 'confirm', 'page', 'revert'] as const;
const DEFAULT_SCORE: Record<Verdict['tier'], number> = { notify: 20, confirm: 50, page: 80, revert: 90 };

/** The judge the flags ask for: the policy (with --deadline overriding its deadlines), or --tier's fixed verdict. */
function reviewJudge(flags: ReviewFlags, defaults: { deadlineSeconds: number; policy?: Policy }): { judge: Judge } | { errors: string[] } {
  const errors: string[] = [];
  const tier = flags.tier as Verdict['tier'] | undefined;
  if (tier !== undefined && !TIERS.includes(tier)) errors.push(`--tier must be one of ${TIERS.join(', ')}, got "${flags.tier}"`);
  const deadlineSeconds = flags.deadline === undefined ? defaults.deadlineSeconds : Number(flags.deadline);
  if (!Number.isInteger(deadlineSeconds) || deadlineSeconds < 1) errors.push(`--deadline must be a whole number of seconds, got "${flags.deadline}"`);
  const score = flags.score === undefined ? (tier ? DEFAULT_SCORE[tier] : undefined) ?? 50 : Number(flags.score);
  if (!Number.isFinite(score) || score < 0 || score > 100) errors.push(`--score must be 0–100, got "${flags.score}"`);
  if (errors.length) return { errors };
  if (tier === undefined) {
    return { judge: policyJudge(defaults.policy ?? loadPolicy(), flags.deadline === undefined ? {} : { deadlineSeconds }) };
  }
  return { judge: fixedJudge({ tier, score, deadlineSeconds }) };
}

/**
 * The dry pass: every record of every input through the pipeline's checks (size, normalise, judge). Nothing is
 * started or kept; `errors` lists every problem.
 */
export function prepareReviews(
  inputs: Array<{ source: string; text: string }>,
  flags: ReviewFlags,
  defaults: { deadlineSeconds: number; policy?: Policy; maxRecordBytes?: number } = { deadlineSeconds: 900 },
): Prepared {
  const chosen = reviewJudge(flags, defaults);
  if ('errors' in chosen) return { reviews: [], ignored: [], errors: chosen.errors, checked: [] };
  return checkAll(inputs, chosen.judge, defaults.maxRecordBytes);
}

function checkAll(
  inputs: Array<{ source: string; text: string }>,
  judge: Judge,
  maxRecordBytes: number | undefined,
  accounts?: AccountAllowList,
): Prepared {
  const out: Prepared = { reviews: [], ignored: [], errors: [], checked: [] };
  for (const { source, text } of inputs) {
    let items: IntakeItem[];
    try {
      items = itemsOf('review', source, splitRecords(text, source));
    } catch (err) {
      out.errors.push(err instanceof RecordError ? `${source}: ${err.field} ${err.problem}` : `${source}: ${(err as Error).message}`);
      continue;
    }
    if (items.length === 0) out.errors.push(`${source}: no CloudTrail records found`);
    for (const item of items) {
      const checked = checkRecord(item, { judge, ...(maxRecordBytes ? { maxRecordBytes } : {}), ...(accounts ? { accounts } : {}) });
      out.checked.push({ item, checked });
      if (checked.status === 'rejected') out.errors.push(checked.reason);
      else if (checked.status === 'ignored') out.ignored.push({ source, index: item.index, eventID: checked.change.eventId, eventName: checked.change.eventName });
      else out.reviews.push({ source, index: item.index, input: { change: checked.change, verdict: checked.verdict } });
    }
  }
  return out;
}

export interface ReviewIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: NodeJS.ReadableStream;
}

export interface ReviewOptions extends ReviewFlags {
  policy?: string;
  dryRun?: boolean;
}

/** A line of output for one record. */
export type ReviewLine =
  | { source: string; index: number; eventID: string; eventName: string; status: 'ignored' }
  | { source: string; index: number; eventID: string; workflowId: string; status: 'started' | 'existing'; url: string }
  | { source: string; index: number; eventID?: string; status: 'dead-lettered'; reason: string; location: string };

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

function inputFile(path: string, stdin: NodeJS.ReadableStream): InputFile {
  return path === '-' ? { name: 'stdin', read: () => readAll(stdin) } : { name: path, read: () => fs.promises.readFile(path) };
}

/** `vouch review`: read, check all, then start all (or none). Returns the exit status. */
export async function runReview(
  paths: string[],
  opts: ReviewOptions,
  io: ReviewIo = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
  deps: { config?: IntakeConfig; client?: Client } = {},
): Promise<number> {
  const loaded = deps.config ?? loadConfig(intakeSchema);
  const config: IntakeConfig = opts.dryRun ? { ...loaded, VOUCH_DRY_RUN: true } : loaded;
  const dir = deadLetterDir(config);
  const maxRecordBytes = config.VOUCH_INTAKE_MAX_RECORD_BYTES;
  const chosen = reviewJudge(opts, {
    deadlineSeconds: config.VOUCH_DEADLINE_SECONDS,
    ...(opts.tier === undefined ? { policy: policyFromConfig(config, opts.policy) } : {}),
  });
  const judge: Judge = 'judge' in chosen ? chosen.judge : () => null;
  // Provenance when the accounts are configured (a drill may name any account otherwise); no maximum age: the records
  // are the ones the operator hands in, on purpose.
  const accounts = accountsFromConfig(config, { required: false });
  // Dead letters need no Temporal connection: the starter connects only when something is to start.
  let connection: { close(): Promise<void> } | undefined;
  let client = deps.client;
  const connect = async (): Promise<Client> => {
    if (!client) {
      const c = await connectClient(config);
      client = c.client;
      connection = c.connection;
    }
    return client;
  };
  const pipeline = new IntakePipeline({
    judge,
    starter: async (input) => temporalStarter(await connect(), { taskQueue: config.TEMPORAL_TASK_QUEUE, uiBaseUrl: config.VOUCH_UI_BASE_URL })(input),
    deadLetters: new FolderDeadLetterStore(dir),
    review: reviewSettings(config),
    replan: baselineFromConfig(config),
    ...(accounts ? { accounts } : {}),
    ...(maxRecordBytes ? { maxRecordBytes } : {}),
  });

  // Read every input (gzip as CloudTrail writes to S3 is recognised); a file that is not text is kept whole.
  const texts: Array<{ source: string; text: string }> = [];
  const fileErrors: string[] = [];
  let keptFiles = 0;
  for (const p of paths) {
    const file = inputFile(p, io.stdin);
    let read;
    try {
      read = await readText(file, { maxBytes: config.VOUCH_INTAKE_MAX_FILE_BYTES });
    } catch (err) {
      fileErrors.push(`${file.name}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    if (read.ok) texts.push({ source: file.name, text: read.text });
    else {
      fileErrors.push(read.reason);
      keptFiles += 1;
      await pipeline.reject({ kind: 'review', source: file.name, reason: read.reason, raw: read.raw, field: '(file)' });
    }
  }

  const prepared: Prepared = 'errors' in chosen ? { reviews: [], ignored: [], errors: chosen.errors, checked: [] } : checkAll(texts, judge, maxRecordBytes, accounts);
  const errors = [...fileErrors, ...prepared.errors];
  if (errors.length > 0) {
    let kept = 0;
    for (const { item, checked } of prepared.checked) {
      if (checked.status !== 'rejected') continue;
      await pipeline.deadLetterItem(item, checked);
      kept += 1;
    }
    for (const e of errors) io.stderr.write(`vouch review: ${e}\n`);
    io.stderr.write(`vouch review: ${errors.length} record(s) rejected; no review was started\n`);
    if (kept > 0 || keptFiles > 0) io.stderr.write(`vouch review: the unusable records are kept with the reason in ${dir}\n`);
    return 1;
  }

  let status = 0;
  try {
    const items = prepared.checked.map((c) => c.item);
    let i = 0;
    for await (const result of pipeline.processInOrder(items, 8)) {
      const { item, checked } = prepared.checked[i++] as Prepared['checked'][number];
      const where = { source: item.source, index: item.index };
      let line: ReviewLine;
      if (result.status === 'ignored') {
        line = { ...where, eventID: result.eventId, eventName: (checked as { change: Change }).change.eventName, status: 'ignored' };
      } else if (result.status === 'dead-lettered') {
        status = 1;
        line = { ...where, ...(result.eventId ? { eventID: result.eventId } : {}), status: 'dead-lettered', reason: result.reason, location: result.location };
      } else {
        const url = reviewUrlFor(config.VOUCH_UI_BASE_URL, (client as Client).options.namespace, result.workflowId);
        line = { ...where, eventID: result.eventId, workflowId: result.workflowId, status: result.status, url };
      }
      io.stdout.write(`${JSON.stringify(line)}\n`);
    }
  } finally {
    await connection?.close();
  }
  const m = pipeline.metrics.snapshot();
  io.stderr.write(`vouch review: ${m.read} record(s): ${m.started} started, ${m.existing} existing, ${m.ignored} ignored, ${m.failed} dead-lettered\n`);
  return status;
}

// ---- the command ----

export function reviewCommand(io: CommandIo = {}): Command {
  const cmd = new Command('review')
    .summary('start reviews for files of CloudTrail records')
    .description('start reviews for CloudTrail records ({"Records":[…]}, an array, one record, JSON lines, .json.gz); every record is checked first, and if any is unusable nothing starts')
    .argument('<file...>', 'files of CloudTrail records, or - for standard input')
    .option('--policy <file>', 'the policy that decides (default VOUCH_POLICY_FILE, else the shipped one)')
    .addOption(new Option('--tier <tier>', 'force one tier for every record instead of the policy').choices(TIERS))
    .option('--dry-run', 'rehearse: reverts only as EC2 DryRun calls or plans (VOUCH_DRY_RUN)')
    .option('--deadline <seconds>', 'answer deadline (default VOUCH_DEADLINE_SECONDS or 900)')
    .option('--score <n>', 'risk score to record (default by tier)');
  return act(cmd, async (files: string[], opts: ReviewOptions) =>
    runReview(
      files,
      {
        ...(opts.tier !== undefined ? { tier: opts.tier } : {}),
        ...(opts.deadline !== undefined ? { deadline: opts.deadline } : {}),
        ...(opts.score !== undefined ? { score: opts.score } : {}),
        ...(opts.policy !== undefined ? { policy: opts.policy } : {}),
        ...(opts.dryRun ? { dryRun: true } : {}),
      },
      { stdout: io.stdout ?? process.stdout, stderr: io.stderr ?? process.stderr, stdin: process.stdin },
    ),
  );
}
