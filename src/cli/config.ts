// One config schema, read from the environment and validated at start-up, then frozen. Each process asks for the
// parts it needs (the worker needs vendor credentials; `vouch review` needs only Temporal). Secrets are never
// logged: errors name the variable, never its value, and `describeConfig` masks them.
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const csv = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const url = z.string().url('must be a URL like https://host:port');

export const temporalSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('vouch-reviews'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: bool.optional(),
  VOUCH_UI_BASE_URL: url.default('http://127.0.0.1:8233'),
});

const reviewSchema = z.object({
  VOUCH_SECURITY_SLACK_USERS: csv.default([]),
  VOUCH_DEADLINE_SECONDS: int(30, 7 * 24 * 3600).default(900),
  VOUCH_MAX_DUO_PUSHES: int(1, 10).default(3),
});

const slackSchema = z.object({
  SLACK_BOT_TOKEN: z.string().regex(/^xoxb-[A-Za-z0-9-]+$/, 'must be a Slack bot token (xoxb-…)'),
  SLACK_API_URL: url.optional(),
  VOUCH_PEOPLE_FILE: z.string().min(1).optional(),
  VOUCH_DUO_USERNAME_FROM: z.enum(['email', 'localpart']).default('email'),
});

const handlerSchema = z.object({
  SLACK_SIGNING_SECRET: z.string().min(16, 'must be the Slack app signing secret'),
  /** Loopback unless configured: a TLS proxy (or the container's port mapping) is what Slack reaches. */
  VOUCH_HANDLER_HOST: z.string().min(1).default('127.0.0.1'),
  VOUCH_HANDLER_PORT: int(1, 65535).default(3000),
});

const duoSchema = z.object({
  DUO_IKEY: z.string().regex(/^DI[A-Z0-9]{18}$/, 'must be a Duo integration key (DI + 18 characters)'),
  DUO_SKEY: z.string().min(40, 'must be the 40-character Duo secret key'),
  DUO_API_HOST: z
    .string()
    .regex(/^[a-z0-9.-]+$/, 'must be a host name like api-XXXXXXXX.duosecurity.com (no scheme, no port)'),
});

const pagerdutySchema = z.object({
  PAGERDUTY_ROUTING_KEY: z.string().regex(/^[A-Za-z0-9]{32}$/, 'must be a 32-character Events API v2 integration key'),
  PAGERDUTY_EVENTS_SERVER: z.string().min(1).default('events.pagerduty.com'),
});

/** Who is on call for security (PagerDuty REST API), to connect them with the engineer after a page. Both or neither. */
export const oncallSchema = z.object({
  PAGERDUTY_API_TOKEN: z.string().min(20, 'must be a PagerDuty REST API key').optional(),
  PAGERDUTY_ESCALATION_POLICY_ID: z
    .string()
    .regex(/^P[A-Z0-9]{5,13}$/, 'must be a PagerDuty escalation policy id such as PT20YPA')
    .optional(),
  PAGERDUTY_API_SERVER: z.string().min(1).default('api.pagerduty.com'),
});

/** `GET /metrics` of each process; without VOUCH_METRICS_PORT there is no metrics endpoint. */
export const metricsSchema = z.object({
  VOUCH_METRICS_PORT: int(0, 65535).optional(),
  /** Loopback unless configured (a scraper outside the host or container needs 0.0.0.0 set explicitly). */
  VOUCH_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  VOUCH_SDK_METRICS_ADDRESS: z.string().regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port').default('127.0.0.1:9465'),
});

export const awsSchema = z.object({
  /**
   * e.g. arn:aws:iam::{account}:role/vouch-revert: assumed in the record's account for every revert and baseline read.
   * Required while reverts are on (VOUCH_REVERTS); vouch's own credentials never act for a record.
   */
  VOUCH_REVERT_ROLE_ARN_TEMPLATE: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\{account\}:role\/.+$/, 'must look like arn:aws:iam::{account}:role/NAME')
    .optional(),
  AWS_ENDPOINT_URL: url.optional(),
  /** `on` (default): the worker reverts what the verdicts plan; `off`: no revert runs (each review pages instead). */
  VOUCH_REVERTS: z.enum(['on', 'off']).default('on'),
});

/** Where the trusted baseline of watched AWS configuration lives: a folder, or s3://bucket/prefix. */
export const baselineSchema = z.object({
  VOUCH_BASELINE_STORE: z
    .string()
    .min(1)
    .refine((v) => !v.startsWith('s3://') || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v), 'must be a folder or s3://bucket/prefix')
    .default('.data/baseline'),
});

/** The scheduled audit of reviews terminated through Temporal (the worker keeps its Temporal Schedule). */
export const auditSchema = z.object({
  VOUCH_AUDIT_INTERVAL_SECONDS: int(60, 24 * 3600).default(300),
});

export const workerSchema = z.object({
  ...temporalSchema.shape,
  ...slackSchema.shape,
  ...duoSchema.shape,
  ...pagerdutySchema.shape,
  ...oncallSchema.shape,
  ...awsSchema.shape,
  ...baselineSchema.shape,
  ...metricsSchema.shape,
  ...auditSchema.shape,
});
export const handlerProcessSchema = z.object({ ...temporalSchema.shape, ...handlerSchema.shape, ...slackSchema.shape });
export const starterSchema = z.object({ ...temporalSchema.shape, ...reviewSchema.shape });

