// A loopback stand-in for Slack's Socket Mode: `POST /api/apps.connections.open` (app-level token in
// `Authorization: Bearer xapp-…`, answered with a one-time `wss://` URL) and the WebSocket behind that URL, speaking
// the Socket Mode protocol (https://docs.slack.dev/apis/events-api/using-socket-mode): a `hello` on connect, then
// envelopes `{envelope_id, type, payload, accepts_response_payload}` that the app must acknowledge by sending back
// `{envelope_id}` within 3 seconds; `{type:"disconnect"}` asks the app to reconnect. Over TLS (self-signed loopback
// certificate), because @slack/socket-mode connects to what Slack returns: a wss URL.
//
// What it checks, as Slack does: the token is present (not_authed), is an app-level token (a bot or user token gets
// not_allowed_token_type) and is the app's (invalid_auth); a connection URL works once and for 30 s; frames from the
// client are masked (RFC 6455 §5.1; an unmasked frame closes with 1002); acks name an envelope that was sent.
// The WebSocket framing is RFC 6455 by hand (text, close, ping/pong, continuation), with no extensions.
import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { loopbackCert } from '../../src/demo/sandbox/tls';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455 §1.3
const TICKET_TTL_MS = 30_000;
/** Slack's window for acknowledging an envelope. */
export const SOCKET_ACK_DEADLINE_MS = 3000;
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

interface Connection {
  id: string;
  socket: Duplex;
  open: boolean;
  buffer: Buffer;
  fragments: Buffer[];
  fragmentOpcode: number;
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
  /** Protocol problems seen from the client (unmasked frames, acks for unknown envelopes, bad JSON). */
  readonly violations: string[] = [];
  /** How many WebSocket connections were accepted, ever. */
  connectionsAccepted = 0;

