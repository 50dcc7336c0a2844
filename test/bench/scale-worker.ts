// The worker of `npm run bench -- scale`, in its own process so that its RSS and CPU are its own: the production
// worker (createWorkerWith: workflows, interceptors, options) over scripted activities that answer at once
// (test/helpers/fake-vendors.ts). Prints one JSON line a second with the activity calls so far, by name.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createWorkerWith } from '../../src/cli/worker';
import { FakeVendors } from '../helpers/fake-vendors';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const vendors = new FakeVendors();
  const counts: Record<string, number> = {};
  const { worker } = await createWorkerWith(
    {
      TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS as string,
      TEMPORAL_NAMESPACE: process.env.TEMPORAL_NAMESPACE as string,
      TEMPORAL_TASK_QUEUE: process.env.TEMPORAL_TASK_QUEUE as string,
    },
    vendors.activities(),
    undefined,
    // VOUCH_BENCH_CACHE: the workflow cache size to measure (default: the production worker's).
    process.env.VOUCH_BENCH_CACHE ? { maxCachedWorkflows: Number(process.env.VOUCH_BENCH_CACHE) } : {},
  );
  // The fake keeps every call; count them and let them go, so the calls do not grow the worker's memory.
  setInterval(() => {
    for (const c of vendors.calls.splice(0)) counts[c.name] = (counts[c.name] ?? 0) + 1;
    process.stdout.write(`${JSON.stringify(counts)}\n`);
  }, 1000);
  process.on('SIGTERM', () => worker.shutdown());
  await worker.run();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`scale-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
