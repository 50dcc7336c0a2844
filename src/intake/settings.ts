// Intake's part of the environment, validated like the rest (src/config.ts's loadConfig): the starter's Temporal and
// review settings plus where dead letters, accounts and the policy live.
import { z } from 'zod';
import { awsSchema, loadConfig, starterSchema } from '../config';
import { loadPolicy, type Policy } from '../policy';
import { defaultDeadLetterDir } from './dead-letter';
import type { ReviewSettings } from './pipeline';

export const intakeSchema = z.object({
  ...starterSchema.shape,
  /** vouch's revert role: the policy recognises its sessions and never reviews vouch's own reverts. */
  VOUCH_REVERT_ROLE_ARN_TEMPLATE: awsSchema.shape.VOUCH_REVERT_ROLE_ARN_TEMPLATE,
  /** Folder of the dead-letter store. Default `.data/dead-letter` under the working directory. */
  VOUCH_DEAD_LETTER_DIR: z.string().min(1).optional(),
  /** Accounts and Regions to poll (YAML/JSON, see src/intake/accounts.ts). */
  VOUCH_ACCOUNTS_FILE: z.string().min(1).optional(),
  /** Policy file; the shipped default when unset. */
  VOUCH_POLICY_FILE: z.string().min(1).optional(),
  /** Slack channel told about notify-tier changes. */
  VOUCH_NOTIFY_CHANNEL: z.string().regex(/^[CG][A-Z0-9]{2,}$/, 'must be a Slack channel id like C0123ABCD').optional(),
  /** Records over this many bytes are dead-lettered. Default 1 MiB. */
  VOUCH_INTAKE_MAX_RECORD_BYTES: z
    .string()
    .regex(/^\d+$/, 'must be a whole number of bytes')
    .transform(Number)
    .pipe(z.number().int().min(1024).max(1_500_000))
    .optional(),
});

export type IntakeConfig = z.infer<typeof intakeSchema>;

export function loadIntakeConfig(env: Record<string, string | undefined> = process.env): Readonly<IntakeConfig> {
  return loadConfig(intakeSchema, env);
}

export function reviewSettings(config: IntakeConfig): ReviewSettings {
  return {
    securityResponders: config.VOUCH_SECURITY_SLACK_USERS,
    maxDuoPushes: config.VOUCH_MAX_DUO_PUSHES,
    ...(config.VOUCH_NOTIFY_CHANNEL ? { notifyChannel: config.VOUCH_NOTIFY_CHANNEL } : {}),
  };
}

export function deadLetterDir(config: IntakeConfig): string {
  return config.VOUCH_DEAD_LETTER_DIR ?? defaultDeadLetterDir({});
}

/** The policy intake judges with: `file`, else VOUCH_POLICY_FILE, else the shipped default. */
export function policyFromConfig(config: IntakeConfig, file?: string): Policy {
  return loadPolicy(file ?? config.VOUCH_POLICY_FILE, {
    ...(config.VOUCH_REVERT_ROLE_ARN_TEMPLATE ? { revertRoleArnTemplate: config.VOUCH_REVERT_ROLE_ARN_TEMPLATE } : {}),
  });
}
