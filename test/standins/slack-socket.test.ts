// The Socket Mode stand-in checks what Slack checks: the app-level token, one-time connection URLs, masked frames,
// JSON acks for envelopes it sent. Driven with the `ws` client and, for the unmasked frame, raw TLS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import tls from 'node:tls';
import { randomBytes } from 'node:crypto';
import { WebSocket } from 'ws';
import { SlackSocketStandIn } from './slack-socket';

const APP_TOKEN = `xapp-1-A0VOUCHAPP-${randomBytes(8).toString('hex')}`;
const socket = new SlackSocketStandIn({ appToken: APP_TOKEN });
let apiUrl: string;
let ca: string;

async function open(token: string | undefined): Promise<{ ok: boolean; url?: string; error?: string }> {
  const res = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      `${apiUrl}apps.connections.open`,
      { method: 'POST', ca, headers: token ? { authorization: `Bearer ${token}` } : {} },
      (r) => {
        let body = '';
        r.on('data', (d: Buffer) => (body += d.toString()));
        r.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
  return JSON.parse(res) as { ok: boolean; url?: string; error?: string };
}

function connect(url: string): Promise<{ ws: WebSocket; hello: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { ca });
    ws.once('message', (data) => resolve({ ws, hello: JSON.parse(String(data)) as Record<string, unknown> }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

before(async () => {
  ({ apiUrl, ca } = await socket.start());
});
after(async () => {
  await socket.stop();
});

describe('Socket Mode stand-in', () => {
  test('apps.connections.open wants the app-level token', async () => {
    assert.deepEqual(await open(undefined), { ok: false, error: 'not_authed' });
    assert.deepEqual(await open('xoxb-1-2-bot'), { ok: false, error: 'not_allowed_token_type' });
    assert.deepEqual(await open('xapp-1-A0OTHER-1'), { ok: false, error: 'invalid_auth' });
    const ok = await open(APP_TOKEN);
    assert.equal(ok.ok, true);
    assert.match(ok.url ?? '', /^wss:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=/);
    assert.equal(socket.opens.at(-1)?.authorization, 'Bearer <masked>', 'the token is not kept');
  });

  test('a connection URL works once; the connection is greeted, envelopes are acked, stray acks are violations', async () => {
    const { url } = await open(APP_TOKEN);
    assert.ok(url);
    const { ws, hello } = await connect(url);
    assert.equal(hello.type, 'hello');
    await assert.rejects(connect(url), /HTTP 401/, 'the same URL again');

    ws.on('message', (data) => {
      const env = JSON.parse(String(data)) as { envelope_id?: string };
      if (env.envelope_id) ws.send(JSON.stringify({ envelope_id: env.envelope_id }));
    });
    const res = await socket.sendInteractive({ type: 'block_actions' });
    assert.equal(res.acked, true);
    assert.equal(socket.acks.at(-1)?.type, 'interactive');
    assert.deepEqual(socket.violations, []);

    ws.send(JSON.stringify({ envelope_id: 'never-sent' }));
    ws.send('not json');
    ws.send(Buffer.from([1, 2, 3]), { binary: true });
    for (const until = Date.now() + 5000; socket.violations.length < 3 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(socket.violations, ['ack for an unknown envelope: never-sent', 'not JSON: not json', 'binary message']);
    socket.violations.length = 0;
    ws.close();
  });

  test('an unmasked client frame is a protocol violation and closes the connection with 1002', async () => {
    const { url } = await open(APP_TOKEN);
    assert.ok(url);
    const target = new URL(url);
    const raw = tls.connect({ host: target.hostname, port: Number(target.port), ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      raw.once('secureConnect', () => resolve());
      raw.once('error', reject);
    });
    raw.write(
      `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let received = Buffer.alloc(0);
    raw.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
    for (const until = Date.now() + 5000; !received.includes('\r\n\r\n') && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
    assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
    const before = received.length;
    const body = Buffer.from('{"envelope_id":"x"}');
    raw.write(Buffer.concat([Buffer.from([0x81, body.length]), body])); // FIN + text, no mask bit
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    await closed;
    // The last frame is the close: 0x88, its length, the status code, a reason.
    const frames = received.subarray(before);
    let close = -1;
    for (let i = frames.length - 4; i >= 0 && close < 0; i--) if (frames[i] === 0x88 && frames[i + 1] === frames.length - i - 2) close = i;
    assert.ok(close >= 0, 'a close frame came back');
    assert.equal(frames.readUInt16BE(close + 2), 1002);
    assert.ok(socket.violations.some((v) => /MASK must be set/.test(v)), socket.violations.join('; '));
  });
});
