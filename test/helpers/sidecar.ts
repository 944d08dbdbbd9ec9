import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { buildDeps, type Deps } from '../../src/deps.js';
import { createLogger } from '../../src/log/logger.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { LogCapture } from './log-capture.js';

/** 48 bytes, well over the 32-byte minimum; only ever used by tests. */
export const TEST_JWT_SECRET = 'test-secret-test-secret-test-secret-test-secret!';

export interface SidecarOptions {
  /** Merged over the test defaults and written to a real YAML file. */
  readonly config?: Record<string, unknown>;
  readonly upstreamUrl?: string;
  /** An existing data folder, to restart a sidecar on the same store. */
  readonly dataDir?: string;
  readonly now?: () => number;
}

export interface TestSidecar {
  readonly url: string;
  readonly deps: Deps;
  readonly logs: LogCapture;
  readonly dataDir: string;
  readonly storePath: string;
  readonly server: RunningServer;
  /** Stops the server; keeps the data folder unless `removeData` is true. */
  stop(options?: { removeData?: boolean }): Promise<void>;
}

/** The default rule table of the tests: the example config's rules. */
export const TEST_RULES = [
  { path: '/public/**', public: true },
  { path: '/admin/**', roles: ['admin'] },
  { path: '/api/reports/**', methods: ['GET', 'HEAD'], roles: ['analyst', 'admin'] },
  { path: '/api/**', authenticated: true },
];

/** Cheap hashing, and a bcrypt queue share no test meets unless it sets one. */
const TEST_PASSWORDS = { bcryptCost: 10, minLength: 8, queuePerClient: 100_000 };

/** Generous, so that only the rate-limit tests meet a limit. */
const TEST_LIMITS = {
  login: { perUsername: 1000, perIp: 100_000 },
  register: { perIp: 100_000 },
  passwordChecks: { perClient: 100_000, perUser: 100_000 },
};

/** A real sidecar on 127.0.0.1 port 0, built from a real config file, with its logs captured. */
export async function startSidecar(options: SidecarOptions = {}): Promise<TestSidecar> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'auth-sidecar-test-')));
  const storePath = join(dataDir, 'store.json');
  const config = {
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { url: options.upstreamUrl ?? 'http://127.0.0.1:9', timeout: '5s' },
    store: { driver: 'lowdb', path: storePath },
    rules: TEST_RULES,
    ...options.config,
    // Merged one level deep: a test that sets some of these keeps the generous rest.
    passwords: { ...TEST_PASSWORDS, ...(options.config?.passwords as object | undefined) },
    limits: { ...TEST_LIMITS, ...(options.config?.limits as object | undefined) },
  };
  const configPath = join(dataDir, 'auth-sidecar.yaml');
  await writeFile(configPath, stringify(config));
  const loaded = await loadConfig({ path: configPath, env: { JWT_SECRET: TEST_JWT_SECRET } });
  const logs = new LogCapture();
  const logger = createLogger({ level: 'info', destination: logs });
  const deps = await buildDeps({ loaded, logger, ...(options.now ? { now: options.now } : {}) });
  const server = await startServer(deps, loaded.config.listen);
  return {
    url: server.url,
    deps,
    logs,
    dataDir,
    storePath,
    server,
    async stop({ removeData = false } = {}) {
      await server.close({ graceMs: 1000 });
      if (removeData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface SeededUser {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
  /** An access token issued by the sidecar for this user, as a login would give. */
  readonly token: string;
}

/** Creates a user straight in the sidecar's store and issues it an access token. */
export async function seedUser(
  sidecar: TestSidecar,
  username: string,
  roles: readonly string[] = ['user'],
): Promise<SeededUser> {
  const result = await sidecar.deps.store.users.create({ username, roles, passwordHash: 'unusable' });
  if (!result.created) throw new Error(`seedUser: ${username} exists`);
  const { user } = result;
  const { token } = sidecar.deps.accessTokens.issue({ ...user, tokenVersion: user.tokenVersion });
  return { id: user.id, username: user.username, roles: user.roles, token };
}
