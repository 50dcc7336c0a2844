// Real-time intake: an SQS queue fed by an EventBridge rule ("AWS API Call via CloudTrail" events; see the README
// and the CloudTrail User Guide, "Creating an EventBridge rule for CloudTrail events").
//
// - Long polling (WaitTimeSeconds 20), batches of up to 10 messages, the records of a batch processed concurrently.
// - A message is deleted only after its review has been started (or found), or its record judged `ignore`, or it
//   was kept in the dead-letter store.
// - Poison messages (not JSON, not an "AWS API Call via CloudTrail" envelope from an aws.* source for the record's own
//   account, a record of an account vouch does not watch, one that fails normalising, too big) go to vouch's dead-letter store with the reason, and are then deleted. Decision: vouch's store, not the
//   queue's redrive, because the store keeps the reason (which field, which problem) beside the raw body, and a
//   poison message would only fail again on every receive until maxReceiveCount. The queue's redrive policy stays
//   the safety net for *transient* failures: a message whose review could not be started (Temporal unreachable) is
//   left undeleted, comes back after its visibility timeout, and after maxReceiveCount moves to the queue's DLQ,
//   which `vouch ingest --from sqs://<DLQ URL> --until-empty` replays once Temporal is back.
// - Graceful stop (SIGINT/SIGTERM in `vouch ingest`): the long poll is aborted, the batch in hand finishes and is
//   deleted, then run() resolves. A hard kill loses nothing: undeleted messages come back, and the workflow id
//   (account + eventID, USE_EXISTING) makes the second start find the first review.
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import pLimit from 'p-limit';
import { z } from 'zod';
import { checkEnvelope, type EnvelopeCheck } from './provenance';
import { TransientIntakeError, type IntakePipeline, type RecordResult } from './pipeline';

export type EnvelopeParse = EnvelopeCheck;

/** An SNS notification carrying the envelope as text (a topic subscribed to the rule, the queue to the topic). */
const snsNotification = z.object({ Type: z.literal('Notification'), Message: z.string() });

/**
 * The CloudTrail record inside an SQS body: an EventBridge envelope with `detail-type` "AWS API Call via CloudTrail",
 * delivered raw or wrapped in an SNS notification (`{"Type":"Notification","Message":"<envelope JSON>"}`), from an
 * `aws.*` source and for the record's own account (provenance.ts).
 */
export function parseEnvelope(body: string): EnvelopeParse {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    return { ok: false, field: '(body)', reason: `message body is not valid JSON: ${(err as Error).message}` };
  }
  const sns = snsNotification.safeParse(doc);
  if (sns.success) {
    try {
      doc = JSON.parse(sns.data.Message);
    } catch (err) {
      return { ok: false, field: 'Message', reason: `SNS notification's Message is not valid JSON: ${(err as Error).message}` };
    }
  }
  return checkEnvelope(doc);
}

/**
 * `https://sqs.<region>.amazonaws.com/<account>/<name>` → that region; anything else (moto, LocalStack) → its origin,
 * in `opts.region` (the caller's AWS_REGION) or us-east-1.
 */
export function sqsClientFor(queueUrl: string, opts: { region?: string; maxAttempts?: number } = {}): SQSClient {
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch {
    throw new Error(`not a queue URL: ${JSON.stringify(queueUrl)}`);
  }
  const aws = /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname) ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com$/.exec(url.hostname);
  const region = aws?.[1] ?? opts.region ?? 'us-east-1';
  return new SQSClient({
    region,
    maxAttempts: opts.maxAttempts ?? 3,
    ...(aws ? {} : { endpoint: url.origin }),
  });
}

export interface SqsIntakeOptions {
  client: SQSClient;
  queueUrl: string;
  pipeline: IntakePipeline;
  /** Long-poll wait (0–20 s). Default 20. */
  waitTimeSeconds?: number;
  /** Messages per receive (1–10). Default 10. */
  batchSize?: number;
  /** Override the queue's visibility timeout for received messages (seconds). */
  visibilityTimeout?: number;
  /** Records of one batch processed at once. Default 10. */
  concurrency?: number;
  /** Return once the queue holds no message at all (visible, in flight or delayed): for draining a DLQ. */
  untilEmpty?: boolean;
  /** Where receive/delete failures and dead letters are logged (the command's logger). Default: not logged. */
  logger?: IntakeLogger;
}

export type IntakeLogger = Pick<Logger, 'debug' | 'warn' | 'error'>;

const QUIET: IntakeLogger = { debug: () => undefined, warn: () => undefined, error: () => undefined };

export interface SqsRunSummary {
  batches: number;
  messages: number;
  deleted: number;
  /** Messages left for redelivery after a transient failure. */
  kept: number;
}

type Disposition = { ack: true; result: RecordResult } | { ack: false; error: unknown };

export class SqsIntake {
  private stopping = false;
  private abort = new AbortController();
  private readonly source: string;
  private running?: Promise<SqsRunSummary>;
  private readonly log: IntakeLogger;

  constructor(private readonly opts: SqsIntakeOptions) {
    this.source = `sqs://${opts.queueUrl.replace(/^https?:\/\//, '')}`;
    this.log = opts.logger ?? QUIET;
  }

