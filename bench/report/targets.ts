/** The figures the sidecar is held to, each checked against this run's measurements. */
import type { MemoryResult } from '../scenarios/memory.js';
import type { PacedCondition, PacedRow } from '../scenarios/paced.js';
import type { BeforeComparison } from '../scenarios/before.js';
import type { CookieComparison } from '../scenarios/cookie-vs-bearer.js';
import type { InstructionsComparison, ScenarioInstructions } from '../scenarios/instructions.js';
import type { RedisComparison } from '../scenarios/redis-store.js';
import type { StoreResult } from '../scenarios/store.js';
import type { ThroughputRow, ThroughputScenario } from '../scenarios/throughput.js';
import type { ServerKind } from '../scenarios/bench-servers.js';
import { round2 } from '../lib/stats.js';

export type TargetId =
  | 'auth-get.sidecar-vs-baseline'
  | 'auth-get.sidecar-vs-seed'
  | 'auth-get.redis-vs-lowdb'
  | 'auth-get.vs-before'
  | 'auth-get.instructions-vs-before'
  | 'cookie-get.vs-auth-get'
  | 'public-get.instructions-vs-before'
  | 'paced.p50-over-baseline'
  | 'paced.p99-over-baseline'
  | 'invalid-token.vs-baseline-auth-get'
  | 'login-storm.p99-ratio'
  | 'memory.growth'
  | 'store.startup'
  | 'store.refresh-p99';

/** The Redis row: req/s with the Redis store at least this share of req/s with lowdb. */
export const REDIS_VS_LOWDB_BOUND = 0.9;

/** Scenario 1 with the session cookie: req/s at least this share of req/s with the bearer token. */
export const COOKIE_VS_BEARER_BOUND = 0.9;

/** With BENCH_BEFORE: the current build's req/s at least this share of the earlier build's. */
export const VS_BEFORE_BOUND = 0.95;

/** With BENCH_BEFORE and valgrind: at most this many times the earlier build's instructions per request. */
export const INSTRUCTIONS_VS_BEFORE_BOUND = 1.05;

export interface TargetResult {
  readonly id: TargetId;
  readonly description: string;
  readonly measured: number;
  readonly unit: string;
  /** As printed, e.g. `>= 0.65`. */
  readonly target: string;
  readonly met: boolean;
  /** False when a run behind the figure got unexpected answers, which makes the figure suspect. */
  readonly clean: boolean;
}

export interface MeasuredFigures {
  readonly throughput: readonly ThroughputRow[];
  readonly paced: readonly PacedRow[];
  /** Scenario 1 with the Redis store against lowdb, or why it was skipped. */
  readonly redis: RedisComparison;
  /** Scenario 1 with the session cookie against the bearer token. */
  readonly cookie: CookieComparison;
  /** Scenarios 1 and 2 against an earlier build; absent unless BENCH_BEFORE asked for it. */
  readonly before?: BeforeComparison;
  /** The same in instructions per request; skipped, not missed, without valgrind. */
  readonly instructions?: InstructionsComparison;
  /** Absent when BENCH_SKIP left the phase out. */
  readonly memory?: MemoryResult;
  readonly store?: StoreResult;
}

