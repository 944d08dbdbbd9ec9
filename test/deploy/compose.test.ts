import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
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
import { REDIS_SERVER_BIN, redisSkipReason } from '../helpers/redis-server.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';
import { connectRedisClient } from '../../src/store/redis-client.js';

interface ComposeService {
  readonly profiles?: string[];
  readonly build?: string;
  readonly image?: string;
  readonly pull_policy?: string;
  readonly user?: string;
  readonly command?: string[];
  readonly ports?: string[];
  readonly env_file?: string;
  /** A mapping, or names passed through from .env or the shell (the redis service). */
  readonly environment?: Record<string, string> | string[];
  readonly volumes?: string[];
  readonly read_only?: boolean;
  readonly tmpfs?: string[];
  readonly cap_drop?: string[];
  readonly stop_grace_period?: string;
  readonly depends_on?: string[] | Record<string, { condition: string }>;
  readonly healthcheck?: { test: string[] };
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

/** The mapping form of a service's environment ({} for the pass-through list form). */
function envMap(service: ComposeService): Record<string, string> {
  return Array.isArray(service.environment) ? {} : (service.environment ?? {});
}

function dependenciesOf(service: ComposeService): string[] {
  const { depends_on: dependsOn } = service;
  return Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn ?? {});
}

/** The KEY=value lines of .env.example, in order. */
function envExample(): [string, string][] {
  return readRepoFile('.env.example')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const index = line.indexOf('=');
      return [line.slice(0, index), line.slice(index + 1)];
    });
}

