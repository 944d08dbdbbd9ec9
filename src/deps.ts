/**
 * The composition root: every long-lived object is made here, once, from the loaded config.
 */
import type { AuthContext } from './auth/endpoints/deps.js';
import { createBcryptPool } from './auth/passwords/bcrypt-pool.js';
import { createPassport } from './auth/endpoints/passport.js';
import { createPasswordHasher } from './auth/passwords/password-hasher.js';
import { createAuthLimiters } from './auth/endpoints/rate-limits.js';
import { createSessionGuard, createSessionVerifier } from './tokens/session-guard.js';
import type { LoadedConfig } from './config/load.js';
import { createProxyTrust } from './http/proxy-trust.js';
import { createAudit } from './log/audit.js';
import type { Logger } from './log/logger.js';
import { createDecider, type Decider } from './pipeline/decide.js';
import type { IdentityHeaderNames } from './pipeline/mutate.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { compileRules } from './pipeline/rules.js';
import {
  createStoreOutage,
  NO_STORE_OUTAGE,
  withStoreOutage,
  type StoreOutage,
} from './pipeline/store-outage.js';
import { connectRedisClient } from './store/redis-client.js';
import { openStore } from './store/open-store.js';
import { createAccessTokens } from './tokens/access-token.js';
import { createBrowserSessions } from './browser/browser-sessions.js';
import { withVerifiedTokenCache } from './tokens/verified-token-cache.js';
import { publicJwks } from './tokens/key-files.js';
import { ringKeys, secretKeys, swappableKeys, type TokenKeys } from './tokens/token-keys.js';

/** Everything the auth endpoints need (AuthContext), and what the front door needs besides. */
export interface Deps extends AuthContext {
  readonly decider: Decider;
  readonly storeOutage: StoreOutage;
  /** Puts the rules and default of a newly loaded config in force, for the requests decided next. */
  readonly replaceRules: (next: LoadedConfig) => void;
  readonly identityHeaders: IdentityHeaderNames;
  readonly metrics: Metrics;
  /** The keys in force for the sidecar's own tokens. */
  readonly keys: TokenKeys;
  /** Stops the bcrypt threads, closes the store and the shared counters' connection. */
  close(): Promise<void>;
}

function tokenKeysOf(loaded: LoadedConfig): TokenKeys {
  if (loaded.keyRing) return ringKeys(loaded.keyRing);
  if (loaded.jwtSecret) return secretKeys(loaded.jwtSecret);
  throw new TypeError('buildDeps: the loaded config carries neither keys nor a JWT secret');
}

export interface BuildDepsOptions {
  readonly loaded: LoadedConfig;
  readonly logger: Logger;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now?: () => number;
}

export async function buildDeps({ loaded, logger, now = Date.now }: BuildDepsOptions): Promise<Deps> {
  const { config } = loaded;
  const keys = swappableKeys(tokenKeysOf(loaded));
  const accessTokens = createAccessTokens({
    keys,
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
    ttlMs: config.tokens.accessTtl,
    leewayMs: config.tokens.leeway,
    now,
  });
  const metrics = createMetrics();
  const store = await openStore(config.store, {
    now,
    onWrite: metrics.storeWritten,
    onReadyChange(ready, err) {
      if (ready) logger.info({ event: 'store.ready' }, 'store available again');
      else logger.warn({ event: 'store.unavailable', reason: err?.message }, 'store unavailable');
    },
  });
  metrics.watchStore(() => store.isReady());
  const verifyToken = withVerifiedTokenCache((token) => accessTokens.verify(token), {
    maxEntries: config.tokens.cacheSize,
    leewayMs: config.tokens.leeway,
    now,
    onLookup: metrics.tokenCacheLookup,
  });
  const guard = createSessionGuard(store.sessions);
  const verifySession = createSessionVerifier(verifyToken, guard);
  const browser = config.browser.enabled
    ? createBrowserSessions(config, accessTokens, guard, { now, onCacheLookup: metrics.tokenCacheLookup })
    : undefined;
  const bcryptPool = createBcryptPool({
    threads: config.passwords.workers,
    maxQueue: config.passwords.queue,
    maxPerClient: config.passwords.queuePerClient,
  });
  let current = createDecider({
    rules: compileRules(config, loaded.ruleLines),
    verifyAccessToken: verifySession,
    verifySessionTicket: browser?.verify,
  });
  const storeOutage =
    config.store.driver === 'redis'
      ? createStoreOutage(() => store.isReady(), config.store.unavailable)
      : NO_STORE_OUTAGE;
  // Requests read the current rules when they are decided; a reload swaps them in one assignment.
  const decider = withStoreOutage(
    {
      decide: (input) => current.decide(input),
      decideCanonical: (...args) => current.decideCanonical(...args),
    },
    storeOutage,
  );
  // With a shared store, attempts are counted where every replica sees them.
  const counters =
    config.store.driver === 'redis'
      ? { client: await connectRedisClient(config.store.url), keyPrefix: config.store.keyPrefix }
      : undefined;
  const authDeps = {
    config,
    store,
    accessTokens,
    verifySession,
    browser,
    passwords: createPasswordHasher({
      cost: config.passwords.bcryptCost,
      engine: bcryptPool,
      // The dummy hash of an unknown username follows the cost most stored hashes have.
      storedHashes: async () => (await store.users.list()).map((user) => user.passwordHash),
      now,
    }),
    limiters: createAuthLimiters(config.limits, counters),
    audit: createAudit(logger, metrics.authEvent),
    logger,
    now,
    isTrustedProxy: createProxyTrust(config.trustProxy),
  };
  return {
    ...authDeps,
    metrics,
    passport: createPassport(authDeps),
    decider,
    storeOutage,
    keys,
    replaceRules(next) {
      // Only a ring follows a reload (between a secret and a ring needs a restart), and only
      // when its keys changed: every reload of the rules would otherwise empty the caches.
      if (
        next.keyRing &&
        keys.jwks &&
        JSON.stringify(publicJwks(next.keyRing)) !== JSON.stringify(keys.jwks)
      ) {
        keys.replace(ringKeys(next.keyRing));
        // A token verified with a key that has left the list must not stay accepted from memory.
        verifyToken.clear();
        browser?.forgetVerified();
      }
      // Compiled with the running match settings: the own paths were set up with them.
      const rules = compileRules({ ...next.config, match: config.match }, next.ruleLines);
      current = createDecider({
        rules,
        verifyAccessToken: verifySession,
        verifySessionTicket: browser?.verify,
      });
    },
    identityHeaders: {
      user: config.identity.userHeader.toLowerCase(),
      id: config.identity.idHeader.toLowerCase(),
      roles: config.identity.rolesHeader.toLowerCase(),
    },
    async close() {
      counters?.client.disconnect();
      await bcryptPool.close();
      await store.close();
    },
  };
}
