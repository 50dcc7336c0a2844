// `vouch handler`: the Slack interactivity endpoint from validated config, until SIGINT/SIGTERM; then it stops
// accepting clicks, finishes the ones in flight (Update and reply) and exits 0.
import { Command } from 'commander';
import { handlerProcessSchema, loadConfig, metricsSchema } from './config';
import { gracefulStop, untilAborted } from './lifecycle';
import { getLogger } from './log';
import { startProcessMetrics } from './metrics';
import { act } from './program';
import { startHandler } from '../slack/http-receiver';

export function handlerCommand(): Command {
  return act(
    new Command('handler').summary('run the Slack interactivity endpoint').description(
      'run the Slack interactivity endpoint (POST /slack/interactions, GET /healthz); stops on SIGINT/SIGTERM after the clicks in flight',
    ),
    () => runHandlerFromEnv(gracefulStop()),
  );
}


async function runHandlerFromEnv(stop: AbortSignal): Promise<number> {
  const config = loadConfig(handlerProcessSchema);
  const logger = getLogger();
  const processMetrics = await startProcessMetrics('handler', loadConfig(metricsSchema));
  try {
    const running = await startHandler({
      metrics: processMetrics.metrics,
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
      logger,
      handleSignals: false,
    });
    await untilAborted(stop);
    await running.close();
    logger.info('handler stopped');
  } finally {
    await processMetrics.close();
  }
  return 0;
}
