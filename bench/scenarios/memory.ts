/**
 * Scenario 6: does memory grow with traffic? A fresh sidecar is warmed up, then serves 200,000
 * authenticated requests; resident memory is read from /proc before, along the way and after.
 * The warm-up is counted in requests, enough for V8 to size its heap for this load: a fresh
 * process grows by some 130 MB over its first 100,000 or so requests, then levels off. Growth
 * after that is what a leak would look like.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runSaturating, type LoadGenerators } from '../load/generators.js';
import type { LoadResult } from '../load/jobs.js';
import { stopChild } from '../lib/children.js';
import { readPeakRssMb, readRssMb } from '../lib/proc.js';
import { round2 } from '../lib/stats.js';
import { BENCH_PATHS } from '../servers/sidecar-config.js';
import { startSidecar } from '../servers/sidecar.js';
import { SETTINGS } from '../settings.js';
import { bearer } from './bench-servers.js';

export interface MemoryCheckpoint {
  /** Requests served since the warm-up. */
  readonly requests: number;
  readonly rssMb: number;
  readonly load: LoadResult;
}

export interface MemoryResult {
  /** Idle, just after /readyz answered. */
  readonly rssAtStartMb: number;
  readonly rssAfterWarmupMb: number;
  readonly rssAfterLoadMb: number;
  readonly growthMb: number;
  readonly peakRssMb: number;
  readonly requests: number;
  readonly rps: number;
  /** RSS along the way: growth that flattens is the heap finding its size, growth that keeps on is a leak. */
  readonly checkpoints: readonly MemoryCheckpoint[];
  readonly unexpected: number;
}

export async function runMemory(
  configPath: string,
  secret: string,
  token: string,
  generators: LoadGenerators,
): Promise<MemoryResult> {
  const { warmupRequests, requests, checkpoints: segments, settleMs } = SETTINGS.memory;
  const sidecar = await startSidecar('sidecar (memory)', configPath, secret);
  const rss = async (): Promise<number> => {
    await sleep(settleMs);
    return round2(readRssMb(sidecar.child.pid));
  };
  try {
    const job = {
      url: sidecar.url + BENCH_PATHS.roleRule,
      headers: bearer(token),
      connections: SETTINGS.connections,
    };
    const rssAtStartMb = await rss();
    await runSaturating(generators, { ...job, amount: warmupRequests });
    const rssAfterWarmupMb = await rss();
    const checkpoints: MemoryCheckpoint[] = [];
    for (let segment = 1; segment <= segments; segment++) {
      const load = await runSaturating(generators, { ...job, amount: requests / segments });
      checkpoints.push({ requests: (requests / segments) * segment, rssMb: await rss(), load });
    }
    const rssAfterLoadMb = checkpoints.at(-1)?.rssMb ?? rssAfterWarmupMb;
    const served = checkpoints.reduce((sum, checkpoint) => sum + checkpoint.load.requests, 0);
    const seconds = checkpoints.reduce((sum, checkpoint) => sum + checkpoint.load.seconds, 0);
    return {
      rssAtStartMb,
      rssAfterWarmupMb,
      rssAfterLoadMb,
      growthMb: round2(rssAfterLoadMb - rssAfterWarmupMb),
      peakRssMb: round2(readPeakRssMb(sidecar.child.pid)),
      requests: served,
      rps: round2(served / seconds),
      checkpoints,
      unexpected: checkpoints.reduce(
        (sum, { load }) => sum + load.requests - (load.statusCounts['200'] ?? 0) + load.errors,
        0,
      ),
    };
  } finally {
    await stopChild(sidecar.child);
  }
}
