// `vouch ingest --from SOURCE`: CloudTrail records in, reviews out, through the one intake pipeline.
//
//   --from DIR|FILE            backfill/replay from local files (.json.gz as CloudTrail writes to S3, .json, .jsonl)
//   --from s3://bucket/prefix  backfill/replay from a trail's bucket
//   --from sqs://QUEUE_URL     real time: EventBridge "AWS API Call via CloudTrail" envelopes from SQS, until stopped
//   --from lookup              start (or find) one durable LookupEvents poller per account and Region
//
// Every path dedups on (account, eventID) through the review workflow id, so they can overlap freely.
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { connectClient } from './temporal-client';
import { log } from './log';
import { loadAccounts, lookupTargets } from '../intake/accounts';
import { FolderDeadLetterStore } from '../intake/dead-letter';
import { ingestFiles, listDir, listS3, s3Client } from '../intake/files';
import { ensurePollers, orphanPollers, type PollerSettings } from '../intake/lookup';
import { policyJudge, type Judge } from '../intake/judges';
import { IntakePipeline } from '../intake/pipeline';
import { temporalStarter } from '../intake/starter';
import { deadLetterDir, loadIntakeConfig, policyFromConfig, reviewSettings, type IntakeConfig } from '../intake/settings';
import { loadConfig, metricsSchema } from './config';
import { startProcessMetrics } from './metrics';
import { SqsIntake, sqsClientFor } from '../intake/sqs';

export const INGEST_USAGE = `usage: vouch ingest --from SOURCE [options]

sources:
  --from DIR|FILE            local CloudTrail files: .json.gz (as delivered to S3), .json, .jsonl; folders recursively
  --from s3://BUCKET/PREFIX  a trail's bucket (digest and Insights files are skipped)
  --from sqs://QUEUE_URL     EventBridge "AWS API Call via CloudTrail" envelopes, until SIGINT/SIGTERM
                             (sqs://sqs.us-east-1.amazonaws.com/123456789012/vouch, or sqs://http://host:port/… locally)
  --from lookup              start or find one LookupEvents poller workflow per account and Region

options:
  --policy FILE              policy (default VOUCH_POLICY_FILE, else the shipped default)
  --dry-run                  rehearse a policy: reviews run, reverts are EC2 DryRun calls or plans (VOUCH_DRY_RUN)
  --dead-letter DIR          where unusable records are kept (default VOUCH_DEAD_LETTER_DIR or .data/dead-letter)
  --concurrency N            records in flight at once (default 8)
  --rate N                   at most N records per second (backfills that must not flood Temporal)
  --until-empty              sqs: stop once the queue holds no message (draining a dead-letter queue)
  --wait SECONDS             sqs: long-poll wait, 1–20 (default 20)
  --visibility-timeout S     sqs: visibility timeout for received messages (default: the queue's)
  --accounts FILE            lookup: accounts file (default VOUCH_ACCOUNTS_FILE)
  --poll-interval SECONDS    lookup: pause between polls for new pollers (default 60)
  --overlap SECONDS          lookup: how far each window reaches back before the checkpoint (default 900)
  --lookback SECONDS         lookup: where a new poller starts, before now (default 3600)

Prints a JSON summary line on stdout when done (lookup: one line per poller, started or existing).
Exit status: 1 when any record or file was dead-lettered (files) or the run stopped on an error; 2 for usage errors.`;

class UsageError extends Error {}

function positiveInt(name: string, v: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}, got "${v}"`);
  return n;
}

/** `sqs://sqs.us-east-1.amazonaws.com/1/q` → https://…; `sqs://http://127.0.0.1:5000/1/q` → as is. */
export function queueUrlFrom(from: string): string {
  const rest = from.slice('sqs://'.length);
  if (!rest) throw new UsageError('--from sqs:// needs a queue URL');
  return /^https?:\/\//.test(rest) ? rest : `https://${rest}`;
}

export interface IngestDeps {
  /** Tests inject a judge; the command otherwise loads the policy. */
  judge?: Judge;
  config?: IntakeConfig;
  client?: Client;
  /** Where output goes (default process.stdout / process.stderr). */
  stdout?: { write(text: string): unknown };
  stderr?: { write(text: string): unknown };
}

