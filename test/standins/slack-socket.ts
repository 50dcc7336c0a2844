// A loopback stand-in for Slack's Socket Mode: `POST /api/apps.connections.open` (app-level token in
// `Authorization: Bearer xapp-…`, answered with a one-time `wss://` URL) and the WebSocket behind that URL, speaking
// the Socket Mode protocol (https://docs.slack.dev/apis/events-api/using-socket-mode): a `hello` on connect, then
// envelopes `{envelope_id, type, payload, accepts_response_payload}` that the app must acknowledge by sending back
// `{envelope_id}` within 3 seconds; `{type:"disconnect"}` asks the app to reconnect. Over TLS (self-signed loopback
// certificate), because @slack/socket-mode connects to what Slack returns: a wss URL.
//
// What it checks, as Slack does: the token is present (not_authed), is an app-level token (a bot or user token gets
// not_allowed_token_type) and is the app's (invalid_auth); a connection URL works once and for 30 s; acks name an
// envelope that was sent and are JSON text. The WebSocket protocol itself is the `ws` package's server: it refuses
// unmasked client frames (RFC 6455 §5.1) and frames over 1 MiB, and answers pings; what it refuses is recorded as a
// violation.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { loopbackCert } from '../../src/demo/sandbox/tls';
import { isRecord } from '../../src/core/text';

const TICKET_TTL_MS = 30_000;
/** Slack's window for acknowledging an envelope. */
const SOCKET_ACK_DEADLINE_MS = 3000;
const MAX_FRAME = 1024 * 1024;

export interface SlackSocketStandInOptions {
  /** The app-level token (xapp-…) apps.connections.open must be called with. */
  appToken: string;
  appId?: string;
}

export interface SocketAck {
  envelopeId: string;
  type: string;
  /** Milliseconds from sending the envelope to receiving its ack. */
  ms: number;
  /** The ack's `payload`, if the app sent one. */
  payload?: unknown;
}

export interface EnvelopeResult {
  envelopeId: string;
  acked: boolean;
  /** Milliseconds to the ack; the deadline when not acked. */
  ms: number;
}

export interface ConnectionsOpenRequest {
  at: Date;
  authorization: string | undefined;
  ok: boolean;
  error?: string;
}

interface Pending {
  type: string;
  sentAt: number;
  resolve: (r: EnvelopeResult) => void;
  timer: NodeJS.Timeout;
}

export class SlackSocketStandIn extends EventEmitter {
  readonly opens: ConnectionsOpenRequest[] = [];
  readonly acks: SocketAck[] = [];
  /** Protocol problems seen from the client (unmasked or oversized frames, acks for unknown envelopes, bad JSON). */
  readonly violations: string[] = [];
  /** How many WebSocket connections were accepted, ever. */
  connectionsAccepted = 0;

