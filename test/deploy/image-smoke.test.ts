/**
 * The container image, without a container engine: what the Dockerfile's runtime stage copies is
 * copied into a folder that stands for the image's root, its production install is run the same
 * way, and its CMD is started with its ENV, as its USER when this test may switch users, in a tree
 * that user cannot write except the store's folder and /tmp. The Dockerfile is parsed, not
 * restated here: a COPY, RUN, ENV or CMD changed there is what runs here.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, chown, copyFile, cp, link, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { register } from '../helpers/auth-client.js';
import { findFreePort, REPO_ROOT } from '../helpers/cli-process.js';
import {
  copyStepsOf,
  copyTarget,
  envOf,
  execForm,
  flagsOf,
  onlyInstruction,
  parseDockerfile,
  readRepoFile,
  startProcess,
  userOf,
  workdirOf,
  type DockerStage,
  type StartedProcess,
} from '../helpers/deploy-files.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** npm ci over the network can be slow; this bounds a hang, it asserts no timing. */
const SLOW = { timeout: 180_000 };

/** 48 bytes; only ever used by tests. */
const JWT_SECRET = 'image-smoke-secret-image-smoke-secret-image-smo!';

const stages = parseDockerfile(readRepoFile('Dockerfile'));
const runtime = stages.at(-1) as DockerStage;
const imageUser = userOf(runtime);

/** Who runs CMD: the image's USER if this process may switch to it, else this process's user. */
const runAs = chooseUser();

