/**
 * An earlier commit of the sidecar, built beside this one, so that a change can be measured
 * against the code it replaces in the same run (BENCH_BEFORE=<git ref>): the same machine
 * moment, the same upstream, the same rules, rounds interleaved with the current build's.
 */
import { execFile } from 'node:child_process';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { registerStop } from '../lib/children.js';

const run = promisify(execFile);

/** The repository this bench was built from (it runs from dist/bench/servers/). */
const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface BeforeBuild {
  /** The ref as given and the commit it named. */
  readonly ref: string;
  readonly commit: string;
  /** The earlier build's CLI, to start with `serve` and `user add`. */
  readonly mainScript: string;
}

/**
 * Checks `ref` out into a worktree under `workDir` and compiles it with this checkout's
 * node_modules; the worktree is removed when the bench stops.
 */
export async function buildBefore(ref: string, workDir: string): Promise<BeforeBuild> {
  const git = (...args: string[]) => run('git', ['-C', REPO_ROOT, ...args], { encoding: 'utf8' });
  const commit = (await git('rev-parse', '--verify', `${ref}^{commit}`)).stdout.trim();
  const tree = join(workDir, 'before');
  await git('worktree', 'add', '--detach', tree, commit);
  registerStop(async () => {
    await git('worktree', 'remove', '--force', tree).catch(() => undefined);
  });
  await symlink(join(REPO_ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await run(process.execPath, [tsc, '-p', join(tree, 'tsconfig.json')], { cwd: tree });
  return { ref, commit, mainScript: join(tree, 'dist', 'src', 'main.js') };
}
