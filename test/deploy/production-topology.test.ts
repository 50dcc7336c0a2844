// docker-compose.yml's stack, proven without containers (the short version inside `npm test`; `npm run test:prod`
// adds the Web UI in a browser, faults and the shared corpus): PostgreSQL, the schema and namespace steps through
// src/deploy/temporal-setup.sh with compose's own variables, the Temporal server built from the Go module proxy at
// compose's pinned version with src/deploy/dynamicconfig/production.yaml and SQL visibility; then vouch's worker,
// handler and intake wired as production wires them, every outcome driven through the vendors' stand-ins, and each
// of the README's Web UI queries answered by the server exactly as expected.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { parse } from 'yaml';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { composePins } from '../../src/demo/tools/production-tools';
import { startProdTopology, type ProdTopology } from '../helpers/prod-topology';
import { composeEnvironment, composeHostPath } from '../helpers/compose-env';
import { startVouchOnProd, type VouchOnProd } from '../helpers/prod-vouch';
import { checkReadmeQueries, runReviewLoop, writeTestPolicy, type RanReview } from '../helpers/prod-reviews';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let topo: ProdTopology;
let vouch: VouchOnProd;
let dir: string;

describe('the production topology (compose without containers)', { timeout: 240_000 }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-prod-test-'));
    topo = await startProdTopology();
    vouch = await startVouchOnProd(topo, { dir, policyFile: writeTestPolicy(dir) });
  });

  after(async () => {
    await vouch?.stop();
    await topo?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the server is the version compose pins, on PostgreSQL (both databases made by the schema step), SQL visibility', async () => {
    const pins = composePins();
    assert.equal(topo.versions.server, pins.server);
    const info = await vouch.client.workflowService.getSystemInfo({});
    assert.match(info.serverVersion, new RegExp(`^${pins.server.replace(/\./g, '\\.')}`));
    const cluster = await vouch.client.workflowService.getClusterInfo({});
    assert.equal(cluster.persistenceStore, 'postgres12');
    assert.equal(cluster.visibilityStore, 'postgres12');
    // Both databases were made by the schema step: the history tables and the visibility table exist.
    const q = (db: string, sql: string): Promise<string> => topo.psql(db, sql);
    const [persistence, visibility] = topo.postgres.databases as [string, string];
    assert.equal(await q(persistence, "select count(*) from information_schema.tables where table_name in ('executions','history_node')"), '2');
    assert.equal(await q(visibility, "select count(*) from information_schema.tables where table_name = 'executions_visibility'"), '1');
    // The namespace step registered compose's search attributes.
    const attrs = await vouch.client.connection.operatorService.listSearchAttributes({ namespace: topo.namespace });
    for (const name of ['VouchTier', 'VouchOutcome', 'VouchAccount', 'VouchActor', 'VouchEventName', 'VouchRules', 'VouchScore']) {
      assert.ok(name in attrs.customAttributes, `${name} registered`);
    }
  });

  test("the server runs on compose's dynamic config: limit.maxIDLength from src/deploy/dynamicconfig/production.yaml", async () => {
    const limit = (parse(fs.readFileSync(composeHostPath('temporal', composeEnvironment('temporal', { POSTGRES_PWD: 'x' }).DYNAMIC_CONFIG_FILE_PATH as string), 'utf8')) as Record<string, Array<{ value: number }>>)['limit.maxIDLength']?.[0]?.value;
    assert.ok(limit && limit < 1000, 'production.yaml sets limit.maxIDLength below the server default (1000)');
    const start = (id: string) =>
      vouch.client.workflow.start('noSuchWorkflowType', { taskQueue: `idlen-${randomUUID()}`, workflowId: id, workflowExecutionTimeout: '1 minute' });
    const ok = await start(`idlen-${'x'.repeat(limit - 6)}`);
    assert.equal(ok.workflowId.length, limit);
    await ok.terminate('length probe');
    const chain = (e: unknown): string => (e instanceof Error ? `${e.message} <- ${chain(e.cause)}` : String(e ?? ''));
    await assert.rejects(start(`idlen-${'y'.repeat(limit - 5)}`), (err) => {
      assert.match(chain(err), /WorkflowId.*(length|exceeds|too long)/i, `a ${limit + 1}-character workflow id is refused for its length`);
      return true;
    });
  });

  let ran: RanReview[] = [];
  let startedAfter = '';

  test('the review loop: intake → Slack → Duo / clicks → PagerDuty and reverts on moto, every outcome', async () => {
    startedAfter = new Date(Date.now() - 1000).toISOString();
    ran = await runReviewLoop(vouch);
  });

  test("the README's Web UI queries find exactly the expected reviews in SQL visibility", async () => {
    assert.ok(ran.length > 0, 'the review loop ran');
    const answered = await checkReadmeQueries(vouch, ran, startedAfter);
    assert.ok(answered.length >= 5, `${answered.length} README queries checked`);
  });
});
