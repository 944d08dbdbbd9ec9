/**
 * A browser session begins and ends here: a session of the store like a login's (ended by the
 * same logout, password change, disabling and deletion, on every replica) whose refresh token is
 * never handed out, and a cookie holding a ticket for it.
 */
import type { IncomingMessage } from 'node:http';
import type { BrowserSessions } from '../../browser/browser-sessions.js';
import type { UserRecord } from '../../store/types.js';
import type { TicketClaims } from '../../tokens/session-ticket.js';
import { generateRefreshToken } from '../../tokens/refresh-token.js';
import { auditRequest } from './audit-request.js';
import type { AuthContext } from './deps.js';
import { sessionEnding, startFamilyFor } from './token-response.js';

/** Browser sign-in's deps, present: the pages are mounted only when it is on. */
export type BrowserContext = AuthContext & { readonly browser: BrowserSessions };

/**
 * Starts a session for `user`, the record read before the password was checked: it starts only if
 * the user is unchanged since (no password change or disabling in between). Returns the Set-Cookie
 * field. A new session id at every sign-in: a cookie set before (by anyone) names no session of this one.
 */
export async function startBrowserSession(
  deps: BrowserContext,
  req: IncomingMessage,
  user: UserRecord,
): Promise<string> {
  // Its family secret is thrown away: this session can never be refreshed, only carried by tickets.
  const family = generateRefreshToken();
  const current = await startFamilyFor(deps, user, family, deps.config.browser.session.maxAge);
  const authTime = deps.now();
  const { ticket, expiresAt } = deps.browser.tickets.issue({
    id: current.id,
    username: current.username,
    roles: current.roles,
    tokenVersion: current.tokenVersion,
    sessionId: family.familyId,
    authTime,
  });
  auditRequest(deps, req, { event: 'auth.session.start', userId: current.id, sessionId: family.familyId });
  return deps.browser.cookie.serialize(ticket, expiresAt, authTime);
}

/** The session of the request's cookie, when it still stands. */
export function browserSessionOf(deps: BrowserContext, req: IncomingMessage): TicketClaims | undefined {
  const cookie = deps.browser.cookie.read(req.headers.cookie);
  if (cookie.kind !== 'ticket') return undefined;
  const verdict = deps.browser.verify(cookie.ticket);
  return verdict.valid ? verdict : undefined;
}

/**
 * Ends the session of `claims` at once, on every replica, or with `everywhere` every session of
 * the user (browser sessions and API logins alike).
 */
export async function endBrowserSession(
  deps: BrowserContext,
  req: IncomingMessage,
  claims: TicketClaims,
  everywhere: boolean,
): Promise<void> {
  const userId = claims.identity.id;
  if (everywhere) {
    await deps.store.users.update(userId, {}, { endSessions: true });
    auditRequest(deps, req, { event: 'auth.session.end', reason: 'sign_out', userId, everywhere: true });
    return;
  }
  await deps.store.refreshTokens.revokeFamily(claims.sessionId, userId, sessionEnding(deps));
  auditRequest(deps, req, {
    event: 'auth.session.end',
    reason: 'sign_out',
    userId,
    sessionId: claims.sessionId,
  });
}
