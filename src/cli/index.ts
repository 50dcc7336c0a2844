// `vouch <command>`: thin entry points that wire config to modules. Every command catches at the top, prints a
// message that names the problem, and exits non-zero.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, intakeSchema, loadConfig } from './config';
import { log } from './log';
import { runWorkerFromEnv } from './worker';
import { runHandlerFromEnv } from './handler';
import { setupFromEnv } from './setup';
import { prepareReviews, startPrepared } from './review';
import { policyFromConfig } from '../intake/settings';
import { connectClientFromEnv } from './temporal-client';
import { runDemo } from '../demo/command';
import { reportCommand } from './report';
import { classifyCommand, policyCheckCommand } from './classify';
import { baselineCommand } from './baseline';
import { iamPolicyCommand } from './iam-policy';
import { ingestCommand } from './ingest';
import { socketModeCommand } from './socket-mode';
import { securityDecisionUpdate, statusQuery } from '../../workflows/messages';

const USAGE = `usage: vouch <command> [options]

commands:
  worker                 run the Temporal worker (review workflows and vendor activities)
  handler                run the Slack interactivity endpoint (POST /slack/interactions, GET /healthz)
  review FILE|-          start reviews for CloudTrail records ({"Records":[…]}, an array, one record, JSON lines)
                           --policy FILE                the policy that decides (default VOUCH_POLICY_FILE or the shipped one)
                           --tier notify|confirm|page|revert   force one tier for every record instead
                           --dry-run                    rehearse: reverts only as EC2 DryRun or plans (VOUCH_DRY_RUN)
                           --deadline SECONDS           answer deadline (default VOUCH_DEADLINE_SECONDS or 900)
                           --score N                    risk score to record (default by tier)
  setup                  register vouch's search attributes on the Temporal server (idempotent)
  security ACTION ID     security override: ACTION is approve|revert|escalate; --by SLACK_USER_ID [--note TEXT]
  status ID              print a review's status and timeline as JSON
  report [--since 7d] [--html FILE] [--json] [--teams FILE]
                         outcomes by rule/account/team, time to confirm, pages per week (terminal table or HTML)
  socket-mode            receive Slack clicks over Socket Mode (SLACK_APP_TOKEN) instead of a public endpoint
  classify [--policy FILE] [PATH ...|-]
                         one JSON line per CloudTrail record (files, folders, .json.gz, JSON lines, stdin)
  policy check FILE      validate a policy; every mistake with its line
  ingest --from s3://BUCKET/PREFIX | DIR | sqs://QUEUE_URL | lookup
                         read CloudTrail and start reviews (see \`vouch ingest --help\`)
  baseline capture|show|diff|schedule
                         the trusted baseline of watched AWS configuration (see \`vouch baseline --help\`)
  iam-policy             print the least-privilege IAM policy of vouch's revert role
  demo [--auto confirm|deny|silent] [--deadline S] [--tiers policy|fixed] [--policy FILE] [--no-moto] [--no-shared]
                         run everything on an embedded default: Temporal dev server + Web UI, vendor sandbox

Configuration comes from the environment; see .env.example and the README.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'worker': {
        await runWorkerFromEnv();
        return 0;
      }
      case 'handler': {
        await runHandlerFromEnv();
        return 0;
      }
      case 'review':
        return await reviewCommand(rest);
      case 'setup': {
        await setupFromEnv();
        return 0;
      }
      case 'security':
        return await securityCommand(rest);
      case 'status':
        return await statusCommand(rest);
      case 'demo':
        return await runDemo(rest);
      case 'report':
        return await reportCommand(rest);
      case 'classify':
        return await classifyCommand(rest);
      case 'policy':
        return await policyCheckCommand(rest);
      case 'ingest':
        return await ingestCommand(rest);
      case 'baseline':
        return await baselineCommand(rest);
      case 'iam-policy':
        return await iamPolicyCommand(rest);
      case 'socket-mode':
        return await socketModeCommand(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        process.stderr.write(`vouch: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`vouch ${command}: ${err.message}\n`);
      return 78; // EX_CONFIG
    }
    log.error('command failed', { command, error: err instanceof Error ? err.message : String(err) });
    process.stderr.write(`vouch ${command}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function readInput(path: string): string {
  return path === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(path, 'utf8');
}

async function reviewCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      tier: { type: 'string' },
      policy: { type: 'string' },
      'dry-run': { type: 'boolean' },
      deadline: { type: 'string' },
      score: { type: 'string' },
    },
  });
  if (positionals.length === 0) throw new Error('review: give a file of CloudTrail records, or - for stdin');
  const loaded = loadConfig(intakeSchema);
  const config = values['dry-run'] ? { ...loaded, VOUCH_DRY_RUN: true } : loaded;
  const inputs = positionals.map((p) => ({ source: p === '-' ? 'stdin' : p, text: readInput(p) }));
  const prepared = prepareReviews(
    inputs,
    { tier: values.tier, deadline: values.deadline, score: values.score },
    {
      deadlineSeconds: config.VOUCH_DEADLINE_SECONDS,
      maxDuoPushes: config.VOUCH_MAX_DUO_PUSHES,
      ...(values.tier === undefined ? { policy: policyFromConfig(config, values.policy) } : {}),
    },
  );
  if (prepared.errors.length > 0) {
    for (const e of prepared.errors) process.stderr.write(`vouch review: ${e}\n`);
    process.stderr.write(`vouch review: ${prepared.errors.length} record(s) rejected; no review was started\n`);
    return 1;
  }
  for (const i of prepared.ignored) {
    process.stdout.write(`${JSON.stringify({ source: i.source, index: i.index, eventID: i.eventID, eventName: i.eventName, status: 'ignored' })}\n`);
  }
  for await (const line of startPrepared(prepared.reviews, config)) process.stdout.write(`${JSON.stringify(line)}\n`);
  return 0;
}

async function securityCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { by: { type: 'string' }, note: { type: 'string' } },
  });
  const [action, workflowId] = positionals;
  if (!action || !['approve', 'revert', 'escalate'].includes(action) || !workflowId || !values.by) {
    throw new Error('security: usage: vouch security approve|revert|escalate REVIEW_ID --by SLACK_USER_ID [--note TEXT]');
  }
  const { client } = await connectClientFromEnv();
  const res = await client.workflow.getHandle(workflowId).executeUpdate(securityDecisionUpdate, {
    args: [{ slackUserId: values.by, action: action as 'approve' | 'revert' | 'escalate', note: values.note }],
  });
  process.stdout.write(`${res.message}\n`);
  return 0;
}

async function statusCommand(args: string[]): Promise<number> {
  const [workflowId] = args;
  if (!workflowId) throw new Error('status: give a review id');
  const { client } = await connectClientFromEnv();
  const status = await client.workflow.getHandle(workflowId).query(statusQuery);
  process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  return 0;
}
