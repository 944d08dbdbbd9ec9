/**
 * A bcrypt worker thread. It lowers its own CPU priority first: on Linux the nice value belongs to
 * the thread, so hashing yields the CPU to the event loop that proxies traffic, and a login storm
 * slows logins rather than every request.
 */
import { setPriority } from 'node:os';
import bcrypt from 'bcryptjs';

/** The lowest CPU priority (the highest nice value). */
const LOWEST_PRIORITY = 19;

try {
  setPriority(LOWEST_PRIORITY);
} catch {
  // Some sandboxes refuse priority changes; hashing still works, only at normal priority.
}

export type BcryptTask =
  | { readonly op: 'hash'; readonly password: string; readonly cost: number }
  | { readonly op: 'compare'; readonly password: string; readonly hash: string };

export default function runBcryptTask(task: BcryptTask): Promise<string | boolean> {
  return task.op === 'hash'
    ? bcrypt.hash(task.password, task.cost)
    : bcrypt.compare(task.password, task.hash);
}
