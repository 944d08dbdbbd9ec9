/**
 * Scenarios 1 and 2 counted in instructions (BENCH_BEFORE=<git ref>, valgrind installed). On a
 * shared 2-core machine the same build's throughput varies by ±30 % between rounds, too much to
 * see a change of a few per cent; the instructions a request costs do not vary so. The current
 * and the earlier build each run under callgrind with a store of their own, are warmed up, then
 * serve a fixed number of requests with instrumentation on; the count over the requests is the
 * figure. The two builds run at the same time: a count does not depend on sharing the CPU.
 */
import { join } from 'node:path';
import { runSaturating, type LoadGenerators } from '../load/generators.js';
import type { SaturatingJob } from '../load/jobs.js';
import { callgrindLauncher, callgrindSkipReason, countInstructions } from '../lib/callgrind.js';
import { stopChild } from '../lib/children.js';
import type { BeforeBuild } from '../servers/before-build.js';
import { BENCH_PATHS, BENCH_USER, writeSidecarConfig } from '../servers/sidecar-config.js';
import { addUser, login, startSidecar } from '../servers/sidecar.js';
import { SCRIPTS } from '../paths.js';
import { SETTINGS } from '../settings.js';
import { bearer } from './bench-servers.js';
import type { ThroughputScenario } from './throughput.js';

export type InstructionsScenario = Extract<ThroughputScenario, 'auth-get' | 'public-get'>;

const SCENARIOS: readonly InstructionsScenario[] = ['auth-get', 'public-get'];

/** Slow as a process under valgrind is to exit, it should write its last dump and remove its vgdb pipes. */
const STOP_GRACE_MS = 30_000;

export type BuildKind = 'current' | 'before';

/** One build's counted requests of one scenario. */
export interface InstructionsRun {
  readonly scenario: InstructionsScenario;
  readonly build: BuildKind;
  /** Instructions the sidecar process ran (all its threads) while it served the requests. */
  readonly instructions: number;
  /** Responses received. */
  readonly requests: number;
  readonly perRequest: number;
  /** Wall-clock seconds of the counted requests, under valgrind. */
  readonly seconds: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  /** Requests asked for and not answered 200 (other answers, errors, timeouts): the figure is suspect when not 0. */
  readonly unexpected: number;
}

export interface ScenarioInstructions {
  readonly scenario: InstructionsScenario;
  readonly currentPerRequest: number;
  readonly beforePerRequest: number;
  /** current / before: above 1 means the current build runs more instructions per request. */
  readonly ratio: number;
  /** Both builds' unexpected answers. */
  readonly unexpected: number;
}

/** The `instructions` part of bench/results.json, or why the phase did not run. */
export type InstructionsComparison =
  | { readonly skipped: string }
  | {
      readonly ref: string;
      readonly commit: string;
      readonly warmupRequests: number;
      readonly requests: number;
      readonly connections: number;
      readonly scenarios: readonly ScenarioInstructions[];
      readonly runs: readonly InstructionsRun[];
    };

export async function runInstructions(
  workDir: string,
  upstreamUrl: string,
  secret: string,
  before: BeforeBuild,
  generators: LoadGenerators,
  progress: (line: string) => void,
): Promise<InstructionsComparison> {
  const skipReason = callgrindSkipReason();
  if (skipReason !== undefined) return { skipped: skipReason };
  const counted = await Promise.allSettled([
    countBuild('current', SCRIPTS.sidecar, { workDir, upstreamUrl, secret, generators, progress }),
    countBuild('before', before.mainScript, { workDir, upstreamUrl, secret, generators, progress }),
  ]);
  // Both are waited for, so that neither sidecar is left running when the other one fails.
  const [current, earlier] = counted.map((outcome) => {
    if (outcome.status === 'rejected') throw outcome.reason;
    return outcome.value;
  });
  const runs = [...(current ?? []), ...(earlier ?? [])];
  const { warmupRequests, requests, connections } = SETTINGS.instructions;
  return {
    ref: before.ref,
    commit: before.commit,
    warmupRequests,
    requests,
    connections,
    scenarios: SCENARIOS.map((scenario) => compare(scenario, runs)),
    runs,
  };
}

