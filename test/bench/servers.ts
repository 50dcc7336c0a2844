// The Temporal servers the benchmarks run against, side by side: the dev server (the CLI's, SQLite in memory, as the
// tests use it) and the production topology (PostgreSQL 15 + the Go-built server, test/helpers/prod-topology.ts).
import fs from 'node:fs';
import path from 'node:path';
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

/** The Prometheus endpoint of the production topology's Temporal server (from its config file); null for the dev server. */
export function serverMetricsUrl(server: BenchServer): string | null {
  if (!server.topo) return null;
  const config = fs.readFileSync(path.join(server.topo.dir, 'temporal-server.yaml'), 'utf8');
  const addr = /listenAddress:\s*(\S+)/.exec(config)?.[1];
  return addr ? `http://${addr}/metrics` : null;
}

export type MetricSums = Map<string, { sum: number; count: number }>;

/** Sum and count of the server's persistence_latency histogram per operation (seconds). */
export async function persistenceLatency(url: string | null): Promise<MetricSums> {
  const out: MetricSums = new Map();
  if (!url) return out;
  const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
  for (const m of text.matchAll(/^persistence_latency_(sum|count)\{[^}]*operation="([^"]+)"[^}]*\} ([0-9.e+-]+)$/gm)) {
    const [, kind, op, value] = m as unknown as [string, 'sum' | 'count', string, string];
    const e = out.get(op) ?? { sum: 0, count: 0 };
    e[kind] += Number(value);
    out.set(op, e);
  }
  return out;
}

/** What the server spent in its database between two snapshots: the operations with the most time, mean ms each. */
export function persistenceDelta(before: MetricSums, after: MetricSums, top = 5): Array<{ op: string; count: number; meanMs: number; totalS: number }> {
  return [...after.entries()]
    .map(([op, a]) => {
      const b = before.get(op) ?? { sum: 0, count: 0 };
      const count = a.count - b.count;
      const sum = a.sum - b.sum;
      return { op, count, meanMs: count ? (sum / count) * 1000 : 0, totalS: sum };
    })
    .filter((x) => x.count > 0)
    .sort((x, y) => y.totalS - x.totalS)
    .slice(0, top);
}