/** A string of the Compose file as the container sees it: `$$` is Compose's escape for `$`. */
function unescape(text: string): string {
  return text.replaceAll('$$', '$');
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
  const redisSidecarName = 'auth-sidecar-redis';
  const redisSidecar = compose.services[redisSidecarName] as ComposeService;
  const redisName = 'redis';
  const redis = compose.services[redisName] as ComposeService;
  const backendName = 'echo-backend';
  const backend = compose.services[backendName] as ComposeService;
  /** The services that run the sidecar: its image with the image's own CMD. */
  const sidecars = Object.entries(compose.services).filter(
    ([, service]) => service.image === sidecar.image && service.command === undefined,
  );
  const { version } = JSON.parse(readRepoFile('package.json')) as { version: string };
  let bundled: LoadedConfig;
  const started: StartedProcess[] = [];

  /** The config a sidecar service runs with, read from ./config as mounted, with its environment. */
  async function configOf(service: ComposeService, env: Record<string, string> = {}): Promise<LoadedConfig> {
    const configPath = envMap(service).AUTH_SIDECAR_CONFIG ?? imageEnv.AUTH_SIDECAR_CONFIG ?? '';
    const mount = (service.volumes ?? []).map(parseMount).find((m) => configPath.startsWith(`${m.target}/`));
    assert.ok(mount, `a volume holds ${configPath}`);
    assert.equal(mount.source, './config');
    assert.ok(mount.readOnly, 'mounted :ro');
    const hostFile = repoPath(posix.join(mount.source, posix.relative(mount.target, configPath)));
    return loadConfig({ path: hostFile, env: { ...envMap(service), JWT_SECRET: TEST_JWT_SECRET, ...env } });
  }

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

  it('leaves docker compose nothing to interpolate: every $ is escaped as $$, a $ for the container', () => {
    assert.ok(!text.replaceAll('$$', '').includes('$'), 'a lone $ would be replaced from the shell or .env');
  });

  it('starts only the lowdb sidecar and the echo backend by default; the rest is under the profile redis', () => {
    const defaults = Object.entries(compose.services).filter(([, service]) => service.profiles === undefined);
    assert.deepEqual(defaults.map(([name]) => name).sort(), ['auth-sidecar', backendName]);
    for (const [name, service] of defaults) {
      for (const dependency of dependenciesOf(service))
        assert.equal(
          compose.services[dependency]?.profiles,
          undefined,
          `${name} needs no profiled ${dependency}`,
        );
    }
    assert.deepEqual(redis.profiles, ['redis']);
    assert.deepEqual(redisSidecar.profiles, ['redis']);
  });

  it('builds the auth-sidecar image from the Dockerfile, tagged with the package version', () => {
    assert.equal(sidecar.build, '.');
    assert.ok(existsSync(repoPath('Dockerfile')));
    assert.equal(sidecar.image, `auth-sidecar:${version}`);
    assert.deepEqual(
      sidecars.map(([name]) => name),
      ['auth-sidecar', redisSidecarName],
    );
    assert.equal(redisSidecar.build, '.', 'built when started on its own too');
  });

  it('runs the echo backend from that same image, never pulled', () => {
    assert.equal(backend.image, sidecar.image);
    assert.equal(backend.pull_policy, 'never');
    assert.equal(backend.build, undefined);
  });

  it('sets only environment variables the sidecar reads, and the secrets only from .env', () => {
    const known = appEnvNames();
    for (const [name, service] of sidecars) {
      for (const variable of Object.keys(envMap(service)))
        assert.ok(known.includes(variable), `${name}: ${variable} is read`);
      for (const secret of ['JWT_SECRET', 'REDIS_URL'])
        assert.ok(!(secret in envMap(service)), `${name}: no ${secret} in the compose file`);
      assert.equal(service.env_file, '.env', name);
    }
  });

  it('keeps .env out of git; .env.example names JWT_SECRET, REDIS_PASSWORD, REDIS_URL and how to generate them', () => {
    assert.ok(readRepoFile('.gitignore').split('\n').includes('.env'), '.gitignore lists .env');
    assert.deepEqual(
      envExample().map(([name]) => name),
      ['JWT_SECRET', 'REDIS_PASSWORD', 'REDIS_URL'],
    );
    assert.match(readRepoFile('.env.example'), /openssl rand -base64 48/);
    assert.match(readRepoFile('.env.example'), /openssl rand -hex 32/);
  });

  it("refuses to start with .env.example's placeholder secret, so it cannot be used by mistake", async () => {
    const placeholder = Object.fromEntries(envExample()).JWT_SECRET;
    assert.ok(placeholder !== undefined);
    const problems = await jwtSecretProblems(placeholder);
    assert.equal(problems.length, 1, 'the placeholder is refused');
    assert.match(problems[0] ?? '', /too short|missing/);
  });

  it('mounts ./config read-only where AUTH_SIDECAR_CONFIG looks, and that config loads', async () => {
    for (const [name, service] of sidecars) {
      const loaded = await configOf(service);
      assert.equal(loaded.config.upstream.url, envMap(service).UPSTREAM_URL, name);
    }
  });

  it('keeps the lowdb store on a named volume at the folder of store.path', async () => {
    assert.equal((await configOf(sidecar)).config.store.driver, 'lowdb');
    const storeFolder = posix.join(workdirOf(runtime), posix.dirname(lowdbStorePathOf(bundled)));
    const mount = (sidecar.volumes ?? []).map(parseMount).find((m) => m.target === storeFolder);
    assert.ok(mount, `a volume at ${storeFolder}`);
    assert.ok(mount.source in (compose.volumes ?? {}), `${mount.source} is a named volume`);
    assert.ok(!mount.readOnly);
  });

  it("points auth-sidecar-redis at the redis service by REDIS_URL from .env; its config is the lowdb sidecar's with the Redis store", async () => {
    const example = Object.fromEntries(envExample());
    const url = new URL(example.REDIS_URL ?? '');
    assert.equal(url.protocol, 'redis:');
    assert.equal(url.hostname, redisName);
    assert.equal(url.port, '6379', "Redis's port, not published");
    assert.equal(url.password, example.REDIS_PASSWORD, 'the password Redis requires');
    const loaded = await configOf(redisSidecar, { REDIS_URL: url.href });
    assert.equal(loaded.config.store.driver, 'redis');
    assert.equal(loaded.config.store.url, url.href, 'env REDIS_URL overrides store.url');
    // Without REDIS_URL the config's own url (which cannot hold a password) names the same server.
    const { store } = (await configOf(redisSidecar)).config;
    assert.equal(store.driver === 'redis' ? new URL(store.url).host : store.driver, url.host);
    const lowdb = (await configOf(sidecar)).config;
    assert.deepEqual(
      { ...loaded.config, store: lowdb.store },
      lowdb,
      'the same rules and settings as the lowdb sidecar',
    );
    assert.deepEqual(dependenciesOf(redisSidecar).sort(), [backendName, redisName]);
    assert.deepEqual(redisSidecar.depends_on, {
      [backendName]: { condition: 'service_started' },
      [redisName]: { condition: 'service_healthy' },
    });
    const storeFolder = posix.join(workdirOf(runtime), posix.dirname(lowdbStorePathOf(bundled)));
    assert.ok(
      !(redisSidecar.volumes ?? []).map(parseMount).some((m) => m.target === storeFolder),
      'nothing of the store in the container',
    );
  });

  it('points UPSTREAM_URL at the echo backend service and the port it listens on', () => {
    for (const [name, service] of sidecars) {
      const upstream = new URL(envMap(service).UPSTREAM_URL ?? '');
      assert.equal(upstream.hostname, backendName, name);
      assert.equal(upstream.port, envMap(backend).PORT, name);
    }
    assert.equal(envMap(backend).HOST, '0.0.0.0', 'reachable from the sidecar container');
    assert.equal(backend.ports, undefined, 'the backend publishes no port: the sidecar is the way in');
  });

  it("publishes listen.port, the image's EXPOSE, on the host's loopback only, one host port per sidecar", async () => {
    const expose = onlyInstruction(runtime, 'EXPOSE').getArgumentsContent();
    assert.deepEqual(sidecar.ports, [`127.0.0.1:${expose}:${bundled.config.listen.port}`]);
    const redisListen = (await configOf(redisSidecar)).config.listen.port;
    assert.equal(String(redisListen), expose);
    assert.deepEqual(redisSidecar.ports, [`127.0.0.1:8081:${redisListen}`]);
  });

  it('runs every container with a read-only root filesystem, /tmp on tmpfs and no capabilities', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      assert.equal(service.read_only, true, `${name} read_only`);
      assert.deepEqual(service.tmpfs, ['/tmp'], `${name} tmpfs`);
      assert.deepEqual(service.cap_drop, ['ALL'], `${name} cap_drop`);
    }
    assert.ok((imageEnv.NODE_COMPILE_CACHE ?? '').startsWith('/tmp/'), 'the compile cache is on the tmpfs');
  });

  it('gives each sidecar longer than shutdown.delay and shutdown.grace to stop before SIGKILL', async () => {
    for (const [name, service] of sidecars) {
      const { delay: shutdownDelay, grace } = (await configOf(service)).config.shutdown;
      const period = seconds(service.stop_grace_period ?? '10s') * 1000;
      assert.ok(
        period > shutdownDelay + grace,
        `${name}: ${String(service.stop_grace_period)} > ${shutdownDelay + grace} ms`,
      );
    }
  });

  it('runs Redis from an official image pinned to a version, unpublished, as its redis user, on a named volume', () => {
    assert.match(redis.image ?? '', /^redis:\d+\.\d+(\.\d+)?-alpine$/);
    assert.equal(redis.ports, undefined, 'only the containers of the project reach it');
    assert.equal(redis.user, 'redis');
    const data = (redis.volumes ?? []).map(parseMount).find((m) => m.target === '/data');
    assert.ok(data && data.source in (compose.volumes ?? {}), '/data is a named volume');
    assert.ok(!data.readOnly);
  });

  it('gives Redis its password only from .env: passed through by name, in no file and no command line', () => {
    assert.deepEqual(redis.environment, ['REDIS_PASSWORD'], 'a name without a value');
    assert.equal(redis.env_file, undefined, 'Redis does not get JWT_SECRET');
    const script = unescape(redis.command?.[2] ?? '');
    assert.match(script, /^requirepass \$REDIS_PASSWORD$/m);
    assert.doesNotMatch(text, /redis:\/\/[^\s]*@/, 'no URL with credentials');
    const example = Object.fromEntries(envExample());
    for (const secret of [example.REDIS_PASSWORD, example.JWT_SECRET])
      assert.ok(secret && !text.includes(secret), 'no placeholder of .env.example here');
  });

  describe(
    "the redis service's command and healthcheck, run with this machine's redis-server",
    { skip: redisSkipReason },
    () => {
      let dir: string;
      let port: number;
      let server: ChildProcess | undefined;
      /** Letters and digits, as `openssl rand -hex 32` makes. */
      const password = 'a1b2c3d4'.repeat(8);
      const command = redis.command ?? [];
      const healthcheck = redis.healthcheck?.test ?? [];

      before(async () => {
        dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-compose-redis-'));
        port = await findFreePort();
        // redis-server and redis-cli of the PATH, on a private port instead of 6379.
        const bin = join(dir, 'bin');
        await mkdir(bin);
        await mkdir(join(dir, 'data'));
        await writeFile(
          join(bin, 'redis-server'),
          `#!/bin/sh\nexec ${REDIS_SERVER_BIN} "$@" --port ${port} --bind 127.0.0.1\n`,
        );
        const redisCli = join(dirname(REDIS_SERVER_BIN), 'redis-cli');
        await writeFile(join(bin, 'redis-cli'), `#!/bin/sh\nexec ${redisCli} -p ${port} "$@"\n`);
        await chmod(join(bin, 'redis-server'), 0o755);
        await chmod(join(bin, 'redis-cli'), 0o755);
      });
      after(async () => {
        if (server && server.exitCode === null) {
          server.kill('SIGKILL');
          await once(server, 'close');
        }
        await rm(dir, { recursive: true, force: true });
      });

      function run(argv: readonly string[], env: Record<string, string>): ChildProcess {
        const [file = '', ...args] = argv;
        return spawn(file === 'sh' ? '/bin/sh' : file, args, {
          cwd: join(dir, 'data'),
          env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      }

      async function finished(child: ChildProcess): Promise<{ code: number | null; output: string }> {
        let output = '';
        child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        const [code] = (await once(child, 'close')) as [number | null];
        return { code, output };
      }

      /** REDIS_URL as .env.example spells it, with this server's address and `secret`. */
      function urlOf(secret: string): string {
        const url = new URL(Object.fromEntries(envExample()).REDIS_URL ?? '');
        url.hostname = '127.0.0.1';
        url.port = String(port);
        url.password = secret;
        return url.href;
      }

      async function healthy(): Promise<boolean> {
        assert.equal(healthcheck[0], 'CMD-SHELL');
        const check = run(['sh', '-c', unescape(healthcheck[1] ?? '')], { REDIS_PASSWORD: password });
        return (await finished(check)).code === 0;
      }

      async function startServer(): Promise<void> {
        assert.deepEqual(command.slice(0, 2), ['sh', '-c']);
        server = run(['sh', '-c', unescape(command[2] ?? '')], { REDIS_PASSWORD: password });
        const deadline = Date.now() + 5000;
        while (!(await healthy())) {
          assert.equal(server.exitCode, null, 'redis-server exited');
          assert.ok(Date.now() < deadline, 'the healthcheck passes within 5 s');
          await delay(50);
        }
      }

      async function stopServer(): Promise<void> {
        const running = server;
        server = undefined;
        running?.kill('SIGTERM');
        if (running) await once(running, 'close');
      }

      it("refuses .env.example's placeholder password and an empty one", async () => {
        for (const value of [Object.fromEntries(envExample()).REDIS_PASSWORD ?? '', '', 'abc']) {
          const result = await finished(
            run(['sh', '-c', unescape(command[2] ?? '')], { REDIS_PASSWORD: value }),
          );
          assert.equal(result.code, 2, `REDIS_PASSWORD=${value}`);
          assert.match(result.output, /openssl rand -hex 32/);
        }
      });

      it('requires the password, and the sidecar connects with REDIS_URL as .env.example spells it', async () => {
        await startServer();
        const anonymous = await finished(run(['redis-cli', 'ping'], {}));
        assert.match(anonymous.output, /NOAUTH/);
        assert.equal(await healthy(), true);
        const client = await connectRedisClient(urlOf(password));
        try {
          assert.equal(await client.ping(), 'PONG');
          assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
          await client.set('auth-sidecar:survives', 'yes');
        } finally {
          client.disconnect();
        }
      });

      it('keeps what it stores across a restart (append-only file in its data folder)', async () => {
        await stopServer();
        assert.ok((await readdir(join(dir, 'data'))).includes('appendonlydir'));
        await startServer();
        const client = await connectRedisClient(urlOf(password));
        try {
          assert.equal(await client.get('auth-sidecar:survives'), 'yes');
        } finally {
          client.disconnect();
        }
        await stopServer();
      });
    },
  );

  it("the echo backend's command answers on HOST and PORT, and passes the image's HEALTHCHECK", async () => {
    const command = backend.command ?? [];
    const env = { ...envMap(backend), HOST: '127.0.0.1', PORT: String(await findFreePort()) };
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
