/** Programs the tests run for real (nginx, Caddy): Debian's packages, installed when missing. */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { REPO_ROOT } from './cli-process.js';

/**
 * The first of `candidates` that exists; installs Debian's `pkg` first when none does and this
 * runs as root. Undefined when the program cannot be had.
 */
export function findOrInstallProgram(pkg: string, candidates: readonly string[]): string | undefined {
  const found = () => candidates.find((path) => existsSync(path));
  if (found()) return found();
  if (process.getuid?.() !== 0) return undefined;
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', pkg], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    install();
  }
  return found();
}

/** The first ```fence block of README's Forward-auth section: what a reader copies is what runs. */
export async function readmeForwardAuthSnippet(fence: string): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Forward-auth'));
  const snippet = new RegExp('```' + fence + '\\n([\\s\\S]*?)```').exec(section)?.[1];
  if (snippet === undefined) throw new Error(`README.md has no ${fence} snippet under Forward-auth`);
  return snippet;
}

/** A front proxy the tests started: where it listens, and how to stop it and remove its folder. */
export interface RunningFrontProxy {
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Waits until the proxy `child` (configured in `dir`) answers GET /public/ping at `url`; stops it
 * and removes `dir` if it never does.
 */
export async function whenAnswering(
  name: string,
  child: ChildProcess,
  dir: string,
  url: string,
): Promise<RunningFrontProxy> {
  const stop = async () => {
    child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 200; attempt++) {
    const up = await fetch(`${url}/public/ping`).then(
      (response) => response.arrayBuffer().then(() => true),
      () => false,
    );
    if (up) return { url, stop };
    await delay(25);
  }
  await stop();
  throw new Error(`${name} did not start`);
}
