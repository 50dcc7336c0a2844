// A loopback stand-in for the Duo Auth API v2 (https://duo.com/docs/authapi), for tests and the local demo: Duo has
// no test mode.
// It speaks HTTPS (the Duo client only speaks TLS; point the client at it with src/demo/sandbox/duo-redirect.ts) and checks
// every signed request the way Duo does: the signature is recomputed from Duo's documented canonical form
// (src/demo/sandbox/duo-signature.ts, written from the documentation, not taken from the client package) over the
// configured logical host, method, path, params and Date header. Only signature v2 (form-encoded POST bodies) is
// supported, which is what vouch uses.
import { EventEmitter } from 'node:events';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import querystring from 'node:querystring';
import { checkDuoAuthorization } from './duo-signature';
import { loopbackCert } from './tls';

type Params = Record<string, string | string[]>;

export type DuoUserStatus = 'active' | 'enroll' | 'deny' | 'bypass';
export type DuoAnswer = 'allow' | 'deny' | 'fraud';
export type DuoAutoAnswer = DuoAnswer | 'timeout' | 'push_failed';

export interface DuoStandInDevice {
  device: string;
  type: 'phone' | 'token';
  name?: string;
  display_name: string;
  number?: string;
  capabilities: string[];
}

export interface DuoStandInUser {
  username: string;
  status: DuoUserStatus;
  /** Defaults to one phone with push for `active` users, none otherwise. */
  devices?: DuoStandInDevice[];
  /** Answer every push to this user by script, after `afterMs` (default 50 ms). */
  autoAnswer?: { answer: DuoAutoAnswer; afterMs?: number };
}

export interface DuoStandInOptions {
  ikey: string;
  skey: string;
  /** Logical API host the client signs for. Default `api-sandbox.duosecurity.test`. */
  host?: string;
  users?: DuoStandInUser[];
  /** A push not answered within this time ends with status `timeout`. Default 60 s, as Duo. */
  pushTimeoutMs?: number;
  /** How long `auth_status` holds a request open waiting for a change. Default 5 s. */
  longPollMs?: number;
  /** Allowed clock skew of the signed Date header. Default 300 s. */
  maxSkewSeconds?: number;
  /** Injectable clock (ms since epoch) for the Date check. */
  now?: () => number;
  /** Fixed port for the demo; 0 (random) by default. */
  port?: number;
}

export interface DuoStandInAddress {
  url: string;
  port: number;
  /** The logical Duo API host to configure the client with (resolved to 127.0.0.1 by the redirect). */
  host: string;
  /** PEM of the self-signed certificate the stand-in serves. */
  ca: string;
}

export interface DuoReceivedRequest {
  at: string;
  method: string;
  path: string;
  params: Params;
  ikey: string;
}

export interface DuoRejectedRequest {
  at: string;
  method: string;
  path: string;
  status: number;
  code?: number;
  message: string;
}

/** One-shot failure injection. `code` alone implies the HTTP status (its first three digits). */
export interface DuoFailure {
  status?: number;
  code?: number;
  /** Answer with an HTML page instead of JSON, as a proxy in front of Duo would. */
  html?: boolean;
  message?: string;
  /** Only fail a request to this path (e.g. `/auth/v2/auth`); any signed endpoint otherwise. */
  path?: string;
  /** Accept the request and never answer it (until stop()), as a hung server would: for client timeouts. */
  stall?: boolean;
}

/** A fault chosen by looking at the request (fault tests): a DuoFailure, or `delayMs`: answer normally, that late. */
export type DuoFault = DuoFailure | { delayMs: number };

/** What a fault hook sees of one signed request (credentials already checked). */
export interface DuoCall {
  method: string;
  path: string;
  params: Params;
}

export interface DuoTransaction {
  txid: string;
  username: string;
  createdAt: string;
  result: 'waiting' | 'allow' | 'deny';
  status: string;
  statusMessage: string;
  factor: string;
  device: string;
  pushType?: string;
  displayUsername?: string;
  /** The decoded pushinfo pairs. */
  pushinfo: Record<string, string>;
}

export type DuoStandInEvent =
  | { type: 'push-sent'; at: string; txid: string; username: string; pushType?: string; pushinfo: Record<string, string> }
  | { type: 'decided'; at: string; txid: string; username: string; answer: DuoAnswer; by: 'api' | 'script' }
  | { type: 'expired'; at: string; txid: string; username: string }
  | { type: 'push-failed'; at: string; txid: string; username: string }
  | { type: 'rejected'; at: string; method: string; path: string; status: number; code?: number; message: string };

