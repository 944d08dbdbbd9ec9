import { LRUCache } from 'lru-cache';
import type { TokenVerdict } from '../identity.js';

export interface VerifiedTokenCacheOptions {
  /** Tokens kept; 0 turns the cache off. */
  readonly maxEntries: number;
  /** The clock skew the verifier tolerates on `exp`; an entry lives exactly as long as that allows. */
  readonly leewayMs: number;
  /** Milliseconds since the epoch; the verifier's own clock. */
  readonly now: () => number;
  /** Told whether each lookup found the token (for metrics). */
  readonly onLookup?: (hit: boolean) => void;
}

interface Entry {
  readonly verdict: Extract<TokenVerdict, { valid: true }>;
  readonly acceptedUntil: number;
}

/**
 * Remembers tokens that passed signature and claim checks, keyed by the raw token, so a client
 * that sends the same token on every call pays for HMAC and JSON parsing once. Only what the token
 * itself proves is cached: the session behind it (revocation, disabling, a newer token version)
 * is still checked by the caller on every request, so those win at once. Refusals are never
 * cached, so a flood of bad tokens cannot evict good ones.
 */
export function withVerifiedTokenCache(
  verify: (token: string) => TokenVerdict,
  options: VerifiedTokenCacheOptions,
): (token: string) => TokenVerdict {
  if (options.maxEntries === 0) return verify;
  const { now, onLookup } = options;
  // Whole seconds, as the verifier applies its leeway to `exp`.
  const leewayMs = Math.floor(options.leewayMs / 1000) * 1000;
  const cache = new LRUCache<string, Entry>({ max: options.maxEntries });

  return (token) => {
    const cached = cache.get(token);
    if (cached) {
      if (now() < cached.acceptedUntil) {
        onLookup?.(true);
        return cached.verdict;
      }
      cache.delete(token);
    }
    onLookup?.(false);
    const verdict = verify(token);
    if (verdict.valid) cache.set(token, { verdict, acceptedUntil: verdict.expiresAt + leewayMs });
    return verdict;
  };
}
