// Fake activities for workflow tests: plain functions that record every call and follow a per-review script.
// (Vendor code itself is tested against loopback stand-ins in test/activities/.)
import { ApplicationFailure } from '@temporalio/common';
import type { Activities } from '../../activities';
import { createDigestActivities } from '../../activities/digest';
import type { Actor, DuoStatus, Person } from '../../src/core/types';

export interface Script {
  person?: Person | 'unknown';
  duo?: Array<DuoStatus['result']>; // one answer per push
  duoDelayMs?: number;
  revert?: 'ok' | 'forbidden';
  /** Resolved when the test lets a triggerIncident call finish (to observe the workflow mid-page). */
  holdIncident?: Promise<void>;
  /** PagerDuty refuses every page (400: VendorRejected, non-retryable). */
  pagerduty?: 'rejects';
  /** preauth of the engineer's Duo user says bypass (DuoBypass). */
  duoPreauth?: 'bypass';
  /** Slack refuses the review DM (VendorRejected, non-retryable). */
  dm?: 'fails';
  /** Slack refuses every plain DM to the person (notifyPerson: VendorRejected, non-retryable). */
  notify?: 'fails';
}

export interface Call {
  name: string;
  key: string;
  args: unknown;
}

/** Every test uses its own key k: actor `eng-k`, event `evt-k`, Slack user `U-k`; the fake finds the script by it. */
export class FakeVendors {
  readonly calls: Call[] = [];
  private readonly scripts = new Map<string, Script>();
  private readonly duoCount = new Map<string, number>();

  script(key: string, s: Script): void {
    this.scripts.set(key, s);
  }

  callsFor(key: string, name?: string): Call[] {
    return this.calls.filter((c) => c.key === key && (!name || c.name === name));
  }

  private record(name: string, key: string, args: unknown): Script {
    this.calls.push({ name, key, args });
    return this.scripts.get(key) ?? {};
  }

