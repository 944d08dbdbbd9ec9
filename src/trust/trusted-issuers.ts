/**
 * Bearer tokens of existing identity providers (`trust` in the config), verified synchronously
 * against each provider's published keys, which issuer-keys.ts keeps fresh in the background.
 * A token names its provider by `iss`; that value only routes the token to the entry whose keys
 * and rules then judge it, and must match again once the signature holds.
 */
import { isUtf8 } from 'node:buffer';
import pino from 'pino';
import type { TrustedIssuerConfig } from '../config/schema.js';
import type { TokenRejection, TokenVerdict } from '../identity.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_MAX_JWS_LENGTH, verifyCompact, type JwsRefusal, type VerifyingKey } from '../tokens/jws.js';
import { claimAt, headerValueOf, rolesFrom } from './claims.js';
import { createIssuerKeys, type IssuerKeys } from './issuer-keys.js';

export interface TrustedIssuers {
  /** True when this (unverified) `iss` names a trust entry. */
  has(issuer: string): boolean;
  /**
   * Verifies a token whose `iss` is one of the entries, synchronously, from the keys in memory. A
   * token naming a key not held is refused (`token_invalid`) and starts a rate-limited refetch of
   * the provider's keys; see {@link TrustedIssuers.keyArrival}.
   */
  verify(token: string): TokenVerdict;
  /**
   * Settles (never rejects) when the key fetch running for this token's issuer ends; undefined
   * when none runs. A caller whose token was refused for an unknown key can wait once, then verify
   * again.
   */
  keyArrival(token: string): Promise<void> | undefined;
  /** Fetches every provider's keys once; resolves when each had its attempt. Never rejects. */
  start(): Promise<void>;
  /** The issuers whose keys were never fetched, for /readyz; their tokens are refused meanwhile. */
  readiness(): { readonly waitingFor: readonly string[] };
  /** Stops the refresh timers and aborts running fetches. */
  close(): void;
}

