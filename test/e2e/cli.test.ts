import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  findFreePort,
  makeWorkDir,
  placeFile,
  placeFixture,
  removeWorkDir,
  REPO_ROOT,
  runCli,
  startServe,
  type ServeProcess,
} from '../helpers/cli-process.js';
import { findReportedLine, INVALID_FIXTURES } from '../helpers/config-fixtures.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** 48 bytes; only ever used by tests. */
const JWT_SECRET = 'e2e-cli-secret-e2e-cli-secret-e2e-cli-secret-e2!';
const CONFIG = 'config/auth-sidecar.yaml';
const PASSWORD = 'correct-horse-battery';

/** Safety net so a hung child fails the test instead of the run; not a timing assertion. */
const SLOW = { timeout: 60_000 };

describe('auth-sidecar CLI', () => {
  let cwd: string;
  const running: ServeProcess[] = [];

  beforeEach(async () => {
    cwd = await makeWorkDir();
  });
  afterEach(async () => {
    for (const serve of running.splice(0)) await serve.kill();
    await removeWorkDir(cwd);
  });

  /** Starts `serve` and polls /readyz on env PORT until it answers 200. */
  async function startSidecarProcess(env: Record<string, string>, args: string[] = ['serve']) {
    const serve = startServe(args, { cwd, env });
    running.push(serve);
    const baseUrl = `http://127.0.0.1:${env.PORT}`;
    await serve.waitForReady(baseUrl);
    return { serve, baseUrl };
  }

  async function stopWithSigterm(serve: ServeProcess) {
    serve.child.kill('SIGTERM');
    return serve.exited;
  }

  describe('usage', () => {
    it('--help exits 0 and prints the usage', async () => {
      const result = await runCli(['--help'], { cwd });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Usage: auth-sidecar/);
      for (const word of ['serve', 'check-config', 'user add', '--config', '--password-stdin']) {
        assert.ok(result.stdout.includes(word), `usage lacks ${word}`);
      }
    });

    it('--version exits 0 and prints the version of package.json', async () => {
      const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as {
        version: string;
      };
      const result = await runCli(['--version'], { cwd });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), version);
    });

    const misuses: [string, string[]][] = [
      ['an unknown command exits 2', ['frobnicate']],
      ['an unknown flag exits 2', ['--frobnicate']],
      ['an unknown flag after a known command exits 2', ['check-config', '--frobnicate']],
      ['a known command with an extra word exits 2', ['serve', 'now']],
    ];
    for (const [name, args] of misuses) {
      it(name, async () => {
        const result = await runCli(args, { cwd, env: { JWT_SECRET } });
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, /frobnicate|now/);
        assert.match(result.stderr, /Usage: auth-sidecar/);
      });
    }
  });

  describe('check-config', () => {
    it('exits 0 with a short ok line for a valid file, without JWT_SECRET', async () => {
      await placeFixture(cwd, 'valid.yaml', CONFIG);
      const result = await runCli(['check-config', '--config', CONFIG], { cwd, env: {} });
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.trim().split('\n');
      assert.equal(lines.length, 1, result.stdout);
      assert.match(lines[0] ?? '', /^config\/auth-sidecar\.yaml: ok\b/);
      assert.equal(result.stderr, '');
    });

    for (const { name, file, problems } of INVALID_FIXTURES) {
      it(`exits 1 and reports ${name} as ${problems.every((p) => p.key) ? 'file:line key: message' : 'file:line message'}`, async () => {
        await placeFixture(cwd, file, CONFIG);
        const result = await runCli(['check-config', '--config', CONFIG], { cwd, env: {} });
        assert.equal(result.code, 1, result.stderr);
        for (const problem of problems) {
          assert.ok(
            findReportedLine(result.stderr, CONFIG, problem),
            `expected a line "${CONFIG}:${problem.line} ${problem.key ?? ''}..." in:\n${result.stderr}`,
          );
        }
      });
    }
  });

  describe('where the config file is looked for', () => {
    it('uses config/auth-sidecar.yaml in the working directory by default', async () => {
      await placeFixture(cwd, 'valid.yaml', CONFIG);
      const result = await runCli(['check-config'], { cwd, env: {} });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^config\/auth-sidecar\.yaml: ok/);
    });

    it('uses env AUTH_SIDECAR_CONFIG when --config is not given', async () => {
      await placeFixture(cwd, 'invalid-roles-not-array.yaml', CONFIG);
      await placeFixture(cwd, 'valid.yaml', 'elsewhere/from-env.yaml');
      const result = await runCli(['check-config'], {
        cwd,
        env: { AUTH_SIDECAR_CONFIG: 'elsewhere/from-env.yaml' },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^elsewhere\/from-env\.yaml: ok/);
    });

    it('prefers --config over env AUTH_SIDECAR_CONFIG', async () => {
      await placeFixture(cwd, 'invalid-roles-not-array.yaml', 'elsewhere/from-env.yaml');
      await placeFixture(cwd, 'valid.yaml', 'elsewhere/from-flag.yaml');
      const result = await runCli(['check-config', '--config', 'elsewhere/from-flag.yaml'], {
        cwd,
        env: { AUTH_SIDECAR_CONFIG: 'elsewhere/from-env.yaml' },
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^elsewhere\/from-flag\.yaml: ok/);
    });

    it('names the default file when there is none', async () => {
      const result = await runCli(['check-config'], { cwd, env: {} });
      assert.equal(result.code, 1);
      assert.match(result.stderr, /config\/auth-sidecar\.yaml/);
    });
  });

  describe('serve refuses to start', () => {
    it('exits 2 on an invalid file, naming file, line and key', async () => {
      await placeFixture(cwd, 'invalid-roles-not-array.yaml', CONFIG);
      const result = await runCli(['serve'], { cwd, env: { JWT_SECRET } });
      assert.equal(result.code, 2, result.stderr);
      assert.ok(
        result.stderr
          .split('\n')
          .includes('config/auth-sidecar.yaml:14 rules[2].roles: expected an array of strings'),
        result.stderr,
      );
    });

    it('exits 2 and reports every problem of the file, not just the first', async () => {
      await placeFixture(cwd, 'invalid-several-problems.yaml', CONFIG);
      const result = await runCli([], { cwd, env: { JWT_SECRET } });
      assert.equal(result.code, 2, result.stderr);
      const several = INVALID_FIXTURES.find((fixture) => fixture.file === 'invalid-several-problems.yaml');
      assert.ok(several);
      for (const problem of several.problems) {
        assert.ok(
          findReportedLine(result.stderr, CONFIG, problem),
          `${problem.key ?? ''}:\n${result.stderr}`,
        );
      }
    });

    it('exits 2 on a YAML syntax error, naming file and line', async () => {
      await placeFixture(cwd, 'invalid-yaml-syntax.yaml', CONFIG);
      const result = await runCli(['serve'], { cwd, env: { JWT_SECRET } });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^config\/auth-sidecar\.yaml:4 /m);
    });

    const badEnv: [string, Record<string, string>, RegExp][] = [
      ['exits 2 without JWT_SECRET, naming JWT_SECRET', {}, /\bJWT_SECRET\b/],
      ['exits 2 with an empty JWT_SECRET, naming JWT_SECRET', { JWT_SECRET: '' }, /\bJWT_SECRET\b/],
      [
        'exits 2 with a 31-byte JWT_SECRET, naming JWT_SECRET',
        { JWT_SECRET: 's'.repeat(31) },
        /\bJWT_SECRET\b/,
      ],
      ['exits 2 with a PORT that is not a port, naming PORT', { JWT_SECRET, PORT: 'http' }, /\bPORT\b/],
      ['exits 2 with a PORT above 65535, naming PORT', { JWT_SECRET, PORT: '65536' }, /\bPORT\b/],
      [
        'exits 2 with an UPSTREAM_URL that is not http(s), naming UPSTREAM_URL',
        { JWT_SECRET, UPSTREAM_URL: 'ftp://example.com' },
        /\bUPSTREAM_URL\b/,
      ],
    ];
    for (const [name, env, mention] of badEnv) {
      it(name, async () => {
        await placeFixture(cwd, 'valid.yaml', CONFIG);
        const result = await runCli(['serve'], { cwd, env });
        assert.equal(result.code, 2, result.stderr);
        assert.match(result.stderr, mention);
        assert.equal(result.stdout, '', 'nothing is started, so nothing is logged');
      });
    }
  });

  describe('serve', () => {
    let upstream: TestUpstream;
    before(async () => {
      upstream = await startUpstream();
    });
    after(async () => {
      await upstream.close();
    });

    it('listens on env PORT over listen.port, answers /healthz and exits 0 on SIGTERM', SLOW, async () => {
      const filePort = await findFreePort();
      const port = await findFreePort();
      const valid = await readFile(join(REPO_ROOT, 'test/fixtures/valid.yaml'), 'utf8');
      await placeFile(cwd, CONFIG, valid.replace('port: 18080', `port: ${filePort}`));

      const { serve, baseUrl } = await startSidecarProcess({ JWT_SECRET, PORT: String(port) });
      const health = await fetch(`${baseUrl}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok' });

      const { code, signal } = await stopWithSigterm(serve);
      assert.equal(signal, null);
      assert.equal(code, 0, serve.stderr());
    });

    it('forwards to env UPSTREAM_URL over upstream.url', SLOW, async () => {
      await placeFixture(cwd, 'valid.yaml', CONFIG);
      const port = await findFreePort();
      const countBefore = upstream.requests.length;
      const { serve, baseUrl } = await startSidecarProcess({
        JWT_SECRET,
        PORT: String(port),
        UPSTREAM_URL: upstream.url,
      });
      const response = await fetch(`${baseUrl}/public/hello?x=1`);
      assert.equal(response.status, 200);
      assert.equal(upstream.requests.length, countBefore + 1);
      assert.equal(upstream.requests.at(-1)?.url, '/public/hello?x=1');

      const { code } = await stopWithSigterm(serve);
      assert.equal(code, 0, serve.stderr());
    });
  });

  describe('user add', () => {
    it('creates a user who can then log in, refuses the same name twice', SLOW, async () => {
      await placeFixture(cwd, 'valid.yaml', CONFIG);

      const added = await runCli(
        ['user', 'add', '--username', 'Root.Admin', '--role', 'admin', '--role', 'ops', '--password-stdin'],
        { cwd, env: {}, stdin: `${PASSWORD}\n` },
      );
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /root\.admin/);

      const store = JSON.parse(await readFile(join(cwd, 'data/valid-store.json'), 'utf8')) as {
        users: { username: string; roles: string[]; passwordHash: string }[];
      };
      assert.equal(store.users.length, 1);
      assert.equal(store.users[0]?.username, 'root.admin');
      assert.deepEqual(store.users[0]?.roles, ['admin', 'ops']);
      assert.ok(!JSON.stringify(store).includes(PASSWORD), 'the password is stored only as a hash');

      const again = await runCli(
        ['user', 'add', '--username', 'root.admin', '--role', 'user', '--password-stdin'],
        {
          cwd,
          env: {},
          stdin: 'another-password-1',
        },
      );
      assert.equal(again.code, 1, again.stderr);
      assert.match(again.stderr, /root\.admin/);

      const otherSpelling = await runCli(
        ['user', 'add', '--username', 'ROOT.ADMIN', '--role', 'user', '--password-stdin'],
        { cwd, env: {}, stdin: 'another-password-1' },
      );
      assert.equal(otherSpelling.code, 1, otherSpelling.stderr);

      const port = await findFreePort();
      const { serve, baseUrl } = await startSidecarProcess({ JWT_SECRET, PORT: String(port) });
      const login = await fetch(`${baseUrl}/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'root.admin', password: PASSWORD }),
      });
      assert.equal(login.status, 200, await login.clone().text());
      const session = (await login.json()) as { accessToken: string };
      assert.equal(typeof session.accessToken, 'string');

      const me = await fetch(`${baseUrl}/auth/me`, {
        headers: { Authorization: `Bearer ${session.accessToken}` },
      });
      assert.equal(me.status, 200);
      const body = (await me.json()) as { username: string; roles: string[] };
      assert.equal(body.username, 'root.admin');
      assert.deepEqual(body.roles, ['admin', 'ops']);

      const { code } = await stopWithSigterm(serve);
      assert.equal(code, 0, serve.stderr());
    });
  });
});