/** Intake and every starter (`vouch review`, `vouch ingest`): the starter's settings plus the policy and where
 * dead letters and accounts live. */
export const intakeSchema = z.object({
  ...starterSchema.shape,
  /** vouch's revert role: the policy recognises its sessions and never reviews vouch's own reverts. */
  VOUCH_REVERT_ROLE_ARN_TEMPLATE: awsSchema.shape.VOUCH_REVERT_ROLE_ARN_TEMPLATE,
  /** The trusted baseline the judge plans overwriting changes with (the worker's store). */
  VOUCH_BASELINE_STORE: baselineSchema.shape.VOUCH_BASELINE_STORE,
  AWS_ENDPOINT_URL: awsSchema.shape.AWS_ENDPOINT_URL,
  /** Folder of the dead-letter store. Default `.data/dead-letter` under the working directory. */
  VOUCH_DEAD_LETTER_DIR: z.string().min(1).optional(),
  /** Accounts and Regions to poll (YAML/JSON, see src/intake/accounts.ts). */
  VOUCH_ACCOUNTS_FILE: z.string().min(1).optional(),
  /** Policy file; the shipped default when unset. */
  VOUCH_POLICY_FILE: z.string().min(1).optional(),
  /** Rehearse a policy in production: reviews run, reverts are EC2 DryRun calls or plans only. */
  VOUCH_DRY_RUN: bool.optional(),
  /** Slack channel told about notify-tier changes. */
  VOUCH_NOTIFY_CHANNEL: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD').optional(),
  /**
   * Notify tier: one person's notify-tier changes within this many seconds go out as one digest DM (and one channel
   * message). 0: one DM per change. Default 60: a Terraform apply's calls land within about a minute, and an FYI a
   * minute late costs nothing (CloudTrail itself delivers minutes after the call).
   */
  VOUCH_NOTIFY_DIGEST_SECONDS: int(0, 3600).default(60),
  /**
   * Confirm tier: one person's confirm-tier changes within this many seconds are asked about in one Slack message and
   * confirmed with one Duo push; each change keeps its own review, deadline, pages and reverts. 0 (the default): one
   * ask and one push per change. Keep it well under the policy's deadlines: the window is spent before anyone is asked.
   */
  VOUCH_CONFIRM_BATCH_SECONDS: int(0, 300).default(0),
  /**
   * Records whose eventTime is older than this are reported (dead-letter store, "too old"), never reviewed: a replayed
   * backfill cannot re-ask engineers or undo what security approved. Must not be longer than the namespace retention
   * (checked at start-up). Default 24 hours.
   */
  VOUCH_INTAKE_MAX_AGE_SECONDS: int(60, 90 * 24 * 3600).default(24 * 3600),
  /** One file's size after gunzip: larger files are dead-lettered unread (gzip bombs). Default 256 MiB. */
  VOUCH_INTAKE_MAX_FILE_BYTES: int(1024 * 1024, 1024 * 1024 * 1024).default(256 * 1024 * 1024),
  /** How far each LookupEvents window reaches back before the checkpoint; later events count as late. Default 900. */
  VOUCH_LOOKUP_OVERLAP_SECONDS: int(60, 24 * 3600).default(900),
  /** Records over this many bytes are dead-lettered. Default 1 MiB. */
  VOUCH_INTAKE_MAX_RECORD_BYTES: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of bytes')
    .transform(Number)
    .pipe(z.number().int().min(1024).max(1_500_000))
    .optional(),
});

/** Configuration of `vouch socket-mode`: Temporal, the bot token (replies) and the app-level token. */
export const socketModeSchema = z.object({
  ...temporalSchema.shape,
  ...slackSchema.shape,
  SLACK_APP_TOKEN: z.string().regex(/^xapp-[A-Za-z0-9-]+$/, 'must be a Slack app-level token (xapp-…) with connections:write'),
});

export type WorkerConfig = z.infer<typeof workerSchema>;
export type IntakeConfig = z.infer<typeof intakeSchema>;

/** Variables whose values are secrets. */
export const SECRET_VARS = new Set([
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'DUO_SKEY',
  'PAGERDUTY_ROUTING_KEY',
  'TEMPORAL_API_KEY',
  'PAGERDUTY_API_TOKEN',
  'SLACK_APP_TOKEN',
]);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Validate `env` against `schema`; throws ConfigError naming every bad or missing variable (never its value). */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): Readonly<z.infer<S>> {
  // Empty strings count as unset, as in most dotenv setups.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const name = i.path.join('.') || '(root)';
      const missing = cleaned[name] === undefined;
      return missing ? `${name} is required` : `${name} ${i.message}`;
    });
    throw new ConfigError(problems);
  }
  return Object.freeze(parsed.data as z.infer<S>);
}

/** Config as safe-to-log text: secrets masked. */
export function describeConfig(config: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, SECRET_VARS.has(k) && v !== undefined ? '<set>' : v]),
  );
}
