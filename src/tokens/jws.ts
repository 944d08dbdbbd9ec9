/**
 * Compact JWS (RFC 7515 §7.1), signed and verified synchronously on node:crypto. The proxied path
 * decides each request without a promise, so verification cannot go through an asynchronous
 * library; this module is that small, strict layer. It knows nothing of claims (`exp`, `iss`,
 * `aud`, …): the token modules above it check those.
 *
 * Four algorithms, each tied to one kind of key (RFC 8725 §3.1: the key decides the algorithm,
 * never the token): HS256 (RFC 7518 §3.2), RS256 (RFC 7518 §3.3), ES256 (RFC 7518 §3.4) and EdDSA
 * with Ed25519 (RFC 8037 §3.1).
 */
import { isUtf8 } from 'node:buffer';
import { constants, createHmac, sign, timingSafeEqual, verify, type KeyObject } from 'node:crypto';

/** The algorithms signed and verified; RFC 7518 §3.1 and RFC 8037 §3.1 names. */
export type JwsAlgorithm = 'HS256' | 'EdDSA' | 'ES256' | 'RS256';

export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = Object.freeze(['HS256', 'EdDSA', 'ES256', 'RS256']);

/** Tokens longer than this (characters) are refused before any decoding, unless the caller says otherwise. */
export const DEFAULT_MAX_JWS_LENGTH = 8192;

/** Shortest HMAC secret accepted: RFC 7518 §3.2 asks for a key at least as long as the hash output. */
const MIN_SECRET_BYTES = 32;

/** RSA keys below this size are refused: RFC 7518 §3.3 requires 2048 bits or more. */
const MIN_RSA_BITS = 2048;

/**
 * Header parameters that point at keys other than the configured ones or demand extensions this
 * module does not implement (RFC 7515 §4.1.2–4.1.7, §4.1.11). Trusting a key named or embedded
 * by the token lets anyone sign (RFC 8725 §3.10); an unknown `crit` must be refused anyway
 * (RFC 7515 §4.1.11), and no extension is known here.
 */
const FORBIDDEN_HEADER_PARAMETERS: readonly string[] = [
  'jku',
  'jwk',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'crit',
];

/** A key that signs: a private key (or an HMAC secret) and the one algorithm it is used with. */
export interface SigningKey {
  /** Written to the header as `kid` (RFC 7515 §4.1.4) so verifiers can pick the key. */
  readonly kid?: string;
  /** Pinned: must be the algorithm {@link algorithmOf} gives for `key`. */
  readonly alg: JwsAlgorithm;
  readonly key: KeyObject;
}

/** A key that verifies: a public (or private) key or an HMAC secret, and its pinned algorithm. */
export interface VerifyingKey {
  readonly kid?: string;
  /** Pinned: a token whose header names another algorithm is refused. */
  readonly alg: JwsAlgorithm;
  readonly key: KeyObject;
}

/** The protected header of a token, as the resolver and the caller see it after the structural checks. */
export interface ProtectedHeader {
  /** One of the supported algorithms; anything else was refused before the resolver is asked. */
  readonly alg: JwsAlgorithm;
  /** A non-empty string when present. */
  readonly kid?: string;
  /** A string when present; the caller decides which types it accepts (RFC 8725 §3.11). */
  readonly typ?: string;
  readonly [parameter: string]: unknown;
}

/**
 * Why a token was refused: `too_large` before anything was read; `malformed` when it is not a
 * compact JWS with a JSON object header and payload; `invalid` when it is well formed but not
 * trusted (algorithm, header parameters, no key, signature).
 */
export type JwsRefusal = 'malformed' | 'too_large' | 'invalid';

export type JwsVerdict =
  | { readonly ok: true; readonly header: ProtectedHeader; readonly payload: Record<string, unknown> }
  | { readonly ok: false; readonly reason: JwsRefusal };

