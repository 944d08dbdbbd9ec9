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

/** A verifier's answer: an access token's, or a session ticket's. */
type Verdict = { readonly valid: true; readonly expiresAt: number } | { readonly valid: false };

interface Entry<V extends Verdict> {
  readonly verdict: Extract<V, { valid: true }>;
  readonly acceptedUntil: number;
}

/**
 * Remembers tokens that passed signature and claim checks, keyed by the raw token, so a client
 * that sends the same token on every call pays for HMAC and JSON parsing once. Only what the token
 * itself proves is cached: the session behind it (revocation, disabling, a newer token version)
 * is still checked by the caller on every request, so those win at once. Refusals are never
 * cached, so a flood of bad tokens cannot evict good ones.
 */
/** A verifier that remembers; `clear` forgets every token it accepted (the keys changed). */
export type CachedVerifier<V> = ((token: string) => V) & { clear(): void };

export function withVerifiedTokenCache<V extends Verdict = TokenVerdict>(
  verify: (token: string) => V,
  options: VerifiedTokenCacheOptions,
): CachedVerifier<V> {
  if (options.maxEntries === 0) return Object.assign((token: string) => verify(token), { clear() {} });
  const { now, onLookup } = options;
  // Whole seconds, as the verifier applies its leeway to `exp`.
  const leewayMs = Math.floor(options.leewayMs / 1000) * 1000;
  const cache = new LRUCache<string, Entry<V>>({ max: options.maxEntries });

  const verifyRemembering = (token: string): V => {
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
    if (isValid(verdict)) cache.set(token, { verdict, acceptedUntil: verdict.expiresAt + leewayMs });
    return verdict;
  };
  return Object.assign(verifyRemembering, { clear: () => cache.clear() });
}

function isValid<V extends Verdict>(verdict: V): verdict is Extract<V, { valid: true }> {
  return verdict.valid;
}
