/**
 * Scenario 1 with the Redis store: a second sidecar, the same rules and the same kind of token,
 * whose users live in a private redis-server. Session checks on proxied requests read the store's
 * in-memory mirror, so an authenticated GET should cost what it costs with lowdb; its throughput
 * and paced rounds run interleaved with the lowdb sidecar's (throughput.ts, paced.ts).
 */
import { join } from 'node:path';
import { median, round2 } from '../lib/stats.js';
import { redisCommandsProcessed, startBenchRedis, type BenchRedis } from '../servers/redis.js';
import { BENCH_USER, writeSidecarConfig } from '../servers/sidecar-config.js';
import { addUser, login, startSidecar, type RunningSidecar } from '../servers/sidecar.js';
import { SETTINGS } from '../settings.js';
import type { PacedRow } from './paced.js';
import type { ThroughputRun } from './throughput.js';

export const REDIS_KEY_PREFIX = 'auth-sidecar-bench:';

export interface RedisSidecar {
  readonly redis: BenchRedis;
  readonly sidecar: RunningSidecar;
  /** An access token this sidecar issued to the bench user. */
  readonly token: string;
}

/** The Redis-store sidecar and its server, or why there is none. */
export async function startRedisSidecar(
  workDir: string,
  upstreamUrl: string,
  secret: string,
): Promise<RedisSidecar | { readonly skipped: string }> {
  const redis = await startBenchRedis();
  if ('skipped' in redis) return redis;
  const configPath = join(workDir, 'bench-redis.yaml');
  await writeSidecarConfig(configPath, {
    upstreamUrl,
    redis: { url: redis.url, keyPrefix: REDIS_KEY_PREFIX },
    logLevel: SETTINGS.sidecarLogLevel,
  });
  // The user as operators add the first one: the CLI, against the same config.
  await addUser(configPath, secret, BENCH_USER);
  const sidecar = await startSidecar('auth-sidecar (Redis store)', configPath, secret);
  const session = await login(sidecar.url, BENCH_USER);
  return { redis, sidecar, token: session.accessToken };
}

/** Redis commands the server ran while `measure` did; the INFO call itself counts one. */
export async function countRedisCommands<T>(
  redis: BenchRedis | undefined,
  measure: () => Promise<T>,
): Promise<{ result: T; commands?: number }> {
  if (!redis) return { result: await measure() };
  const before = await redisCommandsProcessed(redis.port);
  const result = await measure();
  return { result, commands: (await redisCommandsProcessed(redis.port)) - before - 1 };
}

/** The Redis row of bench/results.json. */
export type RedisComparison =
  | { readonly skipped: string }
  | {
      readonly keyPrefix: string;
      /** Median req/s over the rounds, authenticated GET on the role rule. */
      readonly lowdbRps: number;
      readonly redisRps: number;
      /**
       * What the target checks: the median over the rounds of Redis req/s / lowdb req/s, the two
       * run back to back. Machine drift between rounds cancels out of each round's ratio.
       */
      readonly ratio: number;
      /** Each round's ratio. */
      readonly roundRatios: readonly number[];
      /** redisRps / lowdbRps, shown for comparison: it keeps the drift between rounds. */
      readonly ratioOfMedians: number;
      readonly rounds: number;
      readonly paced?: { readonly lowdb: PacedRow; readonly redis: PacedRow };
      /** Commands redis-server ran during the whole throughput phase, warm-ups included. */
      readonly redisCommandsDuringThroughput?: number;
      /** Requests the Redis-store sidecar answered in that phase's measured rounds. */
      readonly redisSidecarRequests: number;
    };

export function compareStores(
  throughputRuns: readonly ThroughputRun[],
  pacedRows: readonly PacedRow[],
  redisCommandsDuringThroughput: number | undefined,
): RedisComparison {
  const runsOf = (server: 'sidecar' | 'sidecar-redis') =>
    throughputRuns.filter((run) => run.scenario === 'auth-get' && run.server === server);
  const lowdb = runsOf('sidecar');
  const redis = runsOf('sidecar-redis');
  const lowdbRps = median(lowdb.map((run) => run.rps));
  const redisRps = median(redis.map((run) => run.rps));
  const roundRatios = redis.flatMap((run) => {
    const partner = lowdb.find((other) => other.round === run.round);
    return partner ? [run.rps / partner.rps] : [];
  });
  const pacedLowdb = pacedRows.find((row) => row.condition === 'sidecar');
  const pacedRedis = pacedRows.find((row) => row.condition === 'sidecar-redis');
  return {
    keyPrefix: REDIS_KEY_PREFIX,
    lowdbRps: round2(lowdbRps),
    redisRps: round2(redisRps),
    ratio: round2(median(roundRatios)),
    roundRatios: roundRatios.map(round2),
    ratioOfMedians: round2(redisRps / lowdbRps),
    rounds: redis.length,
    ...(pacedLowdb && pacedRedis ? { paced: { lowdb: pacedLowdb, redis: pacedRedis } } : {}),
    ...(redisCommandsDuringThroughput === undefined ? {} : { redisCommandsDuringThroughput }),
    redisSidecarRequests: redis.reduce((sum, run) => sum + run.requests, 0),
  };
}
