import { randomUUID } from 'node:crypto';
import type { AccessClaims, Identity, TokenRejection, TokenVerdict } from '../identity.js';
import { createOwnTokens, MAX_OWN_TOKEN_LENGTH, type OwnTokenCheck, type OwnTokens } from './own-tokens.js';
import type { TokenKeys } from './token-keys.js';

/** Larger tokens are refused before any parsing work. */
export const MAX_ACCESS_TOKEN_LENGTH = MAX_OWN_TOKEN_LENGTH;

/** The user and session a new access token is issued for. */
export interface AccessTokenSubject extends Identity {
  readonly tokenVersion: number;
  /** The session (refresh-token family) the token belongs to, as `sid`: ending it ends the token. */
  readonly sessionId?: string;
}

export interface AccessTokenOptions {
  readonly keys: TokenKeys;
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
  /** The keys and claims of the sidecar's tokens, which session tickets share: one definition, two users. */
  readonly own: OwnTokens;
}

/** An access token has the default type (RFC 7519 §5.1) or none; a session ticket is refused here. */
const ACCESS_TOKEN_CHECK: OwnTokenCheck = {
  accepts: (typ) => typ === undefined || typ === 'JWT',
  checkExpiry: true,
};

export function createAccessTokens(options: AccessTokenOptions): AccessTokens {
  if (!(options.ttlMs > 0)) throw new TypeError('createAccessTokens: ttlMs must be positive');
  const own = createOwnTokens({ ...options, now: options.now ?? Date.now });
  const ttlSeconds = Math.max(1, Math.floor(options.ttlMs / 1000));

  return {
    own,

    issue(subject) {
      const issuedAt = Math.floor(own.now() / 1000);
      const claims = {
        sub: subject.id,
        username: subject.username,
        roles: [...subject.roles],
        ver: subject.tokenVersion,
        ...(subject.sessionId === undefined ? {} : { sid: subject.sessionId }),
        iss: own.issuer,
        aud: own.audience,
        iat: issuedAt,
        exp: issuedAt + ttlSeconds,
        jti: randomUUID(),
      };
      return { token: own.sign(claims, 'JWT'), expiresIn: ttlSeconds };
    },

    verify(token) {
      const verified = own.verify(token, ACCESS_TOKEN_CHECK);
      if (!verified.ok) return rejected(verified.reason);
      const claims = claimsOf(verified.payload);
      return claims ? { valid: true, ...claims } : rejected('token_invalid');
    },
  };
}

function rejected(reason: TokenRejection): TokenVerdict {
  return { valid: false, reason };
}

function claimsOf(payload: Record<string, unknown>): AccessClaims | undefined {
  const { sub, username, roles, exp, jti, ver, sid } = payload;
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
    claims: payload,
  };
}
