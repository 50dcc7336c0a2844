// Intake's part of the environment (`intakeSchema` in config.ts) turned into what the intake rooms take: the review
// settings, the dead-letter folder and the policy. Config is read here, in src/cli, so src/intake never reads it.
import { intakeSchema, loadConfig, type IntakeConfig } from './config';
import { loadPolicy, type Policy } from '../policy';
import { defaultDeadLetterDir } from '../intake/dead-letter';
import type { ReviewSettings } from '../intake/pipeline';

export function loadIntakeConfig(env: Record<string, string | undefined> = process.env): Readonly<IntakeConfig> {
  return loadConfig(intakeSchema, env);
}

export function reviewSettings(config: IntakeConfig): ReviewSettings {
  return {
    securityResponders: config.VOUCH_SECURITY_SLACK_USERS,
    maxDuoPushes: config.VOUCH_MAX_DUO_PUSHES,
    ...(config.VOUCH_NOTIFY_CHANNEL ? { notifyChannel: config.VOUCH_NOTIFY_CHANNEL } : {}),
    ...(config.VOUCH_DRY_RUN ? { dryRun: true } : {}),
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
