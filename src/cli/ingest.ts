// `vouch ingest --from SOURCE`: CloudTrail records in, reviews out, through the one intake pipeline.
//
//   --from DIR|FILE            backfill/replay from local files (.json.gz as CloudTrail writes to S3, .json, .jsonl)
//   --from s3://bucket/prefix  backfill/replay from a trail's bucket
//   --from sqs://QUEUE_URL     real time: EventBridge "AWS API Call via CloudTrail" envelopes from SQS, until stopped
//   --from lookup              start (or find) one durable LookupEvents poller per account and Region
//
// Every path dedups on (account, eventID) through the review workflow id, so they can overlap freely.
import { Command } from 'commander';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { connectClient } from './temporal-client';
import { getLogger } from './log';
import { loadAccounts, lookupTargets } from '../intake/accounts';
import { FolderDeadLetterStore } from '../intake/dead-letter';
import { ingestFiles, listDir, listS3, s3Client } from '../intake/files';
import { ensurePollers, orphanPollers, type PollerSettings } from '../intake/lookup';
import { policyJudge, type Judge } from '../intake/judges';
import { DEFAULT_INTAKE_CONCURRENCY, IntakePipeline } from '../intake/pipeline';
import { temporalStarter } from '../intake/starter';
import {
  accountsFromConfig,
  checkMaxAge,
  deadLetterDir,
  intakeGuards,
  loadIntakeConfig,
  policyFromConfig,
  reviewSettings,
} from './intake-settings';
import { loadConfig, metricsSchema, type IntakeConfig } from './config';
import { gracefulStop } from './lifecycle';
import { startProcessMetrics } from './metrics';
import { act, UsageError, wholeNumber, type Out } from './program';
import { formatRate, measure, ProgressLine, type ProgressStream } from './progress';
import { SqsIntake, sqsClientFor } from '../intake/sqs';

/** `sqs://sqs.us-east-1.amazonaws.com/1/q` → https://…; `sqs://http://127.0.0.1:5000/1/q` → as is. */
function queueUrlFrom(from: string): string {
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
  stdout?: Out;
  stderr?: Out;
  /** Where the progress line of a backfill is drawn (default process.stderr, only when it is a terminal). */
  progress?: ProgressStream;
  /** SQS intake stops when this is aborted (default: the process's stop signal, SIGINT/SIGTERM). */
  stop?: AbortSignal;
  logger?: Logger;
}

interface IngestOptions {
  from: string;
  policy?: string;
  deadLetter?: string;
  concurrency: number;
  rate?: number;
  untilEmpty?: boolean;
  dryRun?: boolean;
  wait?: number;
  visibilityTimeout?: number;
  accounts?: string;
  pollInterval?: number;
  overlap?: number;
  lookback?: number;
  progress: boolean;
}

