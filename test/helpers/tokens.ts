import jwt from 'jsonwebtoken';
import { TEST_JWT_SECRET } from './sidecar.js';

export interface MintOptions {
  readonly sub?: string;
  readonly username?: string;
  readonly roles?: readonly string[];
  readonly iss?: string;
  readonly aud?: string;
  /** Seconds from now; negative for an expired token. Omit the claim with `null`. */
  readonly expiresIn?: number | null;
  readonly secret?: string;
  readonly algorithm?: jwt.Algorithm;
  readonly extraClaims?: Record<string, unknown>;
}

/** Signs an access token as the sidecar would, or deliberately not, for the attack cases. */
export function mintToken(options: MintOptions = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, unknown> = {
    sub: options.sub ?? 'user-1',
    username: options.username ?? 'alice',
    roles: options.roles ?? ['user'],
    iss: options.iss ?? 'auth-sidecar',
    aud: options.aud ?? 'upstream',
    iat: now,
    jti: `jti-${now}-${Math.random()}`,
    ver: 0,
    ...options.extraClaims,
  };
  if (options.expiresIn !== null) claims.exp = now + (options.expiresIn ?? 900);
  return jwt.sign(claims, options.secret ?? TEST_JWT_SECRET, { algorithm: options.algorithm ?? 'HS256' });
}

/** An unsigned token (`alg: none`), which must never be accepted. */
export function unsignedToken(claims: Record<string, unknown> = {}): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    sub: 'user-1',
    username: 'mallory',
    roles: ['admin'],
    iss: 'auth-sidecar',
    aud: 'upstream',
    exp: now + 900,
    jti: 'jti-unsigned',
    ver: 0,
    ...claims,
  };
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode(payload)}.`;
}
