import { createHmac, createSecretKey, randomUUID, timingSafeEqual, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import type { AccessClaims, Identity, TokenRejection, TokenVerdict } from '../identity.js';

/** The one algorithm issued and accepted (RFC 8725 §3.1: pin it, never read it from the token). */
export const ACCESS_TOKEN_ALGORITHM = 'HS256';
/** Larger tokens are refused before any parsing work. */
export const MAX_ACCESS_TOKEN_LENGTH = 8192;
/**
 * Header parameters that point at other keys (RFC 7515 §4.1) or demand extensions. The sidecar
 * never issues them, so a token carrying one was made elsewhere (RFC 8725 §3.10).
 */
const FORBIDDEN_HEADER_PARAMETERS = ['kid', 'jku', 'jwk', 'x5u', 'x5c', 'x5t', 'x5t#S256', 'crit'];

/** The user and session a new access token is issued for. */
export interface AccessTokenSubject extends Identity {
  readonly tokenVersion: number;
  /** The session (refresh-token family) the token belongs to, as `sid`: ending it ends the token. */
  readonly sessionId?: string;
}

export interface AccessTokenOptions {
  readonly secret: Buffer;
  readonly issuer: string;
  readonly audience: string;
  readonly ttlMs: number;
  readonly leewayMs: number;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now?: () => number;
}

export interface IssuedAccessToken {
  readonly token: string;
  /** Lifetime in seconds, as `expiresIn` in token responses. */
  readonly expiresIn: number;
}

export interface AccessTokens {
  issue(subject: AccessTokenSubject): IssuedAccessToken;
  /** Signature, algorithm, header, `iss`, `aud`, `exp`, `nbf`, `iat` and claim shapes; not the session. */
  verify(token: string): TokenVerdict;
  /** The key and options of verification, which session tickets share: one definition, two users. */
  readonly verification: {
    readonly key: KeyObject;
    readonly options: jwt.VerifyOptions & { algorithms: jwt.Algorithm[] };
  };
}

export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  if (options.secret.length < 32) throw new TypeError('createAccessTokens: secret must be at least 32 bytes');
  if (!(options.ttlMs > 0)) throw new TypeError('createAccessTokens: ttlMs must be positive');
  const now = options.now ?? Date.now;
  // A KeyObject made once: jsonwebtoken turns a string secret into one on every call (~50x slower).
  const key = createSecretKey(options.secret);
  const ttlSeconds = Math.max(1, Math.floor(options.ttlMs / 1000));
  const verifyOptions = {
    algorithms: [ACCESS_TOKEN_ALGORITHM] as jwt.Algorithm[],
    issuer: options.issuer,
    audience: options.audience,
    clockTolerance: Math.floor(options.leewayMs / 1000),
  };

  const leewaySeconds = Math.floor(options.leewayMs / 1000);

  return {
    verification: { key, options: verifyOptions },

    issue(subject) {
      const issuedAt = Math.floor(now() / 1000);
      const claims = {
        sub: subject.id,
        username: subject.username,
        roles: [...subject.roles],
        ver: subject.tokenVersion,
        ...(subject.sessionId === undefined ? {} : { sid: subject.sessionId }),
        iss: options.issuer,
        aud: options.audience,
        iat: issuedAt,
        exp: issuedAt + ttlSeconds,
        jti: randomUUID(),
      };
      const token = jwt.sign(claims, key, { algorithm: ACCESS_TOKEN_ALGORITHM });
      return { token, expiresIn: ttlSeconds };
    },

    verify(token) {
      if (token.length > MAX_ACCESS_TOKEN_LENGTH) return rejected('token_too_large');
      if (hasForeignSignature(token, key)) return rejected('token_invalid');
      const clockTimestamp = Math.floor(now() / 1000);
      let verified: jwt.Jwt;
      try {
        verified = jwt.verify(token, key, { ...verifyOptions, clockTimestamp, complete: true });
      } catch (err) {
        return rejected(rejectionOf(err));
      }
      if (FORBIDDEN_HEADER_PARAMETERS.some((name) => name in verified.header))
        return rejected('token_invalid');
      // A session ticket (session-ticket.ts) is the cookie's, never a bearer token.
      if (verified.header.typ !== undefined && verified.header.typ !== 'JWT')
        return rejected('token_invalid');
      const claims = claimsOf(verified.payload);
      if (!claims) return rejected('token_invalid');
      // jsonwebtoken checks nbf but not iat: a token from the future was not issued here.
      const issuedAt = (verified.payload as { iat?: unknown }).iat;
      if (typeof issuedAt === 'number' && issuedAt > clockTimestamp + leewaySeconds) {
        return rejected('token_not_yet_valid');
      }
      return { valid: true, ...claims };
    },
  };
}

/**
 * True when the token has a signature and it is not our HS256 signature over its first two
 * parts. jsonwebtoken would refuse such a token too, but only after decoding it and throwing an
 * error with a stack trace, which makes a flood of forged tokens cost more than a valid one.
 * Everything else, including every token this passes, is still judged by jsonwebtoken.
 */
export function hasForeignSignature(token: string, key: KeyObject): boolean {
  const headerEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  // Not three parts with a signature: jsonwebtoken names what is wrong with it.
  if (headerEnd === -1 || payloadEnd === -1 || token.includes('.', payloadEnd + 1)) return false;
  if (payloadEnd === token.length - 1) return false;
  const expected = createHmac('sha256', key).update(token.slice(0, payloadEnd)).digest();
  const given = Buffer.from(token.slice(payloadEnd + 1), 'base64url');
  return given.length !== expected.length || !timingSafeEqual(given, expected);
}

function rejected(reason: TokenRejection): TokenVerdict {
  return { valid: false, reason };
}

function rejectionOf(err: unknown): TokenRejection {
  if (err instanceof jwt.TokenExpiredError) return 'token_expired';
  if (err instanceof jwt.NotBeforeError) return 'token_not_yet_valid';
  if (err instanceof jwt.JsonWebTokenError && err.message === 'jwt malformed') return 'token_malformed';
  return 'token_invalid';
}

function claimsOf(payload: unknown): AccessClaims | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { sub, username, roles, exp, jti, ver, sid } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || sub === '' || typeof username !== 'string' || typeof exp !== 'number') {
    return undefined;
  }
  if (typeof jti !== 'string' || jti === '' || typeof ver !== 'number' || !Number.isInteger(ver))
    return undefined;
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) return undefined;
  if (sid !== undefined && (typeof sid !== 'string' || sid === '')) return undefined;
  return {
    identity: { id: sub, username, roles },
    tokenId: jti,
    tokenVersion: ver,
    ...(sid === undefined ? {} : { sessionId: sid }),
    expiresAt: exp * 1000,
  };
}
