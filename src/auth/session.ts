import type { Response } from 'express';
import type { UserRecord } from '../store/types.js';
import { generateRefreshToken } from '../tokens/refresh-token.js';
import type { AuthDeps } from './deps.js';

export interface PublicUser {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
}

/** The body of every token response (register, login, refresh). */
export interface TokenResponse {
  readonly user: PublicUser;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: 'Bearer';
  readonly expiresIn: number;
}

export function publicUser(user: UserRecord): PublicUser {
  return { id: user.id, username: user.username, roles: user.roles };
}

export function tokenResponse(deps: AuthDeps, user: UserRecord, refreshToken: string): TokenResponse {
  const access = deps.accessTokens.issue({ ...publicUser(user), tokenVersion: user.tokenVersion });
  return {
    user: publicUser(user),
    accessToken: access.token,
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
  };
}

/** A new refresh-token family (a login or a registration) and the tokens that go with it. */
export async function startSession(
  deps: AuthDeps,
  user: UserRecord,
): Promise<{ response: TokenResponse; familyId: string }> {
  const now = deps.now();
  const refresh = generateRefreshToken();
  const { familyId } = await deps.store.refreshTokens.startFamily(
    user.id,
    { tokenHash: refresh.tokenHash, expiresAt: now + deps.config.tokens.refreshTtl },
    now,
  );
  return { response: tokenResponse(deps, user, refresh.token), familyId };
}

/** RFC 6749 §5.1: token responses must not be cached. */
export function sendTokens(res: Response, status: number, body: TokenResponse): void {
  res.status(status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(body);
}