export function ingestCommand(deps: IngestDeps = {}): Command {
  const cmd = new Command('ingest')
    .description('read CloudTrail and start reviews, through the one intake pipeline')
    .requiredOption('--from <source>', 'where the records come from: DIR|FILE, s3://BUCKET/PREFIX, sqs://QUEUE_URL or lookup (below)')
    .option('--policy <file>', 'policy (default VOUCH_POLICY_FILE, else the shipped default)')
    .option('--dry-run', 'rehearse a policy: reviews run, reverts are EC2 DryRun calls or plans (VOUCH_DRY_RUN)')
    .option('--dead-letter <dir>', 'where unusable records are kept (default VOUCH_DEAD_LETTER_DIR or .data/dead-letter)')
    .option('--concurrency <n>', 'records in flight at once', wholeNumber('--concurrency', 1, 256), DEFAULT_INTAKE_CONCURRENCY)
    .option('--rate <n>', 'at most N records per second (backfills that must not flood Temporal)', wholeNumber('--rate', 1, 100_000))
    .option('--until-empty', 'sqs: stop once the queue holds no message (draining a dead-letter queue)')
    .option('--wait <seconds>', 'sqs: long-poll wait, 0–20 (default 20)', wholeNumber('--wait', 0, 20))
    .option('--visibility-timeout <seconds>', "sqs: visibility timeout for received messages (default: the queue's)", wholeNumber('--visibility-timeout', 1, 43_200))
    .option('--accounts <file>', 'the accounts vouch watches: only their records are reviewed; lookup polls them (default VOUCH_ACCOUNTS_FILE)')
    .option('--poll-interval <seconds>', 'lookup: pause between polls for new pollers (default 60)', wholeNumber('--poll-interval', 1, 86_400))
    .option('--overlap <seconds>', 'lookup: how far each window reaches back before the checkpoint (default VOUCH_LOOKUP_OVERLAP_SECONDS, 900)', wholeNumber('--overlap', 1, 86_400))
    .option('--lookback <seconds>', 'lookup: where a new poller starts, before now (default 3600)', wholeNumber('--lookback', 1, 90 * 86_400))
    .option('--no-progress', 'no progress line, even on a terminal')
    .addHelpText(
      'after',
      '\nSources:\n' +
        '  DIR|FILE            local CloudTrail files: .json.gz (as delivered to S3), .json, .jsonl; folders recursively\n' +
        "  s3://BUCKET/PREFIX  a trail's bucket (digest and Insights files are skipped)\n" +
        '  sqs://QUEUE_URL     EventBridge "AWS API Call via CloudTrail" envelopes, until SIGINT/SIGTERM\n' +
        '                      (sqs://sqs.us-east-1.amazonaws.com/123456789012/vouch, or sqs://http://host:port/… locally)\n' +
        '  lookup              start or find one LookupEvents poller workflow per account and Region\n' +
        '\nPrints a JSON summary line on stdout when done (lookup: one line per poller, started or existing).\n' +
        'Only records of the accounts in VOUCH_ACCOUNTS_FILE (or --accounts) are reviewed; records older than\n' +
        'VOUCH_INTAKE_MAX_AGE_SECONDS (default 24 h) are reported in the dead-letter store, never reviewed.\n' +
        'Exit status: 1 when any record or file was dead-lettered (files) or the run stopped on an error; 2 for usage errors.\n' +
        'Every source dedups on (account, eventID) through the review workflow id, so sources can overlap freely.',
    );
  return act(cmd, (opts: IngestOptions) => run(opts, deps));
}

