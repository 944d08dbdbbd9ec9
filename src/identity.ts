/** Who a verified access token says the caller is. */
export interface Identity {
  readonly id: string;
  readonly username: string;
  readonly roles: readonly string[];
}

/** Why a token that verified cryptographically is still refused: the session behind it ended. */
export type SessionRejection = 'token_revoked' | 'token_superseded' | 'user_disabled' | 'user_unknown';

/** Stable reason ids for a token that was presented but not accepted; they appear in logs. */
export type TokenRejection =
  | 'token_malformed'
  | 'token_too_large'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_invalid'
  | SessionRejection;

/** What a signed, unexpired token claims, before the session behind it is checked. */
export interface AccessClaims {
  readonly identity: Identity;
  readonly tokenId: string;
  /** The user's token version when the token was issued; a newer one supersedes it. */
  readonly tokenVersion: number;
  /**
   * The session (refresh-token family) the token was issued for (`sid`): a logout or a replayed
   * refresh token ends it, and every access token of it. Absent only in tokens issued without one.
   */
  readonly sessionId?: string;
  /** Milliseconds since the epoch. */
  readonly expiresAt: number;
  /** Set only for a token of a trusted identity provider (`trust`), which has no session here. */
  readonly issuer?: string;
  /** The verified payload, for identity headers drawn from claims. */
  readonly claims?: Readonly<Record<string, unknown>>;
}

export type TokenVerdict =
  ({ readonly valid: true } & AccessClaims) | { readonly valid: false; readonly reason: TokenRejection };

/**
 * Answers, synchronously and from memory, whether the session behind a token still stands: the
 * user exists and is enabled, the token was not revoked and not superseded (password or role
 * change). Synchronous, so that it costs a map lookup on every proxied request.
 */
export interface SessionGuard {
  check(claims: AccessClaims): SessionRejection | undefined;
}