  activities(): Activities {
    const keyOfActor = (a: Actor): string => a.name.replace(/^eng-/, '');
    const keyOfReview = (id: string): string => id.replace(/^.*evt-/, '');
    const keyOfUser = (u: string): string => u.replace(/^U-/, '');
    // Joining a notify digest is a Temporal call, not a vendor's: the real activity, on the test's server.
    const { joinNotifyDigest, joinConfirmBatch } = createDigestActivities({});
    /** A batch's key: its workflow id is vouch-batch-<account>-U-<key>. */
    const keyOfBatch = (id: string): string => id.replace(/^vouch-batch-\d+-U-/, '');
    const batchPosts = new Map<string, number>();
    const acts: Partial<Activities> = {
      joinNotifyDigest: async (input) => {
        this.record('joinNotifyDigest', keyOfUser(input.start.person.slackUserId), input);
        return joinNotifyDigest(input);
      },
      joinConfirmBatch: async (input) => {
        this.record('joinConfirmBatch', keyOfUser(input.start.person.slackUserId), input);
        return joinConfirmBatch(input);
      },
      postBatchMessage: async (input) => {
        const key = keyOfBatch(input.batchId);
        const s = this.record('postBatchMessage', key, input);
        if (s.dm === 'fails') {
          throw ApplicationFailure.create({ message: 'Slack chat.postMessage rejected the request: user_disabled', type: 'VendorRejected', nonRetryable: true });
        }
        const n = (batchPosts.get(key) ?? 0) + 1;
        batchPosts.set(key, n);
        return { channel: `D-${key}`, ts: `${key}.batch${n}` };
      },
      updateBatchMessage: async (input) => {
        this.record('updateBatchMessage', keyOfBatch(input.batchId), input);
      },
      resolvePerson: async (actor: Actor) => {
        const key = keyOfActor(actor);
        const s = this.record('resolvePerson', key, actor);
        if (s.person === 'unknown') {
          throw ApplicationFailure.create({ message: `no Slack user for ${actor.name}`, type: 'UnknownPerson', nonRetryable: true });
        }
        return s.person ?? { slackUserId: `U-${key}`, duoUsername: `${actor.name}@example.com`, displayName: actor.name };
      },
      postReviewMessage: async (input) => {
        const s = this.record('postReviewMessage', keyOfReview(input.reviewId), input);
        if (s.dm === 'fails') {
          throw ApplicationFailure.create({ message: 'Slack chat.postMessage rejected the request: user_disabled', type: 'VendorRejected', nonRetryable: true });
        }
        return { channel: `D-${keyOfReview(input.reviewId)}`, ts: `${keyOfReview(input.reviewId)}.0001` };
      },
      updateReviewMessage: async (input) => {
        this.record('updateReviewMessage', keyOfReview(input.reviewId), input);
      },
      sendReminder: async (input) => {
        this.record('sendReminder', keyOfUser(input.slackUserId), input);
      },
      notifyPerson: async (input) => {
        const s = this.record('notifyPerson', keyOfUser(input.slackUserId), input);
        if (s.notify === 'fails') {
          throw ApplicationFailure.create({ message: 'Slack chat.postMessage rejected the request: user_disabled', type: 'VendorRejected', nonRetryable: true });
        }
        return { channel: 'D-x', ts: '1.1' };
      },
      notifyChannel: async (input) => {
        this.record('notifyChannel', input.text.replace(/^.* by eng-([^:]+):.*$/s, '$1'), input);
        return { channel: input.channel, ts: '2.2' };
      },
      checkDuoUser: async (input) => {
        const key = input.duoUsername.replace(/^eng-/, '').replace(/@example\.com$/, '');
        const s = this.record('checkDuoUser', key, input);
        if (s.duoPreauth === 'bypass') {
          throw ApplicationFailure.create({ message: `Duo lets ${input.duoUsername} through without a push`, type: 'DuoBypass', nonRetryable: true });
        }
      },
      resolveSecurityMember: async (input) => {
        this.record('resolveSecurityMember', `sec:${input.slackUserId}`, input);
        if (!input.slackUserId.startsWith('U-SEC')) {
          throw ApplicationFailure.create({ message: `no directory entry names ${input.slackUserId}`, type: 'UnknownPerson', nonRetryable: true });
        }
        const name = input.slackUserId.slice(2).toLowerCase();
        return { slackUserId: input.slackUserId, duoUsername: `${name}@example.com`, displayName: name };
      },
      sendDuoPush: async (input) => {
        const key = input.reviewId.startsWith('vouch-batch-') ? keyOfBatch(input.reviewId) : keyOfReview(input.reviewId);
        this.record('sendDuoPush', key, input);
        const n = (this.duoCount.get(key) ?? 0) + 1;
        this.duoCount.set(key, n);
        return { txid: `${key}#${n}` };
      },
      awaitDuoResult: async (input) => {
        const [key = '', n = '1'] = input.txid.split('#');
        const s = this.record('awaitDuoResult', key, input);
        if (s.duoDelayMs) await new Promise((r) => setTimeout(r, s.duoDelayMs));
        const result = s.duo?.[Number(n) - 1] ?? 'allow';
        // A bypass is reported the way Duo's auth_status does it: result allow, status bypass.
        if (result === 'bypass') return { result: 'allow', status: 'bypass', statusMessage: 'scripted bypass' };
        return { result, status: result === 'timeout' ? 'timeout' : result, statusMessage: `scripted ${result}` };
      },
      triggerIncident: async (input) => {
        const s = this.record('triggerIncident', keyOfReview(input.dedupKey), input);
        if (s.holdIncident) await s.holdIncident;
        if (s.pagerduty === 'rejects') {
          throw ApplicationFailure.create({ message: 'PagerDuty trigger rejected (400): Event object is invalid', type: 'VendorRejected', nonRetryable: true });
        }
        return { dedupKey: input.dedupKey };
      },
      resolveIncident: async (input) => {
        this.record('resolveIncident', keyOfReview(input.dedupKey), input);
      },
      connectOnCall: async (input) => {
        this.record('connectOnCall', keyOfReview(input.reviewId), input);
        return { channel: 'G-ONCALL', oncall: ['U-ONCALL'], message: 'connected on-call U-ONCALL' };
      },
      acceptTrustedChange: async (input) => {
        this.record('acceptTrustedChange', input.change.eventId.replace(/^evt-/, ''), input);
        return { updated: true, message: 'baseline moved to the confirmed state' };
      },
      revertChange: async (input) => {
        const s = this.record('revertChange', input.eventId.replace(/^evt-/, ''), input);
        if (s.revert === 'forbidden') {
          throw ApplicationFailure.create({ message: 'not authorized to revoke', type: 'RevertForbidden', nonRetryable: true });
        }
        return { changed: true, before: ['sgr-1 in tcp/22 0.0.0.0/0'], after: [], message: 'revoked sgr-1' };
      },
    };
    return acts as Activities;
  }
}

/** The review asks its engineer and its DM is out (clicks name the DM's ts, which the review knows once posted). */
export function isAsked(s: { phase: string; timeline: Array<{ step: string }> }): boolean {
  return s.phase === 'AWAITING_ANSWER' && s.timeline.some((t) => t.step === 'slack.posted');
}
