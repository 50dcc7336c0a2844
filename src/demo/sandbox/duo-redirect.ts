// ============================================================================================================
//  TESTS AND THE LOCAL DEMO ONLY. PRODUCTION NEVER CALLS THIS.
//  The worker talks to the real Duo API host with the Duo client's own pinned CA bundle; nothing here is wired
//  into src/cli/worker.ts or any production entry point, and nothing here must ever be.
// ============================================================================================================
//
// Why it exists: `@duosecurity/duo_api` 1.5.0 calls `https.request({ host, method, path, headers, ca })` with no
// port, no scheme and no agent option, and pins Duo's CA bundle (its lib/main.js). The only seam left is
// `https.globalAgent`, which Node reads at request time when no agent is given. This module swaps it for an
// `https.Agent` whose `createConnection` sends connections for exactly the configured logical hosts (e.g.
// `api-sandbox.duosecurity.test`) to a loopback stand-in on 127.0.0.1, trusting only the stand-in's self-signed
// certificate (servername `localhost`). Every other host goes through untouched, with the request's own options.
// The vendor client is not modified: its signer, headers, body encoding and pinned CA all run as in production.
import https from 'node:https';
import type { Duplex } from 'node:stream';

export interface DuoLoopbackRedirect {
  /** Logical Duo API host the client is configured with, e.g. `api-sandbox.duosecurity.test`. */
  host: string;
  /** Port of the loopback stand-in on 127.0.0.1. */
  port: number;
  /** PEM certificate of the stand-in (self-signed, valid for `localhost`); the only certificate trusted. */
  ca: string;
}

type RequestOptions = https.RequestOptions;
type ConnectCallback = (err: Error | null, stream: Duplex) => void;

class LoopbackRedirectAgent extends https.Agent {
  readonly routes = new Map<string, DuoLoopbackRedirect>();

  constructor(
    options: https.AgentOptions,
    readonly previous: https.Agent,
  ) {
    super(options);
  }

  override createConnection(options: RequestOptions, callback?: ConnectCallback): Duplex | null | undefined {
    const target = String(options.host ?? options.hostname ?? '').toLowerCase();
    const route = this.routes.get(target);
    if (!route) return super.createConnection(options, callback);
    return super.createConnection(
      { ...options, host: '127.0.0.1', hostname: '127.0.0.1', port: route.port, ca: route.ca, servername: 'localhost' },
      callback,
    );
  }
}

/**
 * TESTS AND LOCAL DEMO ONLY — production never calls this.
 * Redirects HTTPS connections for `host` to `127.0.0.1:port` (trusting `ca`) by replacing `https.globalAgent`.
 * Several hosts can be redirected at once; each install returns its own uninstall function, and the original
 * global agent is restored when the last redirect is removed.
 */
export function installDuoLoopbackRedirect(redirect: DuoLoopbackRedirect): () => void {
  const host = redirect.host.toLowerCase();
  let agent: LoopbackRedirectAgent;
  if (https.globalAgent instanceof LoopbackRedirectAgent) {
    agent = https.globalAgent;
  } else {
    const previous = https.globalAgent;
    agent = new LoopbackRedirectAgent({ ...previous.options }, previous);
    https.globalAgent = agent;
  }
  if (agent.routes.has(host)) throw new Error(`a loopback redirect for ${host} is already installed`);
  const route = { ...redirect, host };
  agent.routes.set(host, route);

  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    if (agent.routes.get(host) === route) agent.routes.delete(host);
    if (agent.routes.size === 0 && https.globalAgent === agent) {
      https.globalAgent = agent.previous;
      agent.destroy();
    }
  };
}
