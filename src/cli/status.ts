// `vouch status REVIEW_ID`: a review's status and timeline (the workflow's status query), as JSON.
import { Command } from 'commander';
import { statusQuery } from '../../workflows/messages';
import { act, type CommandIo } from './program';
import { connectClientFromEnv } from './temporal-client';

export function statusCommand(io: CommandIo = {}): Command {
  const cmd = new Command('status').description("print a review's status and timeline as JSON").argument('<review-id>', 'the review (workflow id)');
  return act(cmd, async (workflowId: string) => {
    const { client, connection } = await connectClientFromEnv();
    try {
      const status = await client.workflow.getHandle(workflowId).query(statusQuery);
      (io.stdout ?? process.stdout).write(`${JSON.stringify(status, null, 2)}\n`);
    } finally {
      await connection.close();
    }
    return 0;
  });
}