/** Picks the key for a token from its parsed header; `undefined` refuses the token as invalid. */
export type KeyResolver = (header: ProtectedHeader) => VerifyingKey | undefined;

export interface VerifyOptions {
  /** Longest token accepted, in characters; {@link DEFAULT_MAX_JWS_LENGTH} when absent. */
  readonly maxLength?: number;
}

/** What a key is good for, worked out once per KeyObject. */
type KeyProfile =
  | { readonly usable: true; readonly alg: JwsAlgorithm; readonly signatureBytes: number }
  | { readonly usable: false; readonly reason: string };

const profiles = new WeakMap<KeyObject, KeyProfile>();

// Refusals are shared frozen values: the common paths allocate nothing and throw nothing, so a
// flood of forged tokens costs less than valid ones.
const MALFORMED: JwsVerdict = Object.freeze({ ok: false, reason: 'malformed' });
const TOO_LARGE: JwsVerdict = Object.freeze({ ok: false, reason: 'too_large' });
const INVALID: JwsVerdict = Object.freeze({ ok: false, reason: 'invalid' });

/** The base64url alphabet without padding (RFC 7515 §2, "Base64url Encoding"). */
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * The one algorithm a key is used with. Throws a TypeError naming the key's type, curve or size
 * when it is not one of: an HMAC secret of at least 32 bytes (HS256), Ed25519 (EdDSA), P-256
 * (ES256), RSA (not RSA-PSS) of at least 2048 bits (RS256). Private and public keys alike.
 */
export function algorithmOf(key: KeyObject): JwsAlgorithm {
  const profile = profileOf(key);
  if (!profile.usable) throw new TypeError(profile.reason);
  return profile.alg;
}

/**
 * Signs `payload` as a compact JWS with `signingKey`. The header gets `alg` from the key, then
 * `kid` from the key (or from `header`), then the other members of `header` (such as `typ`).
 * Throws a TypeError on misuse: a public key, an `alg` the key is not for, a `kid` or `alg` in
 * `header` that contradicts the key, or a header parameter {@link verifyCompact} refuses.
 */
export function signCompact(
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>>,
  signingKey: SigningKey,
): string {
  const { alg, key } = signingKey;
  checkedProfile(signingKey, 'signCompact');
  if (key.type === 'public') throw new TypeError('signCompact: a public key cannot sign');
  if (header.alg !== undefined && header.alg !== alg) {
    throw new TypeError(
      `signCompact: header.alg ${JSON.stringify(header.alg)} contradicts the key's algorithm ${alg}`,
    );
  }
  const kid = signingKey.kid ?? header.kid;
  if (header.kid !== undefined && header.kid !== kid) {
    throw new TypeError("signCompact: header.kid contradicts the key's kid");
  }
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) {
    throw new TypeError('signCompact: kid must be a non-empty string');
  }
  if (header.typ !== undefined && typeof header.typ !== 'string') {
    throw new TypeError('signCompact: header.typ must be a string');
  }
  for (const name of FORBIDDEN_HEADER_PARAMETERS) {
    if (Object.hasOwn(header, name)) throw new TypeError(`signCompact: header.${name} is never issued`);
  }
  if (!isPlainObject(payload)) throw new TypeError('signCompact: payload must be an object');

  // Members in a fixed order (alg, kid, the rest) make equal headers encode equally.
  const fullHeader: Record<string, unknown> = { alg, ...(kid === undefined ? {} : { kid }), ...header };
  fullHeader.alg = alg;
  if (kid !== undefined) fullHeader.kid = kid;
  const signingInput = `${encodeJson(fullHeader)}.${encodeJson(payload)}`;
  return `${signingInput}.${signBytes(alg, key, signingInput).toString('base64url')}`;
}

