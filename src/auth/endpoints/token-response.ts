import type { Response } from 'express';
import { ProblemError } from '../../errors.js';
import type { SessionEnding, UserRecord } from '../../store/types.js';
import { generateRefreshToken } from '../../tokens/refresh-token.js';
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

/** The tokens of `user` in session `familyId`: the access token carries it as `sid`. */
export function tokenResponse(
  deps: AuthDeps,
  user: UserRecord,
  refreshToken: string,
  familyId: string,
): TokenResponse {
  const access = deps.accessTokens.issue({
    ...publicUser(user),
    tokenVersion: user.tokenVersion,
    sessionId: familyId,
  });
  return {
    user: publicUser(user),
    accessToken: access.token,
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: access.expiresIn,
  };
}

/**
 * How a session ends (logout, replay, eviction, sign-out): its access tokens and session tickets
 * are refused for as long as the newest of them can be accepted, exp and clock leeway included.
 */
export function sessionEnding(deps: AuthDeps): SessionEnding {
  const now = deps.now();
  const { accessTtl, leeway } = deps.config.tokens;
  const { enabled, session } = deps.config.browser;
  const longest = enabled ? Math.max(accessTtl, session.idleTimeout) : accessTtl;
  return { now, refuseAccessUntil: now + longest + leeway + 1000 };
}

/**
 * A new session (a login or a registration) and the tokens that go with it. `user` is the record
 * read before the password was checked: see {@link startFamilyFor}.
 */
export async function startSession(
  deps: AuthDeps,
  user: UserRecord,
): Promise<{ response: TokenResponse; familyId: string }> {
  const refresh = generateRefreshToken();
  const started = await startFamilyFor(deps, user, refresh, deps.config.tokens.refreshTtl);
  return {
    response: tokenResponse(deps, started, refresh.token, refresh.familyId),
    familyId: refresh.familyId,
  };
}

/**
 * Starts the session of `family` for `user`, the record read before the password was checked,
 * ending `lifetimeMs` from now: in one atomic step of the store, only if the user is still enabled
 * and unchanged since, so a password change or disabling that lands during the check ends this
 * sign-in too (answered as a wrong password). Returns the record that step read, to issue from.
 */
export async function startFamilyFor(
  deps: AuthDeps,
  user: UserRecord,
  family: { readonly familyId: string; readonly tokenHash: string },
  lifetimeMs: number,
): Promise<UserRecord> {
  const ending = sessionEnding(deps);
  const started = await deps.store.refreshTokens.startFamily({
    userId: user.id,
    expectedTokenVersion: user.tokenVersion,
    familyId: family.familyId,
    token: { tokenHash: family.tokenHash, expiresAt: ending.now + lifetimeMs },
    maxFamilies: deps.config.tokens.maxSessions,
    refuseAccessUntil: ending.refuseAccessUntil,
    now: ending.now,
  });
  if (!started.started) {
    deps.logger.info(
      { event: 'auth.session.refused', userId: user.id, reason: 'user_changed' },
      'the user changed during the password check; no session started',
    );
    // The same answer as a wrong password: the credentials checked are no longer the user's.
    throw new ProblemError('invalid_credentials', 'The username or password is wrong.');
  }
  return started.user;
}

/** RFC 6749 §5.1: token responses must not be cached. */
export function sendTokens(res: Response, status: number, body: TokenResponse): void {
  res.status(status).set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' }).json(body);
}
