// The LookupEvents page reader's dependencies for `vouch worker`, from the environment (intake's settings and the
// AWS SDK's own variables).
import type { Client } from '@temporalio/client';
import { connectClient } from './temporal-client';
import { FolderDeadLetterStore } from '../intake/dead-letter';
import { createLookupDeps } from '../intake/lookup';
import type { LookupDeps } from '../intake/lookup-page';
import { policyJudge, type Judge } from '../intake/judges';
import { IntakePipeline, type PipelineOptions, type Starter } from '../intake/pipeline';
import { temporalStarter } from '../intake/starter';
import { accountsFromConfig, deadLetterDir, intakeGuards, loadIntakeConfig, policyFromConfig, reviewSettings } from './intake-settings';

/**
 * For `vouch worker` (buildActivityDeps): the LookupEvents activity's dependencies from the environment.
 * Reviews are started over the worker's own Temporal client (or a client from TEMPORAL_* when none is given);
 * CloudTrail and STS endpoints follow the SDK's settings (AWS_ENDPOINT_URL_CLOUDTRAIL, AWS_ENDPOINT_URL_STS).
 */
export function createLookupDepsFromEnv(
  env: Record<string, string | undefined> = process.env,
  overrides: { judge?: Judge; onLag?: PipelineOptions['onLag']; onLate?: PipelineOptions['onLate'] } = {},
): { cloudtrailLookup: LookupDeps } {
  const config = loadIntakeConfig(env);
  // Reviews start over a client of our own (lazily connected from TEMPORAL_*): the activity context's client runs
  // over the worker's NativeConnection, whose error mapping the SDK still calls experimental.
  let own: Promise<Client> | undefined;
  const starter: Starter = async (input) => {
    own ??= connectClient(config).then((c) => c.client);
    return temporalStarter(await own, { taskQueue: config.TEMPORAL_TASK_QUEUE, uiBaseUrl: config.VOUCH_UI_BASE_URL })(input);
  };
  // The pollers read the accounts of the accounts file; a page holds only its own account's records (lookup.ts).
  // With VOUCH_ACCOUNTS_FILE set here too, the worker also checks each record against it.
  const accounts = accountsFromConfig(config, { required: false });
  const pipeline = new IntakePipeline({
    judge: overrides.judge ?? policyJudge(policyFromConfig(config)),
    starter,
    ...intakeGuards(config, accounts),
    ...(overrides.onLag ? { onLag: overrides.onLag } : {}),
    ...(overrides.onLate ? { onLate: overrides.onLate } : {}),
    deadLetters: new FolderDeadLetterStore(deadLetterDir(config)),
    review: reviewSettings(config),
    ...(config.VOUCH_INTAKE_MAX_RECORD_BYTES ? { maxRecordBytes: config.VOUCH_INTAKE_MAX_RECORD_BYTES } : {}),
  });
  return createLookupDeps({ pipeline });
}