export function evaluateTargets(figures: MeasuredFigures): TargetResult[] {
  const row = (scenario: ThroughputScenario, server: ServerKind): ThroughputRow => {
    const found = figures.throughput.find((r) => r.scenario === scenario && r.server === server);
    if (!found) throw new Error(`no ${scenario} row for ${server}`);
    return found;
  };
  const paced = (condition: PacedCondition): PacedRow => {
    const found = figures.paced.find((r) => r.condition === condition);
    if (!found) throw new Error(`no paced row for ${condition}`);
    return found;
  };
  const baseline = row('auth-get', 'baseline');
  const seed = row('auth-get', 'seed');
  const sidecar = row('auth-get', 'sidecar');
  const withCookie = row('cookie-get', 'sidecar');
  // Absent when redis-server is not installed: the Redis row is then skipped, not missed.
  const redis = figures.throughput.find((r) => r.scenario === 'auth-get' && r.server === 'sidecar-redis');
  const stores = 'skipped' in figures.redis ? undefined : figures.redis;
  // Absent without valgrind: then skipped, not missed, as the Redis row is.
  const counted =
    figures.instructions && !('skipped' in figures.instructions) ? figures.instructions : undefined;
  const forged = row('invalid-token', 'sidecar');
  const pacedBaseline = paced('baseline');
  const pacedSidecar = paced('sidecar');
  const stormed = paced('sidecar-under-login-storm');
  const clean = (...rows: readonly { unexpected: number }[]) => rows.every((r) => r.unexpected === 0);

  return [
    check({
      id: 'auth-get.sidecar-vs-baseline',
      description: 'authenticated GET: sidecar req/s / baseline req/s',
      measured: sidecar.rps / baseline.rps,
      unit: 'x',
      compare: '>=',
      bound: 0.65,
      clean: clean(sidecar, baseline),
    }),
    check({
      id: 'auth-get.sidecar-vs-seed',
      description: 'authenticated GET: sidecar req/s / seed-style req/s',
      measured: sidecar.rps / seed.rps,
      unit: 'x',
      compare: '>=',
      bound: 4,
      clean: clean(sidecar, seed),
    }),
    check({
      id: 'cookie-get.vs-auth-get',
      description:
        'authenticated GET: sidecar req/s with the session cookie / with the bearer token, median of the rounds',
      measured: figures.cookie.ratio,
      unit: 'x',
      compare: '>=',
      bound: COOKIE_VS_BEARER_BOUND,
      clean: clean(withCookie, sidecar),
    }),
    ...(redis && stores
      ? [
          check({
            id: 'auth-get.redis-vs-lowdb',
            description:
              'authenticated GET: sidecar req/s with the Redis store / with the lowdb store, median of the rounds',
            measured: stores.ratio,
            unit: 'x',
            compare: '>=',
            bound: REDIS_VS_LOWDB_BOUND,
            clean: clean(redis, sidecar),
          }),
        ]
      : []),
    ...(figures.before ? [beforeCheck(figures.before, sidecar, figures.throughput)] : []),
    ...(counted ? counted.scenarios.map((scenario) => instructionsCheck(scenario, counted.ref)) : []),
    check({
      id: 'paced.p50-over-baseline',
      description: '1,000 req/s: sidecar p50 - baseline p50',
      measured: pacedSidecar.p50 - pacedBaseline.p50,
      unit: 'ms',
      compare: '<=',
      bound: 0.5,
      clean: clean(pacedSidecar, pacedBaseline),
    }),
    check({
      id: 'paced.p99-over-baseline',
      description: '1,000 req/s: sidecar p99 - baseline p99',
      measured: pacedSidecar.p99 - pacedBaseline.p99,
      unit: 'ms',
      compare: '<=',
      bound: 2,
      clean: clean(pacedSidecar, pacedBaseline),
    }),
    check({
      id: 'invalid-token.vs-baseline-auth-get',
      description: 'invalid token: sidecar 401/s / baseline authenticated-GET req/s',
      measured: forged.rps / baseline.rps,
      unit: 'x',
      compare: '>=',
      bound: 1.5,
      clean: clean(forged, baseline),
    }),
    check({
      id: 'login-storm.p99-ratio',
      description: '1,000 req/s: sidecar p99 under a login storm / without',
      measured: stormed.p99 / pacedSidecar.p99,
      unit: 'x',
      compare: '<=',
      bound: 1.5,
      clean: clean(stormed, pacedSidecar),
    }),
    ...(figures.memory ? [memoryCheck(figures.memory)] : []),
    ...(figures.store ? storeChecks(figures.store) : []),
  ];
}

function beforeCheck(
  before: BeforeComparison,
  sidecar: ThroughputRow,
  throughput: readonly ThroughputRow[],
): TargetResult {
  const earlier = throughput.find((r) => r.scenario === 'auth-get' && r.server === 'sidecar-before');
  const authGet = before.scenarios.find((s) => s.scenario === 'auth-get');
  return check({
    id: 'auth-get.vs-before',
    description: `authenticated GET: sidecar req/s / the same at ${before.ref}, median of the rounds`,
    measured: authGet?.ratio ?? 0,
    unit: 'x',
    compare: '>=',
    bound: VS_BEFORE_BOUND,
    clean: earlier !== undefined && sidecar.unexpected === 0 && earlier.unexpected === 0,
  });
}

function instructionsCheck(figures: ScenarioInstructions, ref: string): TargetResult {
  const what = figures.scenario === 'auth-get' ? 'authenticated GET' : 'public GET';
  return check({
    id: `${figures.scenario}.instructions-vs-before`,
    description: `${what}: sidecar instructions per request / the same at ${ref}, under callgrind`,
    measured: figures.currentPerRequest / figures.beforePerRequest,
    unit: 'x',
    compare: '<=',
    bound: INSTRUCTIONS_VS_BEFORE_BOUND,
    clean: figures.unexpected === 0,
  });
}

function memoryCheck(memory: MemoryResult): TargetResult {
  return check({
    id: 'memory.growth',
    description: 'RSS growth over 200,000 authenticated requests after a 100,000-request warm-up',
    measured: memory.growthMb,
    unit: 'MB',
    compare: '<',
    bound: 20,
    clean: memory.unexpected === 0,
  });
}

function storeChecks(store: StoreResult): TargetResult[] {
  return [
    check({
      id: 'store.startup',
      description: 'start-up to ready with 10,000 users (median of 3)',
      measured: store.startupMedianMs,
      unit: 'ms',
      compare: '<',
      bound: 500,
      clean: true,
    }),
    check({
      id: 'store.refresh-p99',
      description: 'sequential refresh p99 with 10,000 users',
      measured: store.sequentialRefresh.latency.p99,
      unit: 'ms',
      compare: '<',
      bound: 20,
      clean: true,
    }),
  ];
}

interface Check {
  readonly id: TargetId;
  readonly description: string;
  readonly measured: number;
  readonly unit: string;
  readonly compare: '>=' | '<=' | '<';
  readonly bound: number;
  readonly clean: boolean;
}

function check({ id, description, measured, unit, compare, bound, clean }: Check): TargetResult {
  const holds =
    compare === '>=' ? measured >= bound : compare === '<=' ? measured <= bound : measured < bound;
  return {
    id,
    description,
    measured: round2(measured),
    unit,
    target: `${compare} ${bound}`,
    met: clean && holds,
    clean,
  };
}
