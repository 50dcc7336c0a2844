// `npm run test:prod`: the whole shared CloudTrail corpus (../shared/data/cloudtrail: the Invictus dataset and the
// Stratus Red Team detonations) through the real intake, as `vouch ingest --from DIR` runs it, into the production
// topology: every risky record becomes exactly one review, searchable by tier in SQL visibility, and a second pass
// over the same files starts nothing new (the workflow id is the account + eventID; the starter uses the server's
// conflict policy). Records that cannot be read are kept as dead letters.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { IntakePipeline, type RecordResult } from '../../src/intake/pipeline';
import { policyJudge } from '../../src/intake/judges';
import { temporalStarter } from '../../src/intake/starter';
import { FolderDeadLetterStore } from '../../src/intake/dead-letter';
import { ingestFiles, listDir } from '../../src/intake/files';
import { SHARED_CLOUDTRAIL } from '../../src/demo/stack';
import type { Verdict } from '../../src/core/types';
import { startProdTopology, type ProdTopology } from '../helpers/prod-topology';
import { eventually } from '../helpers/temporal';

Runtime.install({ logger: new DefaultLogger('ERROR') });

let topo: ProdTopology;
let client: Client;
let dir: string;

/** The production pipeline; `tiers` records the verdict's tier of each review the starter actually started. */
function pipeline(tiers: Map<string, Verdict['tier']>, taskQueue: string): IntakePipeline {
  const starter = temporalStarter(client, { taskQueue, uiBaseUrl: 'http://127.0.0.1:8080' });
  return new IntakePipeline({
    judge: policyJudge(),
    starter: async (input) => {
      const res = await starter(input);
      if (res.status === 'started') tiers.set(res.workflowId, input.verdict.tier);
      return res;
    },
    deadLetters: new FolderDeadLetterStore(path.join(dir, 'dead-letter')),
    review: { securityResponders: ['U0SECURITY'] },
  });
}

describe('the shared CloudTrail corpus through the intake into the production topology', { timeout: 600_000 }, () => {
  before(async () => {
    if (!fs.existsSync(SHARED_CLOUDTRAIL)) {
      throw new Error(`${SHARED_CLOUDTRAIL} is missing: this test needs the shared CloudTrail data (../shared from the repository root)`);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vouch-prod-corpus-'));
    topo = await startProdTopology();
    client = await topo.client();
  });

  after(async () => {
    await topo?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('one review per risky record, by tier in SQL visibility; a second pass starts none', async () => {
    // No worker polls this queue: the reviews stay at their start, which is what visibility is asked about here.
    const taskQueue = `corpus-${randomUUID().slice(0, 8)}`;
    const tiers = new Map<string, Verdict['tier']>();
    const files = await listDir(SHARED_CLOUDTRAIL);
    const results: RecordResult[] = [];
    const t0 = Date.now();
    const first = await ingestFiles(files, pipeline(tiers, taskQueue), { onFile: (_n, r) => results.push(...r) });
    const seconds = (Date.now() - t0) / 1000;
    process.stderr.write(
      `[prod] corpus: ${first.records} records from ${first.files} files in ${seconds.toFixed(1)} s ` +
        `(${Math.round(first.records / seconds)} records/s): ${first.started} started, ${first.existing} existing, ` +
        `${first.ignored} ignored, ${first.deadLettered} dead-lettered\n`,
    );
    assert.ok(first.records > 1000, `${first.records} records read`);
    assert.ok(first.started > 0, 'risky records started reviews');

    // Exactly one review per started workflow id (a record seen twice in the corpus finds its review: "existing").
    const started = new Set(results.flatMap((r) => (r.status === 'started' ? [r.workflowId] : [])));
    assert.equal(started.size, first.started, 'no workflow id started twice');
    assert.deepEqual([...tiers.keys()].sort(), [...started].sort(), 'the starter saw each start once');
    const dead = fs.existsSync(path.join(dir, 'dead-letter')) ? fs.readdirSync(path.join(dir, 'dead-letter')).length : 0;
    assert.equal(dead, first.deadLettered, 'every unusable record kept');

    // By tier, what the judge gave the started reviews is what SQL visibility holds.
    const byTier = new Map<string, number>();
    for (const tier of tiers.values()) byTier.set(tier, (byTier.get(tier) ?? 0) + 1);
    await eventually(async () => (await client.workflow.count('VouchOutcome="PENDING"')).count === first.started, 60_000, 'every review in visibility');
    for (const [tier, n] of byTier) {
      assert.equal((await client.workflow.count(`VouchTier="${tier}"`)).count, n, `VouchTier="${tier}"`);
    }
    assert.equal((await client.workflow.count('')).count, first.started, 'nothing else in the namespace');

    // The same files again: nothing new.
    const again = await ingestFiles(files, pipeline(new Map(), taskQueue));
    assert.equal(again.started, 0, 'a second pass starts no review');
    assert.equal(again.existing, first.started + first.existing);
    assert.equal((await client.workflow.count('')).count, first.started);
  });
});
