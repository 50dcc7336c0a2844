// Shared, pure types for the review workflow. Deterministic code only: no Node builtins, no imports from src/.

/** What the policy decided for a change. `ignore` and `notify` never reach the confirm workflow path. */
export type Tier = 'ignore' | 'notify' | 'confirm' | 'page' | 'revert';

/** The final (or current) state of a review, as shown in the VouchOutcome search attribute. */
export type Outcome =
  | 'PENDING'
  | 'CONFIRMED' // the engineer said yes and Duo allowed
  | 'DENIED' // "not me", Duo deny or Duo fraud
  | 'TIMED_OUT' // no decision before the deadline
  | 'REVERTED' // the change was undone and the undo was verified
  | 'REVERT_FAILED' // the undo failed after its retries; security was paged at high urgency
  | 'APPROVED' // a member of the security group approved it
  | 'ESCALATED' // paged: escalated by security, a Duo bypass user, or nobody to ask and nothing to revert
  | 'NOTIFIED' // notify tier: told, nothing to answer
  | 'PAGE_FAILED' // a page PagerDuty refused (or retries could not deliver): told in security's Slack channel instead
  | 'CANCELLED'; // cancelled through Temporal (not by vouch): security paged

export type ActorType =
  | 'IAMUser'
  | 'AssumedRole'
  | 'IdentityCenterUser'
  | 'Root'
  | 'AWSService'
  | 'FederatedUser'
  | 'AWSAccount'
  | 'Unknown';

/** Who made the change, as CloudTrail tells it, plus the best guess at a person. */
export interface Actor {
  type: ActorType;
  /** Full principal ARN (assumed-role ARN for roles). */
  arn?: string;
  /** Human-readable principal: IAM user name, role session name, Identity Center user name. */
  name: string;
  /** An e-mail address, when the identity carries one (SSO session names usually do). */
  email?: string;
  /** The role a session was issued from (AssumedRole). */
  sessionIssuerArn?: string;
  accessKeyId?: string;
  /** The IAM Identity Center user the request was made for, when CloudTrail names one (userIdentity.onBehalfOf.userId). */
  identityCenterUserId?: string;
}

/** One AWS change, normalised from a CloudTrail record, with sensitive values already redacted. */
export interface Change {
  eventId: string;
  eventTime: string; // ISO 8601
  account: string;
  region: string;
  eventSource: string; // e.g. ec2.amazonaws.com
  eventName: string;
  actor: Actor;
  sourceIp?: string;
  userAgent?: string;
  /** Redacted request parameters (a summary, never secrets). */
  request: Record<string, unknown>;
  /** Redacted response elements, null when CloudTrail gives none. */
  response: Record<string, unknown> | null;
  errorCode?: string;
  /** CloudTrail's readOnly flag, when the record has it. */
  readOnly?: boolean;
  /** e.g. AwsApiCall, AwsConsoleSignIn. */
  eventType?: string;
  /** Redacted additionalEventData (e.g. MFAUsed for console sign-ins). */
  additionalEventData?: Record<string, unknown>;
  /** One line for humans: "sg-123 opened to 0.0.0.0/0 on tcp/22". */
  summary: string;
}

export type AwsService =
  | 'ec2'
  | 'cloudtrail'
  | 'iam'
  | 's3'
  | 's3control'
  | 'kms'
  | 'guardduty'
  | 'config'
  | 'lambda'
  | 'rds';

/** One AWS SDK v3 call: `<Operation>Command` of the service's client, with its exact input. */
export interface RevertStep {
  service: AwsService;
  operation: string;
  input: Record<string, unknown>;
}

/** A revert the policy allows: the exact AWS SDK v3 command(s) and input(s) that would run. */
export interface RevertPlan extends RevertStep {
  /** Human description: "revoke sgr-1 from sg-123". */
  description: string;
  /** Further calls after the first, in order (e.g. KMS EnableKey after CancelKeyDeletion). */
  then?: RevertStep[];
  /** Where the plan comes from: the event alone, or the trusted baseline. Default 'event'. */
  source?: 'event' | 'baseline';
  /**
   * What the live resource must still show for the revert to run, from the record (e.g. a security-group rule's
   * protocol, ports and CIDR; a Lambda statement's principal). The revert reads the resource first and refuses
   * (RevertStateChanged) when it no longer matches: it acts on live state, never on the record's word alone.
   */
  expect?: Record<string, unknown>;
}

/** The policy's verdict, decided before the workflow starts (so policy changes never break replay). */
export interface Verdict {
  /** `ignore` never starts a review; `notify` tells the engineer (and a channel) and ends NOTIFIED. */
  tier: Exclude<Tier, 'ignore'>;
  score: number; // 0–100
  rules: string[];
  reasons: string[];
  /** Seconds the engineer has to answer. Default 900. */
  deadlineSeconds: number;
  revertPlan: RevertPlan | null;
  /** Why there is no plan (e.g. "needs a saved baseline"), for people reading the review. */
  revertReason?: string;
  /** Also revert when the deadline passes without a confirmed answer (plans from a trusted baseline). */
  revertOnTimeout?: boolean;
}