export interface TrustedIssuersOptions {
  /** Clock skew allowed on `exp`, `nbf` and `iat` (tokens.leeway). */
  readonly leewayMs: number;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now?: () => number;
  readonly logger?: Logger;
  /** Per fetch, headers and body; 5 s when absent. */
  readonly fetchTimeoutMs?: number;
  /** Least time between two refetches of one issuer's keys for unknown key ids; 30 s when absent. */
  readonly minRefetchIntervalMs?: number;
  /** Longest token accepted, in characters; jws.ts's default (8192) when absent. */
  readonly maxTokenLength?: number;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
export const DEFAULT_MIN_REFETCH_INTERVAL_MS = 30_000;

/**
 * Header `typ` values of access tokens (RFC 9068 §2.1) and of plain JWTs (RFC 7519 §5.1); other
 * explicit types (logout tokens, security events, …) are other kinds of token (RFC 8725 §3.11).
 */
const ACCEPTED_TYPES: ReadonlySet<string> = new Set(['jwt', 'at+jwt', 'application/at+jwt']);

const JWS_REJECTION: Readonly<Record<JwsRefusal, TokenRejection>> = {
  malformed: 'token_malformed',
  too_large: 'token_too_large',
  invalid: 'token_invalid',
};

/** Refusals are shared frozen values: a flood of bad tokens allocates nothing for them. */
const REJECTED: Readonly<Record<TokenRejection, TokenVerdict>> = Object.freeze(
  Object.fromEntries(
    (
      [
        'token_malformed',
        'token_too_large',
        'token_expired',
        'token_not_yet_valid',
        'token_invalid',
        'token_revoked',
        'token_superseded',
        'user_disabled',
        'user_unknown',
      ] as const
    ).map((reason) => [reason, Object.freeze({ valid: false, reason })]),
  ) as Record<TokenRejection, TokenVerdict>,
);

interface Entry {
  readonly config: TrustedIssuerConfig;
  readonly keys: IssuerKeys;
}

/**
 * Builds the verifier for `entries` (validated config). Nothing is fetched before `start()`.
 * Throws a TypeError on misuse: a negative leeway, a non-positive timeout or interval, two entries
 * for one issuer.
 */
export function createTrustedIssuers(
  entries: readonly TrustedIssuerConfig[],
  options: TrustedIssuersOptions,
): TrustedIssuers {
  const { leewayMs } = options;
  if (!(leewayMs >= 0)) throw new TypeError('createTrustedIssuers: leewayMs must be 0 or more');
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  if (!(fetchTimeoutMs > 0)) throw new TypeError('createTrustedIssuers: fetchTimeoutMs must be positive');
  const minRefetchIntervalMs = options.minRefetchIntervalMs ?? DEFAULT_MIN_REFETCH_INTERVAL_MS;
  if (!(minRefetchIntervalMs >= 0)) {
    throw new TypeError('createTrustedIssuers: minRefetchIntervalMs must be 0 or more');
  }
  const maxLength = options.maxTokenLength ?? DEFAULT_MAX_JWS_LENGTH;
  const now = options.now ?? Date.now;
  const logger = options.logger ?? pino({ level: 'silent' });

  const byIssuer = new Map<string, Entry>();
  for (const config of entries) {
    if (byIssuer.has(config.issuer)) {
      throw new TypeError(`createTrustedIssuers: two entries for issuer ${config.issuer}`);
    }
    const keys = createIssuerKeys(config, { logger, fetchTimeoutMs, minRefetchIntervalMs, now });
    byIssuer.set(config.issuer, { config, keys });
  }
  let started: Promise<void> | undefined;

  function entryOf(token: string): Entry | undefined {
    if (token.length > maxLength) return undefined;
    const issuer = unverifiedIssuer(token);
    return issuer === undefined ? undefined : byIssuer.get(issuer);
  }

  return {
    has(issuer) {
      return byIssuer.has(issuer);
    },

    verify(token) {
      if (typeof token !== 'string') return REJECTED.token_malformed;
      if (token.length > maxLength) return REJECTED.token_too_large;
      const entry = entryOf(token);
      if (entry === undefined) return REJECTED.token_invalid;
      const { config, keys } = entry;

      let unknownKid = false;
      const verdict = verifyCompact(
        token,
        (header): VerifyingKey | undefined => {
          if (!config.algorithms.includes(header.alg as (typeof config.algorithms)[number])) return undefined;
          if (header.typ !== undefined && !ACCEPTED_TYPES.has(header.typ.toLowerCase())) return undefined;
          const key = keys.keyFor(header.kid);
          // A kid not held may be a key the provider published since the last fetch.
          if (key === undefined && header.kid !== undefined) unknownKid = true;
          return key;
        },
        { maxLength },
      );
      if (!verdict.ok) {
        if (unknownKid) keys.refetchForUnknownKid();
        return REJECTED[JWS_REJECTION[verdict.reason]];
      }
      return judgeClaims(verdict.payload, config, now(), leewayMs);
    },

    keyArrival(token) {
      const pending = entryOf(token)?.keys.pending;
      return pending === undefined ? undefined : pending.then(() => undefined);
    },

    start() {
      started ??= Promise.all([...byIssuer.values()].map(({ keys }) => keys.start())).then(() => undefined);
      return started;
    },

    readiness() {
      const waitingFor = [...byIssuer.values()]
        .filter(({ keys }) => !keys.everFetched)
        .map(({ config }) => config.issuer);
      return { waitingFor };
    },

    close() {
      for (const { keys } of byIssuer.values()) keys.close();
    },
  };
}

/**
 * The claims checks once the signature holds: `iss` (RFC 7519 §4.1.1), `aud` (§4.1.3), `exp`
 * required (§4.1.4), `nbf` (§4.1.5) and `iat` not in the future, each with `leewayMs`; then the
 * identity: `sub` and the username claim, non-empty strings a header can carry, and the roles.
 */
function judgeClaims(
  payload: Record<string, unknown>,
  config: TrustedIssuerConfig,
  nowMs: number,
  leewayMs: number,
): TokenVerdict {
  const { iss, sub, aud, exp, nbf, iat, jti } = payload;
  if (iss !== config.issuer) return REJECTED.token_invalid;
  if (!hasAudience(aud, config.audience)) return REJECTED.token_invalid;
  if (!isNumericDate(exp)) return REJECTED.token_invalid;
  if (nbf !== undefined && !isNumericDate(nbf)) return REJECTED.token_invalid;
  if (iat !== undefined && !isNumericDate(iat)) return REJECTED.token_invalid;
  if (nowMs >= exp * 1000 + leewayMs) return REJECTED.token_expired;
  if (nbf !== undefined && nbf * 1000 > nowMs + leewayMs) return REJECTED.token_not_yet_valid;
  if (iat !== undefined && iat * 1000 > nowMs + leewayMs) return REJECTED.token_not_yet_valid;

  // Both end up in identity headers: text a header cannot carry safely refuses the token.
  const username = claimAt(payload, config.usernameClaim);
  if (!isHeaderSafeName(sub) || !isHeaderSafeName(username)) return REJECTED.token_invalid;
  const roles =
    config.rolesClaim === undefined
      ? []
      : rolesFrom(claimAt(payload, config.rolesClaim), config.roleMap, config.mapOnly);

  return {
    valid: true,
    identity: { id: sub, username, roles },
    tokenId: typeof jti === 'string' && jti !== '' ? jti : `${config.issuer}#${sub}#${String(iat)}`,
    tokenVersion: 0,
    expiresAt: exp * 1000,
    issuer: config.issuer,
    claims: payload,
  };
}

/** `aud` is one string or an array of strings (RFC 7519 §4.1.3); the entry's audience must be one. */
function hasAudience(aud: unknown, audience: string): boolean {
  if (typeof aud === 'string') return aud === audience;
  return Array.isArray(aud) && aud.includes(audience);
}

/** A NumericDate (RFC 7519 §2): seconds since the epoch, a finite number. */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function isHeaderSafeName(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && headerValueOf(value) === value;
}

/**
 * The `iss` of a compact JWS's payload, read without any verification, or undefined when the
 * token is not three parts or its payload is not a JSON object with a string `iss`. Only for
 * routing a token to the verifier of its issuer; never trusted on its own. The caller bounds the
 * token's length first, as for any bearer token.
 */
export function unverifiedIssuer(token: string): string | undefined {
  const headerEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  if (headerEnd <= 0 || payloadEnd <= headerEnd + 1) return undefined;
  const bytes = Buffer.from(token.slice(headerEnd + 1, payloadEnd), 'base64url');
  if (!isUtf8(bytes)) return undefined;
  const text = bytes.toString('utf8').trim();
  // Refused before JSON.parse, whose exception would make garbage cost more than a real token.
  if (!text.startsWith('{') || !text.endsWith('}')) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const { iss } = payload as { iss?: unknown };
  return typeof iss === 'string' ? iss : undefined;
}