/**
 * Verifies a compact JWS and returns its header and payload, or why it was refused. Never throws
 * on anything a client can send: only a resolver that throws, or one that returns a key whose
 * pinned `alg` does not fit it (caller misuse, a TypeError), makes it throw.
 *
 * The checks, cheapest first: length; exactly three non-empty base64url parts without padding;
 * a JSON object header with a string `alg` that is supported, not `none` (RFC 8725 §3.1), and
 * without key-pointing or critical parameters (RFC 8725 §3.10); a non-empty string `kid` and a
 * string `typ` when present; a key from `resolve` whose pinned `alg` is the header's (the header
 * only has to agree with the key, it never chooses how to verify: RFC 8725 §2.1, §3.1); a
 * signature of the algorithm's exact length in canonical base64url, checked over the exact ASCII
 * bytes of `header.payload` (RFC 7515 §5.2) before the payload is decoded; a JSON object payload.
 */
export function verifyCompact(token: string, resolve: KeyResolver, options?: VerifyOptions): JwsVerdict {
  if (typeof token !== 'string') return MALFORMED;
  if (token.length > (options?.maxLength ?? DEFAULT_MAX_JWS_LENGTH)) return TOO_LARGE;

  const headerEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  if (headerEnd <= 0 || payloadEnd <= headerEnd + 1 || payloadEnd === token.length - 1) return MALFORMED;
  if (token.indexOf('.', payloadEnd + 1) !== -1) return MALFORMED;
  const encodedHeader = token.slice(0, headerEnd);
  const encodedPayload = token.slice(headerEnd + 1, payloadEnd);
  const encodedSignature = token.slice(payloadEnd + 1);
  if (!isBase64url(encodedHeader) || !isBase64url(encodedPayload) || !isBase64url(encodedSignature)) {
    return MALFORMED;
  }

  const header = decodeJsonObject(encodedHeader);
  if (header === undefined) return MALFORMED;
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string') return MALFORMED;
  if (kid !== undefined && (typeof kid !== 'string' || kid === '')) return MALFORMED;
  if (typ !== undefined && typeof typ !== 'string') return MALFORMED;
  if (!isJwsAlgorithm(alg)) return INVALID;
  for (const name of FORBIDDEN_HEADER_PARAMETERS) {
    if (Object.hasOwn(header, name)) return INVALID;
  }
  const protectedHeader = header as ProtectedHeader;

  const verifyingKey = resolve(protectedHeader);
  if (verifyingKey === undefined || verifyingKey.alg !== alg) return INVALID;
  const profile = checkedProfile(verifyingKey, 'verifyCompact');

  const signature = Buffer.from(encodedSignature, 'base64url');
  if (signature.length !== profile.signatureBytes) return INVALID;
  // Only one spelling of a signature is accepted: trailing bits that base64url decoding drops
  // would otherwise give one signed token several accepted strings.
  if (signature.toString('base64url') !== encodedSignature) return MALFORMED;
  if (!verifyBytes(alg, verifyingKey.key, token.slice(0, payloadEnd), signature)) return INVALID;

  const payload = decodeJsonObject(encodedPayload);
  if (payload === undefined) return MALFORMED;
  return { ok: true, header: protectedHeader, payload };
}

