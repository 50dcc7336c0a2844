// `vouch security approve|revert|escalate REVIEW_ID --by SLACK_USER_ID [--note TEXT]`: a security responder's
// decision on a review, as a workflow Update (the workflow checks that the user is one of the security responders).
import { Argument, Command } from 'commander';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { securityDecisionUpdate } from '../../workflows/messages';
import { act, type CommandIo } from './program';
import { connectClientFromEnv } from './temporal-client';

type Action = 'approve' | 'revert' | 'escalate';

export function securityCommand(io: CommandIo = {}): Command {
  const cmd = new Command('security')
    .description('security override of a review: approve, revert or escalate it')
    .addArgument(new Argument('<action>', 'what to do').choices(['approve', 'revert', 'escalate']))
    .argument('<review-id>', 'the review (workflow id)')
    .requiredOption('--by <slack-user-id>', 'the Slack user id of the security responder deciding')
    .option('--note <text>', 'why, kept in the review timeline');
  return act(cmd, async (action: Action, workflowId: string, opts: { by: string; note?: string }) => {
    const { client, connection } = await connectClientFromEnv();
    try {
      const res = await client.workflow
        .getHandle(workflowId)
        .executeUpdate(securityDecisionUpdate, { args: [{ slackUserId: opts.by, action, note: opts.note }] })
        .catch((err: unknown) => {
          // The review's refusal (who may override, already decided, closed) is the cause: say it, not "Update failed".
          if (err instanceof WorkflowUpdateFailedError && err.cause instanceof Error) {
            throw new Error(`${workflowId} refused ${action} by ${opts.by}: ${err.cause.message}`);
          }
          throw err;
        });
      (io.stdout ?? process.stdout).write(`${res.message}\n`);
    } finally {
      await connection.close();
    }
    return 0;
  });
}