interface CountContext {
  readonly workDir: string;
  readonly upstreamUrl: string;
  readonly secret: string;
  readonly generators: LoadGenerators;
  readonly progress: (line: string) => void;
}

/** Starts one build under callgrind with the bench's rules, and counts both scenarios on it. */
async function countBuild(
  build: BuildKind,
  script: string,
  context: CountContext,
): Promise<InstructionsRun[]> {
  const { workDir, upstreamUrl, secret, generators, progress } = context;
  const { warmupRequests, requests, connections, readyTimeoutMs, requestTimeoutS } = SETTINGS.instructions;
  const configPath = join(workDir, `instructions-${build}.yaml`);
  const outFile = join(workDir, `callgrind-${build}.out`);
  await writeSidecarConfig(configPath, {
    upstreamUrl,
    storePath: join(workDir, `instructions-${build}-store.json`),
    logLevel: SETTINGS.sidecarLogLevel,
    earlierBuild: build === 'before',
  });
  await addUser(configPath, secret, BENCH_USER, script);
  const sidecar = await startSidecar(`auth-sidecar ${build} under callgrind`, configPath, secret, script, {
    launcher: callgrindLauncher(outFile),
    readyTimeoutMs,
    // Every poll is a request the slowed-down sidecar has to serve.
    pollIntervalMs: 500,
    stopGraceMs: STOP_GRACE_MS,
  });
  try {
    progress(`${build} build ready under callgrind after ${secondsSince(sidecar.spawnedAt)} s`);
    const { accessToken } = await login(sidecar.url, BENCH_USER);
    const runs: InstructionsRun[] = [];
    for (const scenario of SCENARIOS) {
      const job: SaturatingJob = {
        url: sidecar.url + (scenario === 'auth-get' ? BENCH_PATHS.roleRule : BENCH_PATHS.publicRule),
        headers: scenario === 'auth-get' ? bearer(accessToken) : {},
        connections,
        timeoutS: requestTimeoutS,
      };
      await runSaturating(generators, { ...job, amount: warmupRequests });
      const { result, instructions } = await countInstructions(sidecar.child.pid, outFile, () =>
        runSaturating(generators, { ...job, amount: requests }),
      );
      const run: InstructionsRun = {
        scenario,
        build,
        instructions,
        requests: result.requests,
        perRequest: Math.round(instructions / result.requests),
        seconds: Math.round(result.seconds * 10) / 10,
        statusCounts: result.statusCounts,
        unexpected: Math.max(0, requests - (result.statusCounts['200'] ?? 0)) + result.errors,
      };
      progress(
        `${scenario} ${build}: ${run.perRequest.toLocaleString('en-US')} instructions/request ` +
          `over ${run.requests} requests in ${run.seconds} s` +
          (run.unexpected > 0 ? `, ! ${run.unexpected} not answered 200` : ''),
      );
      runs.push(run);
    }
    return runs;
  } finally {
    await stopChild(sidecar.child);
  }
}

function compare(scenario: InstructionsScenario, runs: readonly InstructionsRun[]): ScenarioInstructions {
  const of = (build: BuildKind): InstructionsRun => {
    const found = runs.find((run) => run.scenario === scenario && run.build === build);
    if (!found) throw new Error(`no ${scenario} count for the ${build} build`);
    return found;
  };
  const current = of('current');
  const earlier = of('before');
  return {
    scenario,
    currentPerRequest: current.perRequest,
    beforePerRequest: earlier.perRequest,
    ratio: Math.round((current.perRequest / earlier.perRequest) * 1000) / 1000,
    unexpected: current.unexpected + earlier.unexpected,
  };
}

function secondsSince(hrtime: bigint): number {
  return Math.round(Number(process.hrtime.bigint() - hrtime) / 1e9);
}
