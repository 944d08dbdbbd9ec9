/** The load-generator processes, started once and given one job at a time. */
import { startNode, type NodeChild } from '../lib/children.js';
import { callChild } from '../lib/rpc.js';
import { SCRIPTS } from '../paths.js';
import type { LoadResult, PacedJob, PacedResult, SaturatingJob, StormJob, StormResult } from './jobs.js';

export interface LoadGenerators {
  readonly saturating: NodeChild;
  readonly paced: NodeChild;
  readonly storm: NodeChild;
}

export function startLoadGenerators(): LoadGenerators {
  return {
    saturating: startNode('autocannon worker', SCRIPTS.autocannonWorker, { ipc: true }),
    paced: startNode('paced worker', SCRIPTS.pacedWorker, { ipc: true }),
    storm: startNode('login storm worker', SCRIPTS.loginStormWorker, { ipc: true }),
  };
}

export function runSaturating(generators: LoadGenerators, job: SaturatingJob): Promise<LoadResult> {
  return callChild<LoadResult>(generators.saturating, job);
}

export function runPaced(generators: LoadGenerators, job: PacedJob): Promise<PacedResult> {
  return callChild<PacedResult>(generators.paced, job);
}

export async function startStorm(
  generators: LoadGenerators,
  job: Extract<StormJob, { op: 'start' }>,
): Promise<void> {
  await callChild(generators.storm, job);
}

export function stopStorm(generators: LoadGenerators): Promise<StormResult> {
  return callChild<StormResult>(generators.storm, { op: 'stop' } satisfies StormJob);
}