/** Everything the workflow needs; config is captured here at start, never read from inside the workflow. */
export interface ReviewInput {
  change: Change;
  verdict: Verdict;
  /** Slack user ids allowed to override (approve / revert now / escalate). */
  securityResponders: string[];
  /** Link to this review in the Temporal Web UI. */
  reviewUrl: string;
  /** Maximum Duo pushes per review. Default 3. */
  maxDuoPushes?: number;
  /** Slack channel (C…) told about notify-tier changes. */
  notifyChannel?: string;
  /** Rehearse reverts only (EC2 DryRun where the API has it, plan-only elsewhere). */
  dryRun?: boolean;
  /**
   * Notify tier: the person's notify-tier changes within this many seconds go out as one digest DM (and one channel
   * message) instead of one each (VOUCH_NOTIFY_DIGEST_SECONDS). Absent or 0: one DM per change.
   */
  notifyDigestSeconds?: number;
  /**
   * Confirm tier: the person's confirm-tier changes within this many seconds are asked about in one Slack message
   * with one Duo push (VOUCH_CONFIRM_BATCH_SECONDS); each change keeps its own review. Absent or 0: one ask each.
   */
  confirmBatchSeconds?: number;
}

/** The person behind an actor. */
export interface Person {
  slackUserId: string;
  duoUsername: string;
  email?: string;
  displayName: string;
}

export type EngineerAnswer = 'yes' | 'no';

export interface DecisionRequest {
  /** Slack user id of whoever clicked. */
  slackUserId: string;
  answer: EngineerAnswer;
  /** The `ts` of the Slack message the click came from: a click is bound to the review's own message. */
  messageTs?: string;
}

export interface DuoRetryRequest {
  slackUserId: string;
  /** The `ts` of the Slack message the click came from. */
  messageTs?: string;
  /** The Duo attempt the button was drawn for (1-based): a replayed button of an older attempt does nothing. */
  duoAttempt?: number;
}

export type SecurityAction = 'approve' | 'revert' | 'escalate';

export interface SecurityDecisionRequest {
  slackUserId: string;
  action: SecurityAction;
  note?: string;
}

export interface UpdateResult {
  accepted: true;
  /** Text the Slack handler can show to the clicker. */
  message: string;
}

export interface TimelineEntry {
  at: string; // ISO 8601, workflow time
  step: string; // e.g. 'slack.posted', 'duo.push', 'pagerduty.triggered'
  result: string; // short human text
}

export type Phase = 'STARTING' | 'AWAITING_ANSWER' | 'AWAITING_DUO' | 'DUO_FAILED' | 'FINISHING' | 'DONE';

export interface ReviewStatus {
  reviewId: string;
  tier: Verdict['tier'];
  phase: Phase;
  outcome: Outcome;
  deadline: string | null;
  duoPushes: number;
  person: Person | null;
  incidentOpen: boolean;
  timeline: TimelineEntry[];
}

/** A notify-tier review in a digest: its id, its full FYI (sent alone when it is the only one), its line in a list. */
export interface NotifyDigestEntry {
  reviewId: string;
  text: string;
  line: string;
}

/** How a person's digest starts: one per account and person, keyed by the people directory's Slack user. */
export interface NotifyDigestStart {
  account: string;
  person: Person;
  windowSeconds: number;
  /** Security's channel, told once per digest. */
  notifyChannel?: string;
  /** Entries carried over a continue-as-new. */
  pending?: NotifyDigestEntry[];
}

export interface JoinNotifyDigestInput {
  start: NotifyDigestStart;
  entry: NotifyDigestEntry;
}

/** What the digest tells each member review once its DM went out (or could not). */
export interface NotifyDigestSent {
  digestId: string;
  /** Every review the DM listed (or counted). */
  reviewIds: string[];
  /** The DM reached the person. */
  told: boolean;
  detail: string;
}

/** A confirm-tier review in its person's batch: its id, its deadline, and its line in the batch message. */
export interface ConfirmBatchEntry {
  reviewId: string;
  reviewUrl: string;
  /** The review's own deadline (epoch ms): the batch takes answers only before the earliest one it lists. */
  deadlineMs: number;
  /** "AuthorizeSecurityGroupIngress in 1111/eu-west-1: sg-1 opened to 0.0.0.0/0 on tcp/22" (raw; escaped when shown). */
  what: string;
  /** The change's outline for the batch's Duo push (the review's own, already redacted, change). */
  change: Change;
}

/** How a person's confirm batch starts: one per account and person, keyed by the people directory's Slack user. */
export interface ConfirmBatchStart {
  account: string;
  person: Person;
  windowSeconds: number;
  /** Entries carried over a continue-as-new. */
  pending?: ConfirmBatchEntry[];
}

export interface JoinConfirmBatchInput {
  start: ConfirmBatchStart;
  entry: ConfirmBatchEntry;
}

/** The person's answer to a batch message (its buttons carry the batch's workflow id). */
export interface BatchDecisionRequest {
  slackUserId: string;
  answer: EngineerAnswer;
  /** The `ts` of the Slack message the click came from: only the batch message that listed the reviews counts. */
  messageTs?: string;
}

