import { createHash, randomBytes } from 'node:crypto';

/** 256 bits of randomness: the token itself is never stored, only its hash. */
const REFRESH_TOKEN_BYTES = 32;

export interface GeneratedRefreshToken {
  readonly token: string;
  readonly tokenHash: string;
}

export function generateRefreshToken(): GeneratedRefreshToken {
  const token = randomBytes(REFRESH_TOKEN_BYTES).toString('base64url');
  return { token, tokenHash: hashRefreshToken(token) };
}

/** SHA-256 suffices: the input has 256 bits of entropy, so there is nothing to brute-force. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