  private readonly appToken: string;
  private readonly appId: string;
  private readonly tickets = new Map<string, number>();
  private readonly connections = new Set<WebSocket>();
  private readonly pending = new Map<string, Pending>();
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME, perMessageDeflate: false });
  private server: https.Server | undefined;
  private port = 0;

  constructor(opts: SlackSocketStandInOptions) {
    super();
    if (!/^xapp-/.test(opts.appToken)) throw new Error('SlackSocketStandIn: appToken must be an app-level token (xapp-…)');
    this.appToken = opts.appToken;
    this.appId = opts.appId ?? 'A0VOUCHAPP';
  }

  /** Starts on a free loopback port; returns the Web API base and the CA to trust. */
  async start(): Promise<{ apiUrl: string; ca: string }> {
    if (this.server) throw new Error('SlackSocketStandIn already started');
    const { key, cert } = await loopbackCert();
    const server = https.createServer({ key, cert }, (req, res) => {
      this.handleHttp(req).then(
        ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body)),
        (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err)),
      );
    });
    server.on('upgrade', (req, socket, head) => this.handleUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return { apiUrl: `https://127.0.0.1:${this.port}/api/`, ca: cert };
  }

  async stop(): Promise<void> {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    for (const ws of this.connections) ws.terminate();
    this.connections.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  /** Open WebSocket connections that have been greeted with hello. */
  get openConnections(): number {
    return [...this.connections].filter((ws) => ws.readyState === WebSocket.OPEN).length;
  }

  /** Wait until at least `n` connections are open. */
  async waitForConnections(n = 1, timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.openConnections < n) {
      if (Date.now() > until) throw new Error(`no Socket Mode connection after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /**
   * Send an `interactive` envelope (a button click: `payload` is the same JSON as the HTTP `payload` field) on an
   * open connection and wait for its ack, at most SOCKET_ACK_DEADLINE_MS.
   */
  sendInteractive(payload: unknown): Promise<EnvelopeResult> {
    return this.sendEnvelope('interactive', payload);
  }

  sendEnvelope(type: 'interactive' | 'events_api' | 'slash_commands', payload: unknown): Promise<EnvelopeResult> {
    const ws = [...this.connections].reverse().find((c) => c.readyState === WebSocket.OPEN);
    if (!ws) return Promise.reject(new Error('no open Socket Mode connection'));
    const envelopeId = randomUUID();
    return new Promise<EnvelopeResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelopeId);
        resolve({ envelopeId, acked: false, ms: SOCKET_ACK_DEADLINE_MS });
      }, SOCKET_ACK_DEADLINE_MS);
      this.pending.set(envelopeId, { type, sentAt: Date.now(), resolve, timer });
      ws.send(JSON.stringify({ envelope_id: envelopeId, payload, type, accepts_response_payload: false }));
    });
  }

  /** Ask every connection to reconnect, as Slack does before recycling a server. */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const ws of this.connections) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      ws.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-vouch-sandbox' } }));
    }
  }

  // ---- apps.connections.open ----

  private async handleHttp(req: IncomingMessage): Promise<{ status: number; body: Record<string, unknown> }> {
    for await (const chunk of req) void chunk; // the body carries nothing this method needs
    const path = new URL(req.url ?? '/', 'https://127.0.0.1').pathname;
    if (path !== '/api/apps.connections.open') return { status: 404, body: { ok: false, error: 'unknown_method' } };
    if (req.method !== 'POST') return { status: 405, body: { ok: false, error: 'invalid_request' } };
    const authorization = req.headers.authorization;
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    let error: string | undefined;
    if (!token) error = 'not_authed';
    else if (!token.startsWith('xapp-')) error = 'not_allowed_token_type';
    else if (token !== this.appToken) error = 'invalid_auth';
    this.opens.push({ at: new Date(), authorization: authorization ? authorization.replace(/\S+$/, '<masked>') : undefined, ok: !error, ...(error ? { error } : {}) });
    if (error) return { status: 200, body: { ok: false, error } };
    const ticket = randomUUID();
    this.tickets.set(ticket, Date.now() + TICKET_TTL_MS);
    return { status: 200, body: { ok: true, url: `wss://127.0.0.1:${this.port}/link/?ticket=${ticket}&app_id=${this.appId}` } };
  }

  // ---- the WebSocket behind the URL ----

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const ticket = url.searchParams.get('ticket') ?? '';
    const expires = this.tickets.get(ticket);
    this.tickets.delete(ticket); // one use only
    if (url.pathname !== '/link/' || expires === undefined || expires < Date.now()) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    // ws checks the rest of the handshake (Upgrade, Sec-WebSocket-Key and -Version) and answers 400 when it is wrong.
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
  }

  private onConnection(ws: WebSocket): void {
    this.connections.add(ws);
    this.connectionsAccepted += 1;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        this.violations.push('binary message');
        return;
      }
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.onMessage(bytes.toString('utf8'));
    });
    // ws closes the connection itself on a protocol error (1002 for an unmasked frame, 1009 for one too large).
    ws.on('error', (err) => this.violations.push(`protocol: ${err.message}`));
    ws.on('close', () => this.connections.delete(ws));
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.size,
        debug_info: { host: 'applink-vouch-sandbox', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.emit('connected');
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.violations.push(`not JSON: ${text.slice(0, 80)}`);
      return;
    }
    const envelopeId = isRecord(msg) ? msg.envelope_id : undefined;
    const pending = typeof envelopeId === 'string' ? this.pending.get(envelopeId) : undefined;
    if (!pending || typeof envelopeId !== 'string') {
      this.violations.push(`ack for an unknown envelope: ${String(envelopeId)}`);
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(envelopeId);
    const ms = Date.now() - pending.sentAt;
    const payload = isRecord(msg) ? msg.payload : undefined;
    const ack: SocketAck = { envelopeId, type: pending.type, ms, ...(payload !== undefined ? { payload } : {}) };
    this.acks.push(ack);
    this.emit('ack', ack);
    pending.resolve({ envelopeId, acked: true, ms });
  }
}
