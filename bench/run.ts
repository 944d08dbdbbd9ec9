/**
 * `npm run bench`: auth-sidecar measured on this machine, in one run, against two baselines in
 * front of the same upstream: a bare reverse proxy that checks nothing (the floor any proxy
 * pays) and a seed-style express + passport-jwt + http-proxy-middleware stack.
 *
 *   1  authenticated GET on a role rule near the end of 20 rules: throughput at 50 connections,
 *      and latency at a steady 1,000 req/s; throughput also with a browser's session cookie
 *      instead of the bearer token
 *   2  public GET without a token          3  forged token, refused with 401
 *   4  1 MiB upload streamed through       5  latency at 1,000 req/s during a login storm
 *   6  memory growth over 200,000 requests
 *   7  the store with 10,000 users: start-up, sequential and concurrent token refreshes
 *   8  sessions: 1,000 of one user rotated 100,000 times, then logouts and a password change
 *      timed, on lowdb and Redis (through the store's interface)
 *
 * Scenario 1's cookie case sends the session cookie a browser gets from the sign-in form (POST
 * /auth/sign-in with the sidecar's own Origin, read from the 303's Set-Cookie), a fresh sign-in
 * before each run, to the same sidecar, rule and path; its rounds run back to back with the
 * bearer case, and it is held to at least 0.9x its req/s.
 *
 * Scenario 1 also runs against a second sidecar with the Redis store (a private redis-server),
 * its rounds interleaved with the lowdb sidecar's; skipped when redis-server is not installed.
 *
 * Every server and load generator is a process of its own. Prints a table with ratios and
 * targets, and writes bench/results.json with every round's figures.
 *
 * BENCH_SKIP=memory,store,sessions leaves those phases out, for a quicker run while developing; such a
 * partial run prints its table but does not write bench/results.json.
 *
 * BENCH_BEFORE=<git ref> also builds that earlier commit and runs scenarios 1 and 2 on it, its
 * rounds interleaved with the current build's, and holds the current build to at least 0.95x of
 * it: a change is measured against the code it replaces in the same run.
 *
 * On a shared machine that throughput ratio moves by tens of per cent from run to run, so with
 * BENCH_BEFORE the two builds are also measured in instructions, which do not: each runs under
 * valgrind's callgrind with a fresh store, is warmed up, then serves a fixed number of requests of
 * scenarios 1 and 2 with instrumentation switched on (callgrind_control); the instructions the
 * process ran, over the requests, are the figure, and the current build is held to at most 1.05x
 * the earlier one's. Both builds run at once (a count does not depend on sharing the CPU); the
 * phase takes several minutes, and is skipped with a note when valgrind or callgrind_control is
 * not on PATH, or left out with BENCH_SKIP=instructions.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoadGenerators } from './load/generators.js';
import { stopAllChildren, stopChild } from './lib/children.js';
import type { LoadGenerators } from './load/generators.js';
import type { BeforeBuild } from './servers/before-build.js';
import { describeMachine } from './lib/machine.js';
import { RESULTS_FILE, SCRIPTS } from './paths.js';
import { writeResults, type BenchResults } from './report/results.js';
import { formatSummaryTable } from './report/summary-table.js';
import { evaluateTargets } from './report/targets.js';
import type { BenchServers } from './scenarios/bench-servers.js';
import { forgeToken } from './scenarios/forged-token.js';
import { runMemory } from './scenarios/memory.js';
import { runPacedLatency } from './scenarios/paced.js';
import { compareWithBefore, startBeforeSidecar } from './scenarios/before.js';
import { compareCookieWithBearer, cookieNameOf } from './scenarios/cookie-vs-bearer.js';
import { runInstructions, type InstructionsComparison } from './scenarios/instructions.js';
import { compareStores, countRedisCommands, startRedisSidecar } from './scenarios/redis-store.js';
import { describeSessions, runSessions } from './scenarios/sessions.js';
import { runStore } from './scenarios/store.js';
import { runThroughput } from './scenarios/throughput.js';
import { BENCH_USER, writeSidecarConfig } from './servers/sidecar-config.js';
import { addUser, browserSignIn, generateSecret, login, startSidecar } from './servers/sidecar.js';
import { startChildServer } from './servers/start-child-server.js';
import { SETTINGS } from './settings.js';

const NOTES = [
  `sidecar log level ${SETTINGS.sidecarLogLevel} (the default: one line per request), stdout to /dev/null`,
  'latency: ms from issuing a request to the end of its response, sub-millisecond resolution',
  'throughput rows: medians over rounds of closed-loop autocannon runs; latency from its per-response timer',
  'paced rows: an open-loop generator of our own (autocannon percentiles are whole milliseconds)',
  'servers, upstream and load generators share the same cores',
  'Redis row: a second sidecar with the Redis store on a private redis-server, same rules and token kind; ' +
    'its rounds run back to back with the lowdb sidecar, which goes first in odd rounds',
  'cookie row: scenario 1 on the lowdb sidecar with the session cookie of a sign-in through the form instead ' +
    'of the bearer token, signed in afresh before each run (a browser takes the renewed cookie a ticket gets ' +
    'after a minute; the load generator keeps one); its rounds run back to back with the bearer case',
  'instructions rows (BENCH_BEFORE, valgrind installed): instructions the sidecar process ran, all threads, ' +
    'counted by callgrind over a fixed number of requests after a warm-up, divided by the requests; ' +
    'the current and the earlier build run at the same time, each with a fresh store',
];

const SKIPPABLE = ['instructions', 'memory', 'store', 'sessions'] as const;
const skipped = new Set((process.env.BENCH_SKIP ?? '').split(',').filter((name) => name.trim() !== ''));
for (const name of skipped) {
  if (!(SKIPPABLE as readonly string[]).includes(name)) {
    console.error(`bench: BENCH_SKIP takes ${SKIPPABLE.join(', ')}, not ${name}`);
    process.exit(2);
  }
}

const beforeRef = process.env.BENCH_BEFORE?.trim() || undefined;

const startedAt = performance.now();
const phaseSeconds: Record<string, number> = {};
const workDir = await mkdtemp(join(tmpdir(), 'auth-sidecar-bench-'));
const progress = (line: string): void => console.log(`  ${line}`);
let interrupted = false;

async function cleanUp(): Promise<void> {
  await stopAllChildren();
  await rm(workDir, { recursive: true, force: true });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping every process it started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  const machine = describeMachine();
  console.log(
    `auth-sidecar bench on ${machine.cpuModel}, ${machine.cores} cores, ${machine.totalMemoryGib} GiB, ` +
      `Node ${machine.node}, ${machine.os}\n`,
  );
  const results = await runBench(machine);
  console.log(`\n${formatSummaryTable(results)}\n`);
  const missed = results.targets.filter((target) => !target.met);
  console.log(
    missed.length === 0
      ? 'every target met'
      : `${missed.length} of ${results.targets.length} targets missed: ${missed.map((t) => t.id).join(', ')}`,
  );
  if ('skipped' in results.redis) console.log(`Redis row skipped: ${results.redis.skipped}`);
  if (results.instructions && 'skipped' in results.instructions) {
    console.log(`instructions rows skipped: ${results.instructions.skipped}`);
  }
  const phases = Object.entries(results.phaseSeconds).map(
    ([name, seconds]) => `${name} ${seconds.toFixed(0)} s`,
  );
  console.log(`took ${results.totalSeconds.toFixed(0)} s (${phases.join(', ')})`);
  if (skipped.size === 0) {
    await writeResults(RESULTS_FILE, results);
    console.log(`wrote ${RESULTS_FILE}`);
  } else {
    console.log(`BENCH_SKIP=${[...skipped].join(',')}: a partial run, ${RESULTS_FILE} left as it was`);
  }
} catch (err) {
  // An interrupted run fails as its processes go away; that is no news.
  if (!interrupted)
    console.error(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}

/** Runs one part of the bench under a heading, and keeps how long it took. */
async function phase<T>(name: string, heading: string, run: () => Promise<T>): Promise<T> {
  console.log(heading);
  const phaseStartedAt = performance.now();
  try {
    return await run();
  } finally {
    phaseSeconds[name] = Math.round((performance.now() - phaseStartedAt) / 100) / 10;
  }
}

