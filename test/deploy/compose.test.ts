import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { findFreePort, REPO_ROOT } from '../helpers/cli-process.js';
import { createComposeValidator } from '../helpers/compose-schema.js';
import {
  appEnvNames,
  envOf,
  execForm,
  jwtSecretProblems,
  loadBundledConfig,
  onlyInstruction,
  parseDockerfile,
  readRepoFile,
  readYaml,
  repoPath,
  startProcess,
  workdirOf,
  type DockerStage,
  type StartedProcess,
  lowdbStorePathOf,
} from '../helpers/deploy-files.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';

interface ComposeService {
  readonly build?: string;
  readonly image?: string;
  readonly pull_policy?: string;
  readonly command?: string[];
  readonly ports?: string[];
  readonly env_file?: string;
  readonly environment?: Record<string, string>;
  readonly volumes?: string[];
  readonly read_only?: boolean;
  readonly tmpfs?: string[];
  readonly cap_drop?: string[];
  readonly stop_grace_period?: string;
}

interface ComposeFile {
  readonly services: Record<string, ComposeService>;
  readonly volumes?: Record<string, unknown>;
}

/** A short-syntax volume, `source:target[:mode]`. */
function parseMount(text: string): { source: string; target: string; readOnly: boolean } {
  const [source = '', target = '', mode] = text.split(':');
  return { source, target, readOnly: mode === 'ro' };
}

/** Seconds of a Go duration such as `25s` or `1m30s`. */
function seconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)].reduce(
    (sum, [, value, unit]) => sum + Number(value) * (units[unit as string] ?? 0),
    0,
  );
}