/**
 * What the batch tells each review it listed. `released`: the review asks on its own, as without a batch (it was
 * alone in its window, the batch message could not be posted, or the batch's Duo push did not settle it).
 * `answered`: the person's answer for every listed review, and for "yes" the one Duo push's result.
 */
export interface ConfirmBatchResult {
  batchId: string;
  reviewIds: string[];
  kind: 'released' | 'answered';
  messageTs?: string;
  answer?: EngineerAnswer;
  by?: string;
  duo?: DuoStatus['result'];
  detail: string;
}

/** Batch message states; the activity renders Block Kit from them. */
export type BatchMessageState =
  | { kind: 'ask'; deadline: string }
  | { kind: 'info'; text: string };

export interface BatchMessageInput {
  batchId: string;
  slackUserId: string;
  entries: ConfirmBatchEntry[];
  state: BatchMessageState;
  /** Set when updating the posted message. */
  message?: SlackMessageRef;
}

export interface ReviewOutcome {
  outcome: Outcome;
  reason: string;
  timeline: TimelineEntry[];
}

// ---- Activity inputs and outputs (implemented in activities/, called from the workflow) ----

/** The Slack message's state; the activity renders Block Kit from it. */
export type MessageState =
  | { kind: 'ask'; deadline: string }
  | { kind: 'duo-pending'; pushes: number }
  | { kind: 'duo-failed'; reason: string; pushes: number; maxPushes: number }
  | { kind: 'final'; outcome: Outcome; reason: string }
  | { kind: 'info'; text: string };

export interface PostMessageInput {
  reviewId: string;
  slackUserId: string;
  change: Change;
  verdict: Verdict;
  reviewUrl: string;
  state: MessageState;
}

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

export interface UpdateMessageInput extends PostMessageInput {
  message: SlackMessageRef;
}

export interface ReminderInput {
  slackUserId: string;
  message: SlackMessageRef;
  text: string;
}

export interface DuoPushInput {
  duoUsername: string;
  change: Change;
  reviewId: string;
  /** What the push asks the person to confirm, shown in Duo Mobile (e.g. "security override: approve"). */
  purpose?: string;
}

/** preauth: the user can be asked with a real push (anything else is a failure with a FailureTypes type). */
export interface DuoUserCheck {
  duoUsername: string;
}

export interface DuoPushStarted {
  txid: string;
}

/**
 * allow / deny / fraud are final answers; timeout and failed allow another push. `bypass`: Duo let the user through
 * without a push (a bypass user): never a confirmation.
 */
export type DuoResult = 'allow' | 'deny' | 'fraud' | 'timeout' | 'failed' | 'bypass';

export interface DuoStatus {
  result: DuoResult;
  status: string;
  statusMessage: string;
}

export type Severity = 'critical' | 'error' | 'warning' | 'info';

export interface IncidentInput {
  dedupKey: string;
  summary: string;
  severity: Severity;
  change: Change;
  verdict: Verdict;
  reviewUrl: string;
  details: Record<string, unknown>;
}

export interface RevertInput {
  plan: RevertPlan;
  account: string;
  region: string;
  eventId: string;
  /** Rehearse only: EC2 DryRun where the API has it, plan-only elsewhere. */
  dryRun?: boolean;
}

export interface RevertResult {
  /** true when something was undone now; false when it was already gone (idempotent). */
  changed: boolean;
  before: unknown;
  after: unknown;
  message: string;
  dryRun?: boolean;
}

/** ApplicationFailure types the workflow branches on (failure.cause.type). */
export const FailureTypes = {
  UnknownPerson: 'UnknownPerson',
  DuoNotEnrolled: 'DuoNotEnrolled',
  DuoDenied: 'DuoDenied',
  InvalidCredentials: 'InvalidCredentials',
  VendorRejected: 'VendorRejected',
  RevertForbidden: 'RevertForbidden',
  RevertNotVerified: 'RevertNotVerified',
  RateLimited: 'RateLimited',
  /** No revert role for the record's account (none configured, or it cannot be assumed): no revert runs. */
  RevertRoleUnavailable: 'RevertRoleUnavailable',
  /** The credentials belong to another account than the record's (STS GetCallerIdentity): no call was made. */
  RevertWrongAccount: 'RevertWrongAccount',
  /** The resource the change touched no longer exists: nothing was reverted, and that is not REVERTED. */
  RevertTargetGone: 'RevertTargetGone',
  /** The live resource no longer matches the change (another rule, principal or state now): vouch did not act. */
  RevertStateChanged: 'RevertStateChanged',
  /** Reverts are off in this deployment (VOUCH_REVERTS=off): no revert runs. */
  RevertsDisabled: 'RevertsDisabled',
  /** Duo lets this user through without a push (preauth `allow`, auth_status `bypass`): nothing was verified. */
  DuoBypass: 'DuoBypass',
  /** /auth was called and its answer is unknown (timeout, network): a push may be on the phone; never sent twice. */
  DuoPushUncertain: 'DuoPushUncertain',
  /** A Duo request got no answer in time (preauth, auth_status): retryable. */
  DuoTimeout: 'DuoTimeout',
} as const;
