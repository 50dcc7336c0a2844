// How big the fault tests run: VOUCH_FAULT_SCALE=full (`npm run test:faults`: 200 reviews per process fault, every
// intake path, every vendor fault) or reduced (the default, inside `npm test`: a few reviews per fault, the faults
// whose recovery waits on an activity's start-to-close timeout, the LookupEvents path and the files path left to the
// full run).
import type { FleetCounts } from './fault-fleet';

export const FULL = process.env.VOUCH_FAULT_SCALE === 'full';

export const SCALE = FULL
  ? {
      name: 'full',
      /** kill -9 the worker: 200 reviews at every step, including activities in flight (their retries wait out start-to-close). */
      workerKill: { confirm: 46, deny: 40, duo: 40, page: 30, revert: 40, dmLost: 4 } satisfies FleetCounts,
      /** kill -9 the server, restart PostgreSQL, while 200 reviews are being answered. */
      serverKill: { confirm: 50, deny: 40, duo: 40, page: 30, revert: 40 } satisfies FleetCounts,
      /** The server dies while people answer and activities run (their completions may be lost: retried after start-to-close). */
      serverKillWhileDriving: true,
      /** Records per intake path (about 40% risky). */
      intakeRecords: 150,
      intakePaths: ['sqs', 'files', 'lookup'] as const,
      /** Deliveries of the same eventID: SQS messages, files, LookupEvents entries, `vouch review` processes. */
      duplicates: { sqs: 15, files: 15, lookup: 10, review: 10 },
      vendorReviews: 2,
      timeouts: true,
      boundMs: 8 * 60_000,
    }
  : {
      name: 'reduced',
      workerKill: { confirm: 2, deny: 1, page: 1 } satisfies FleetCounts,
      serverKill: { confirm: 2, deny: 1, page: 1 } satisfies FleetCounts,
      serverKillWhileDriving: false,
      intakeRecords: 30,
      intakePaths: ['sqs'] as const,
      duplicates: { sqs: 25, files: 24, lookup: 0, review: 1 },
      vendorReviews: 1,
      timeouts: false,
      boundMs: 3 * 60_000,
    };
