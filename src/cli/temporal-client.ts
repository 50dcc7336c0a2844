// A Temporal client from the TEMPORAL_* environment (the SDK's conventions).
import { Client, Connection } from '@temporalio/client';
import { loadConfig, temporalSchema } from './config';

export interface TemporalSettings {
  TEMPORAL_ADDRESS: string;
  TEMPORAL_NAMESPACE: string;
  TEMPORAL_API_KEY?: string;
  TEMPORAL_TLS?: boolean;
}

export async function connectClient(cfg: TemporalSettings): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({
    address: cfg.TEMPORAL_ADDRESS,
    ...(cfg.TEMPORAL_API_KEY ? { apiKey: cfg.TEMPORAL_API_KEY, tls: true } : {}),
    ...(cfg.TEMPORAL_TLS ? { tls: true } : {}),
    connectTimeout: '10 seconds',
  });
  return { client: new Client({ connection, namespace: cfg.TEMPORAL_NAMESPACE }), connection };
}

export async function connectClientFromEnv(): Promise<{ client: Client; connection: Connection }> {
  return connectClient(loadConfig(temporalSchema));
}