async function run(values: IngestOptions, deps: IngestDeps): Promise<number> {
  const stdout = deps.stdout ?? process.stdout;
  const stderr = deps.stderr ?? process.stderr;
  const from = values.from;
  const queueUrl = from.startsWith('sqs://') ? queueUrlFrom(from) : undefined;
  const loaded = deps.config ?? loadIntakeConfig();
  const config = values.dryRun ? { ...loaded, VOUCH_DRY_RUN: true } : loaded;
  if (from === 'lookup' && !(values.accounts ?? config.VOUCH_ACCOUNTS_FILE)) {
    throw new UsageError('--from lookup needs --accounts FILE (or VOUCH_ACCOUNTS_FILE)');
  }
  const logger = deps.logger ?? getLogger();
  // Provenance: only records of the accounts vouch watches are reviewed (the pollers read those accounts only).
  const accounts = from === 'lookup' ? undefined : accountsFromConfig(config, { ...(values.accounts ? { file: values.accounts } : {}), required: true });

  let connection: { close(): Promise<void> } | undefined;
  let metricsEndpoint: { close(): Promise<void> } | undefined;
  let client = deps.client;
  if (!client) {
    const c = await connectClient(config);
    client = c.client;
    connection = c.connection;
  }
  try {
    // A record older than the maximum age is never reviewed; the age must not be longer than the namespace retention.
    await checkMaxAge(client.workflowService, config);
    if (from === 'lookup') return await runLookup(client, config, values, stdout, stderr);

    const judge = deps.judge ?? policyJudge(policyFromConfig(config, values.policy));
    const dir = values.deadLetter ?? deadLetterDir(config);
    const processMetrics = await startProcessMetrics('intake', loadConfig(metricsSchema));
    metricsEndpoint = processMetrics;
    const pipeline = new IntakePipeline({
      judge,
      onLag: (kind, eventTime) => processMetrics.metrics.observeIntakeLag(eventTime, kind),
      onLate: (kind) => processMetrics.metrics.intakeLate.inc({ source: kind }),
      ...intakeGuards(config, accounts),
      starter: temporalStarter(client, { taskQueue: config.TEMPORAL_TASK_QUEUE, uiBaseUrl: config.VOUCH_UI_BASE_URL }),
      deadLetters: new FolderDeadLetterStore(dir),
      review: reviewSettings(config),
      ...(config.VOUCH_INTAKE_MAX_RECORD_BYTES ? { maxRecordBytes: config.VOUCH_INTAKE_MAX_RECORD_BYTES } : {}),
      ...(values.rate ? { maxPerSecond: values.rate } : {}),
    });

    if (queueUrl) {
      const intake = new SqsIntake({
        client: sqsClientFor(queueUrl, { region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION }),
        queueUrl,
        pipeline,
        concurrency: values.concurrency,
        logger,
        ...(values.wait !== undefined ? { waitTimeSeconds: values.wait } : {}),
        ...(values.visibilityTimeout !== undefined ? { visibilityTimeout: values.visibilityTimeout } : {}),
        ...(values.untilEmpty ? { untilEmpty: true } : {}),
      });
      // The process's stop signal: the long poll is aborted, the batch in hand finishes and is deleted.
      const stop = deps.stop ?? gracefulStop();
      const onStop = (): void => intake.stop();
      stop.addEventListener('abort', onStop, { once: true });
      if (stop.aborted) intake.stop();
      const timer = setInterval(() => logger.info({ queue: queueUrl, metrics: pipeline.metrics.snapshot() }, 'intake metrics'), 60_000);
      timer.unref();
      logger.info({ queue: queueUrl }, 'sqs intake started');
      try {
        const summary = await intake.run();
        stdout.write(`${JSON.stringify({ source: from, ...summary, deadLetterDir: dir, metrics: pipeline.metrics.snapshot() })}\n`);
        logger.info({ queue: queueUrl }, 'sqs intake stopped');
      } finally {
        clearInterval(timer);
        stop.removeEventListener('abort', onStop);
      }
      return 0;
    }

    const files = from.startsWith('s3://') ? await listS3(s3Client(process.env), from) : await listDir(from);
    let filesDone = 0;
    const progress = new ProgressLine(
      (elapsedMs) => {
        const m = pipeline.metrics.snapshot();
        const { rate, eta } = measure({ done: filesDone, total: files.length, items: m.read }, elapsedMs);
        return (
          `ingest: ${m.read} records read, ${m.started} reviews started (${m.existing} existing, ${m.ignored} ignored, ` +
          `${m.failed} dead-lettered), ${filesDone}/${files.length} files, ${formatRate(rate)} records/s, ETA ${eta}`
        );
      },
      { enabled: values.progress, ...(deps.progress ? { stream: deps.progress } : {}) },
    ).start();
    let summary;
    try {
      summary = await ingestFiles(files, pipeline, {
        concurrency: values.concurrency,
        maxFileBytes: config.VOUCH_INTAKE_MAX_FILE_BYTES,
        onFile: () => {
          filesDone += 1;
          progress.update();
        },
      });
    } catch (err) {
      progress.stop();
      stderr.write(
        `vouch ingest: stopped: ${(err as Error).message}\nvouch ingest: run it again once the problem is fixed; reviews already started are found, not doubled\n`,
      );
      stdout.write(`${JSON.stringify({ source: from, stopped: true, deadLetterDir: dir, metrics: pipeline.metrics.snapshot() })}\n`);
      return 1;
    }
    filesDone = files.length;
    progress.stop();
    stdout.write(`${JSON.stringify({ source: from, ...summary, deadLetterDir: dir, metrics: pipeline.metrics.snapshot() })}\n`);
    if (summary.tooOld > 0) {
      stderr.write(
        `vouch ingest: ${summary.tooOld} record(s) older than VOUCH_INTAKE_MAX_AGE_SECONDS (${config.VOUCH_INTAKE_MAX_AGE_SECONDS} s) were reported, not reviewed; kept with the reason in ${dir}\n`,
      );
    }
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

async function runLookup(client: Client, config: IntakeConfig, values: IngestOptions, stdout: Out, stderr: Out): Promise<number> {
  const file = (values.accounts ?? config.VOUCH_ACCOUNTS_FILE) as string;
  const targets = lookupTargets(loadAccounts(file));
  const settings: PollerSettings = {};
  if (values.pollInterval) settings.pollIntervalSeconds = values.pollInterval;
  settings.overlapSeconds = values.overlap ?? config.VOUCH_LOOKUP_OVERLAP_SECONDS;
  if (values.lookback) settings.initialLookbackSeconds = values.lookback;
  const pollers = await ensurePollers(client, targets, { taskQueue: config.TEMPORAL_TASK_QUEUE, settings });
  for (const p of pollers) stdout.write(`${JSON.stringify(p)}\n`);
  for (const id of await orphanPollers(client, targets)) {
    stderr.write(`vouch ingest: poller ${id} runs but its account/Region is not in ${file}; terminate it if it is no longer wanted\n`);
  }
  return 0;
}
