// `vouch handler`: the Slack interactivity endpoint from validated config.
import { handlerProcessSchema, loadConfig, metricsSchema } from './config';
import { startProcessMetrics } from './metrics';
import { startHandler } from '../slack/http-receiver';
import { getLogger } from './log';

export async function runHandlerFromEnv(): Promise<void> {
  const config = loadConfig(handlerProcessSchema);
  const { metrics } = await startProcessMetrics('handler', loadConfig(metricsSchema));
  await startHandler({
    metrics,
    signingSecret: config.SLACK_SIGNING_SECRET,
    slackBotToken: config.SLACK_BOT_TOKEN,
    ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
    temporal: {
      address: config.TEMPORAL_ADDRESS,
      namespace: config.TEMPORAL_NAMESPACE,
      ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY, tls: true } : {}),
    },
    host: config.VOUCH_HANDLER_HOST,
    port: config.VOUCH_HANDLER_PORT,
    logger: getLogger(),
  });
}