function signBytes(alg: JwsAlgorithm, key: KeyObject, signingInput: string): Buffer {
  const data = Buffer.from(signingInput, 'latin1');
  switch (alg) {
    case 'HS256':
      return createHmac('sha256', key).update(data).digest();
    case 'EdDSA':
      // Ed25519 hashes internally: no digest name (RFC 8037 §3.1).
      return sign(null, data, key);
    case 'ES256':
      // JOSE carries R || S, 32 bytes each, not DER (RFC 7518 §3.4).
      return sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
    case 'RS256':
      return sign('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING });
  }
}

function verifyBytes(alg: JwsAlgorithm, key: KeyObject, signingInput: string, signature: Buffer): boolean {
  const data = Buffer.from(signingInput, 'latin1');
  switch (alg) {
    case 'HS256': {
      const expected = createHmac('sha256', key).update(data).digest();
      // Lengths are equal here (checked against the profile); timingSafeEqual requires it.
      return expected.length === signature.length && timingSafeEqual(expected, signature);
    }
    case 'EdDSA':
      return verify(null, data, key, signature);
    case 'ES256':
      return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
    case 'RS256':
      return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
}

/** The key's profile, after checking that the algorithm pinned beside it is the key's own. */
function checkedProfile(
  jwsKey: SigningKey | VerifyingKey,
  caller: string,
): Extract<KeyProfile, { usable: true }> {
  const profile = profileOf(jwsKey.key);
  if (!profile.usable) throw new TypeError(`${caller}: ${profile.reason}`);
  if (profile.alg !== jwsKey.alg) {
    throw new TypeError(`${caller}: the key is for ${profile.alg}, not ${String(jwsKey.alg)}`);
  }
  return profile;
}

function profileOf(key: KeyObject): KeyProfile {
  let profile = profiles.get(key);
  if (profile === undefined) {
    profile = describeKey(key);
    profiles.set(key, profile);
  }
  return profile;
}

function describeKey(key: KeyObject): KeyProfile {
  const expected =
    'expected an Ed25519, P-256 or RSA (at least 2048 bits) key, or an HMAC secret of at least 32 bytes';
  if (key.type === 'secret') {
    const size = key.symmetricKeySize ?? 0;
    if (size < MIN_SECRET_BYTES) {
      return { usable: false, reason: `an HMAC secret of ${size} bytes is too short: ${expected}` };
    }
    return { usable: true, alg: 'HS256', signatureBytes: 32 };
  }
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  switch (type) {
    case 'ed25519':
      return { usable: true, alg: 'EdDSA', signatureBytes: 64 };
    case 'ec': {
      const curve = details.namedCurve;
      if (curve === 'prime256v1' || curve === 'P-256')
        return { usable: true, alg: 'ES256', signatureBytes: 64 };
      return {
        usable: false,
        reason: `an ec key on curve ${curve ?? 'unknown'} is not supported: ${expected}`,
      };
    }
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) {
        return { usable: false, reason: `an rsa key of ${bits} bits is too small: ${expected}` };
      }
      return { usable: true, alg: 'RS256', signatureBytes: Math.ceil(bits / 8) };
    }
    default:
      return { usable: false, reason: `a key of type ${type ?? 'unknown'} is not supported: ${expected}` };
  }
}

function isJwsAlgorithm(alg: string): alg is JwsAlgorithm {
  return alg === 'HS256' || alg === 'EdDSA' || alg === 'ES256' || alg === 'RS256';
}

/** Base64url without padding, of a length some byte string encodes to (never 1 mod 4). */
function isBase64url(part: string): boolean {
  return part.length % 4 !== 1 && BASE64URL.test(part);
}

/**
 * The JSON object a base64url part encodes, or undefined. UTF-8 is checked (RFC 7515 §5.2 step
 * 3), and text that cannot be an object is refused before JSON.parse, which would throw. JSON.parse
 * keeps the last of duplicate member names, which RFC 7515 §4 allows.
 */
function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  const bytes = Buffer.from(part, 'base64url');
  if (!isUtf8(bytes)) return undefined;
  const text = bytes.toString('utf8');
  if (!isObjectText(text)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isPlainObject(value) ? value : undefined;
}

/** True when the first and last characters besides JSON whitespace (RFC 8259 §2) are braces. */
function isObjectText(text: string): boolean {
  let start = 0;
  let end = text.length - 1;
  while (start < end && isJsonWhitespace(text.charCodeAt(start))) start += 1;
  while (end > start && isJsonWhitespace(text.charCodeAt(end))) end -= 1;
  return start < end && text.charCodeAt(start) === 0x7b && text.charCodeAt(end) === 0x7d;
}

function isJsonWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function encodeJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
