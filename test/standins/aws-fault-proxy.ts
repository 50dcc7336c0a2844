// A loopback HTTP proxy in front of moto for fault tests: moto cannot throttle, lose a reply or answer slowly, so
// this does, per request, as a test's hook decides. Every request is forwarded to moto as it came (moto does not
// check signatures) and logged with its action, parameters and moto's status, which is how the tests count the
// calls that changed something (a RevokeSecurityGroupIngress moto answered 200).
//
// Faults:
// - `throttle`: EC2's throttling answer, HTTP 503 with the Query API's XML error `RequestLimitExceeded`
//   (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html; the AWS SDK retries it as a
//   throttling error), without reaching moto.
// - `status` + `body`: any other answer without reaching moto (e.g. a 500 InternalError).
// - `delayMs`: forwarded after that long.
// - `holdReply`: forwarded at once (moto makes the change), and moto's answer held until `release()` or
//   `releaseAll()`: a reply lost on the way back when the caller dies meanwhile, or a slow one.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type AwsFault =
  | { throttle: true }
  | { status: number; body: string; contentType?: string }
  | { delayMs: number }
  | { holdReply: true };

export interface AwsCall {
  /** `Action` of a Query request (EC2, STS, IAM…), or the `X-Amz-Target` of a JSON one. */
  action: string;
  params: URLSearchParams;
}

export interface ProxiedRequest extends AwsCall {
  at: number;
  /** Status the client got: moto's, or the injected one. 0 when the client went away before an answer. */
  status: number;
  /** Moto's own status, when the request reached moto. */
  motoStatus?: number;
  fault?: 'throttle' | 'status' | 'delay' | 'hold';
}

export interface AwsFaultProxy {
  endpoint: string;
  requests: ProxiedRequest[];
  /** Decides the fault for each request (none when it returns undefined). */
  faultHook: ((call: AwsCall) => AwsFault | undefined) | undefined;
  /** Requests whose reply is held, oldest first. */
  held(): ProxiedRequest[];
  /** Sends every held reply now (to the clients still connected). */
  releaseAll(): void;
  stop(): Promise<void>;
}

const THROTTLED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>' +
  '<Message>Request limit exceeded.</Message></Error></Errors><RequestID>00000000-0000-4000-8000-000000000429</RequestID></Response>';

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startAwsFaultProxy(motoEndpoint: string): Promise<AwsFaultProxy> {
  const target = new URL(motoEndpoint);
  const requests: ProxiedRequest[] = [];
  const holds: Array<{ entry: ProxiedRequest; release: () => void }> = [];
  const sockets = new Set<Socket>();

  const proxy: AwsFaultProxy = {
    endpoint: '',
    requests,
    faultHook: undefined,
    held: () => holds.map((h) => h.entry),
    releaseAll() {
      for (const h of holds.splice(0)) h.release();
    },
    stop: async () => undefined,
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host };
      const out = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? '');
    const params = contentType.includes('x-www-form-urlencoded') ? new URLSearchParams(body.toString('utf8')) : new URLSearchParams();
    const action = params.get('Action') ?? String(req.headers['x-amz-target'] ?? `${req.method} ${req.url}`);
    const entry: ProxiedRequest = { at: Date.now(), action, params, status: 0 };
    requests.push(entry);
    const reply = (status: number, headers: http.OutgoingHttpHeaders, text: Buffer | string): void => {
      if (res.destroyed || res.headersSent) return;
      entry.status = status;
      res.writeHead(status, headers);
      res.end(text);
    };

    const fault = proxy.faultHook?.({ action, params });
    if (fault && 'throttle' in fault) {
      entry.fault = 'throttle';
      reply(503, { 'content-type': 'text/xml' }, THROTTLED);
      return;
    }
    if (fault && 'status' in fault) {
      entry.fault = 'status';
      reply(fault.status, { 'content-type': fault.contentType ?? 'text/xml' }, fault.body);
      return;
    }
    if (fault && 'delayMs' in fault) {
      entry.fault = 'delay';
      await new Promise((r) => setTimeout(r, fault.delayMs).unref());
    }
    const answer = await forward(req, body);
    entry.motoStatus = answer.status;
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(answer.body.length);
    if (fault && 'holdReply' in fault) {
      entry.fault = 'hold';
      holds.push({ entry, release: () => reply(answer.status, headers, answer.body) });
      return;
    }
    reply(answer.status, headers, answer.body);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(`aws fault proxy: ${(err as Error).message}`);
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.stop = async () => {
    holds.splice(0);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return proxy;
}
