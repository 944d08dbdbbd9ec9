import type { RequestHandler } from 'express';
import { hashRefreshToken } from '../tokens/refresh-token.js';
import { auditRequest } from './audit-request.js';
import type { AuthContext } from './deps.js';
import { requireCaller } from './require-caller.js';
import { logoutBody, parseBody } from './schemas.js';

/**
 * POST /auth/logout {refreshToken?} with Bearer → 204. The access token presented is refused from
 * now until it expires; the refresh token, if it is the caller's, stops working with its family.
 */
export function createLogoutHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const { user, claims } = await requireCaller(deps, req, res);
    const body = parseBody(logoutBody, req.body);
    // The verifier accepts a token until exp + leeway, so the revocation must outlive that too.
    const refusedUntil = claims.expiresAt + deps.config.tokens.leeway;
    await deps.store.revokedAccessTokens.revoke(claims.tokenId, refusedUntil);
    const revokedRefreshToken =
      body?.refreshToken === undefined
        ? false
        : await deps.store.refreshTokens.revokeFamilyOf(
            hashRefreshToken(body.refreshToken),
            user.id,
            deps.now(),
          );
    auditRequest(deps, req, { event: 'auth.logout', userId: user.id, revokedRefreshToken });
    res.status(204).end();
  };
}
