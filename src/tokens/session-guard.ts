import type { SessionGuard, TokenVerdict } from '../identity.js';
import type { SessionView } from '../store/types.js';

/**
 * The session behind a token: the token or its whole session revoked (logout, a replayed refresh
 * token), superseded, or its user disabled or gone.
 */
export function createSessionGuard(view: SessionView): SessionGuard {
  return {
    check(claims) {
      if (view.isRevoked(claims.tokenId)) return 'token_revoked';
      if (claims.sessionId !== undefined && view.isRevoked(claims.sessionId)) return 'token_revoked';
      const state = view.sessionStateOf(claims.identity.id);
      if (!state) return 'user_unknown';
      if (state.disabled) return 'user_disabled';
      if (state.tokenVersion !== claims.tokenVersion) return 'token_superseded';
      return undefined;
    },
  };
}

/** Verifies a token and the session behind it: the one check both the proxy and /auth use. */
export function createSessionVerifier(
  verifyToken: (token: string) => TokenVerdict,
  guard: SessionGuard,
): (token: string) => TokenVerdict {
  return (token) => {
    const verdict = verifyToken(token);
    if (!verdict.valid) return verdict;
    const rejection = guard.check(verdict);
    return rejection === undefined ? verdict : { valid: false, reason: rejection };
  };
}
