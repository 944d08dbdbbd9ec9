import type { RequestHandler } from 'express';
import { ProblemError } from '../errors.js';
import { generateRefreshToken, hashRefreshToken } from '../tokens/refresh-token.js';
import { auditRequest } from './audit-request.js';
import type { AuthContext } from './deps.js';
import { parseBody, refreshBody } from './schemas.js';
import { sendTokens, tokenResponse } from './session.js';

/** POST /auth/refresh {refreshToken} → 200 with a new pair; the token presented stops working. */
export function createRefreshHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const body = parseBody(refreshBody, req.body);
    const now = deps.now();
    const next = generateRefreshToken();
    const result = await deps.store.refreshTokens.rotate(
      hashRefreshToken(body.refreshToken),
      { tokenHash: next.tokenHash, expiresAt: now + deps.config.tokens.refreshTtl },
      now,
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
        const user = await deps.store.users.findById(result.userId);
        if (!user || user.disabled) throw invalidRefreshToken();
        auditRequest(deps, req, { event: 'auth.refresh', userId: user.id, familyId: result.familyId });
        sendTokens(res, 200, tokenResponse(deps, user, next.token));
        return;
      }
    }
  };
}

function invalidRefreshToken(): ProblemError {
  return new ProblemError('invalid_refresh_token', 'The refresh token is unknown, used, revoked or expired.');
}
