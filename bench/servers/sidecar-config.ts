/**
 * The sidecar configuration the bench runs: twenty rules of the kind a real deployment has, with
 * the rules the scenarios hit placed where a first-match search has to walk past most others.
 */
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/** Paths the scenarios request, and the rule each one ends on. */
export const BENCH_PATHS = {
  /** Rule 18, `roles: [analyst, admin]`. */
  roleRule: '/api/v1/reports/daily?range=7d',
  /** Rule 2, `public: true`. */
  publicRule: '/assets/app.js',
  /** Rule 19, POST for any authenticated user. */
  uploadRule: '/api/v1/uploads/blob',
} as const;

/** The cost operators run by default, so that a login costs what it costs in production. */
export const BCRYPT_COST = 12;

export const BENCH_USER = { username: 'bench-user', role: 'analyst', password: 'bench-password-7f3a' };

const RULES = [
  { path: '/public/**', public: true },
  { path: '/assets/**', methods: ['GET', 'HEAD'], public: true },
  { path: '/favicon.ico', public: true },
  { path: '/static/**', methods: ['GET', 'HEAD'], public: true },
  { path: '/status', methods: ['GET'], public: true },
  { path: '/admin/**', roles: ['admin'] },
  { path: '/internal/**', roles: ['ops', 'admin'] },
  { path: '/api/v1/billing/**', roles: ['billing', 'admin'] },
  { path: '/api/v1/users/*', methods: ['DELETE'], roles: ['admin'] },
  { path: '/api/v1/users/**', methods: ['PUT', 'PATCH'], roles: ['admin'] },
  { path: '/api/v1/users/**', methods: ['GET'], authenticated: true },
  { path: '/api/v1/orders/**', methods: ['POST', 'PUT'], roles: ['sales', 'admin'] },
  { path: '/api/v1/orders/**', methods: ['GET'], authenticated: true },
  { path: '/api/v1/exports/**', methods: ['GET'], roles: ['analyst', 'admin'] },
  { path: '/api/v1/audit/**', roles: ['auditor', 'admin'] },
  { path: '/api/v1/search', methods: ['GET'], authenticated: true },
  { path: '/api/v1/settings/**', roles: ['admin'] },
  { path: '/api/v1/reports/**', methods: ['GET', 'HEAD'], roles: ['analyst', 'admin'] },
  { path: '/api/v1/uploads/**', methods: ['POST', 'PUT'], authenticated: true },
  { path: '/api/**', authenticated: true },
];

export type SidecarConfigOptions = {
  readonly upstreamUrl: string;
  readonly logLevel: string;
  /** For an earlier build (BENCH_BEFORE): only keys every build since the bench began knows. */
  readonly earlierBuild?: boolean;
} & (
  | {
      /** The embedded lowdb store, in this JSON file. */
      readonly storePath: string;
    }
  | {
      /** The Redis store. */
      readonly redis: { readonly url: string; readonly keyPrefix: string };
    }
);

export async function writeSidecarConfig(path: string, options: SidecarConfigOptions): Promise<void> {
  const config = {
    listen: { host: '127.0.0.1', port: 0 },
    upstream: { url: options.upstreamUrl },
    store:
      'redis' in options
        ? { driver: 'redis', url: options.redis.url, keyPrefix: options.redis.keyPrefix }
        : { driver: 'lowdb', path: options.storePath },
    passwords: {
      bcryptCost: BCRYPT_COST,
      // The storm comes from one client: its share of the bcrypt queue is the whole queue.
      ...(options.earlierBuild ? {} : { queuePerClient: 1_000_000 }),
    },
    // The login storm must measure hashing, not the brute-force limits or the password-check meters;
    // scenario 7's refresh loops the store, not the refresh meters or the cap on sessions.
    limits: {
      login: { perUsername: 1_000_000, perIp: 1_000_000 },
      ...(options.earlierBuild ? {} : { passwordChecks: { perClient: 1_000_000, perUser: 1_000_000 } }),
      ...(options.earlierBuild ? {} : { refresh: { perSession: 1_000_000, perUser: 1_000_000 } }),
    },
    ...(options.earlierBuild ? {} : { tokens: { maxSessions: 1000 } }),
    log: { level: options.logLevel },
    default: 'deny',
    rules: RULES,
  };
  await writeFile(path, stringify(config));
}
