// `vouch <command>`: one file per command in this folder; this one assembles them. main() returns the exit status
// (0 done, 1 failed, 2 usage error, 78 configuration error); src/bin/vouch.js installs the process handler
// (lifecycle.ts) and exits with it.
import { Command } from 'commander';
import { baselineCommand } from './baseline';
import { classifyCommand, policyCommand } from './classify';
import { demoCommand } from './demo';
import { handlerCommand } from './handler';
import { iamPolicyCommand } from './iam-policy';
import { ingestCommand } from './ingest';
import { installProcessHandlers } from './lifecycle';
import { getLogger } from './log';
import { runCommand } from './program';
import { reportCommand } from './report';
import { reviewCommand } from './review';
import { securityCommand } from './security';
import { setupCommand } from './setup';
import { socketModeCommand } from './socket-mode';
import { statusCommand } from './status';
import { workerCommand } from './worker';

export function buildProgram(): Command {
  return new Command('vouch')
    .description('durable, human-confirmed reviews of risky AWS changes, on Temporal')
    .addHelpText('after', '\nConfiguration comes from the environment (see .env.example and the README). `vouch <command> --help` for each command.')
    .addCommand(workerCommand())
    .addCommand(handlerCommand())
    .addCommand(socketModeCommand())
    .addCommand(reviewCommand())
    .addCommand(classifyCommand())
    .addCommand(policyCommand())
    .addCommand(ingestCommand())
    .addCommand(baselineCommand())
    .addCommand(iamPolicyCommand())
    .addCommand(reportCommand())
    .addCommand(securityCommand())
    .addCommand(statusCommand())
    .addCommand(setupCommand())
    .addCommand(demoCommand());
}

export async function main(argv: string[]): Promise<number> {
  // A bad VOUCH_LOG_LEVEL is a configuration error (exit 78) before any command runs; --help needs no logger.
  const program = buildProgram().hook('preAction', () => void getLogger());
  return runCommand(program, argv);
}

export { installProcessHandlers, getLogger };
