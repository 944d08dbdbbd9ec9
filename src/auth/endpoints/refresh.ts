import type { RequestHandler } from 'express';
import { ProblemError } from '../../errors.js';
import { nextRefreshToken, parseRefreshToken } from '../../tokens/refresh-token.js';
import { auditRequest } from './audit-request.js';
import type { AuthContext } from './deps.js';
import { parseBody, refreshBody } from '../schemas/requests.js';
import { sendTokens, sessionEnding, tokenResponse } from './token-response.js';

/**
 * POST /auth/refresh {refreshToken} → 200 with a new pair; the token presented stops working.
 * Metered per session and per user (429) before the rotation; the rotation and the read of the
 * user the new access token is issued from are one atomic step of the store.
 */
export function createRefreshHandler(deps: AuthContext): RequestHandler {
  const { refreshPerSession, refreshPerUser } = deps.limiters;
  return async (req, res) => {
    const body = parseBody(refreshBody, req.body);
    const presented = parseRefreshToken(body.refreshToken);
    // Only a live session is metered, so made-up tokens cannot fill anyone's budget.
    const owner = presented && (await deps.store.refreshTokens.ownerOf(presented.familyId));
    if (!presented || owner === undefined) {
      auditRequest(deps, req, { event: 'auth.refresh.failure', reason: 'unknown' });
      throw invalidRefreshToken();
    }
    await refreshPerSession.consume(presented.familyId);
    await refreshPerUser.consume(owner);
    const ending = sessionEnding(deps);
    const next = nextRefreshToken(presented);
    const result = await deps.store.refreshTokens.rotate(
      presented,
      { tokenHash: next.tokenHash, expiresAt: ending.now + deps.config.tokens.refreshTtl },
      ending,
    );
    switch (result.outcome) {
      case 'rejected':
        auditRequest(deps, req, { event: 'auth.refresh.failure', reason: result.reason });
        throw invalidRefreshToken();
      case 'reused':
        auditRequest(deps, req, {
          event: 'auth.refresh.reuse_detected',
          userId: result.userId,
          familyId: result.familyId,
        });
        throw invalidRefreshToken();
      case 'rotated': {
        const { user, familyId } = result;
        auditRequest(deps, req, { event: 'auth.refresh', userId: user.id, familyId });
        sendTokens(res, 200, tokenResponse(deps, user, next.token, familyId));
        return;
      }
    }
  };
}

function invalidRefreshToken(): ProblemError {
  return new ProblemError('invalid_refresh_token', 'The refresh token is unknown, used, revoked or expired.');
}
