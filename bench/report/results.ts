import { writeFile } from 'node:fs/promises';
import type { MachineInfo } from '../lib/machine.js';
import type { BeforeComparison } from '../scenarios/before.js';
import type { CookieComparison } from '../scenarios/cookie-vs-bearer.js';
import type { InstructionsComparison } from '../scenarios/instructions.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { PacedRow, PacedRun, StormTotals } from '../scenarios/paced.js';
import type { RedisComparison } from '../scenarios/redis-store.js';
import type { SessionsResult } from '../scenarios/sessions.js';
import type { StoreResult } from '../scenarios/store.js';
import type { ThroughputRow, ThroughputRun } from '../scenarios/throughput.js';
import type { Settings } from '../settings.js';
import type { TargetResult } from './targets.js';

/** Everything one run measured: what bench/results.json holds. */
export interface BenchResults {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly settings: Settings & { readonly notes: readonly string[] };
  readonly throughput: {
    readonly medians: readonly ThroughputRow[];
    readonly runs: readonly ThroughputRun[];
  };
  readonly paced: {
    readonly medians: readonly PacedRow[];
    readonly loginStorm: StormTotals;
    readonly runs: readonly PacedRun[];
  };
  /** Scenario 1 with the Redis store against the lowdb store, or why it was skipped. */
  readonly redis: RedisComparison;
  /** Scenario 1 with a browser's session cookie against the bearer token, on the lowdb sidecar. */
  readonly cookie: CookieComparison;
  /** Scenarios 1 and 2 against an earlier build (BENCH_BEFORE=<git ref>); absent otherwise. */
  readonly before?: BeforeComparison;
  /**
   * Scenarios 1 and 2 in instructions per request under callgrind, against the same earlier build,
   * or why not (valgrind not installed); absent without BENCH_BEFORE.
   */
  readonly instructions?: InstructionsComparison;
  /** Absent when BENCH_SKIP left the phase out (a partial run, for development). */
  readonly memory?: MemoryResult;
  readonly store?: StoreResult;
  /** Scenario 8: ending sessions after a refresh loop, on both stores. */
  readonly sessions?: SessionsResult;
  readonly targets: readonly TargetResult[];
  /** Wall-clock seconds of each part, from the bench's own start (the build excluded). */
  readonly phaseSeconds: Readonly<Record<string, number>>;
  readonly totalSeconds: number;
}

export async function writeResults(path: string, results: BenchResults): Promise<void> {
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}