  /** Asks the loop to stop: the long poll is aborted, the batch in hand finishes. */
  stop(): void {
    this.stopping = true;
    this.abort.abort();
  }

  run(): Promise<SqsRunSummary> {
    this.running ??= this.loop();
    return this.running;
  }

  private async loop(): Promise<SqsRunSummary> {
    const summary: SqsRunSummary = { batches: 0, messages: 0, deleted: 0, kept: 0 };
    let backoffMs = 0;
    while (!this.stopping) {
      let messages: Message[];
      try {
        const res = await this.opts.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.opts.queueUrl,
            MaxNumberOfMessages: this.opts.batchSize ?? 10,
            WaitTimeSeconds: this.opts.untilEmpty ? Math.min(this.opts.waitTimeSeconds ?? 1, 20) : this.opts.waitTimeSeconds ?? 20,
            MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
            ...(this.opts.visibilityTimeout !== undefined ? { VisibilityTimeout: this.opts.visibilityTimeout } : {}),
          }),
          { abortSignal: this.abort.signal },
        );
        messages = res.Messages ?? [];
        backoffMs = 0;
      } catch (err) {
        if (this.stopping) break;
        backoffMs = Math.min(30_000, backoffMs ? backoffMs * 2 : 1_000);
        this.log.warn({ queue: this.opts.queueUrl, error: (err as Error).message, retryInMs: backoffMs }, 'sqs receive failed; retrying');
        await this.sleep(backoffMs);
        continue;
      }
      if (messages.length === 0) {
        if (this.opts.untilEmpty && (await this.queueIsEmpty())) break;
        continue;
      }
      summary.batches += 1;
      summary.messages += messages.length;
      const outcome = await this.handleBatch(messages);
      summary.deleted += outcome.deleted;
      summary.kept += outcome.kept;
      if (outcome.kept > 0) {
        // Something transient (Temporal down?): slow down instead of spinning on redeliveries.
        backoffMs = Math.min(30_000, backoffMs ? backoffMs * 2 : 1_000);
        await this.sleep(backoffMs);
      }
    }
    return summary;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.abort.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });
  }

  private async queueIsEmpty(): Promise<boolean> {
    const res = await this.opts.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.opts.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const a: Record<string, string | undefined> = res.Attributes ?? {};
    return ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'].every(
      (k) => Number(a[k] ?? '0') === 0,
    );
  }

  /** Processes one batch, then deletes the messages that are done. */
  async handleBatch(messages: Message[]): Promise<{ deleted: number; kept: number }> {
    // handle() never throws: every message ends with a disposition.
    const dispositions = await pLimit(Math.max(1, this.opts.concurrency ?? 10)).map(messages, (m) => this.handle(m));

    const done = messages
      .map((m, i) => ({ m, i, d: dispositions[i] as Disposition }))
      .filter((x) => x.d.ack && x.m.ReceiptHandle);
    let deleted = 0;
    for (let k = 0; k < done.length; k += 10) {
      const chunk = done.slice(k, k + 10);
      try {
        const res = await this.opts.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.opts.queueUrl,
            Entries: chunk.map((x) => ({ Id: String(x.i), ReceiptHandle: x.m.ReceiptHandle as string })),
          }),
        );
        deleted += res.Successful?.length ?? 0;
        for (const f of res.Failed ?? []) {
          // The message comes back and is found as an existing review: harmless, but worth a line.
          this.log.warn({ id: f.Id, code: f.Code, message: f.Message }, 'sqs delete failed; the message will be redelivered');
        }
      } catch (err) {
        this.log.warn({ count: chunk.length, error: (err as Error).message }, 'sqs delete failed; the messages will be redelivered');
      }
    }
    return { deleted, kept: dispositions.filter((d) => !d.ack).length };
  }

  private async handle(message: Message): Promise<Disposition> {
    const body = message.Body ?? '';
    const source = `${this.source}#${message.MessageId ?? 'unknown'}`;
    const details = {
      messageId: message.MessageId,
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '0') || undefined,
    };
    try {
      const env = parseEnvelope(body);
      if (!env.ok) {
        const result = await this.opts.pipeline.reject({
          kind: 'sqs',
          source,
          reason: `${source}: ${env.reason}`,
          field: env.field,
          raw: body,
          details,
        });
        this.log.warn({ source, reason: result.reason, location: result.location }, 'sqs message dead-lettered');
        return { ack: true, result };
      }
      const result = await this.opts.pipeline.process({ kind: 'sqs', source, index: 0, record: env.record, text: body });
      if (result.status === 'dead-lettered') this.log.warn({ source, reason: result.reason, location: result.location }, 'sqs record dead-lettered');
      else this.log.debug({ source, eventID: result.eventId, ...(result.status !== 'ignored' ? { workflowId: result.workflowId } : {}) }, `review ${result.status === 'ignored' ? 'not needed' : result.status}`);
      return { ack: true, result };
    } catch (err) {
      if (!(err instanceof TransientIntakeError)) this.log.error({ source, error: (err as Error).message }, 'sqs message failed unexpectedly; left for redelivery');
      else this.log.warn({ source, error: err.message }, 'sqs message left for redelivery');
      return { ack: false, error: err };
    }
  }
}