function chooseUser(): { uid?: number; gid?: number; who: string } {
  const uid = process.getuid?.();
  if (uid !== 0) return { who: `as the current user (uid ${uid}): only root may switch users` };
  // Node itself is placed inside the image folder, where that user can run it; this asks only
  // whether this process may switch users at all (a container without CAP_SETUID may not).
  const probe = spawnSync('/bin/sh', ['-c', 'exit 0'], { ...imageUser, stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    const reason = probe.error?.message ?? `exit ${probe.status}`;
    return { who: `as root: switching to uid ${imageUser.uid} is not permitted here (${reason})` };
  }
  return { ...imageUser, who: `as the image's user ${imageUser.uid}:${imageUser.gid}` };
}

/** Where node:24-alpine has node. */
const IMAGE_NODE = '/usr/local/bin/node';

/** Runs npm as this test run does (the npm of `npm test`, else the one on PATH). */
async function runNpm(
  args: readonly string[],
  cwd: string,
): Promise<{ code: number | null; output: string }> {
  const npmCli = process.env.npm_execpath;
  const child = npmCli?.endsWith('.js')
    ? spawn(process.execPath, [npmCli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, output };
}

/** Every file and folder under `dir`, relative to it. */
async function listTree(dir: string): Promise<Set<string>> {
  return new Set(await readdir(dir, { recursive: true }));
}

describe('the container image, reproduced without a container engine', () => {
  let root: string;
  /** A path of the image, in the folder that stands for its root. */
  const host = (imagePath: string) => join(root, imagePath);
  const workdir = workdirOf(runtime);
  let upstream: TestUpstream;
  let sidecar: StartedProcess | undefined;
  const started: StartedProcess[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'auth-sidecar-image-'));
    await chmod(root, 0o755);
    // /tmp as a tmpfs has it: anyone may write, only the owner may delete.
    await mkdir(host('/tmp'), { mode: 0o1777 });
    await chmod(host('/tmp'), 0o1777);
    upstream = await startUpstream();
  });
  after(async () => {
    for (const process of [...started, ...(sidecar ? [sidecar] : [])]) await process.kill();
    await upstream.close();
    await rm(root, { recursive: true, force: true });
  });

  /** Where a COPY source is in this repository: the build context, or the build stage's output. */
  function sourceInRepo(fromStage: string | undefined, source: string): string {
    if (fromStage === undefined) return join(REPO_ROOT, source);
    const stage = stages.find((s) => s.name === fromStage);
    assert.ok(stage, `a stage named ${fromStage}`);
    // The build stage works on a copy of the repository in its WORKDIR; npm test has just built dist/.
    const inRepo = posix.relative(workdirOf(stage), source);
    assert.ok(!inRepo.startsWith('..'), `${source} is inside the build stage's ${workdirOf(stage)}`);
    return join(REPO_ROOT, inRepo);
  }

  /** Reproduces one `&&`-part of a RUN of the runtime stage, or fails on one it does not know. */
  async function reproduce(command: string[], cwd: string): Promise<void> {
    const [tool, verb, ...rest] = command;
    const line = command.join(' ');
    if (tool === 'npm' && verb === 'ci') {
      const { code, output } = await runNpm(command.slice(1), host(cwd));
      assert.equal(code, 0, `${line} failed; it needs the npm registry (or a warm npm cache):\n${output}`);
    } else if (tool === 'npm' && verb === 'cache') {
      // Skipped: it would empty this machine's npm cache, and only makes the image smaller.
    } else if (tool === 'apk') {
      // Skipped: Alpine packages (tini) serve the ENTRYPOINT, which this test does not run.
    } else if (tool === 'mkdir' && verb === '-p') {
      for (const path of rest) await mkdir(host(path), { recursive: true });
    } else if (tool === 'chown') {
      assert.equal(verb, `${imageUser.uid}:${imageUser.gid}`, `${line}: chown to the image's USER`);
      if (runAs.uid !== undefined) {
        for (const path of rest) await chown(host(path), runAs.uid, runAs.gid ?? runAs.uid);
      }
    } else {
      assert.fail(`this test does not know how to reproduce RUN ${line}: teach it`);
    }
  }

  it(`serves /healthz and proxies a logged-in request, ${runAs.who}`, SLOW, async () => {
    // The runtime stage, instruction by instruction.
    let cwd = '/';
    const copies = copyStepsOf(runtime);
    let copyIndex = 0;
    for (const instruction of runtime.instructions) {
      switch (instruction.getKeyword()) {
        case 'WORKDIR':
          cwd = posix.resolve(cwd, instruction.getArgumentsContent() ?? '');
          await mkdir(host(cwd), { recursive: true });
          break;
        case 'COPY': {
          const step = copies[copyIndex++];
          assert.ok(step);
          for (const source of step.sources) {
            await mkdir(posix.dirname(host(copyTarget(step, source))), { recursive: true });
            await cp(sourceInRepo(step.fromStage, source), host(copyTarget(step, source)), {
              recursive: true,
            });
          }
          break;
        }
        case 'RUN': {
          const text = instruction.getArgumentsContent() ?? '';
          for (const command of text.split('&&').map((part) => part.trim().split(/\s+/))) {
            await reproduce(command, cwd);
          }
          break;
        }
        default:
          break;
      }
    }

    const lock = JSON.parse(await readFile(host(posix.join(workdir, 'package-lock.json')), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages).filter(
      ([path, entry]) => path !== '' && entry.dev === true,
    );
    assert.ok(devOnly.length > 0, 'the lock file marks dev-only packages');
    for (const [path] of devOnly) {
      assert.ok(!existsSync(host(posix.join(workdir, path))), `${path} is a dev dependency, not installed`);
    }

    // ENV as the image has it: its absolute paths are inside the folder that stands for the root.
    const imageEnv = Object.fromEntries(
      Object.entries(envOf(runtime)).map(([name, value]) => [
        name,
        value.startsWith('/') ? host(value) : value,
      ]),
    );
    const port = await findFreePort();
    const env: Record<string, string> = {
      ...imageEnv,
      TMPDIR: host('/tmp'),
      JWT_SECRET,
      PORT: String(port),
      UPSTREAM_URL: upstream.url,
    };
    const baseUrl = `http://127.0.0.1:${port}`;
    const before = await listTree(host(workdir));

    // This run's Node stands in for the image's, at the image's path: the user of CMD may not be
    // able to reach the Node of this run (under /root, say).
    await mkdir(posix.dirname(host(IMAGE_NODE)), { recursive: true });
    await link(process.execPath, host(IMAGE_NODE)).catch(() => copyFile(process.execPath, host(IMAGE_NODE)));
    const asImageUser = {
      cwd: host(workdir),
      env,
      nodePath: host(IMAGE_NODE),
      ...(runAs.uid === undefined ? {} : { uid: runAs.uid, gid: runAs.gid }),
    };

    sidecar = startProcess(execForm(onlyInstruction(runtime, 'CMD')), asImageUser);
    await sidecar.waitForStatus(`${baseUrl}/readyz`, 200);

    const health = await fetch(`${baseUrl}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    const healthcheck = onlyInstruction(runtime, 'HEALTHCHECK');
    const probe = startProcess(execForm(healthcheck), asImageUser);
    started.push(probe);
    assert.equal((await probe.exited).code, 0, `the HEALTHCHECK passes: ${probe.output()}`);
    assert.ok(flagsOf(healthcheck).timeout, 'the HEALTHCHECK has a timeout');

    const session = await register(baseUrl, 'image-smoke', 'image-smoke-password');
    const seenBefore = upstream.requests.length;
    const denied = await fetch(`${baseUrl}/api/hello`);
    assert.equal(denied.status, 401);
    const proxied = await fetch(`${baseUrl}/api/hello?from=image`, {
      headers: { Authorization: `Bearer ${session.accessToken}` },
    });
    assert.equal(proxied.status, 200, await proxied.clone().text());
    const seen = upstream.requests.slice(seenBefore);
    assert.deepEqual(
      seen.map((request) => [request.url, request.headers['x-user']]),
      [['/api/hello?from=image', 'image-smoke']],
    );

    sidecar.child.kill('SIGTERM');
    const { code } = await sidecar.exited;
    assert.equal(code, 0, sidecar.output());

    // Nothing was written outside the store's folder and /tmp, as on a read-only root filesystem.
    const written = [...(await listTree(host(workdir)))].filter((path) => !before.has(path));
    assert.deepEqual(
      written.filter((path) => !path.startsWith('data/') && path !== 'data'),
      [],
      'written outside data/',
    );
    const store = await readFile(host(posix.join(workdir, 'data/auth-sidecar.json')), 'utf8');
    assert.match(store, /"image-smoke"/);
    const compileCache = env.NODE_COMPILE_CACHE ?? '';
    assert.ok(compileCache.startsWith(host('/tmp')), 'NODE_COMPILE_CACHE is under /tmp');
    assert.ok((await listTree(compileCache)).size > 0, 'the compile cache was written under /tmp');
  });
});
