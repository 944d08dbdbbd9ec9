import { createHmac, randomUUID } from 'node:crypto';
import { TEST_JWT_SECRET } from './sidecar.js';

/** Who a forged token speaks for: a real user's id and token version, for the session check. */
export interface ForgedSubject {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
  /** The user's token version; a fresh user has 0. */
  readonly tokenVersion?: number;
}

export type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';

export interface ForgeOptions {
  /** Seconds since the epoch that `iat` and `exp` count from; the sidecar's clock, usually. */
  readonly nowSeconds: number;
  /** Merged over `{alg, typ: 'JWT'}`, so a test can add `kid`, `jku`, `crit` and the like. */
  readonly header?: Readonly<Record<string, unknown>>;
  /** Merged over the claims the sidecar issues; a claim set to `undefined` is left out. */
  readonly claims?: Readonly<Record<string, unknown>>;
  readonly algorithm?: HmacAlgorithm;
  readonly secret?: string;
}

const HASH_OF: Readonly<Record<HmacAlgorithm, string>> = {
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
};

export function base64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/**
 * A JWT built byte for byte, with exactly the header and claims asked for and an HMAC signature:
 * with the defaults it is a token the sidecar would have issued itself (HS256, the test secret,
 * `sub`, `username`, `roles`, `ver`, `iss`, `aud`, `iat`, `exp` of 15 minutes, `jti`).
 */
export function forgeToken(subject: ForgedSubject, options: ForgeOptions): string {
  const algorithm = options.algorithm ?? 'HS256';
  const header = { alg: algorithm, typ: 'JWT', ...options.header };
  const merged: Record<string, unknown> = {
    sub: subject.id,
    username: subject.username,
    roles: [...subject.roles],
    ver: subject.tokenVersion ?? 0,
    iss: 'auth-sidecar',
    aud: 'upstream',
    iat: options.nowSeconds,
    exp: options.nowSeconds + 900,
    jti: randomUUID(),
    ...options.claims,
  };
  const claims = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== undefined));
  const signingInput = `${base64urlJson(header)}.${base64urlJson(claims)}`;
  const signature = createHmac(HASH_OF[algorithm], options.secret ?? TEST_JWT_SECRET)
    .update(signingInput)
    .digest('base64url');
  return `${signingInput}.${signature}`;
}

/** The `alg: none` form of the same claims: no signature at all. */
export function forgeUnsignedToken(subject: ForgedSubject, options: ForgeOptions): string {
  const signed = forgeToken(subject, options);
  const [, payload] = signed.split('.');
  return `${base64urlJson({ alg: 'none', typ: 'JWT', ...options.header })}.${payload}.`;
}

/** The claims of a JWT, read without any verification. */
export function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1];
  if (payload === undefined) throw new Error(`not a JWT: ${token}`);
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The same token with its payload rewritten and its header and signature kept as they were. */
export function withAlteredPayload(
  token: string,
  alter: (claims: Record<string, unknown>) => Record<string, unknown>,
): string {
  const [header, , signature] = token.split('.');
  if (header === undefined || signature === undefined) throw new Error(`not a JWT: ${token}`);
  return `${header}.${base64urlJson(alter(claimsOf(token)))}.${signature}`;
}

/**
 * A valid token exactly `length` characters long, made so by a `pad` claim. Not every length is
 * reachable (base64url never ends on one spare character), so the nearest longer length is not
 * silently used: a length that cannot be made throws.
 */
export function forgeTokenOfLength(subject: ForgedSubject, options: ForgeOptions, length: number): string {
  const base = forgeToken(subject, { ...options, claims: { ...options.claims, pad: '' } });
  for (let pad = Math.max(0, Math.floor(((length - base.length) * 3) / 4) - 4); pad < length; pad++) {
    const token = forgeToken(subject, { ...options, claims: { ...options.claims, pad: 'p'.repeat(pad) } });
    if (token.length === length) return token;
    if (token.length > length) break;
  }
  throw new Error(`no token of exactly ${length} characters can be made`);
}
