// What vouch does with a Slack interaction payload, whichever receiver brought it (the HTTP endpoint or Socket Mode;
// like Bolt, the receivers only move bytes and acknowledge): interpret it (clicks.ts), deliver the click as its
// workflow Update, acknowledge Slack within its 3 seconds (at once for what vouch ignores; otherwise when the Update
// has an answer or 2.5 s have passed), then tell the clicker alone (chat.postEphemeral) what became of the click.
import type { WebClient } from '@slack/web-api';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { Logger } from 'pino';
import { batchDecisionUpdate, decisionUpdate, duoRetryUpdate } from '../../workflows/messages';
import type { UpdateResult } from '../core/types';
import { ClickPayloadError, interpretClick, isIgnored, type ClickCommand } from './clicks';
import { escapeSlackText } from './escape';

export type ClickTransport = 'http' | 'socket';

/** What happened to an Update, in terms the clicker can be told. */
export type UpdateOutcome =
  | { kind: 'accepted'; message: string }
  | { kind: 'refused'; message: string }
  | { kind: 'closed'; message: string }
  | { kind: 'timeout'; message: string }
  | { kind: 'failed'; message: string };

export type ClickOutcome = UpdateOutcome['kind'] | 'ignored' | 'invalid';

/** Click counters, as the process's metrics registry provides them (prom-client's Counter and Histogram fit). */
export interface ClickMetrics {
  /** Clicks handled, by transport and what happened to them. */
  clicks: { inc(labels: { transport: ClickTransport; outcome: ClickOutcome }): void };
  /** Seconds from receiving a click to acknowledging it. */
  clickAck: { observe(labels: { transport: ClickTransport }, seconds: number): void };
}

export interface ClickHandlerOptions {
  transport: ClickTransport;
  temporal: Client;
  /** For the ephemeral reply to the clicker; without it the result is only logged. */
  slack?: WebClient;
  logger: Logger;
  metrics?: ClickMetrics;
  /** How long to wait for the Update before acknowledging Slack anyway. Default 2500 (Slack allows 3000). */
  ackTimeoutMs?: number;
  /** How long to keep waiting for the Update after the ack. Default 30000. */
  updateTimeoutMs?: number;
  /** Tell the clicker the workflow's own "accepted" text (UpdateResult.message) too. Default true. */
  confirmToClicker?: boolean;
}

export interface ClickHandler {
  /**
   * Handle one interaction payload (already JSON-parsed). Calls `ack` once: at once for payloads vouch does not
   * handle, else when the Update has an answer or the ack timeout passed; resolves after the ack, while the reply to
   * the clicker goes on (see settled). A malformed vouch click is counted and thrown as ClickPayloadError before any
   * ack, for the receiver to answer in its own way. `fields` (e.g. an envelope id) go on every log line.
   */
  handle(payload: unknown, ack: () => Promise<void> | void, fields?: Record<string, unknown>): Promise<void>;
  /** Resolves once every click in flight (Update and reply) has finished. */
  settled(): Promise<void>;
}

const TEXT = {
  closed: 'This review is closed or no longer exists, so your click changed nothing.',
  timeout: 'vouch could not record your click in time. If the message does not change within a minute, click again.',
  failed: 'vouch could not record your click just now. Please try again in a minute.',
} as const;

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function ids(cmd: ClickCommand): Record<string, unknown> {
  return { workflowId: cmd.workflowId, updateId: cmd.updateId, update: cmd.update, user: cmd.clicker.id };
}

/** Maps what the Temporal client threw to what the clicker should read. */
function describeUpdateError(err: unknown): UpdateOutcome {
  if (err instanceof WorkflowUpdateFailedError) {
    // The validator's (or handler's) Error message travels as the ApplicationFailure cause's message.
    return { kind: 'refused', message: err.cause?.message || err.message };
  }
  if (err instanceof WorkflowNotFoundError) return { kind: 'closed', message: TEXT.closed };
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return { kind: 'timeout', message: TEXT.timeout };
  return { kind: 'failed', message: TEXT.failed };
}

