/**
 * A bcrypt worker thread. It lowers its own CPU priority first: on Linux the nice value belongs to
 * the thread, so hashing yields the CPU to the event loop that proxies traffic, and a login storm
 * slows logins rather than every request.
 *
 * CommonJS on purpose: piscina loads its worker with require(), and Node 24's require() of an ES
 * module aborted the whole process (a native assertion in the module loader) when the pool was
 * closed while a thread was still loading it.
 */
import os = require('node:os');
import bcrypt = require('bcryptjs');

/** The lowest CPU priority (the highest nice value). */
const LOWEST_PRIORITY = 19;

try {
  os.setPriority(LOWEST_PRIORITY);
} catch {
  // Some sandboxes refuse priority changes; hashing still works, only at normal priority.
}

function runBcryptTask(task: runBcryptTask.BcryptTask): Promise<string | boolean> {
  return task.op === 'hash'
    ? bcrypt.hash(task.password, task.cost)
    : bcrypt.compare(task.password, task.hash);
}

// eslint-disable-next-line @typescript-eslint/no-namespace -- the one way to give `export =` a type
namespace runBcryptTask {
  export type BcryptTask =
    | { readonly op: 'hash'; readonly password: string; readonly cost: number }
    | { readonly op: 'compare'; readonly password: string; readonly hash: string };
}

export = runBcryptTask;
