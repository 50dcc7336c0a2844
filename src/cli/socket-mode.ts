// `vouch socket-mode`: receive Slack clicks over Socket Mode (an outbound WebSocket, SLACK_APP_TOKEN) instead of a
// public endpoint, until SIGTERM / SIGINT. The receiver itself is src/slack/socket-mode.ts.
import { loadConfig, metricsSchema, socketModeSchema } from './config';
import { getLogger } from './log';
import { startProcessMetrics } from './metrics';
import { connectClient } from './temporal-client';
import { startSocketMode } from '../slack/socket-mode';

/** `vouch socket-mode`: receive clicks over Socket Mode until SIGTERM / SIGINT. */
export async function socketModeCommand(_argv: string[]): Promise<number> {
  const config = loadConfig(socketModeSchema);
  const { metrics, close: closeMetrics } = await startProcessMetrics('socket-mode', loadConfig(metricsSchema));
  const { client: temporal, connection } = await connectClient(config);
  const running = await startSocketMode({
    metrics,
    logger: getLogger(),
    appToken: config.SLACK_APP_TOKEN,
    botToken: config.SLACK_BOT_TOKEN,
    temporal,
    ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await running.stop();
  await connection.close();
  await closeMetrics();
  return 0;
}
