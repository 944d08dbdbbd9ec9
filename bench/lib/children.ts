import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A Node.js child process started by the bench. */
export interface NodeChild {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** How long stopChild() waits after SIGTERM before it sends SIGKILL. */
  readonly stopGraceMs: number;
  /** The last few kilobytes the child wrote to stderr, to explain a failure. */
  stderrTail(): string;
}

export interface StartOptions {
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** An IPC channel for job and readiness messages. */
  readonly ipc?: boolean;
  /**
   * A command and its options that Node.js runs under, such as valgrind: the child is then
   * `launcher... node script args...`. Valgrind runs its guest in its own process, so the
   * child's pid is still the one to signal or to point valgrind's tools at.
   */
  readonly launcher?: readonly string[];
  /** Options for Node.js itself (and V8), before the script. */
  readonly execArgv?: readonly string[];
  /** How long to wait after SIGTERM before SIGKILL: a child under valgrind takes its time to exit. */
  readonly stopGraceMs?: number;
}

const STDERR_TAIL_BYTES = 4096;
const DEFAULT_STOP_GRACE_MS = 3000;
const live = new Set<NodeChild>();
/** How to stop what the bench started other than Node.js children, such as redis-server. */
const otherStops = new Set<() => Promise<void>>();

/** Starts `script` with this very Node.js binary; stdout is discarded (the sidecar logs there). */
export function startNode(name: string, script: string, options: StartOptions = {}): NodeChild {
  const [command = process.execPath, ...launcherArgs] = options.launcher ?? [];
  const nodeArgs = [...(options.execArgv ?? []), script, ...(options.args ?? [])];
  const args = options.launcher ? [...launcherArgs, process.execPath, ...nodeArgs] : nodeArgs;
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    stdio: ['pipe', 'ignore', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${[command, ...args].join(' ')}`);
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
  });
  const started: NodeChild = {
    name,
    process: child,
    pid: child.pid,
    stopGraceMs: options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
    stderrTail: () => tail,
  };
  live.add(started);
  child.once('exit', () => live.delete(started));
  return started;
}

export function hasExited(child: NodeChild): boolean {
  return child.process.exitCode !== null || child.process.signalCode !== null;
}

/** Resolves with the exit code once the child has ended. */
export async function exited(child: NodeChild): Promise<number | null> {
  if (!hasExited(child)) await once(child.process, 'exit');
  return child.process.exitCode;
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. */
export async function stopChild(child: NodeChild, graceMs = child.stopGraceMs): Promise<void> {
  if (hasExited(child)) return;
  const gone = exited(child);
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Has stopAllChildren() call `stop` too, until the returned function is called. */
export function registerStop(stop: () => Promise<void>): () => void {
  otherStops.add(stop);
  return () => otherStops.delete(stop);
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([
    ...[...live].map((child) => stopChild(child)),
    ...[...otherStops].map((stop) => stop()),
  ]);
}

/** Describes an early exit, with what the child said on stderr. */
export function exitError(child: NodeChild, what: string): Error {
  const { exitCode, signalCode } = child.process;
  const tail = child.stderrTail().trim();
  return new Error(
    `${child.name} exited (${signalCode ?? `code ${exitCode}`}) ${what}${tail ? `:\n${tail}` : ''}`,
  );
}
