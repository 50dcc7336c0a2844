// The Temporal servers the benchmarks run against, side by side: the dev server (the CLI's, SQLite in memory, as the
// tests use it) and the production topology (PostgreSQL 15 + the Go-built server, test/helpers/prod-topology.ts).
import type { Client } from '@temporalio/client';
import { startDevServer } from '../helpers/temporal';
import { startProdTopology, type ProdTopology } from '../helpers/prod-topology';

export type ServerKind = 'dev' | 'prod';

export interface BenchServer {
  kind: ServerKind;
  /** What it is, for the report. */
  label: string;
  address: string;
  namespace: string;
  client: Client;
  /** The production topology's handle (null for the dev server). */
  topo: ProdTopology | null;
  /** Something startVouchOnProd can run on (it needs address, namespace, uiUrl and client()). */
  asTopology(): ProdTopology;
  stop(): Promise<void>;
}

export function parseServers(value: string): ServerKind[] {
  const kinds = value === 'both' ? (['prod', 'dev'] as const) : value.split(',');
  for (const k of kinds) if (k !== 'dev' && k !== 'prod') throw new Error(`--server must be dev, prod or both, got ${value}`);
  return kinds as ServerKind[];
}

export async function startBenchServer(kind: ServerKind, log: (line: string) => void = () => undefined): Promise<BenchServer> {
  if (kind === 'dev') {
    const env = await startDevServer();
    const address = env.address;
    const fake = { address, namespace: 'default', uiUrl: null, client: async () => env.client } as unknown as ProdTopology;
    return {
      kind,
      label: 'dev server (Temporal CLI, SQLite in memory)',
      address,
      namespace: 'default',
      client: env.client,
      topo: null,
      asTopology: () => fake,
      stop: () => env.teardown(),
    };
  }
  const topo = await startProdTopology({ log });
  const client = await topo.client();
  return {
    kind,
    label: `production topology (Temporal server ${topo.versions.server} built from source, PostgreSQL ${topo.versions.postgres})`,
    address: topo.address,
    namespace: topo.namespace,
    client,
    topo,
    asTopology: () => topo,
    stop: () => topo.stop(),
  };
}
