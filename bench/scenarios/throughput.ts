/**
 * Scenarios 1 to 4 at full speed: 50 connections, closed loop. Every case runs once to warm up,
 * then the rounds interleave the cases, so that a slow moment of the machine hits all of them.
 * Scenario 1 runs on the lowdb sidecar twice, with the bearer token and with the session cookie of
 * a browser sign-in (`cookie-get`), the two back to back in every round.
 */
import type { LoadGenerators } from '../load/generators.js';
import { runSaturating } from '../load/generators.js';
import type { LoadRequest, LoadResult } from '../load/jobs.js';
import { withCpuUsage } from '../lib/proc.js';
import { median, round2 } from '../lib/stats.js';
import { BENCH_PATHS } from '../servers/sidecar-config.js';
import { SETTINGS } from '../settings.js';
import {
  bearer,
  cookie,
  cpuPids,
  serverOf,
  type BenchServers,
  type BenchTokens,
  type ServerKind,
} from './bench-servers.js';

export type ThroughputScenario = 'auth-get' | 'cookie-get' | 'public-get' | 'invalid-token' | 'post-1mib';

interface ThroughputCase {
  readonly scenario: ThroughputScenario;
  readonly server: ServerKind;
  readonly request: LoadRequest;
  readonly expectedStatus: number;
  /** Headers fetched anew before each run of the case, added to the request's. */
  readonly freshHeaders?: () => Promise<Readonly<Record<string, string>>>;
}

export interface ThroughputRun extends LoadResult {
  readonly scenario: ThroughputScenario;
  readonly server: ServerKind;
  readonly round: number;
  readonly expectedStatus: number;
  /** Responses with another status, plus socket errors: the figures are suspect when not 0. */
  readonly unexpected: number;
  readonly cpuPercent: Record<string, number>;
}

export interface ThroughputRow {
  readonly scenario: ThroughputScenario;
  readonly server: ServerKind;
  readonly expectedStatus: number;
  readonly rps: number;
  /** The slowest and fastest round, to show how steady the machine was. */
  readonly minRps: number;
  readonly maxRps: number;
  readonly p50: number;
  readonly p99: number;
  /** Request body megabytes (10^6 bytes) per second, for the upload scenario. */
  readonly megabytesPerS?: number;
  readonly unexpected: number;
  readonly generatorCpuPercent: number;
  readonly serverCpuPercent: number;
}

function buildCases(servers: BenchServers, tokens: BenchTokens): ThroughputCase[] {
  const auth = (token?: string) => (token === undefined ? {} : bearer(token));
  const get = (server: ServerKind, path: string, token?: string): LoadRequest => ({
    url: serverOf(servers, server).url + path,
    headers: auth(token),
  });
  const upload = (server: ServerKind, token?: string): LoadRequest => ({
    url: serverOf(servers, server).url + BENCH_PATHS.uploadRule,
    method: 'POST',
    headers: { ...auth(token), 'content-type': 'application/octet-stream' },
    bodyBytes: SETTINGS.postBodyBytes,
  });
  const ok = (scenario: ThroughputScenario, server: ServerKind, request: LoadRequest): ThroughputCase => ({
    scenario,
    server,
    request,
    expectedStatus: 200,
  });
  return [
    ok('auth-get', 'baseline', get('baseline', BENCH_PATHS.roleRule)),
    ok('auth-get', 'seed', get('seed', BENCH_PATHS.roleRule, tokens.valid)),
    // The same request with a browser's session cookie instead of the token, next to the bearer
    // case (see PAIRED). A browser takes the renewed cookie the sidecar sends once a ticket is a
    // minute old; the load generator sends one cookie throughout, so every run signs in afresh:
    // what a browser's requests cost, not a signature per request on a ticket due for renewal.
    {
      ...ok('cookie-get', 'sidecar', get('sidecar', BENCH_PATHS.roleRule)),
      freshHeaders: async () => cookie(await tokens.signIn()),
    },
    ok('auth-get', 'sidecar', get('sidecar', BENCH_PATHS.roleRule, tokens.valid)),
    // Next to the lowdb sidecar (see PAIRED), so that the two stores see the same moment of the machine.
    ...(servers['sidecar-redis'] && tokens.redis !== undefined
      ? [ok('auth-get', 'sidecar-redis', get('sidecar-redis', BENCH_PATHS.roleRule, tokens.redis))]
      : []),
    // Next to them, for the same reason.
    ...(servers['sidecar-before'] && tokens.before !== undefined
      ? [ok('auth-get', 'sidecar-before', get('sidecar-before', BENCH_PATHS.roleRule, tokens.before))]
      : []),
    ok('public-get', 'baseline', get('baseline', BENCH_PATHS.publicRule)),
    ok('public-get', 'sidecar', get('sidecar', BENCH_PATHS.publicRule)),
    ...(servers['sidecar-before']
      ? [ok('public-get', 'sidecar-before', get('sidecar-before', BENCH_PATHS.publicRule))]
      : []),
    {
      scenario: 'invalid-token',
      server: 'sidecar',
      request: get('sidecar', BENCH_PATHS.roleRule, tokens.forged),
      expectedStatus: 401,
    },
    ok('post-1mib', 'baseline', upload('baseline')),
    ok('post-1mib', 'sidecar', upload('sidecar', tokens.valid)),
  ];
}