  private readonly appToken: string;
  private readonly appId: string;
  private readonly tickets = new Map<string, number>();
  private readonly connections = new Set<Connection>();
  private readonly pending = new Map<string, Pending>();
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
    server.on('upgrade', (req, socket) => this.handleUpgrade(req, socket));
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
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
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
    return [...this.connections].filter((c) => c.open).length;
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
    const conn = [...this.connections].reverse().find((c) => c.open);
    if (!conn) return Promise.reject(new Error('no open Socket Mode connection'));
    const envelopeId = randomUUID();
    return new Promise<EnvelopeResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(envelopeId);
        resolve({ envelopeId, acked: false, ms: SOCKET_ACK_DEADLINE_MS });
      }, SOCKET_ACK_DEADLINE_MS);
      this.pending.set(envelopeId, { type, sentAt: Date.now(), resolve, timer });
      this.sendText(conn, JSON.stringify({ envelope_id: envelopeId, payload, type, accepts_response_payload: false }));
    });
  }

  /** Ask every connection to reconnect, as Slack does before recycling a server. */
  requestReconnect(reason = 'refresh_requested'): void {
    for (const c of this.connections) {
      if (!c.open) continue;
      this.sendText(c, JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'applink-vouch-sandbox' } }));
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

  // ---- WebSocket ----

  private handleUpgrade(req: IncomingMessage, socket: Duplex): void {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const ticket = url.searchParams.get('ticket') ?? '';
    const expires = this.tickets.get(ticket);
    this.tickets.delete(ticket); // one use only
    if (url.pathname !== '/link/' || expires === undefined || expires < Date.now()) return refuse(401, 'Unauthorized');
    const key = req.headers['sec-websocket-key'];
    if (String(req.headers.upgrade).toLowerCase() !== 'websocket' || req.headers['sec-websocket-version'] !== '13' || typeof key !== 'string') {
      return refuse(400, 'Bad Request');
    }
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' + `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const conn: Connection = { id: randomUUID(), socket, open: true, buffer: Buffer.alloc(0), fragments: [], fragmentOpcode: 0 };
    this.connections.add(conn);
    this.connectionsAccepted += 1;
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('close', () => {
      conn.open = false;
      this.connections.delete(conn);
    });
    socket.on('error', () => socket.destroy());
    this.sendText(
      conn,
      JSON.stringify({
        type: 'hello',
        num_connections: this.connections.size,
        debug_info: { host: 'applink-vouch-sandbox', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.emit('connected');
  }

  private onData(conn: Connection, chunk: Buffer): void {
    conn.buffer = Buffer.concat([conn.buffer, chunk]);
    for (;;) {
      const frame = parseFrame(conn.buffer);
      if (frame === 'incomplete') return;
      if (frame === 'too-large') return this.closeWith(conn, 1009, 'frame too large');
      conn.buffer = conn.buffer.subarray(frame.length);
      if (!frame.masked) {
        this.violations.push('client frame not masked');
        return this.closeWith(conn, 1002, 'client frames must be masked');
      }
      this.onFrame(conn, frame.fin, frame.opcode, frame.payload);
      if (!conn.open) return;
    }
  }

  private onFrame(conn: Connection, fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x9: // ping
        this.writeFrame(conn, 0xa, payload);
        return;
      case 0xa: // pong
        return;
      case 0x8: // close: answer with a close and end
        this.closeWith(conn, payload.length >= 2 ? payload.readUInt16BE(0) : 1000, '');
        return;
      case 0x1:
      case 0x2:
      case 0x0: {
        if (opcode !== 0x0) {
          conn.fragments = [];
          conn.fragmentOpcode = opcode;
        }
        conn.fragments.push(payload);
        if (!fin) return;
        const whole = Buffer.concat(conn.fragments);
        conn.fragments = [];
        if (conn.fragmentOpcode === 0x1) this.onMessage(whole.toString('utf8'));
        else this.violations.push('binary message');
        return;
      }
      default:
        this.violations.push(`unknown opcode ${opcode}`);
        this.closeWith(conn, 1002, 'unknown opcode');
    }
  }

  private onMessage(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.violations.push(`not JSON: ${text.slice(0, 80)}`);
      return;
    }
    const envelopeId = msg !== null && typeof msg === 'object' ? (msg as { envelope_id?: unknown }).envelope_id : undefined;
    const pending = typeof envelopeId === 'string' ? this.pending.get(envelopeId) : undefined;
    if (!pending || typeof envelopeId !== 'string') {
      this.violations.push(`ack for an unknown envelope: ${String(envelopeId)}`);
      return;
    }
    clearTimeout(pending.timer);
    this.pending.delete(envelopeId);
    const ms = Date.now() - pending.sentAt;
    const payload = (msg as { payload?: unknown }).payload;
    const ack: SocketAck = { envelopeId, type: pending.type, ms, ...(payload !== undefined ? { payload } : {}) };
    this.acks.push(ack);
    this.emit('ack', ack);
    pending.resolve({ envelopeId, acked: true, ms });
  }

  private sendText(conn: Connection, text: string): void {
    this.writeFrame(conn, 0x1, Buffer.from(text, 'utf8'));
  }

  private writeFrame(conn: Connection, opcode: number, payload: Buffer): void {
    if (conn.socket.destroyed) return;
    const len = payload.length;
    let header: Buffer;
    if (len < 126) {
      header = Buffer.from([0x80 | opcode, len]);
    } else if (len < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 126;
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    conn.socket.write(Buffer.concat([header, payload]));
  }

  private closeWith(conn: Connection, code: number, reason: string): void {
    if (!conn.open) return;
    conn.open = false;
    const body = Buffer.alloc(2 + Buffer.byteLength(reason));
    body.writeUInt16BE(code, 0);
    body.write(reason, 2);
    this.writeFrame(conn, 0x8, body);
    conn.socket.end();
  }
}

type Frame = { fin: boolean; opcode: number; masked: boolean; payload: Buffer; length: number };

function parseFrame(buf: Buffer): Frame | 'incomplete' | 'too-large' {
  if (buf.length < 2) return 'incomplete';
  const b0 = buf[0] as number;
  const b1 = buf[1] as number;
  const masked = (b1 & 0x80) !== 0;
  let len = b1 & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return 'incomplete';
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return 'incomplete';
    const big = buf.readBigUInt64BE(2);
    if (big > BigInt(MAX_FRAME)) return 'too-large';
    len = Number(big);
    offset = 10;
  }
  if (len > MAX_FRAME) return 'too-large';
  const maskLen = masked ? 4 : 0;
  if (buf.length < offset + maskLen + len) return 'incomplete';
  const payload = Buffer.from(buf.subarray(offset + maskLen, offset + maskLen + len));
  if (masked) {
    const mask = buf.subarray(offset, offset + 4);
    for (let i = 0; i < payload.length; i += 1) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
  }
  return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload, length: offset + maskLen + len };
}
