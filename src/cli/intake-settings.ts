// Intake's part of the environment (`intakeSchema` in config.ts) turned into what the intake rooms take: the review
// settings, the dead-letter folder and the policy. Config is read here, in src/cli, so src/intake never reads it.
import { ConfigError, intakeSchema, loadConfig, type IntakeConfig } from './config';
import { loadPolicy, type Policy } from '../policy';
import { AccountsError, loadAccounts } from '../intake/accounts';
import { defaultDeadLetterDir } from '../intake/dead-letter';
import type { PipelineOptions, ReviewSettings } from '../intake/pipeline';
import { accountAllowList, type AccountAllowList } from '../intake/provenance';
import { maxAgeProblem, type NamespaceDescriber } from '../intake/retention';
import { baselineReplanner } from '../intake/judges';
import { createBaselinePlanner, createBaselineStore, revertRoleNameFrom } from '../revert';

export function loadIntakeConfig(env: Record<string, string | undefined> = process.env): Readonly<IntakeConfig> {
  return loadConfig(intakeSchema, env);
}

export function reviewSettings(config: IntakeConfig): ReviewSettings {
  return {
    securityResponders: config.VOUCH_SECURITY_SLACK_USERS,
    maxDuoPushes: config.VOUCH_MAX_DUO_PUSHES,
    ...(config.VOUCH_NOTIFY_CHANNEL ? { notifyChannel: config.VOUCH_NOTIFY_CHANNEL } : {}),
    ...(config.VOUCH_NOTIFY_DIGEST_SECONDS > 0 ? { notifyDigestSeconds: config.VOUCH_NOTIFY_DIGEST_SECONDS } : {}),
    ...(config.VOUCH_CONFIRM_BATCH_SECONDS > 0 ? { confirmBatchSeconds: config.VOUCH_CONFIRM_BATCH_SECONDS } : {}),
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

/**
 * The accounts intake reviews: those of the accounts file (`file`, else VOUCH_ACCOUNTS_FILE). `required`: intake
 * refuses to run without one (every automated source); otherwise undefined when none is configured (`vouch review`).
 */
export function accountsFromConfig(config: IntakeConfig, opts: { file?: string; required: boolean }): AccountAllowList | undefined {
  const file = opts.file ?? config.VOUCH_ACCOUNTS_FILE;
  if (!file) {
    if (!opts.required) return undefined;
    throw new ConfigError([
      'VOUCH_ACCOUNTS_FILE is required: intake reviews only records of the accounts it watches (or pass --accounts FILE)',
    ]);
  }
  try {
    return accountAllowList(loadAccounts(file).map((a) => a.id), `VOUCH_ACCOUNTS_FILE ${file}`);
  } catch (err) {
    if (err instanceof AccountsError) throw new ConfigError([`VOUCH_ACCOUNTS_FILE ${err.message}`]);
    throw err;
  }
}

/**
 * The pipeline's guards from config: the watched accounts, the maximum age, the LookupEvents overlap, and the trusted
 * baseline (VOUCH_BASELINE_STORE) that plans the changes which overwrite state.
 */
export function intakeGuards(
  config: IntakeConfig,
  accounts: AccountAllowList | undefined,
): Pick<PipelineOptions, 'accounts' | 'maxAgeSeconds' | 'lateAfterSeconds' | 'replan'> {
  return {
    replan: baselineFromConfig(config),
    ...(accounts ? { accounts } : {}),
    maxAgeSeconds: config.VOUCH_INTAKE_MAX_AGE_SECONDS,
    lateAfterSeconds: config.VOUCH_LOOKUP_OVERLAP_SECONDS,
  };
}

/** At start-up: the maximum age must not be longer than the namespace's retention (src/intake/retention.ts). */
export async function checkMaxAge(service: NamespaceDescriber, config: IntakeConfig): Promise<void> {
  const problem = await maxAgeProblem(service, config.TEMPORAL_NAMESPACE, config.VOUCH_INTAKE_MAX_AGE_SECONDS);
  if (problem) throw new ConfigError([problem]);
}

/** The judge's baseline planner from config: the store the worker keeps, read per account with a short cache. */
export function baselineFromConfig(config: IntakeConfig): NonNullable<PipelineOptions['replan']> {
  const store = createBaselineStore(config.VOUCH_BASELINE_STORE, config.AWS_ENDPOINT_URL ? { endpoint: config.AWS_ENDPOINT_URL } : {});
  const roleName = revertRoleNameFrom(config.VOUCH_REVERT_ROLE_ARN_TEMPLATE);
  return baselineReplanner(createBaselinePlanner(store, roleName ? { revertRoleName: roleName } : {}));
}
