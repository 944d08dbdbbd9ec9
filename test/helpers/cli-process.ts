import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI, dist/src/main.js, seen from dist/test/helpers/. */
export const CLI_PATH = fileURLToPath(new URL('../../src/main.js', import.meta.url));

/** The repository root, where package.json and test/fixtures live (fixtures are not copied to dist). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function fixturePath(name: string): string {
  return join(REPO_ROOT, 'test', 'fixtures', name);
}

/** A fresh, empty working directory for one CLI run; remove it with `removeWorkDir`. */
export async function makeWorkDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'auth-sidecar-cli-'));
}

export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Copies a fixture into `dir` under `relativePath` (folders are created). */
export async function placeFixture(dir: string, fixture: string, relativePath: string): Promise<string> {
  const target = join(dir, relativePath);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(fixturePath(fixture), target);
  return target;
}

/** Writes `text` to `dir/relativePath` (folders are created). */
export async function placeFile(dir: string, relativePath: string, text: string): Promise<string> {
  const target = join(dir, relativePath);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
  return target;
}

export interface CliOptions {
  /** Working directory of the child. */
  readonly cwd: string;
  /** The child's whole environment: nothing is inherited from this process. */
  readonly env?: Record<string, string>;
  /** Written to the child's stdin, which is then closed. */
  readonly stdin?: string;
}

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function spawnCli(args: readonly string[], options: CliOptions): ChildProcess {
  return spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd,
    env: { ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion and collects its output. */
export async function runCli(args: readonly string[], options: CliOptions): Promise<CliResult> {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin?.on('error', () => undefined); // the child may exit before reading stdin
  child.stdin?.end(options.stdin ?? '');
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, stdout, stderr };
}

/** A port that was free a moment ago: bound on 127.0.0.1 port 0, then released. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

export interface ServeProcess {
  readonly child: ChildProcess;
  /** Everything written so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /**
   * Polls `GET baseUrl/readyz` until it answers 200; rejects if the process exits first. Works at
   * any log level, unlike waiting for the `server.listening` line.
   */
  waitForReady(baseUrl: string): Promise<void>;
  /** Resolves with the exit code and signal once the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process if it still runs (cleanup only; tests stop it with SIGTERM themselves). */
  kill(): Promise<void>;
}

/** Starts `auth-sidecar serve` (or other long-running args) in the background. */
export function startServe(args: readonly string[], options: CliOptions): ServeProcess {
  const child = spawnCli(args, options);
  let stdout = '';
  let stderr = '';
  let hasExited = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(options.stdin ?? '');
  const exited = once(child, 'close').then(([code, signal]) => {
    hasExited = true;
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });

  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForReady(baseUrl) {
      return pollUntilStatus(`${baseUrl}/readyz`, 200, exited, () =>
        hasExited
          ? `exited (code ${child.exitCode}) before ready\nstdout:\n${stdout}\nstderr:\n${stderr}`
          : undefined,
      );
    },
    async kill() {
      if (hasExited) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Polls `url` until it answers `status`; fails with `whyStopped()` as soon as that says the
 * process behind it has gone.
 */
export async function pollUntilStatus(
  url: string,
  status: number,
  exited: Promise<unknown>,
  whyStopped: () => string | undefined,
): Promise<void> {
  for (;;) {
    const stopped = whyStopped();
    if (stopped !== undefined) throw new Error(stopped);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === status) return;
    } catch {
      // not listening yet
    }
    await Promise.race([delay(20), exited]);
  }
}

export interface RunningServe {
  readonly url: string;
  readonly process: ServeProcess;
}

/** Starts `serve --config config` on a free port (env PORT) and waits until it is ready. */
export async function serveOnFreePort(config: string, options: CliOptions): Promise<RunningServe> {
  const port = await findFreePort();
  const process = startServe(['serve', '--config', config], {
    ...options,
    env: { ...options.env, PORT: String(port) },
  });
  const url = `http://127.0.0.1:${port}`;
  await process.waitForReady(url);
  return { url, process };
}
