/**
 * A login storm in a process of its own: concurrent clients each log in with the right password,
 * again and again, until told to stop. A client refused with 503 waits the Retry-After it was
 * given (at most a second), as a well-behaved client does.
 */
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendJson } from '../lib/http-client.js';
import { serveJobs } from '../lib/rpc.js';
import { SampleBuffer, summarizeLatencies } from '../lib/stats.js';
import { retryAfterMs } from '../lib/retry-after.js';
import { countStatus, type StormJob, type StormResult } from './jobs.js';

interface Storm {
  stopping: boolean;
  readonly loops: Promise<void>;
  readonly startedAt: number;
  readonly statusCounts: Record<string, number>;
  readonly successLatencies: SampleBuffer;
  errors: number;
}

let storm: Storm | undefined;

serveJobs<StormJob>(async (job) => {
  if (job.op === 'start') {
    if (storm) throw new Error('a storm is already running');
    storm = startStorm(job);
    return { started: true };
  }
  if (!storm) throw new Error('no storm is running');
  const stopped = storm;
  stopped.stopping = true;
  // Logins already sent are waited for, so that no hashing is left over for the next measurement.
  await stopped.loops;
  storm = undefined;
  return summarize(stopped);
});

function startStorm(job: Extract<StormJob, { op: 'start' }>): Storm {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const credentials = { username: job.username, password: job.password };
  const state: Omit<Storm, 'loops'> = {
    stopping: false,
    startedAt: performance.now(),
    statusCounts: {},
    successLatencies: new SampleBuffer(),
    errors: 0,
  };
  const loop = async (): Promise<void> => {
    while (!state.stopping) {
      try {
        const response = await sendJson(`${job.url}/auth/login`, { body: credentials, agent });
        countStatus(state.statusCounts, response.status);
        if (response.status === 200) state.successLatencies.push(response.ms);
        if (response.status === 503) await sleep(retryAfterMs(response.headers['retry-after']));
      } catch {
        state.errors++;
        await sleep(100);
      }
    }
  };
  const loops = Promise.all(Array.from({ length: job.concurrency }, loop)).then(() => agent.destroy());
  return Object.assign(state, { loops });
}

function summarize(stopped: Storm): StormResult {
  return {
    loginsCompleted: stopped.statusCounts['200'] ?? 0,
    statusCounts: stopped.statusCounts,
    errors: stopped.errors,
    seconds: (performance.now() - stopped.startedAt) / 1000,
    successLatency: summarizeLatencies(stopped.successLatencies.toArray()),
  };
}
