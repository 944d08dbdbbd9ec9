import type { RequestHandler } from 'express';
import { parseRefreshToken } from '../../tokens/refresh-token.js';
import { auditRequest } from './audit-request.js';
import type { AuthContext } from './deps.js';
import { requireCaller } from './require-caller.js';
import { logoutBody, parseBody } from '../schemas/requests.js';
import { sessionEnding } from './token-response.js';

/**
 * POST /auth/logout {refreshToken?} with Bearer → 204. The session of the access token presented
 * ends: its refresh token stops working, and so does every access token issued in it (the one
 * presented, and those of earlier refreshes). A refresh token given in the body, if it is the
 * caller's, ends its session too.
 */
export function createLogoutHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const { user, claims } = await requireCaller(deps, req, res);
    const body = parseBody(logoutBody, req.body);
    const ending = sessionEnding(deps);
    // The verifier accepts a token until exp + leeway, so the revocation must outlive that too.
    const refusedUntil = claims.expiresAt + deps.config.tokens.leeway;
    await deps.store.revokedAccessTokens.revoke(claims.tokenId, refusedUntil);
    if (claims.sessionId !== undefined)
      await deps.store.refreshTokens.revokeFamily(claims.sessionId, user.id, ending);
    const presented = body?.refreshToken === undefined ? undefined : parseRefreshToken(body.refreshToken);
    const revokedRefreshToken =
      presented === undefined
        ? false
        : await deps.store.refreshTokens.revokeFamily(presented.familyId, user.id, ending);
    auditRequest(deps, req, { event: 'auth.logout', userId: user.id, revokedRefreshToken });
    res.status(204).end();
  };
}