export async function runThroughput(
  servers: BenchServers,
  tokens: BenchTokens,
  generators: LoadGenerators,
  progress: (line: string) => void,
): Promise<{ runs: ThroughputRun[]; rows: ThroughputRow[] }> {
  const { rounds, durationS, warmupS } = SETTINGS.throughput;
  const cases = buildCases(servers, tokens);
  // The Redis-store sidecar and the earlier build serve only scenarios 1 (and 2), so they warm up
  // as long as the lowdb sidecar does over all its cases: a fresh process is still sizing its
  // heap, and all should go into the rounds equally warm.
  const casesOf = (server: ServerKind) => cases.filter((testCase) => testCase.server === server).length;
  const lowdbCases = casesOf('sidecar');
  for (const testCase of cases) {
    const seconds =
      testCase.server === 'sidecar-redis' || testCase.server === 'sidecar-before'
        ? (warmupS * lowdbCases) / casesOf(testCase.server)
        : warmupS;
    await runCase(testCase, servers, generators, seconds, 0);
  }
  const runs: ThroughputRun[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const testCase of orderForRound(cases, round)) {
      const run = await runCase(testCase, servers, generators, durationS, round);
      progress(
        `round ${round}/${rounds} ${run.scenario} ${run.server}: ${Math.round(run.rps)} req/s, ` +
          `p50 ${run.latency.p50} ms, p99 ${run.latency.p99} ms`,
      );
      runs.push(run);
    }
  }
  return { runs, rows: cases.map((testCase) => summarizeCase(testCase, runs)) };
}

type CaseKey = readonly [ThroughputScenario, ServerKind];

/**
 * Cases compared round by round, each group listed next to each other in buildCases(): scenario 1
 * with the cookie, the bearer token, the Redis store and the earlier build; scenario 2 on the
 * current and the earlier build.
 */
const PAIRED: readonly (readonly CaseKey[])[] = [
  [
    ['cookie-get', 'sidecar'],
    ['auth-get', 'sidecar'],
    ['auth-get', 'sidecar-redis'],
    ['auth-get', 'sidecar-before'],
  ],
  [
    ['public-get', 'sidecar'],
    ['public-get', 'sidecar-before'],
  ],
];

/**
 * The cases in their order, except that every other round runs each group of paired cases in
 * reverse: a pair always run in the same order could favour whichever goes first or second.
 */
function orderForRound(cases: readonly ThroughputCase[], round: number): ThroughputCase[] {
  const ordered = [...cases];
  if (round % 2 === 1) return ordered;
  for (const group of PAIRED) {
    const members = ordered.filter((c) =>
      group.some(([scenario, server]) => c.scenario === scenario && c.server === server),
    );
    const [first] = members;
    if (first === undefined) continue;
    ordered.splice(ordered.indexOf(first), members.length, ...members.reverse());
  }
  return ordered;
}

async function runCase(
  testCase: ThroughputCase,
  servers: BenchServers,
  generators: LoadGenerators,
  durationS: number,
  round: number,
): Promise<ThroughputRun> {
  const fresh = testCase.freshHeaders ? await testCase.freshHeaders() : {};
  const request = { ...testCase.request, headers: { ...testCase.request.headers, ...fresh } };
  const { result, cpuPercent } = await withCpuUsage(cpuPids(servers, testCase.server), () =>
    runSaturating(generators, { ...request, connections: SETTINGS.connections, durationS }),
  );
  const expected = result.statusCounts[String(testCase.expectedStatus)] ?? 0;
  return {
    ...result,
    scenario: testCase.scenario,
    server: testCase.server,
    round,
    expectedStatus: testCase.expectedStatus,
    unexpected: result.requests - expected + result.errors,
    cpuPercent,
  };
}

function summarizeCase(testCase: ThroughputCase, runs: readonly ThroughputRun[]): ThroughputRow {
  const mine = runs.filter((run) => run.scenario === testCase.scenario && run.server === testCase.server);
  const rps = median(mine.map((run) => run.rps));
  const bodyBytes = testCase.request.bodyBytes;
  return {
    scenario: testCase.scenario,
    server: testCase.server,
    expectedStatus: testCase.expectedStatus,
    rps: round2(rps),
    minRps: round2(Math.min(...mine.map((run) => run.rps))),
    maxRps: round2(Math.max(...mine.map((run) => run.rps))),
    p50: round2(median(mine.map((run) => run.latency.p50))),
    p99: round2(median(mine.map((run) => run.latency.p99))),
    ...(bodyBytes === undefined ? {} : { megabytesPerS: round2((rps * bodyBytes) / 1e6) }),
    unexpected: mine.reduce((sum, run) => sum + run.unexpected, 0),
    generatorCpuPercent: Math.round(median(mine.map((run) => run.generatorCpuPercent))),
    serverCpuPercent: Math.round(median(mine.map((run) => run.cpuPercent.server ?? 0))),
  };
}
