/**
 * Scenario 1 at a steady 1,000 requests per second (latency, not capacity), and scenario 5: the
 * same while a login storm runs. Rounds interleave baseline, sidecar, the Redis-store sidecar
 * (when there is one) and sidecar under the storm.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runPaced, startStorm, stopStorm, type LoadGenerators } from '../load/generators.js';
import type { PacedResult, StormResult } from '../load/jobs.js';
import { withCpuUsage } from '../lib/proc.js';
import { median, round2 } from '../lib/stats.js';
import { BENCH_PATHS, BENCH_USER } from '../servers/sidecar-config.js';
import { SETTINGS } from '../settings.js';
import { bearer, cpuPids, serverOf, type BenchServers, type BenchTokens } from './bench-servers.js';

export type PacedCondition = 'baseline' | 'sidecar' | 'sidecar-redis' | 'sidecar-under-login-storm';

export interface PacedRun extends PacedResult {
  readonly condition: PacedCondition;
  readonly round: number;
  readonly unexpected: number;
  readonly cpuPercent: Record<string, number>;
  readonly storm?: StormResult;
}

export interface PacedRow {
  readonly condition: PacedCondition;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly unexpected: number;
}

export interface StormTotals {
  readonly loginsCompleted: number;
  readonly statusCounts: Record<string, number>;
  readonly errors: number;
  readonly seconds: number;
  /** Median over the rounds of the p99 of successful logins, in ms. */
  readonly successP99: number;
}

export async function runPacedLatency(
  servers: BenchServers,
  tokens: BenchTokens,
  generators: LoadGenerators,
  progress: (line: string) => void,
): Promise<{ runs: PacedRun[]; rows: PacedRow[]; storm: StormTotals }> {
  const conditions: PacedCondition[] = [
    'baseline',
    'sidecar',
    ...(servers['sidecar-redis'] && tokens.redis !== undefined ? (['sidecar-redis'] as const) : []),
    'sidecar-under-login-storm',
  ];
  const runs: PacedRun[] = [];
  for (let round = 1; round <= SETTINGS.paced.rounds; round++) {
    for (const condition of conditions) {
      const run = await runCondition(condition, round, servers, tokens, generators);
      progress(
        `paced round ${round}/${SETTINGS.paced.rounds} ${condition}: p50 ${run.latency.p50} ms, ` +
          `p99 ${run.latency.p99} ms${run.storm ? `, ${run.storm.loginsCompleted} logins` : ''}`,
      );
      runs.push(run);
    }
  }
  const rows = conditions.map((condition) => summarize(condition, runs));
  return { runs, rows, storm: totalStorm(runs) };
}

async function runCondition(
  condition: PacedCondition,
  round: number,
  servers: BenchServers,
  tokens: BenchTokens,
  generators: LoadGenerators,
): Promise<PacedRun> {
  const kind = condition === 'sidecar-under-login-storm' ? 'sidecar' : condition;
  const target = serverOf(servers, kind);
  const token = kind === 'sidecar-redis' ? tokens.redis : kind === 'sidecar' ? tokens.valid : undefined;
  const withStorm = condition === 'sidecar-under-login-storm';
  if (withStorm) {
    await startStorm(generators, {
      op: 'start',
      url: servers.sidecar.url,
      concurrency: SETTINGS.storm.concurrency,
      username: BENCH_USER.username,
      password: BENCH_USER.password,
    });
    await sleep(SETTINGS.storm.settleMs);
  }
  const { result, cpuPercent } = await withCpuUsage(cpuPids(servers, kind), () =>
    runPaced(generators, {
      url: target.url + BENCH_PATHS.roleRule,
      headers: token === undefined ? {} : bearer(token),
      ratePerS: SETTINGS.paced.ratePerS,
      warmupMs: SETTINGS.paced.warmupMs,
      durationMs: SETTINGS.paced.durationMs,
      maxSockets: SETTINGS.paced.maxSockets,
      timeoutMs: SETTINGS.paced.timeoutMs,
    }),
  );
  const storm = withStorm ? await stopStorm(generators) : undefined;
  const unexpected = result.requests - (result.statusCounts['200'] ?? 0) + result.errors;
  return { ...result, condition, round, unexpected, cpuPercent, ...(storm ? { storm } : {}) };
}

function summarize(condition: PacedCondition, runs: readonly PacedRun[]): PacedRow {
  const mine = runs.filter((run) => run.condition === condition);
  return {
    condition,
    rps: round2(median(mine.map((run) => run.rps))),
    p50: round2(median(mine.map((run) => run.latency.p50))),
    p99: round2(median(mine.map((run) => run.latency.p99))),
    unexpected: mine.reduce((sum, run) => sum + run.unexpected, 0),
  };
}

function totalStorm(runs: readonly PacedRun[]): StormTotals {
  const storms = runs.flatMap((run) => (run.storm ? [run.storm] : []));
  const statusCounts: Record<string, number> = {};
  for (const storm of storms) {
    for (const [status, count] of Object.entries(storm.statusCounts)) {
      statusCounts[status] = (statusCounts[status] ?? 0) + count;
    }
  }
  return {
    loginsCompleted: storms.reduce((sum, storm) => sum + storm.loginsCompleted, 0),
    statusCounts,
    errors: storms.reduce((sum, storm) => sum + storm.errors, 0),
    seconds: round2(storms.reduce((sum, storm) => sum + storm.seconds, 0)),
    successP99: round2(median(storms.map((storm) => storm.successLatency.p99))),
  };
}