interface TxState extends DuoTransaction {
  timers: NodeJS.Timeout[];
  waiters: Set<() => void>;
}

const MESSAGES: Record<number, string> = {
  40001: 'Missing required request parameters',
  40002: 'Invalid request parameters',
  40101: 'Missing request credentials',
  40102: 'Invalid integration key in request credentials',
  40103: 'Invalid signature in request credentials',
  40105: 'Request date is invalid or out of range',
  40401: 'Resource not found',
  40501: 'Method not allowed',
  41301: 'Request entity too large',
  42901: 'Too Many Requests',
  50001: 'Internal server error',
};

const PUSHINFO_MAX_BYTES = 20_000;
const MAX_BODY_BYTES = 256 * 1024;

class DuoHttpError extends Error {
  constructor(
    readonly code: number,
    readonly detail?: string,
  ) {
    super(MESSAGES[code] ?? 'Error');
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function defaultDevices(username: string): DuoStandInDevice[] {
  const id = `DP${Buffer.from(username).toString('hex').toUpperCase().padEnd(18, '0').slice(0, 18)}`;
  return [
    {
      device: id,
      type: 'phone',
      name: `${username}'s phone`,
      display_name: 'iOS (XXX-XXX-0100)',
      number: 'XXX-XXX-0100',
      capabilities: ['auto', 'push', 'sms', 'phone', 'mobile_otp'],
    },
  ];
}

export class DuoStandIn extends EventEmitter {
  /** Requests that passed credential and signature checks, in arrival order. */
  readonly requests: DuoReceivedRequest[] = [];
  /** Requests answered with an error (bad credentials, missing params, injected failures). */
  readonly rejections: DuoRejectedRequest[] = [];

  private readonly users = new Map<string, DuoStandInUser>();
  private readonly txs = new Map<string, TxState>();
  private readonly failures: DuoFailure[] = [];
  private readonly host: string;
  private readonly pushTimeoutMs: number;
  private readonly longPollMs: number;
  private readonly maxSkewSeconds: number;
  private readonly now: () => number;
  private server: https.Server | undefined;
  private address: DuoStandInAddress | undefined;
  private readonly stalled = new Set<ServerResponse>();
  /** Consulted for each signed request after its credentials are checked: the fault to serve, if any. */
  faultHook: ((call: DuoCall) => DuoFault | undefined) | undefined;

  constructor(private readonly options: DuoStandInOptions) {
    super();
    this.host = (options.host ?? 'api-sandbox.duosecurity.test').toLowerCase();
    this.pushTimeoutMs = options.pushTimeoutMs ?? 60_000;
    this.longPollMs = options.longPollMs ?? 5_000;
    this.maxSkewSeconds = options.maxSkewSeconds ?? 300;
    this.now = options.now ?? Date.now;
    for (const user of options.users ?? []) this.addUser(user);
  }

  async start(): Promise<DuoStandInAddress> {
    if (this.address) return this.address;
    const { key, cert } = await loopbackCert();
    const server = https.createServer({ key, cert }, (req, res) => {
      this.handle(req, res).catch(() => {
        // A bug in the stand-in, or the request went away: answer like a Duo server error if still possible.
        if (!res.headersSent) this.reject(res, req.method ?? 'GET', req.url ?? '/', 500, 50001);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const { port } = server.address() as AddressInfo;
    this.address = { url: `https://127.0.0.1:${port}`, port, host: this.host, ca: cert };
    return this.address;
  }

  async stop(): Promise<void> {
    for (const tx of this.txs.values()) this.settle(tx);
    for (const res of this.stalled) res.destroy();
    this.stalled.clear();
    const server = this.server;
    this.server = undefined;
    this.address = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  addUser(user: DuoStandInUser): void {
    this.users.set(user.username, user);
  }

  /** Queue a one-shot failure for the next signed request (optionally only for `failure.path`). */
  failNext(failure: DuoFailure): void {
    this.failures.push(failure);
  }

  transaction(txid: string): DuoTransaction | undefined {
    const tx = this.txs.get(txid);
    return tx ? this.publicTx(tx) : undefined;
  }

  transactions(): DuoTransaction[] {
    return [...this.txs.values()].map((tx) => this.publicTx(tx));
  }

  /** Resolves with the next push sent (to `username`, if given). */
  waitForPush(username?: string, timeoutMs = 5_000): Promise<DuoTransaction> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('event', onEvent);
        reject(new Error(`no Duo push${username ? ` to ${username}` : ''} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onEvent = (event: DuoStandInEvent): void => {
        if (event.type !== 'push-sent' || (username && event.username !== username)) return;
        clearTimeout(timer);
        this.off('event', onEvent);
        const tx = this.transaction(event.txid);
        if (tx) resolve(tx);
        else reject(new Error(`push ${event.txid} vanished`));
      };
      this.on('event', onEvent);
    });
  }

  /** Answer a pending push as the user would on their phone (tests, demo page). */
  decide(txid: string, answer: DuoAnswer): void {
    this.answer(txid, answer, 'api');
  }

  // ---- push lifecycle ----

  private publicTx(tx: TxState): DuoTransaction {
    return {
      txid: tx.txid,
      username: tx.username,
      createdAt: tx.createdAt,
      result: tx.result,
      status: tx.status,
      statusMessage: tx.statusMessage,
      factor: tx.factor,
      device: tx.device,
      pushType: tx.pushType,
      displayUsername: tx.displayUsername,
      pushinfo: { ...tx.pushinfo },
    };
  }

  private isFinal(tx: TxState): boolean {
    return tx.result !== 'waiting' || tx.status === 'timeout' || tx.status === 'push_failed';
  }

  private transition(tx: TxState, result: TxState['result'], status: string, statusMessage: string): void {
    tx.result = result;
    tx.status = status;
    tx.statusMessage = statusMessage;
    if (this.isFinal(tx)) {
      for (const t of tx.timers) clearTimeout(t);
      tx.timers = [];
    }
    this.settle(tx);
  }

  private settle(tx: TxState): void {
    const waiters = [...tx.waiters];
    tx.waiters.clear();
    for (const wake of waiters) wake();
  }

  private answer(txid: string, answer: DuoAnswer, by: 'api' | 'script'): void {
    const tx = this.txs.get(txid);
    if (!tx) throw new Error(`unknown Duo transaction ${txid}`);
    if (this.isFinal(tx)) throw new Error(`Duo transaction ${txid} is already ${tx.status}`);
    if (answer === 'allow') this.transition(tx, 'allow', 'allow', 'Success. Logging you in...');
    else if (answer === 'deny') this.transition(tx, 'deny', 'deny', 'Login request denied.');
    else this.transition(tx, 'deny', 'fraud', 'Login request reported as fraudulent.');
    this.emitEvent({ type: 'decided', at: this.stamp(), txid, username: tx.username, answer, by });
  }

  private expire(tx: TxState): void {
    if (this.isFinal(tx)) return;
    this.transition(tx, 'waiting', 'timeout', 'Login timed out.');
    this.emitEvent({ type: 'expired', at: this.stamp(), txid: tx.txid, username: tx.username });
  }

  private failPush(tx: TxState): void {
    if (this.isFinal(tx)) return;
    this.transition(tx, 'waiting', 'push_failed', 'Push could not be delivered to the device.');
    this.emitEvent({ type: 'push-failed', at: this.stamp(), txid: tx.txid, username: tx.username });
  }

  private startPush(user: DuoStandInUser, params: Params, device: string): TxState {
    const txid = randomUUID();
    const pushinfoRaw = first(params.pushinfo) ?? '';
    const tx: TxState = {
      txid,
      username: user.username,
      createdAt: this.stamp(),
      result: 'waiting',
      status: 'pushed',
      statusMessage: 'Pushed a login request to your device...',
      factor: 'push',
      device,
      pushType: first(params.type),
      displayUsername: first(params.display_username),
      pushinfo: Object.fromEntries(new URLSearchParams(pushinfoRaw)),
      timers: [],
      waiters: new Set(),
    };
    this.txs.set(txid, tx);
    if (user.status === 'bypass') {
      this.transition(tx, 'allow', 'bypass', 'Allowing bypass user');
      return tx;
    }
    if (user.status === 'deny') {
      this.transition(tx, 'deny', 'deny', 'Your account is disabled.');
      return tx;
    }
    this.emitEvent({
      type: 'push-sent',
      at: this.stamp(),
      txid,
      username: user.username,
      pushType: tx.pushType,
      pushinfo: { ...tx.pushinfo },
    });
    tx.timers.push(setTimeout(() => this.expire(tx), this.pushTimeoutMs));
    const script = user.autoAnswer;
    if (script) {
      tx.timers.push(
        setTimeout(() => {
          if (this.isFinal(tx)) return;
          if (script.answer === 'timeout') this.expire(tx);
          else if (script.answer === 'push_failed') this.failPush(tx);
          else this.answer(txid, script.answer, 'script');
        }, script.afterMs ?? 50),
      );
    }
    return tx;
  }

  /** Resolves when the transaction changes or `ms` passes. */
  private waitForChange(tx: TxState, ms: number): Promise<void> {
    if (this.isFinal(tx) || !this.server) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        tx.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      tx.waiters.add(wake);
    });
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://stand-in.invalid');
    const path = url.pathname;
    const body = await this.readBody(req);
    if (body === undefined) return this.reject(res, method, path, 413, 41301);

    const routes: Record<string, 'GET' | 'POST'> = {
      '/auth/v2/ping': 'GET',
      '/auth/v2/check': 'GET',
      '/auth/v2/preauth': 'POST',
      '/auth/v2/auth': 'POST',
      '/auth/v2/auth_status': 'GET',
    };
    const expected = routes[path];
    if (!expected) return this.reject(res, method, path, 404, 40401);
    if (method !== expected) return this.reject(res, method, path, 405, 40501);
    if (path === '/auth/v2/ping') {
      return this.send(res, 200, { stat: 'OK', response: { time: Math.floor(this.now() / 1000) } });
    }

    const failureIndex = this.failures.findIndex((f) => !f.path || f.path === path);
    if (failureIndex >= 0) {
      const [failure] = this.failures.splice(failureIndex, 1);
      if (failure) return this.injectFailure(res, method, path, failure);
    }

    const isForm = method === 'POST';
    if (isForm) {
      const contentType = String(req.headers['content-type'] ?? '').split(';')[0]?.trim();
      if (contentType !== 'application/x-www-form-urlencoded') {
        return this.reject(res, method, path, 400, 40002, 'stand-in supports signature v2 form bodies only');
      }
    }
    const params: Params = querystring.parse(isForm ? body : url.search.replace(/^\?/, '')) as Params;

    // Credentials, as Duo checks them: present, known ikey, fresh date, a valid signature of the canonical request.
    const date = String(req.headers['x-duo-date'] ?? req.headers.date ?? '');
    const credentials = checkDuoAuthorization(req.headers.authorization, this.options, { date, method, host: this.host, path, params });
    if (!credentials.ok && credentials.code !== 40103) return this.reject(res, method, path, 401, credentials.code);
    const dateMs = Date.parse(date);
    if (!date || Number.isNaN(dateMs) || Math.abs(this.now() - dateMs) > this.maxSkewSeconds * 1000) {
      return this.reject(res, method, path, 401, 40105);
    }
    if (!credentials.ok) return this.reject(res, method, path, 401, credentials.code);
    const { ikey } = credentials;

    const fault = this.faultHook?.({ method, path, params });
    if (fault && 'delayMs' in fault) await new Promise((resolve) => setTimeout(resolve, fault.delayMs).unref());
    else if (fault) return this.injectFailure(res, method, path, fault);

    try {
      const response = await this.route(path, params);
      this.requests.push({ at: this.stamp(), method, path, params, ikey });
      return this.send(res, 200, { stat: 'OK', response });
    } catch (err) {
      if (err instanceof DuoHttpError) {
        return this.reject(res, method, path, Math.floor(err.code / 100), err.code, err.detail);
      }
      throw err;
    }
  }

  private async route(path: string, params: Params): Promise<unknown> {
    switch (path) {
      case '/auth/v2/check':
        return { time: Math.floor(this.now() / 1000) };
      case '/auth/v2/preauth':
        return this.preauth(params);
      case '/auth/v2/auth':
        return this.auth(params);
      default:
        return this.authStatus(params);
    }
  }

  private userParam(params: Params): string {
    const username = first(params.username) ?? first(params.user_id);
    if (!username) throw new DuoHttpError(40001, 'username');
    return username;
  }

  private preauth(params: Params): unknown {
    const username = this.userParam(params);
    const user = this.users.get(username);
    // Unknown users get Duo's default new-user policy: enrollment required.
    if (!user || user.status === 'enroll') {
      return {
        result: 'enroll',
        status_msg: 'Enroll an authentication device to proceed',
        enroll_portal_url: `https://${this.host}/portal?code=${randomUUID()}`,
      };
    }
    if (user.status === 'deny') return { result: 'deny', status_msg: 'Your account is disabled.' };
    if (user.status === 'bypass') return { result: 'allow', status_msg: 'Allowing bypass user' };
    return {
      result: 'auth',
      status_msg: 'Account is active',
      devices: user.devices ?? defaultDevices(user.username),
    };
  }

  private async auth(params: Params): Promise<unknown> {
    const username = this.userParam(params);
    const factor = first(params.factor);
    if (!factor) throw new DuoHttpError(40001, 'factor');
    if (factor !== 'push' && factor !== 'auto') throw new DuoHttpError(40002, 'factor: the stand-in supports push only');
    const user = this.users.get(username);
    if (!user || user.status === 'enroll') throw new DuoHttpError(40002, 'username: user is not enrolled');
    const pushinfo = first(params.pushinfo);
    if (pushinfo !== undefined && Buffer.byteLength(pushinfo, 'utf8') >= PUSHINFO_MAX_BYTES) {
      throw new DuoHttpError(40002, 'pushinfo');
    }
    const asyncFlag = first(params.async);
    if (asyncFlag !== undefined && asyncFlag !== '0' && asyncFlag !== '1') throw new DuoHttpError(40002, 'async');

    let device = first(params.device) ?? 'auto';
    if (user.status === 'active') {
      const devices = (user.devices ?? defaultDevices(user.username)).filter((d) => d.capabilities.includes('push'));
      const chosen = device === 'auto' ? devices[0] : devices.find((d) => d.device === device);
      if (!chosen) throw new DuoHttpError(40002, 'device');
      device = chosen.device;
    }
    const tx = this.startPush(user, params, device);
    if (asyncFlag === '1') return { txid: tx.txid };
    // Synchronous mode: hold the request until the push is decided or times out.
    while (!this.isFinal(tx) && this.server) await this.waitForChange(tx, this.pushTimeoutMs);
    return { result: tx.result === 'waiting' ? 'deny' : tx.result, status: tx.status, status_msg: tx.statusMessage };
  }

  private async authStatus(params: Params): Promise<unknown> {
    const txid = first(params.txid);
    if (!txid) throw new DuoHttpError(40001, 'txid');
    const tx = this.txs.get(txid);
    if (!tx) throw new DuoHttpError(40002, 'txid');
    await this.waitForChange(tx, this.longPollMs);
    return { result: tx.result, status: tx.status, status_msg: tx.statusMessage };
  }

  private injectFailure(res: ServerResponse, method: string, path: string, failure: DuoFailure): void {
    if (failure.stall) {
      this.stalled.add(res);
      this.rejections.push({ at: this.stamp(), method, path, status: 0, message: 'injected: stalled, never answered' });
      this.emitEvent({ type: 'rejected', at: this.stamp(), method, path, status: 0, message: 'injected: stalled, never answered' });
      return;
    }
    const code = failure.code ?? (failure.status ?? 500) * 100 + 1;
    const status = failure.status ?? Math.floor(code / 100);
    const message = failure.message ?? MESSAGES[code] ?? 'Injected failure';
    this.rejections.push({ at: this.stamp(), method, path, status, code, message: `injected: ${message}` });
    this.emitEvent({ type: 'rejected', at: this.stamp(), method, path, status, code, message: `injected: ${message}` });
    if (failure.html) {
      res.writeHead(status, { 'Content-Type': 'text/html' });
      res.end(
        `<html>\r\n<head><title>${status} Bad Gateway</title></head>\r\n<body>\r\n<center><h1>${status} Bad Gateway` +
          `</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
      );
      return;
    }
    const headers: Record<string, string> = status === 429 ? { 'Retry-After': '1' } : {};
    this.send(res, status, { stat: 'FAIL', code, message }, headers);
  }

  private reject(res: ServerResponse, method: string, path: string, status: number, code: number, detail?: string): void {
    const message = MESSAGES[code] ?? 'Error';
    this.rejections.push({ at: this.stamp(), method, path, status, code, message });
    this.emitEvent({ type: 'rejected', at: this.stamp(), method, path, status, code, message });
    const body: Record<string, unknown> = { stat: 'FAIL', code, message };
    if (detail) body.message_detail = detail;
    this.send(res, status, body);
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private readBody(req: IncomingMessage): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooBig = false;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) tooBig = true;
        else chunks.push(chunk);
      });
      req.on('end', () => resolve(tooBig ? undefined : Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  private stamp(): string {
    return new Date(this.now()).toISOString();
  }

  private emitEvent(event: DuoStandInEvent): void {
    this.emit('event', event);
  }
}