describe('docker-compose.yml', () => {
  const text = readRepoFile('docker-compose.yml');
  const compose = readYaml('docker-compose.yml') as ComposeFile;
  const runtime = parseDockerfile(readRepoFile('Dockerfile')).at(-1) as DockerStage;
  const imageEnv = envOf(runtime);
  const sidecar = compose.services['auth-sidecar'] as ComposeService;
  const backendName = 'echo-backend';
  const backend = compose.services[backendName] as ComposeService;
  const { version } = JSON.parse(readRepoFile('package.json')) as { version: string };
  let bundled: LoadedConfig;
  const started: StartedProcess[] = [];

  before(async () => {
    bundled = await loadBundledConfig();
  });
  after(async () => {
    for (const process of started) await process.kill();
  });

  it('validates against the Compose Specification schema', () => {
    assert.deepEqual(createComposeValidator()(compose), []);
  });

  it('the same schema check refuses a misspelled key and a bad duration, so passing means something', () => {
    const broken = structuredClone(compose) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    const service = broken.services['auth-sidecar'] as Record<string, unknown>;
    service.read_onyl = true;
    service.stop_grace_period = '25 seconds';
    assert.equal(createComposeValidator()(broken).length, 2);
  });

  it('has nothing for docker compose to interpolate (no $ anywhere)', () => {
    assert.ok(!text.includes('$'), 'a $ would be replaced from the shell environment');
  });

  it('builds the auth-sidecar image from the Dockerfile, tagged with the package version', () => {
    assert.equal(sidecar.build, '.');
    assert.ok(existsSync(repoPath('Dockerfile')));
    assert.equal(sidecar.image, `auth-sidecar:${version}`);
  });

  it('runs the echo backend from that same image, never pulled', () => {
    assert.equal(backend.image, sidecar.image);
    assert.equal(backend.pull_policy, 'never');
    assert.equal(backend.build, undefined);
  });

  it('sets only environment variables the sidecar reads, and JWT_SECRET only from .env', () => {
    const known = appEnvNames();
    for (const name of Object.keys(sidecar.environment ?? {}))
      assert.ok(known.includes(name), `${name} is read`);
    assert.ok(!('JWT_SECRET' in (sidecar.environment ?? {})), 'no secret in the compose file');
    assert.equal(sidecar.env_file, '.env');
  });

  it('keeps .env out of git; .env.example names only JWT_SECRET and how to generate it', () => {
    assert.ok(readRepoFile('.gitignore').split('\n').includes('.env'), '.gitignore lists .env');
    const example = readRepoFile('.env.example')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('#'));
    assert.deepEqual(
      example.map((line) => line.split('=')[0]),
      ['JWT_SECRET'],
    );
    assert.match(readRepoFile('.env.example'), /openssl rand -base64 48/);
  });

  it("refuses to start with .env.example's placeholder secret, so it cannot be used by mistake", async () => {
    const placeholder = readRepoFile('.env.example')
      .split('\n')
      .find((line) => line.startsWith('JWT_SECRET='))
      ?.slice('JWT_SECRET='.length);
    assert.ok(placeholder !== undefined);
    const problems = await jwtSecretProblems(placeholder);
    assert.equal(problems.length, 1, 'the placeholder is refused');
    assert.match(problems[0] ?? '', /too short|missing/);
  });

  it('mounts ./config read-only where AUTH_SIDECAR_CONFIG looks, and that config loads', async () => {
    const configPath = sidecar.environment?.AUTH_SIDECAR_CONFIG ?? imageEnv.AUTH_SIDECAR_CONFIG ?? '';
    const mount = (sidecar.volumes ?? []).map(parseMount).find((m) => configPath.startsWith(`${m.target}/`));
    assert.ok(mount, `a volume holds ${configPath}`);
    assert.equal(mount.source, './config');
    assert.ok(mount.readOnly, 'mounted :ro');
    const hostFile = repoPath(posix.join(mount.source, posix.relative(mount.target, configPath)));
    const loaded = await loadConfig({
      path: hostFile,
      env: { ...sidecar.environment, JWT_SECRET: TEST_JWT_SECRET },
    });
    assert.equal(loaded.config.upstream.url, sidecar.environment?.UPSTREAM_URL);
  });

  it('keeps the store on a named volume at the folder of store.path', () => {
    const storeFolder = posix.join(workdirOf(runtime), posix.dirname(lowdbStorePathOf(bundled)));
    const mount = (sidecar.volumes ?? []).map(parseMount).find((m) => m.target === storeFolder);
    assert.ok(mount, `a volume at ${storeFolder}`);
    assert.ok(mount.source in (compose.volumes ?? {}), `${mount.source} is a named volume`);
    assert.ok(!mount.readOnly);
  });

  it('points UPSTREAM_URL at the echo backend service and the port it listens on', () => {
    const upstream = new URL(sidecar.environment?.UPSTREAM_URL ?? '');
    assert.equal(upstream.hostname, backendName);
    assert.equal(upstream.port, backend.environment?.PORT);
    assert.equal(backend.environment?.HOST, '0.0.0.0', 'reachable from the sidecar container');
    assert.equal(backend.ports, undefined, 'the backend publishes no port: the sidecar is the way in');
  });

  it("publishes listen.port, the image's EXPOSE, on the host's loopback only", () => {
    const expose = onlyInstruction(runtime, 'EXPOSE').getArgumentsContent();
    assert.deepEqual(sidecar.ports, [`127.0.0.1:${expose}:${bundled.config.listen.port}`]);
  });

  it('runs both containers with a read-only root filesystem, /tmp on tmpfs and no capabilities', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      assert.equal(service.read_only, true, `${name} read_only`);
      assert.deepEqual(service.tmpfs, ['/tmp'], `${name} tmpfs`);
      assert.deepEqual(service.cap_drop, ['ALL'], `${name} cap_drop`);
    }
    assert.ok((imageEnv.NODE_COMPILE_CACHE ?? '').startsWith('/tmp/'), 'the compile cache is on the tmpfs');
  });

  it('gives the sidecar longer than shutdown.delay and shutdown.grace to stop before SIGKILL', () => {
    const { delay, grace } = bundled.config.shutdown;
    const period = seconds(sidecar.stop_grace_period ?? '10s') * 1000;
    assert.ok(period > delay + grace, `${String(sidecar.stop_grace_period)} > ${delay + grace} ms`);
  });

  it("the echo backend's command answers on HOST and PORT, and passes the image's HEALTHCHECK", async () => {
    const command = backend.command ?? [];
    const env = { ...backend.environment, HOST: '127.0.0.1', PORT: String(await findFreePort()) };
    const echo = startProcess(command, { cwd: REPO_ROOT, env });
    started.push(echo);
    await echo.waitForStatus(`http://127.0.0.1:${env.PORT}/`, 200);
    const response = await fetch(`http://127.0.0.1:${env.PORT}/api/hello?x=1`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { url: string }).url, '/api/hello?x=1');

    const healthcheck = startProcess(execForm(onlyInstruction(runtime, 'HEALTHCHECK')), {
      cwd: REPO_ROOT,
      env,
    });
    started.push(healthcheck);
    assert.equal((await healthcheck.exited).code, 0, healthcheck.output());

    echo.child.kill('SIGTERM');
    assert.equal((await echo.exited).signal, 'SIGTERM');
  });
});
