import { Piscina } from 'piscina';
import { ProblemError } from '../../errors.js';
import type { BcryptEngine } from './password-hasher.js';
import type { BcryptTask } from './bcrypt-worker.cjs';

export interface BcryptPoolOptions {
  /** Worker threads; each runs at the lowest CPU priority. */
  readonly threads: number;
  /** Tasks that may wait for a thread; past that, callers get 503 at once instead of piling up. */
  readonly maxQueue: number;
  /** Tasks one client may have waiting or running at once; past that, it gets 429 at once. */
  readonly maxPerClient: number;
}

/** bcrypt off the event loop: a bounded, fair queue in front of a few low-priority threads. */
export interface BcryptPool extends BcryptEngine {
  close(): Promise<void>;
}

/** How long a client refused for a full queue (or its full share of it) is asked to wait, in seconds. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** The client key of work done for nobody in particular (a dummy hash made once). */
const NO_CLIENT = '';

interface Job {
  readonly task: BcryptTask;
  readonly client: string;
  readonly resolve: (value: string | boolean) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Waiting tasks are kept per client and handed to the threads one client after another (round
 * robin), so a client with many tasks waiting delays another client's login by at most one task per
 * client ahead of it, instead of by the whole queue; and no client holds more than `maxPerClient`.
 */
export function createBcryptPool(options: BcryptPoolOptions): BcryptPool {
  for (const key of ['threads', 'maxQueue', 'maxPerClient'] as const) {
    if (!Number.isInteger(options[key]) || options[key] < 1) {
      throw new TypeError(`createBcryptPool: ${key} must be a whole number of at least 1`);
    }
  }
  const pool = new Piscina<BcryptTask, string | boolean>({
    filename: new URL('./bcrypt-worker.cjs', import.meta.url).href,
    minThreads: options.threads,
    maxThreads: options.threads,
    // A thread hashes one password at a time; tasks wait in the fair queue below, not in piscina.
    concurrentTasksPerWorker: 1,
  });
  const waiting = new Map<string, Job[]>();
  /** Clients with waiting tasks, in the order they are next served. */
  const turns: string[] = [];
  /** Tasks waiting or running, per client. */
  const held = new Map<string, number>();
  let queued = 0;
  let running = 0;

  function start(job: Job): void {
    running += 1;
    pool
      .run(job.task)
      .then(job.resolve, job.reject)
      .finally(() => {
        running -= 1;
        const left = (held.get(job.client) ?? 1) - 1;
        if (left > 0) held.set(job.client, left);
        else held.delete(job.client);
        dispatch();
      });
  }

  function dispatch(): void {
    while (running < options.threads && turns.length > 0) {
      const client = turns.shift() as string;
      const jobs = waiting.get(client) ?? [];
      const job = jobs.shift();
      if (jobs.length > 0) turns.push(client);
      else waiting.delete(client);
      if (!job) continue;
      queued -= 1;
      start(job);
    }
  }

  function run(task: BcryptTask, client = NO_CLIENT): Promise<string | boolean> {
    const holding = held.get(client) ?? 0;
    if (client !== NO_CLIENT && holding >= options.maxPerClient) return Promise.reject(clientBusy());
    const canStart = running < options.threads;
    if (!canStart && queued >= options.maxQueue) return Promise.reject(busy());
    held.set(client, holding + 1);
    return new Promise((resolve, reject) => {
      const job = { task, client, resolve, reject };
      if (canStart) {
        start(job);
        return;
      }
      queued += 1;
      const jobs = waiting.get(client);
      if (jobs) jobs.push(job);
      else {
        waiting.set(client, [job]);
        turns.push(client);
      }
    });
  }

  return {
    hash: async (password, cost, client) => String(await run({ op: 'hash', password, cost }, client)),
    compare: async (password, hash, client) =>
      (await run({ op: 'compare', password, hash }, client)) === true,
    async close() {
      // Checks still waiting are refused like a full queue rather than left unanswered.
      for (const jobs of waiting.values()) for (const job of jobs) job.reject(busy());
      waiting.clear();
      turns.length = 0;
      queued = 0;
      await pool.close({ force: true });
    },
  };
}

function busy(): ProblemError {
  return new ProblemError('server_busy', 'Too many password checks are waiting; try again shortly.', {
    headers: { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
  });
}

/** This client has its whole share of the queue already: it, not the server, is asked to slow down. */
function clientBusy(): ProblemError {
  return new ProblemError(
    'too_many_requests',
    'Too many of your password checks are waiting; try again shortly.',
    {
      headers: { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
    },
  );
}
