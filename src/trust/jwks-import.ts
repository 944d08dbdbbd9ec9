/**
 * A provider's JWK Set (RFC 7517 §5) turned into verifying keys, each pinned to the one algorithm
 * its key type allows (jws.ts `algorithmOf`). jose parses the JWKs; this module decides which
 * ones to keep and says why it skipped the others.
 */
import { KeyObject } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import { algorithmOf, type JwsAlgorithm, type VerifyingKey } from '../tokens/jws.js';

/** Why a JWK was left out; logged with its `kid`. */
export type SkipReason =
  | 'not_an_object'
  | 'not_for_signatures'
  | 'private_key_published'
  | 'unsupported_key'
  | 'unsupported_alg'
  | 'missing_kid'
  | 'duplicate_kid';

export interface SkippedJwk {
  readonly kid?: string;
  readonly reason: SkipReason;
}

export interface ImportedKeySet {
  /** kid → key, for tokens that name their key. */
  readonly byKid: ReadonlyMap<string, VerifyingKey>;
  /**
   * The key for tokens without `kid`: set only when the set holds exactly one key and that key has
   * no `kid`. With several keys a token must say which one it means; trying each would let one
   * token cost as many signature checks as there are keys.
   */
  readonly withoutKid: VerifyingKey | undefined;
  readonly skipped: readonly SkippedJwk[];
}

/** The JWK `alg` values each key algorithm may be published with (RFC 7518 §3.1, RFC 8037 §3.1). */
const PUBLISHED_ALG: Readonly<Record<JwsAlgorithm, readonly string[]>> = {
  HS256: [],
  EdDSA: ['EdDSA', 'Ed25519'],
  ES256: ['ES256'],
  RS256: ['RS256'],
};

/** What jose is asked to import each key type as; the key itself then decides (`algorithmOf`). */
function importAlgFor(jwk: JWK): string | undefined {
  if (jwk.kty === 'RSA') return 'RS256';
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return undefined;
}

/**
 * Imports every usable signing key of `jwks` (a parsed JWK Set document). Skipped: members that
 * are not objects, keys with a `use` other than `sig` (RFC 7517 §4.2) or `key_ops` without `verify` (§4.3), private keys (a provider
 * that publishes one is broken, and its tokens are not trusted), key types and curves other than
 * RSA ≥ 2048 bits, P-256 and Ed25519, an `alg` that is not the key's own, a missing `kid` when the
 * set holds more than one member, and a second key under a `kid` already seen. Never throws on the
 * document's content; `keys` must be an array (the caller checks).
 */
export async function importKeySet(keys: readonly unknown[]): Promise<ImportedKeySet> {
  const byKid = new Map<string, VerifyingKey>();
  const skipped: SkippedJwk[] = [];
  let withoutKid: VerifyingKey | undefined;

  for (const member of keys) {
    if (typeof member !== 'object' || member === null || Array.isArray(member)) {
      skipped.push({ reason: 'not_an_object' });
      continue;
    }
    const jwk = member as JWK;
    const kid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
    const skip = (reason: SkipReason) => skipped.push(kid === undefined ? { reason } : { kid, reason });

    if ((jwk.use !== undefined && jwk.use !== 'sig') || !allowsVerify(jwk.key_ops)) {
      skip('not_for_signatures');
      continue;
    }
    if (jwk.d !== undefined) {
      skip('private_key_published');
      continue;
    }
    const key = await importedKey(jwk);
    if (key === undefined) {
      skip('unsupported_key');
      continue;
    }
    if (jwk.alg !== undefined && !PUBLISHED_ALG[key.alg].includes(jwk.alg)) {
      skip('unsupported_alg');
      continue;
    }
    if (kid === undefined) {
      if (keys.length === 1) withoutKid = key;
      else skip('missing_kid');
      continue;
    }
    if (byKid.has(kid)) {
      skip('duplicate_kid');
      continue;
    }
    byKid.set(kid, { kid, alg: key.alg, key: key.key });
  }
  return { byKid, withoutKid, skipped };
}

/** RFC 7517 §4.3: when `key_ops` is given, it must list `verify`. */
function allowsVerify(keyOps: unknown): boolean {
  return keyOps === undefined || (Array.isArray(keyOps) && keyOps.includes('verify'));
}

/** The public key and its algorithm, or undefined when jose or `algorithmOf` refuses it. */
async function importedKey(jwk: JWK): Promise<{ alg: JwsAlgorithm; key: KeyObject } | undefined> {
  const importAlg = importAlgFor(jwk);
  if (importAlg === undefined) return undefined;
  try {
    // `ext` and `key_ops` are WebCrypto handling hints (key_ops was checked by the caller);
    // dropped so the key imports extractable: jose 6 returns a CryptoKey, jws.ts verifies with
    // KeyObjects, and KeyObject.from() of a non-extractable CryptoKey is deprecated (DEP0204).
    const members: JWK = { ...jwk };
    delete members.ext;
    delete members.key_ops;
    const imported = await importJWK({ ...members, alg: importAlg }, importAlg, { extractable: true });
    if (imported instanceof Uint8Array) return undefined;
    const key = KeyObject.from(imported);
    if (key.type !== 'public') return undefined;
    return { alg: algorithmOf(key), key };
  } catch {
    return undefined;
  }
}