export async function ingestCommand(argv: string[], deps: IngestDeps = {}): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        from: { type: 'string' },
        policy: { type: 'string' },
        'dead-letter': { type: 'string' },
        concurrency: { type: 'string' },
        rate: { type: 'string' },
        'until-empty': { type: 'boolean' },
        wait: { type: 'string' },
        'visibility-timeout': { type: 'string' },
        accounts: { type: 'string' },
        'poll-interval': { type: 'string' },
        overlap: { type: 'string' },
        lookback: { type: 'string' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    stderr.write(`vouch ingest: ${(err as Error).message}\n\n${INGEST_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    stdout.write(`${INGEST_USAGE}\n`);
    return 0;
  }
  try {
    return await run(values, deps, stdout, stderr);
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`vouch ingest: ${err.message}\n\n${INGEST_USAGE}\n`);
      return 2;
    }
    throw err;
  }
}

type Values = {
  from?: string;
  policy?: string;
  'dead-letter'?: string;
  concurrency?: string;
  rate?: string;
  'until-empty'?: boolean;
  'dry-run'?: boolean;
  wait?: string;
  'visibility-timeout'?: string;
  accounts?: string;
  'poll-interval'?: string;
  overlap?: string;
  lookback?: string;
};

type Out = { write(text: string): unknown };

async function run(values: Values, deps: IngestDeps, stdout: Out, stderr: Out): Promise<number> {
  const from = values.from;
  if (!from) throw new UsageError('--from is required');
  const concurrency = positiveInt('concurrency', values.concurrency, 256) ?? 8;
  const rate = positiveInt('rate', values.rate, 100_000);
  const wait = values.wait === undefined ? undefined : Number(values.wait);
  if (wait !== undefined && !(Number.isInteger(wait) && wait >= 0 && wait <= 20)) throw new UsageError(`--wait must be 0–20 seconds, got "${values.wait}"`);
  const visibility = values['visibility-timeout'] === undefined ? undefined : positiveInt('visibility-timeout', values['visibility-timeout'], 43_200);
  const loaded = deps.config ?? loadIntakeConfig();
  const config = values['dry-run'] ? { ...loaded, VOUCH_DRY_RUN: true } : loaded;

  let connection: { close(): Promise<void> } | undefined;
  let metricsEndpoint: { close(): Promise<void> } | undefined;
  let client = deps.client;
  if (!client) {
    const c = await connectClient(config);
    client = c.client;
    connection = c.connection;
  }
  try {
    if (from === 'lookup') return await runLookup(client, config, values, stdout, stderr);

    const judge = deps.judge ?? policyJudge(policyFromConfig(config, values.policy));
    const dir = values['dead-letter'] ?? deadLetterDir(config);
    const processMetrics = await startProcessMetrics('intake', loadConfig(metricsSchema));
    metricsEndpoint = processMetrics;
    const pipeline = new IntakePipeline({
      judge,
      onLag: (kind, eventTime) => processMetrics.metrics.observeIntakeLag(eventTime, kind),
      starter: temporalStarter(client, { taskQueue: config.TEMPORAL_TASK_QUEUE, uiBaseUrl: config.VOUCH_UI_BASE_URL }),
      deadLetters: new FolderDeadLetterStore(dir),
      review: reviewSettings(config),
      ...(config.VOUCH_INTAKE_MAX_RECORD_BYTES ? { maxRecordBytes: config.VOUCH_INTAKE_MAX_RECORD_BYTES } : {}),
      ...(rate ? { maxPerSecond: rate } : {}),
    });

    if (from.startsWith('sqs://')) {
      const queueUrl = queueUrlFrom(from);
      const intake = new SqsIntake({
        client: sqsClientFor(queueUrl, { region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION }),
        queueUrl,
        pipeline,
        concurrency,
        ...(wait !== undefined ? { waitTimeSeconds: wait } : {}),
        ...(visibility !== undefined ? { visibilityTimeout: visibility } : {}),
        ...(values['until-empty'] ? { untilEmpty: true } : {}),
      });
      const stop = (): void => intake.stop();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const timer = setInterval(() => log.info('intake metrics', { queue: queueUrl, metrics: pipeline.metrics.snapshot() }), 60_000);
      timer.unref();
      log.info('sqs intake started', { queue: queueUrl });
      try {
        const summary = await intake.run();
        stdout.write(`${JSON.stringify({ source: from, ...summary, deadLetterDir: dir, metrics: pipeline.metrics.snapshot() })}\n`);
      } finally {
        clearInterval(timer);
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
      return 0;
    }

    const files = from.startsWith('s3://') ? await listS3(s3Client(process.env), from) : await listDir(from);
    let summary;
    try {
      summary = await ingestFiles(files, pipeline, { concurrency });
    } catch (err) {
      stderr.write(
        `vouch ingest: stopped: ${(err as Error).message}\nvouch ingest: run it again once the problem is fixed; reviews already started are found, not doubled\n`,
      );
      stdout.write(`${JSON.stringify({ source: from, stopped: true, deadLetterDir: dir, metrics: pipeline.metrics.snapshot() })}\n`);
      return 1;
    }
    stdout.write(`${JSON.stringify({ source: from, ...summary, deadLetterDir: dir, metrics: pipeline.metrics.snapshot() })}\n`);
    if (summary.deadLettered > 0) {
      stderr.write(`vouch ingest: ${summary.deadLettered} record(s) or file(s) could not be processed; kept with the reason in ${dir}\n`);
      return 1;
    }
    return 0;
  } finally {
    await metricsEndpoint?.close();
    await connection?.close();
  }
}

async function runLookup(client: Client, config: IntakeConfig, values: Values, stdout: Out, stderr: Out): Promise<number> {
  const file = values.accounts ?? config.VOUCH_ACCOUNTS_FILE;
  if (!file) throw new UsageError('--from lookup needs --accounts FILE (or VOUCH_ACCOUNTS_FILE)');
  const targets = lookupTargets(loadAccounts(file));
  const settings: PollerSettings = {};
  const poll = positiveInt('poll-interval', values['poll-interval'], 86_400);
  const overlap = positiveInt('overlap', values.overlap, 86_400);
  const lookback = positiveInt('lookback', values.lookback, 90 * 86_400);
  if (poll) settings.pollIntervalSeconds = poll;
  if (overlap) settings.overlapSeconds = overlap;
  if (lookback) settings.initialLookbackSeconds = lookback;
  const pollers = await ensurePollers(client, targets, { taskQueue: config.TEMPORAL_TASK_QUEUE, settings });
  for (const p of pollers) stdout.write(`${JSON.stringify(p)}\n`);
  for (const id of await orphanPollers(client, targets)) {
    stderr.write(`vouch ingest: poller ${id} runs but its account/Region is not in ${file}; terminate it if it is no longer wanted\n`);
  }
  return 0;
}
