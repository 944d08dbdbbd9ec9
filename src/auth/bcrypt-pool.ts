import { Piscina } from 'piscina';
import { ProblemError } from '../errors.js';
import type { BcryptEngine } from './passwords.js';
import type { BcryptTask } from './bcrypt-worker.js';

export interface BcryptPoolOptions {
  /** Worker threads; each runs at the lowest CPU priority. */
  readonly threads: number;
  /** Tasks that may wait for a thread; past that, callers get 503 at once instead of piling up. */
  readonly maxQueue: number;
}

/** bcrypt off the event loop: a bounded queue in front of a few low-priority threads. */
export interface BcryptPool extends BcryptEngine {
  close(): Promise<void>;
}

/** How long a client refused for a full queue is asked to wait, in seconds. */
const BUSY_RETRY_AFTER_SECONDS = 1;

export function createBcryptPool(options: BcryptPoolOptions): BcryptPool {
  const pool = new Piscina<BcryptTask, string | boolean>({
    filename: new URL('./bcrypt-worker.js', import.meta.url).href,
    minThreads: options.threads,
    maxThreads: options.threads,
    maxQueue: options.maxQueue,
    // A thread hashes one password at a time; queued tasks wait in the pool, not in a thread.
    concurrentTasksPerWorker: 1,
  });

  async function run(task: BcryptTask): Promise<string | boolean> {
    try {
      return await pool.run(task);
    } catch (err) {
      if (err instanceof Error && err.message === 'Task queue is at limit') throw busy();
      throw err;
    }
  }

  return {
    hash: async (password, cost) => String(await run({ op: 'hash', password, cost })),
    compare: async (password, hash) => (await run({ op: 'compare', password, hash })) === true,
    close: () => pool.close({ force: true }),
  };
}

function busy(): ProblemError {
  return new ProblemError('server_busy', 'Too many password checks are waiting; try again shortly.', {
    headers: { 'Retry-After': String(BUSY_RETRY_AFTER_SECONDS) },
  });
}
