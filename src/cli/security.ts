// `vouch security approve|revert|escalate REVIEW_ID --by SLACK_USER_ID [--note TEXT]`: a security responder's
// decision on a review, as a workflow Update. The workflow checks that the user is one of the security responders and
// that the review would act on it, then sends a Duo push to that member's own Duo user (people directory, by Slack
// user id): the decision applies only when they approve it. The command waits for that answer.
import { Argument, Command } from 'commander';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { securityDecisionUpdate } from '../../workflows/messages';
import { act, type CommandIo } from './program';
import { connectClientFromEnv } from './temporal-client';

type Action = 'approve' | 'revert' | 'escalate';

export function securityCommand(io: CommandIo = {}): Command {
  const cmd = new Command('security')
    .description('security override of a review: approve, revert or escalate it (confirmed with a Duo push to the member)')
    .addArgument(new Argument('<action>', 'what to do').choices(['approve', 'revert', 'escalate']))
    .argument('<review-id>', 'the review (workflow id)')
    .requiredOption('--by <slack-user-id>', 'the Slack user id of the security responder deciding (they get the Duo push)')
    .option('--note <text>', 'why, kept in the review timeline');
  return act(cmd, async (action: Action, workflowId: string, opts: { by: string; note?: string }) => {
    const { client, connection } = await connectClientFromEnv();
    try {
      (io.stderr ?? process.stderr).write(`Waiting for ${opts.by} to approve the Duo push that confirms "${action}"…\n`);
      let res;
      try {
        res = await client.workflow.getHandle(workflowId).executeUpdate(securityDecisionUpdate, {
          args: [{ slackUserId: opts.by, action, note: opts.note }],
        });
      } catch (err) {
        // The workflow's own words (refused by the validator, or not confirmed with Duo).
        if (err instanceof WorkflowUpdateFailedError && err.cause instanceof Error) throw new Error(`${workflowId}: ${action} by ${opts.by} not applied: ${err.cause.message}`);
        throw err;
      }
      (io.stdout ?? process.stdout).write(`${res.message}\n`);
    } finally {
      await connection.close();
    }
    return 0;
  });
}
