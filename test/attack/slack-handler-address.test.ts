// Attack: someone on the network reaches `vouch handler` directly, around the TLS proxy meant to stand in front of it
// (or scrapes its metrics). Run as the command is run, with only what it needs in the environment; unless
// VOUCH_HANDLER_HOST / VOUCH_METRICS_HOST say otherwise, both endpoints must answer on loopback and nowhere else.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startDevServer } from '../helpers/temporal';
import { freeLowPort, portOpen, terminate } from '../helpers/processes';
import { until } from '../helpers/slack-attack';

const ROOT = path.resolve(__dirname, '..', '..');

/** The machine's own non-loopback IPv4 addresses: what someone else on the network would dial. */
function networkAddresses(): string[] {
  return Object.values(os.networkInterfaces())
    .flat()
    .filter((a): a is os.NetworkInterfaceInfo => a !== undefined && a.family === 'IPv4' && !a.internal)
    .map((a) => a.address);
}

let env: TestWorkflowEnvironment;
let child: ChildProcess | undefined;

before(async () => {
  env = await startDevServer();
});

after(async () => {
  if (child) await terminate(child);
  await env?.teardown();
});

describe('the handler listens on loopback unless configured otherwise', () => {
  test('vouch handler and its /metrics are not reachable on the network addresses of the machine', async () => {
    const addresses = networkAddresses();
    const [handlerPort, metricsPort] = [await freeLowPort(), await freeLowPort()];
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VOUCH_|SLACK_|TEMPORAL_|PAGERDUTY_|DUO_)/.test(k)));
    let output = '';
    child = spawn(process.execPath, [path.join(ROOT, 'src', 'bin', 'vouch.js'), 'handler'], {
      cwd: ROOT,
      env: {
        ...inherited,
        TEMPORAL_ADDRESS: env.address,
        SLACK_SIGNING_SECRET: randomBytes(16).toString('hex'),
        SLACK_BOT_TOKEN: 'xoxb-listen-address-test',
        VOUCH_HANDLER_PORT: String(handlerPort),
        VOUCH_METRICS_PORT: String(metricsPort),
        VOUCH_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (b: Buffer) => (output += b.toString('utf8')));
    child.stderr?.on('data', (b: Buffer) => (output += b.toString('utf8')));
    await until(async () => (await portOpen(handlerPort)) && (await portOpen(metricsPort)), 'the handler and metrics on 127.0.0.1', 60_000).catch(
      (err: Error) => {
        throw new Error(`${err.message}\n${output}`);
      },
    );
    const health = await fetch(`http://127.0.0.1:${handlerPort}/healthz`);
    assert.equal(health.status, 200);
    for (const address of addresses) {
      assert.equal(await portOpen(handlerPort, address), false, `the handler answers on ${address}`);
      assert.equal(await portOpen(metricsPort, address), false, `/metrics answers on ${address}`);
    }
    assert.match(output, new RegExp(`"url":"http://127\\.0\\.0\\.1:${handlerPort}/slack/interactions"`), 'the handler says where it listens');
  });
});
