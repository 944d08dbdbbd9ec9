import { fileURLToPath } from 'node:url';

/** A compiled file next to this one (this module runs from dist/bench/). */
const compiled = (relative: string): string => fileURLToPath(new URL(relative, import.meta.url));

/** The scripts the bench starts as child processes, each with its own event loop. */
export const SCRIPTS = {
  sidecar: compiled('../src/main.js'),
  upstream: compiled('./servers/upstream.js'),
  baselineProxy: compiled('./servers/baseline-proxy.js'),
  seedStack: compiled('./servers/seed-stack.js'),
  autocannonWorker: compiled('./load/autocannon-worker.js'),
  pacedWorker: compiled('./load/paced-worker.js'),
  loginStormWorker: compiled('./load/login-storm-worker.js'),
} as const;

export const RESULTS_FILE = compiled('../../bench/results.json');