export function createClickHandler(opts: ClickHandlerOptions): ClickHandler {
  const { transport, temporal, slack, metrics } = opts;
  const ackTimeoutMs = opts.ackTimeoutMs ?? 2500;
  const updateTimeoutMs = opts.updateTimeoutMs ?? 30_000;
  const confirmToClicker = opts.confirmToClicker ?? true;
  const inFlight = new Set<Promise<void>>();

  function track(p: Promise<void>): void {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  }

  /** Deliver a click as its workflow Update (the Update id makes double clicks harmless). Never throws. */
  async function deliver(cmd: ClickCommand, log: Logger): Promise<UpdateOutcome> {
    const handle = temporal.workflow.getHandle(cmd.workflowId);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), updateTimeoutMs);
    try {
      const result: UpdateResult = await temporal.withAbortSignal(abort.signal, () =>
        cmd.update === 'decision'
          ? handle.executeUpdate(decisionUpdate, { args: cmd.args, updateId: cmd.updateId })
          : cmd.update === 'batchDecision'
            ? handle.executeUpdate(batchDecisionUpdate, { args: cmd.args, updateId: cmd.updateId })
            : handle.executeUpdate(duoRetryUpdate, { args: cmd.args, updateId: cmd.updateId }),
      );
      log.info(ids(cmd), 'click accepted');
      return { kind: 'accepted', message: result.message };
    } catch (err) {
      const outcome = describeUpdateError(abort.signal.aborted ? new WorkflowUpdateRPCTimeoutOrCancelledError('') : err);
      const expected = outcome.kind === 'refused' || outcome.kind === 'closed';
      log[expected ? 'info' : 'error'](
        { ...ids(cmd), reason: outcome.message, error: errorName(err), detail: errorMessage(err) },
        `click ${outcome.kind}`,
      );
      return outcome;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Tell the clicker alone what became of their click. Never throws. */
  async function reply(cmd: ClickCommand, outcome: UpdateOutcome, log: Logger): Promise<void> {
    if (outcome.kind === 'accepted' && (!confirmToClicker || !outcome.message)) return;
    if (!slack) return;
    if (!cmd.channelId) {
      log.warn(ids(cmd), 'no channel to reply in');
      return;
    }
    try {
      // The workflow's answer may quote anything (a validator message naming the review's state); escaped like every
      // other text vouch sends to Slack.
      const text = escapeSlackText(outcome.message, { multiline: true });
      await slack.chat.postEphemeral({ channel: cmd.channelId, user: cmd.clicker.id, text });
    } catch (err) {
      // web-api errors carry the API error code in the message (e.g. channel_not_found), never the token.
      log.error({ ...ids(cmd), error: errorName(err), detail: errorMessage(err) }, 'ephemeral reply failed');
    }
  }

  async function handle(payload: unknown, ack: () => Promise<void> | void, fields: Record<string, unknown> = {}): Promise<void> {
    const receivedAt = Date.now();
    const log = opts.logger.child({ transport, ...fields });
    const acked = async (): Promise<void> => {
      await ack();
      metrics?.clickAck.observe({ transport }, (Date.now() - receivedAt) / 1000);
    };
    let cmd: ClickCommand;
    try {
      const interpreted = interpretClick(payload);
      if (isIgnored(interpreted)) {
        await acked();
        metrics?.clicks.inc({ transport, outcome: 'ignored' });
        log.debug({ reason: interpreted.ignored }, 'interaction ignored');
        return;
      }
      cmd = interpreted;
    } catch (err) {
      if (err instanceof ClickPayloadError) metrics?.clicks.inc({ transport, outcome: 'invalid' });
      throw err;
    }

    const update = deliver(cmd, log);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'ack-timeout'>((resolve) => {
      timer = setTimeout(() => resolve('ack-timeout'), ackTimeoutMs);
    });
    const first = await Promise.race([update, deadline]);
    clearTimeout(timer);
    if (first === 'ack-timeout') log.warn(ids(cmd), 'acknowledged before the update finished');
    // Registered before the ack goes out, so settled() covers the reply to the clicker.
    track(
      update.then((outcome) => {
        metrics?.clicks.inc({ transport, outcome: outcome.kind });
        return reply(cmd, outcome, log);
      }),
    );
    await acked();
  }

  return {
    handle,
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
