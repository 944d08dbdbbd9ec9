import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig, resolveConfigPath, type Env, type LoadedConfig } from '../../src/config/load.js';
import { expectedPrefix, INVALID_FIXTURES } from '../helpers/config-fixtures.js';

/** Fixtures stay in the source tree; this file runs from dist/test/unit/. */
function fixture(name: string): string {
  return fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));
}

/** 48 bytes; only ever used by tests. */
const SECRET = 'config-test-secret-config-test-secret-config-te!';
const WITH_SECRET: Env = { JWT_SECRET: SECRET };

/** Loads and expects a ConfigError, which it returns. */
async function loadError(options: Parameters<typeof loadConfig>[0]): Promise<ConfigError> {
  try {
    await loadConfig(options);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected loadConfig to throw a ConfigError');
}

const DEFAULT_CONFIG = {
  listen: { host: '0.0.0.0', port: 8080 },
  upstream: { url: 'http://127.0.0.1:3000', timeout: 30_000, maxConnections: 256, queueTimeout: 5_000 },
  store: { driver: 'lowdb', path: 'data/auth-sidecar.json' },
  tokens: {
    issuer: 'auth-sidecar',
    audience: 'upstream',
    accessTtl: 15 * 60_000,
    refreshTtl: 7 * 86_400_000,
    leeway: 30_000,
    maxSessions: 50,
    cacheSize: 10_000,
  },
  passwords: { bcryptCost: 12, minLength: 8, workers: 2, queue: 64, queuePerClient: 8 },
  registration: { enabled: true, defaultRoles: ['user'] },
  identity: {
    userHeader: 'X-User',
    idHeader: 'X-User-Id',
    rolesHeader: 'X-User-Roles',
    forwardBearerToken: false,
  },
  forwardAuth: { headers: 'original' },
  browser: {
    enabled: true,
    title: 'Sign in',
    cookie: { name: 'auth-sidecar', secure: true, sameSite: 'lax' },
    session: { idleTimeout: 30 * 60_000, maxAge: 12 * 3_600_000 },
    trustedOrigins: [],
  },
  default: 'deny',
  rules: [],
  tests: [],
  match: { caseInsensitive: false, allowEncodedPercent: false, allowNonNfkcPaths: false },
  trustProxy: [],
  limits: {
    login: { perUsername: 5, perIp: 50, window: 15 * 60_000 },
    register: { perIp: 10, window: 3_600_000 },
    refresh: { perSession: 10, perUser: 60, window: 60_000 },
    passwordChange: { perUser: 5, window: 15 * 60_000 },
    passwordChecks: { perClient: 300, perUser: 30, window: 15 * 60_000 },
    proxy: { perClient: 64, bodyTimeout: 10_000, bodyMinRate: 1024, sendTimeout: 30_000 },
    ipv6Prefix: 64,
  },
  websocket: { queryToken: false, recheck: 60_000 },
  metrics: { enabled: true, onPublicPort: false },
  shutdown: { delay: 0, grace: 20_000 },
  log: { level: 'info' },
};

describe('loadConfig', () => {
  let tempDir: string;
  /** Writes `text` to a fresh file in the temp folder and returns its path. */
  let tempFile: (text: string) => Promise<string>;

  before(async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'auth-sidecar-config-'));
    let count = 0;
    tempFile = async (text) => {
      const path = join(tempDir, `config-${++count}.yaml`);
      await writeFile(path, text);
      return path;
    };
  });
  after(async () => {
    await rm(tempDir, { recursive: true, force: true });
  });

  describe('a valid file', () => {
    it('is read with every value it sets, durations in milliseconds', async () => {
      const file = fixture('valid.yaml');
      const loaded = await loadConfig({ path: file, env: WITH_SECRET });
      assert.equal(loaded.file, file);
      assert.deepEqual(loaded.config, {
        listen: { host: '127.0.0.1', port: 18080 },
        upstream: { url: 'http://127.0.0.1:3001', timeout: 45_000, maxConnections: 256, queueTimeout: 5_000 },
        store: { driver: 'lowdb', path: 'data/valid-store.json' },
        tokens: {
          issuer: 'valid-issuer',
          audience: 'valid-audience',
          accessTtl: 15 * 60_000,
          refreshTtl: 7 * 86_400_000,
          leeway: 500,
          maxSessions: 50,
          cacheSize: 500,
        },
        passwords: { bcryptCost: 10, minLength: 10, workers: 1, queue: 8, queuePerClient: 8 },
        registration: { enabled: false, defaultRoles: ['reader'] },
        identity: {
          userHeader: 'X-Auth-User',
          idHeader: 'X-Auth-User-Id',
          rolesHeader: 'X-Auth-Roles',
          forwardBearerToken: false,
        },
        forwardAuth: { headers: 'original' },
        browser: {
          enabled: true,
          title: 'Example Corp',
          cookie: { name: 'corp-session', secure: true, sameSite: 'strict' },
          session: { idleTimeout: 10 * 60_000, maxAge: 8 * 3_600_000 },
          trustedOrigins: ['https://admin.example.com'],
        },
        default: 'authenticated',
        rules: [
          { path: '/public/**', public: true },
          { path: '/admin/**', roles: ['admin'] },
          { path: '/api/reports/*', methods: ['GET', 'HEAD'], roles: ['analyst', 'admin'] },
          { path: '/api/**', authenticated: true },
        ],
        tests: [
          { request: { method: 'GET', target: '/ADMIN/users' }, as: { roles: ['admin'] }, expect: 'forward' },
          { request: { method: 'GET', target: '/public/x' }, as: { roles: [] }, expect: 'forward' },
          { request: { method: 'DELETE', target: '/other' }, expect: 401 },
        ],
        match: { caseInsensitive: true, allowEncodedPercent: true, allowNonNfkcPaths: true },
        trustProxy: ['10.0.0.0/8', '127.0.0.1'],
        limits: {
          login: { perUsername: 3, perIp: 20, window: 10 * 60_000 },
          register: { perIp: 4, window: 2 * 3_600_000 },
          refresh: { perSession: 10, perUser: 60, window: 60_000 },
          passwordChange: { perUser: 5, window: 15 * 60_000 },
          passwordChecks: { perClient: 300, perUser: 30, window: 15 * 60_000 },
          proxy: { perClient: 64, bodyTimeout: 10_000, bodyMinRate: 1024, sendTimeout: 30_000 },
          ipv6Prefix: 64,
        },
        websocket: { queryToken: true, recheck: 30_000 },
        metrics: { enabled: false, onPublicPort: false },
        shutdown: { delay: 2000, grace: 10_000 },
        log: { level: 'warn' },
      });
    });

    it('carries the signing secret from env JWT_SECRET as bytes', async () => {
      const loaded = await loadConfig({ path: fixture('valid.yaml'), env: WITH_SECRET });
      assert.ok(loaded.jwtSecret);
      assert.equal(loaded.jwtSecret.toString('utf8'), SECRET);
    });

    it('an empty file is valid and gets every default: default deny, no rules', async () => {
      const loaded = await loadConfig({ path: await tempFile(''), env: WITH_SECRET });
      assert.deepEqual(loaded.config, DEFAULT_CONFIG);
    });

    it('a file of only comments is valid and gets every default', async () => {
      const loaded = await loadConfig({ path: await tempFile('# nothing set\n'), env: WITH_SECRET });
      assert.deepEqual(loaded.config, DEFAULT_CONFIG);
    });

    it('a partly filled section gets the defaults of the keys it leaves out', async () => {
      const loaded = await loadConfig({
        path: await tempFile('tokens:\n  accessTtl: 5m\n'),
        env: WITH_SECRET,
      });
      assert.deepEqual(loaded.config.tokens, { ...DEFAULT_CONFIG.tokens, accessTtl: 5 * 60_000 });
      assert.deepEqual(loaded.config.listen, DEFAULT_CONFIG.listen);
    });

    it('accepts a bcrypt cost of exactly 10', async () => {
      const loaded = await loadConfig({
        path: await tempFile('passwords: { bcryptCost: 10 }\n'),
        env: WITH_SECRET,
      });
      assert.equal(loaded.config.passwords.bcryptCost, 10);
    });
  });

  describe('durations', () => {
    const accepted: [string, string, number][] = [
      ['seconds are read as 1000 ms each', '30s', 30_000],
      ['minutes are read as 60 s each', '15m', 15 * 60_000],
      ['hours are read as 60 min each', '12h', 12 * 3_600_000],
      ['days are read as 24 h each', '7d', 7 * 86_400_000],
      ['milliseconds are read as they are', '500ms', 500],
    ];
    for (const [name, text, ms] of accepted) {
      it(name, async () => {
        const loaded = await loadConfig({
          path: await tempFile(`upstream:\n  timeout: ${text}\n`),
          env: WITH_SECRET,
        });
        assert.equal(loaded.config.upstream.timeout, ms);
      });
    }

    const refused: [string, string][] = [
      ['a bare number is refused', '30'],
      ['a number without a unit is refused even when quoted', '"30"'],
      ['an unknown unit is refused', '2w'],
      ['words are refused', 'thirty seconds'],
    ];
    for (const [name, text] of refused) {
      it(name, async () => {
        const file = await tempFile(`# a duration\nupstream:\n  timeout: ${text}\n`);
        const err = await loadError({ path: file, env: WITH_SECRET });
        assert.match(
          err.message,
          new RegExp(`^${escape(file)}:3 upstream\\.timeout: expected a duration`, 'm'),
        );
      });
    }
  });

  describe('an invalid file', () => {
    for (const { name, file, problems } of INVALID_FIXTURES) {
      it(`reports ${name} with its file and line${problems.every((p) => p.key) ? ' and key path' : ''}`, async () => {
        const path = fixture(file);
        const err = await loadError({ path, env: WITH_SECRET });
        for (const expected of problems) {
          const found = err.problems.find(
            (problem) =>
              problem.source === path &&
              problem.key === expected.key &&
              expected.message.test(problem.message),
          );
          assert.ok(found, `no problem for ${expected.key ?? '(whole file)'} in:\n${err.message}`);
          assert.equal(
            found.line,
            expected.line,
            `line of ${expected.key ?? '(whole file)'}:\n${err.message}`,
          );
          assert.ok(
            err.message.split('\n').some((line) => line.startsWith(expectedPrefix(path, expected))),
            `no line starting with "${expectedPrefix(path, expected)}" in:\n${err.message}`,
          );
        }
      });
    }

    it('reports every problem of a file, not just the first', async () => {
      const err = await loadError({ path: fixture('invalid-several-problems.yaml'), env: WITH_SECRET });
      const keys = err.problems.map((problem) => problem.key);
      for (const key of [
        'listen.port',
        'upstream.timout',
        'passwords.bcryptCost',
        'rules[0].path',
        'rules[1].roles',
      ]) {
        assert.ok(keys.includes(key), `${key} missing from:\n${err.message}`);
      }
      assert.equal(err.message.split('\n').length, err.problems.length);
    });

    it('reports the file problems and the environment problems together', async () => {
      const err = await loadError({
        path: fixture('invalid-several-problems.yaml'),
        env: { PORT: 'eighty', UPSTREAM_URL: 'ftp://example.com' },
      });
      const sources = err.problems.map((problem) => problem.source);
      assert.ok(sources.includes(fixture('invalid-several-problems.yaml')));
      for (const name of ['PORT', 'UPSTREAM_URL', 'JWT_SECRET']) {
        assert.ok(
          err.problems.some((problem) => problem.source.includes(name)),
          `${name} missing from:\n${err.message}`,
        );
      }
    });

    it('reports a value of the wrong type as such, not as a missing key', async () => {
      const file = await tempFile('listen:\n  host: 5\n');
      const err = await loadError({ path: file, env: WITH_SECRET });
      const problem = err.problems.find((p) => p.key === 'listen.host');
      assert.ok(problem, err.message);
      assert.equal(problem.line, 2);
      assert.notEqual(problem.message, 'required', `a present value of the wrong type: ${err.message}`);
      assert.match(problem.message, /expected a string/);
    });

    it('reports a missing file as a ConfigError naming the file', async () => {
      const path = join(tempDir, 'does-not-exist.yaml');
      const err = await loadError({ path, env: WITH_SECRET });
      assert.match(err.message, new RegExp(`^${escape(path)}\\b`));
    });
  });

  describe('where the file is looked for', () => {
    const cases: [string, string | undefined, Env, string][] = [
      [
        '--config wins over env AUTH_SIDECAR_CONFIG',
        'cli.yaml',
        { AUTH_SIDECAR_CONFIG: 'env.yaml' },
        'cli.yaml',
      ],
      [
        'env AUTH_SIDECAR_CONFIG is used without --config',
        undefined,
        { AUTH_SIDECAR_CONFIG: 'env.yaml' },
        'env.yaml',
      ],
      ['config/auth-sidecar.yaml is the default', undefined, {}, 'config/auth-sidecar.yaml'],
    ];
    for (const [name, cliPath, env, expected] of cases) {
      it(name, () => {
        assert.equal(resolveConfigPath(cliPath, env), expected);
      });
    }

    it('loadConfig reads the file named by env AUTH_SIDECAR_CONFIG', async () => {
      const file = await tempFile('default: authenticated\n');
      const loaded = await loadConfig({ env: { ...WITH_SECRET, AUTH_SIDECAR_CONFIG: file } });
      assert.equal(loaded.file, file);
      assert.equal(loaded.config.default, 'authenticated');
    });

    it('loadConfig prefers the path option over env AUTH_SIDECAR_CONFIG', async () => {
      const fromEnv = await tempFile('default: authenticated\n');
      const loaded = await loadConfig({
        path: fixture('valid.yaml'),
        env: { ...WITH_SECRET, AUTH_SIDECAR_CONFIG: fromEnv },
      });
      assert.equal(loaded.file, fixture('valid.yaml'));
      assert.equal(loaded.config.listen.port, 18080);
    });
  });

  describe('the environment', () => {
    it('env PORT overrides listen.port', async () => {
      const loaded = await loadConfig({ path: fixture('valid.yaml'), env: { ...WITH_SECRET, PORT: '9091' } });
      assert.equal(loaded.config.listen.port, 9091);
      assert.equal(loaded.config.listen.host, '127.0.0.1');
    });

    it('env UPSTREAM_URL overrides upstream.url', async () => {
      const loaded = await loadConfig({
        path: fixture('valid.yaml'),
        env: { ...WITH_SECRET, UPSTREAM_URL: 'https://backend.internal:8443' },
      });
      assert.equal(loaded.config.upstream.url, 'https://backend.internal:8443');
      assert.equal(loaded.config.upstream.timeout, 45_000);
    });

    it('without PORT and UPSTREAM_URL the file values stay', async () => {
      const loaded = await loadConfig({ path: fixture('valid.yaml'), env: WITH_SECRET });
      assert.equal(loaded.config.listen.port, 18080);
      assert.equal(loaded.config.upstream.url, 'http://127.0.0.1:3001');
    });

    const invalid: [string, string, string][] = [
      ['a PORT that is not a number is an error naming PORT', 'PORT', 'http'],
      ['a PORT above 65535 is an error naming PORT', 'PORT', '65536'],
      ['a negative PORT is an error naming PORT', 'PORT', '-1'],
      ['a fractional PORT is an error naming PORT', 'PORT', '80.5'],
      [
        'an UPSTREAM_URL with another scheme is an error naming UPSTREAM_URL',
        'UPSTREAM_URL',
        'ftp://example.com',
      ],
      ['an UPSTREAM_URL that is not a URL is an error naming UPSTREAM_URL', 'UPSTREAM_URL', 'not a url'],
      ['an UPSTREAM_URL without a scheme is an error naming UPSTREAM_URL', 'UPSTREAM_URL', '127.0.0.1:3000'],
    ];
    for (const [name, variable, value] of invalid) {
      it(name, async () => {
        const err = await loadError({
          path: fixture('valid.yaml'),
          env: { ...WITH_SECRET, [variable]: value },
        });
        assert.equal(err.problems.length, 1, err.message);
        assert.match(err.message, new RegExp(`\\b${variable}\\b`));
      });
    }

    const refusedSecrets: [string, string | undefined][] = [
      ['a missing JWT_SECRET is refused', undefined],
      ['an empty JWT_SECRET is refused', ''],
      ['a JWT_SECRET of 31 bytes is refused', 'x'.repeat(31)],
      ['a JWT_SECRET of 31 bytes in 16 characters is refused (bytes are counted)', 'é'.repeat(15) + 'x'],
    ];
    for (const [name, secret] of refusedSecrets) {
      it(name, async () => {
        const env: Env = secret === undefined ? {} : { JWT_SECRET: secret };
        const err = await loadError({ path: fixture('valid.yaml'), env });
        assert.equal(err.problems.length, 1, err.message);
        assert.match(err.message, /\bJWT_SECRET\b/);
        assert.match(err.message, /32 bytes/);
      });
    }

    const acceptedSecrets: [string, string][] = [
      ['a JWT_SECRET of exactly 32 bytes is accepted', 'y'.repeat(32)],
      ['a JWT_SECRET of 32 bytes in 16 two-byte characters is accepted', 'é'.repeat(16)],
    ];
    for (const [name, secret] of acceptedSecrets) {
      it(name, async () => {
        const loaded = await loadConfig({ path: fixture('valid.yaml'), env: { JWT_SECRET: secret } });
        assert.deepEqual(loaded.jwtSecret, Buffer.from(secret, 'utf8'));
      });
    }

    it('never reads the secret from the YAML: a jwtSecret key is an unknown key', async () => {
      const file = await tempFile(`jwtSecret: ${'z'.repeat(40)}\n`);
      const err = await loadError({ path: file, env: {} });
      assert.ok(
        err.problems.some((problem) => problem.key === 'jwtSecret' && /unknown key/.test(problem.message)),
      );
      assert.ok(err.problems.some((problem) => problem.source.includes('JWT_SECRET')));
    });

    it('with requireSecret false a file loads without JWT_SECRET', async () => {
      const loaded = await loadConfig({ path: fixture('valid.yaml'), env: {}, requireSecret: false });
      assert.equal(loaded.jwtSecret, undefined);
      assert.equal(loaded.config.rules.length, 4);
    });
  });

  describe('the loaded config', () => {
    let loaded: LoadedConfig;
    before(async () => {
      loaded = await loadConfig({ path: fixture('valid.yaml'), env: { ...WITH_SECRET, PORT: '9092' } });
    });

    it('is frozen all the way down', () => {
      const unfrozen: string[] = [];
      const walk = (value: unknown, path: string) => {
        if (typeof value !== 'object' || value === null || Buffer.isBuffer(value)) return;
        if (!Object.isFrozen(value)) unfrozen.push(path);
        for (const [key, child] of Object.entries(value)) walk(child, `${path}.${key}`);
      };
      walk(loaded, 'loaded');
      assert.deepEqual(unfrozen, []);
    });

    const mutations: [string, (config: LoadedConfig) => void][] = [
      ['a top-level value cannot be replaced', (l) => Object.assign(l.config, { default: 'authenticated' })],
      ['a nested value cannot be changed', (l) => (l.config.listen.port = 1)],
      ['an overridden section cannot be changed', (l) => (l.config.upstream.url = 'http://evil.example')],
      ['a rule cannot be added', (l) => l.config.rules.push({ path: '/x', public: true })],
      ['a rule cannot be changed', (l) => (l.config.rules[1]!.roles = ['user'])],
      ['a rule role list cannot be changed', (l) => l.config.rules[1]!.roles!.push('user')],
      ['the default roles cannot be changed', (l) => l.config.registration.defaultRoles.push('admin')],
    ];
    for (const [name, mutate] of mutations) {
      it(name, () => {
        assert.throws(() => mutate(loaded), TypeError);
      });
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
