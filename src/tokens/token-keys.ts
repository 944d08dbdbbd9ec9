/**
 * The keys the sidecar's own tokens are signed and verified with: one HS256 secret (env
 * JWT_SECRET), or a ring of key files (`tokens.keys`) whose first key signs and whose every key
 * verifies the tokens that name it by `kid`. A reload swaps the ring in place.
 */
import { createSecretKey } from 'node:crypto';
import type { KeyResolver, SigningKey, VerifyingKey } from './jws.js';
import { publicJwks, type KeyRing, type PublicJwk } from './key-files.js';

export interface TokenKeys {
  /** The key new tokens are signed with. */
  readonly signing: SigningKey;
  /** The key for a token's header, among the configured ones only; undefined refuses the token. */
  readonly resolve: KeyResolver;
  /** The public keys, to publish; undefined with an HS256 secret, which is never published. */
  readonly jwks: { readonly keys: readonly PublicJwk[] } | undefined;
  /** The key ids that verify, in config order; empty with an HS256 secret. */
  readonly kids: readonly string[];
}

/** One secret, HS256: tokens carry no `kid`, and one that names a key was not made here. */
export function secretKeys(secret: Buffer): TokenKeys {
  const key = createSecretKey(secret);
  const verifying: VerifyingKey = { alg: 'HS256', key };
  return {
    signing: verifying,
    resolve: (header) => (header.kid === undefined ? verifying : undefined),
    jwks: undefined,
    kids: [],
  };
}

/** A ring of key files: tokens carry the `kid` of the key that signed them, and only a listed `kid` verifies. */
export function ringKeys(ring: KeyRing): TokenKeys {
  const verifying = new Map<string, VerifyingKey>();
  for (const { kid, alg, publicKey } of ring.keys.values()) verifying.set(kid, { kid, alg, key: publicKey });
  const { kid, alg, privateKey } = ring.signing;
  return {
    signing: { kid, alg, key: privateKey },
    resolve: (header) => (header.kid === undefined ? undefined : verifying.get(header.kid)),
    jwks: Object.freeze(publicJwks(ring)),
    kids: [...verifying.keys()],
  };
}

/** Keys that a reload can replace: readers always see the keys in force when they ask. */
export interface SwappableKeys extends TokenKeys {
  replace(next: TokenKeys): void;
}

export function swappableKeys(initial: TokenKeys): SwappableKeys {
  let current = initial;
  return {
    get signing() {
      return current.signing;
    },
    resolve: (header) => current.resolve(header),
    get jwks() {
      return current.jwks;
    },
    get kids() {
      return current.kids;
    },
    replace(next) {
      current = next;
    },
  };
}
