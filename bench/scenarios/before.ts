/**
 * Scenarios 1 and 2 on an earlier build (BENCH_BEFORE=<git ref>): its rounds run back to back with
 * the current build's, so each round's ratio compares the two at the same moment of the machine.
 */
import { join } from 'node:path';
import { median, round2 } from '../lib/stats.js';
import { buildBefore, type BeforeBuild } from '../servers/before-build.js';
import { BENCH_USER, writeSidecarConfig } from '../servers/sidecar-config.js';
import { addUser, login, startSidecar, type RunningSidecar } from '../servers/sidecar.js';
import { SETTINGS } from '../settings.js';
import type { ThroughputRun, ThroughputScenario } from './throughput.js';

export interface BeforeSidecar {
  readonly build: BeforeBuild;
  readonly sidecar: RunningSidecar;
  /** An access token the earlier build issued to its bench user. */
  readonly token: string;
}

/** Builds `ref` and starts it with the bench's rules on a store of its own. */
export async function startBeforeSidecar(
  ref: string,
  workDir: string,
  upstreamUrl: string,
  secret: string,
): Promise<BeforeSidecar> {
  const build = await buildBefore(ref, workDir);
  const configPath = join(workDir, 'bench-before.yaml');
  await writeSidecarConfig(configPath, {
    upstreamUrl,
    storePath: join(workDir, 'before-store.json'),
    logLevel: SETTINGS.sidecarLogLevel,
    // Keys the earlier build may not know yet are left out: it refuses unknown keys.
    earlierBuild: true,
  });
  await addUser(configPath, secret, BENCH_USER, build.mainScript);
  const sidecar = await startSidecar(`auth-sidecar before (${ref})`, configPath, secret, build.mainScript);
  const session = await login(sidecar.url, BENCH_USER);
  return { build, sidecar, token: session.accessToken };
}

export interface ScenarioVsBefore {
  readonly scenario: ThroughputScenario;
  readonly currentRps: number;
  readonly beforeRps: number;
  /** Median over the rounds of current req/s / earlier req/s, the two run back to back. */
  readonly ratio: number;
  readonly roundRatios: readonly number[];
}

/** The `before` part of bench/results.json. */
export interface BeforeComparison {
  readonly ref: string;
  readonly commit: string;
  readonly scenarios: readonly ScenarioVsBefore[];
}

export function compareWithBefore(
  build: BeforeBuild,
  throughputRuns: readonly ThroughputRun[],
): BeforeComparison {
  const scenarios = (['auth-get', 'public-get'] as const).map((scenario) => {
    const runsOf = (server: 'sidecar' | 'sidecar-before') =>
      throughputRuns.filter((run) => run.scenario === scenario && run.server === server);
    const current = runsOf('sidecar');
    const before = runsOf('sidecar-before');
    const roundRatios = before.flatMap((run) => {
      const partner = current.find((other) => other.round === run.round);
      return partner ? [partner.rps / run.rps] : [];
    });
    return {
      scenario,
      currentRps: round2(median(current.map((run) => run.rps))),
      beforeRps: round2(median(before.map((run) => run.rps))),
      ratio: round2(median(roundRatios)),
      roundRatios: roundRatios.map(round2),
    };
  });
  return { ref: build.ref, commit: build.commit, scenarios };
}
