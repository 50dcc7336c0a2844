// `vouch socket-mode`: receive Slack clicks over Socket Mode (an outbound WebSocket, SLACK_APP_TOKEN) instead of a
// public endpoint, until SIGINT/SIGTERM; then it disconnects, finishes the clicks in flight and exits 0.
import { Command } from 'commander';
import { loadConfig, metricsSchema, socketModeSchema } from './config';
import { gracefulStop, untilAborted } from './lifecycle';
import { getLogger } from './log';
import { startProcessMetrics } from './metrics';
import { act } from './program';
import { connectClient } from './temporal-client';
import { startSocketMode } from '../slack/socket-mode';

export function socketModeCommand(): Command {
  return act(
    new Command('socket-mode').summary('receive Slack clicks over Socket Mode instead of an endpoint').description(
      'receive Slack clicks over Socket Mode (SLACK_APP_TOKEN) instead of a public endpoint; stops on SIGINT/SIGTERM after the clicks in flight',
    ),
    () => runSocketModeFromEnv(gracefulStop()),
  );
}

async function runSocketModeFromEnv(stop: AbortSignal): Promise<number> {
  const config = loadConfig(socketModeSchema);
  const logger = getLogger();
  const processMetrics = await startProcessMetrics('socket-mode', loadConfig(metricsSchema));
  const { client: temporal, connection } = await connectClient(config);
  try {
    const running = await startSocketMode({
      metrics: processMetrics.metrics,
      appToken: config.SLACK_APP_TOKEN,
      botToken: config.SLACK_BOT_TOKEN,
      temporal,
      ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
      logger,
    });
    await untilAborted(stop);
    await running.stop();
    logger.info('socket mode stopped');
  } finally {
    await connection.close();
    await processMetrics.close();
  }
  return 0;
}