async function runBench(machine: BenchResults['machine']): Promise<BenchResults> {
  const secret = generateSecret();
  const upstream = await startChildServer('upstream', SCRIPTS.upstream);
  const configPath = join(workDir, 'bench.yaml');
  const storePath = join(workDir, 'store.json');
  await writeSidecarConfig(configPath, {
    upstreamUrl: upstream.url,
    storePath,
    logLevel: SETTINGS.sidecarLogLevel,
  });
  await addUser(configPath, secret, BENCH_USER);
  const redisSidecar = await startRedisSidecar(workDir, upstream.url, secret);
  if ('skipped' in redisSidecar) progress(`Redis store skipped: ${redisSidecar.skipped}`);
  const withRedis = 'skipped' in redisSidecar ? undefined : redisSidecar;
  if (beforeRef !== undefined) progress(`building ${beforeRef} for the earlier-build rows`);
  const before =
    beforeRef === undefined ? undefined : await startBeforeSidecar(beforeRef, workDir, upstream.url, secret);
  const servers: BenchServers = {
    upstream,
    baseline: await startChildServer('baseline proxy', SCRIPTS.baselineProxy, [upstream.url]),
    seed: await startChildServer('seed-style stack', SCRIPTS.seedStack, [upstream.url], {
      ...process.env,
      JWT_SECRET: secret,
    }),
    sidecar: await startSidecar('auth-sidecar', configPath, secret),
    ...(withRedis ? { 'sidecar-redis': withRedis.sidecar } : {}),
    ...(before ? { 'sidecar-before': before.sidecar } : {}),
  };
  const session = await login(servers.sidecar.url, BENCH_USER);
  const signIn = () => browserSignIn(servers.sidecar.url, BENCH_USER);
  // Once now, so that a sign-in that fails stops the bench before the long phases.
  const cookieName = cookieNameOf(await signIn());
  const tokens = {
    valid: session.accessToken,
    forged: forgeToken(session.accessToken),
    ...(withRedis ? { redis: withRedis.token } : {}),
    ...(before ? { before: before.token } : {}),
    signIn,
  };
  const generators = startLoadGenerators();

  phaseSeconds.setup = Math.round((performance.now() - startedAt) / 100) / 10;
  const throughput = await phase(
    'throughput',
    `throughput, ${SETTINGS.connections} connections (scenarios 1-4, 1 also with the session cookie and the Redis store)`,
    () => countRedisCommands(withRedis?.redis, () => runThroughput(servers, tokens, generators, progress)),
  );
  const paced = await phase(
    'paced',
    `paced ${SETTINGS.paced.ratePerS} req/s, then under a login storm (scenarios 1, 5)`,
    () => runPacedLatency(servers, tokens, generators, progress),
  );
  const finished = [
    servers.baseline,
    servers.seed,
    servers.sidecar,
    servers['sidecar-redis'],
    servers['sidecar-before'],
  ];
  await Promise.all(finished.flatMap((server) => (server ? [stopChild(server.child)] : [])));
  await withRedis?.redis.stop();
  const redis =
    'skipped' in redisSidecar
      ? { skipped: redisSidecar.skipped }
      : compareStores(throughput.result.runs, paced.rows, throughput.commands);
  const cookie = compareCookieWithBearer(cookieName, throughput.result.runs);
  const vsBefore = before ? compareWithBefore(before.build, throughput.result.runs) : undefined;
  // After the servers above have stopped, so that two sidecars under valgrind disturb no timing.
  const instructions = await instructionsPhase(before?.build, upstream.url, secret, generators);

  const memory = skipped.has('memory')
    ? undefined
    : await phase(
        'memory',
        `memory over ${SETTINGS.memory.requests.toLocaleString('en-US')} requests (scenario 6)`,
        async () => {
          const memoryStore = join(workDir, 'memory-store.json');
          const memoryConfig = join(workDir, 'memory.yaml');
          // The same users as the first sidecar, so that its token is valid here too.
          await copyFile(storePath, memoryStore);
          await writeSidecarConfig(memoryConfig, {
            upstreamUrl: upstream.url,
            storePath: memoryStore,
            logLevel: SETTINGS.sidecarLogLevel,
          });
          return runMemory(memoryConfig, secret, tokens.valid, generators);
        },
      );
  const store = skipped.has('store')
    ? undefined
    : await phase(
        'store',
        `store with ${SETTINGS.store.users.toLocaleString('en-US')} users (scenario 7)`,
        () => runStore(workDir, upstream.url, secret),
      );
  const sessions = skipped.has('sessions')
    ? undefined
    : await phase(
        'sessions',
        'sessions: 100,000 rotations, then logouts and a password change (scenario 8)',
        async () => {
          const result = await runSessions(workDir);
          for (const line of describeSessions(result)) progress(line);
          return result;
        },
      );

  const targets = evaluateTargets({
    throughput: throughput.result.rows,
    paced: paced.rows,
    redis,
    cookie,
    ...(vsBefore ? { before: vsBefore } : {}),
    ...(instructions ? { instructions } : {}),
    ...(memory ? { memory } : {}),
    ...(store ? { store } : {}),
  });
  return {
    date: new Date().toISOString(),
    machine,
    settings: { ...SETTINGS, notes: NOTES },
    throughput: { medians: throughput.result.rows, runs: throughput.result.runs },
    paced: { medians: paced.rows, loginStorm: paced.storm, runs: paced.runs },
    redis,
    cookie,
    ...(vsBefore ? { before: vsBefore } : {}),
    ...(instructions ? { instructions } : {}),
    ...(memory ? { memory } : {}),
    ...(store ? { store } : {}),
    ...(sessions ? { sessions } : {}),
    targets,
    phaseSeconds,
    totalSeconds: Math.round((performance.now() - startedAt) / 100) / 10,
  };
}

/**
 * Scenarios 1 and 2 in instructions per request against the earlier build; undefined when
 * BENCH_BEFORE names none or BENCH_SKIP leaves the phase out.
 */
async function instructionsPhase(
  before: BeforeBuild | undefined,
  upstreamUrl: string,
  secret: string,
  generators: LoadGenerators,
): Promise<InstructionsComparison | undefined> {
  if (skipped.has('instructions')) return undefined;
  if (before === undefined) {
    console.log('instructions per request (callgrind) skipped: it compares with BENCH_BEFORE=<git ref>');
    return undefined;
  }
  const { warmupRequests, requests } = SETTINGS.instructions;
  return phase(
    'instructions',
    `instructions per request under callgrind, ${requests.toLocaleString('en-US')} requests after ` +
      `${warmupRequests.toLocaleString('en-US')} (scenarios 1, 2; current and ${before.ref} at once)`,
    async () => {
      const result = await runInstructions(workDir, upstreamUrl, secret, before, generators, progress);
      if ('skipped' in result) progress(`skipped: ${result.skipped}`);
      return result;
    },
  );
}
