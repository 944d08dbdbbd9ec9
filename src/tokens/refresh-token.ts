import { createHash, randomBytes } from 'node:crypto';

/** 256 bits of randomness in each part: the token itself is never stored, only hashes. */
const SECRET_BYTES = 32;
/** base64url of 32 bytes, without padding. */
const PART = /^[A-Za-z0-9_-]{43}$/;

/**
 * A refresh token is `<family secret>.<token secret>`. Every token of a family (one login and its
 * rotations) carries the same family secret, and the family id is derived from it, so a token that
 * is not the family's current one is recognized as a replay without a record of each used token;
 * and knowing a family id (it is the `sid` of access tokens and appears in logs) does not let
 * anyone present a token of the family.
 */
export interface GeneratedRefreshToken {
  readonly token: string;
  readonly tokenHash: string;
  readonly familyId: string;
}

export interface ParsedRefreshToken {
  readonly familySecret: string;
  readonly familyId: string;
  readonly tokenHash: string;
}

/** The first token of a new family. */
export function generateRefreshToken(): GeneratedRefreshToken {
  return tokenOfFamily(randomBytes(SECRET_BYTES).toString('base64url'));
}

/** The next token of the family `presented` belongs to. */
export function nextRefreshToken(presented: ParsedRefreshToken): GeneratedRefreshToken {
  return tokenOfFamily(presented.familySecret);
}

/**
 * The family and hash of a presented token; undefined for anything else, tokens of the format
 * before families included (their sessions ended with the upgrade).
 */
export function parseRefreshToken(token: string): ParsedRefreshToken | undefined {
  const dot = token.indexOf('.');
  const familySecret = token.slice(0, dot);
  if (dot === -1 || !PART.test(familySecret) || !PART.test(token.slice(dot + 1))) return undefined;
  return { familySecret, familyId: familyIdOf(familySecret), tokenHash: hashRefreshToken(token) };
}

function tokenOfFamily(familySecret: string): GeneratedRefreshToken {
  const token = `${familySecret}.${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { token, tokenHash: hashRefreshToken(token), familyId: familyIdOf(familySecret) };
}

/** 128 bits of SHA-256: finding a family secret for a given id is a preimage search. */
function familyIdOf(familySecret: string): string {
  return createHash('sha256').update(`family:${familySecret}`, 'utf8').digest('hex').slice(0, 32);
}

/** SHA-256 suffices: the input has 512 bits of entropy, so there is nothing to brute-force. */
export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
