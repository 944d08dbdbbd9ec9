/**
 * The store as the rest of the sidecar sees it: asynchronous, so that a shared store can stand in
 * for the embedded one. It knows nothing of HTTP or JWTs; token hashes are opaque strings.
 */

export interface UserRecord {
  readonly id: string;
  /** Already normalized (NFKC, lower case). */
  readonly username: string;
  readonly passwordHash: string;
  readonly roles: readonly string[];
  readonly email?: string;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly disabled: boolean;
  /**
   * Bumped whenever the user's sessions must end or be re-issued (password, roles, disabling):
   * access tokens carry the version they were issued under.
   */
  readonly tokenVersion: number;
  /**
   * Bumped whenever the user's sessions must end (password change, disabling): a refresh-token
   * family carries the version it was started under, and rotates only while it is current. A role
   * change leaves it, so a refresh brings the new roles.
   */
  readonly sessionVersion: number;
}

export type NewUser = Omit<UserRecord, 'id' | 'createdAt' | 'disabled' | 'tokenVersion' | 'sessionVersion'>;

export interface UserChanges {
  readonly roles?: readonly string[];
  readonly disabled?: boolean;
  readonly passwordHash?: string;
}

export interface UpdateOptions {
  /**
   * Also end every session (refresh-token family) of the user (password change, disabling): the
   * session version is bumped in the same step, so no family started before can rotate again.
   */
  readonly endSessions: boolean;
}

export type CreateUserResult =
  | { readonly created: true; readonly user: UserRecord }
  | { readonly created: false; readonly reason: 'username_taken' };

/**
 * A session: the chain of refresh-token rotations that one login started. Only the token that can
 * be exchanged now is known (by its hash); a token of the family that is not the current one is a
 * replay (RFC 9700 §4.14.2), recognized by the family id every token of the family derives, so no
 * record of a used token is kept.
 */
export interface SessionFamily {
  readonly familyId: string;
  readonly userId: string;
  /** The hash of the one token of the family that can be exchanged now. */
  readonly tokenHash: string;
  /** Rotations so far: 0 for the token the login issued. */
  readonly generation: number;
  /** The user's `sessionVersion` when the family started: a newer one has ended it. */
  readonly sessionVersion: number;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  /** When the current token expires; the family ends with it. */
  readonly expiresAt: number;
  /** Set when the family was ended (logout, replay, evicted by a newer login). */
  readonly revokedAt?: number;
}

export interface NewRefreshToken {
  readonly tokenHash: string;
  readonly expiresAt: number;
}

/** A token as presented: the family it names and its own hash. */
export interface PresentedRefreshToken {
  readonly familyId: string;
  readonly tokenHash: string;
}

export interface StartFamilyRequest {
  readonly userId: string;
  /**
   * The token version of the user record read before the password was checked: the family starts
   * only while it is still the user's (no password change, disabling or other change since).
   */
  readonly expectedTokenVersion: number;
  readonly familyId: string;
  readonly token: NewRefreshToken;
  /** The user's families beyond this many end, oldest first. */
  readonly maxFamilies: number;
  /** Access tokens of a family ended here are refused until then (ms since the epoch). */
  readonly refuseAccessUntil: number;
  readonly now: number;
}

export type StartFamilyResult =
  /** `user` is the record read in the same atomic step: issue the access token from it. */
  | { readonly started: true; readonly user: UserRecord; readonly evicted: readonly string[] }
  /** The user is gone, disabled, or changed since the expected version was read. */
  | { readonly started: false };

export interface SessionEnding {
  readonly now: number;
  /** Access tokens of the ended family are refused until then (ms since the epoch). */
  readonly refuseAccessUntil: number;
}

export type RotateResult =
  /** `user` is the record read in the same atomic step: issue the access token from it. */
  | { readonly outcome: 'rotated'; readonly user: UserRecord; readonly familyId: string }
  /** A token of the family that is not the current one came back: the family has been revoked. */
  | { readonly outcome: 'reused'; readonly userId: string; readonly familyId: string }
  | { readonly outcome: 'rejected'; readonly reason: 'unknown' | 'expired' | 'revoked' };

export interface UserStore {
  /** Creates the user unless the username is taken; atomic with respect to other creates. */
  create(user: NewUser): Promise<CreateUserResult>;
  findByUsername(username: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  list(): Promise<readonly UserRecord[]>;
  count(): Promise<number>;
  /**
   * Applies the changes and bumps the token version in one atomic step, so every access token
   * issued before is superseded; undefined when there is no such user.
   */
  update(id: string, changes: UserChanges, options: UpdateOptions): Promise<UserRecord | undefined>;
  /**
   * Replaces the password hash only if the stored one is still `expectedHash` (a compare-and-set,
   * atomic with respect to every other change of the user). Unlike `update`, the token version is
   * not bumped and no session ends: it rehashes the same password, at a new cost, after a
   * successful login. True when replaced; false when the user is gone or the hash changed since.
   */
  replacePasswordHash(id: string, expectedHash: string, nextHash: string): Promise<boolean>;
  /** Deletes the user and every session of theirs; false when there is no such user. */
  delete(id: string): Promise<boolean>;
}

/** The sessions: refresh-token families, one record each, however often they rotate. */
export interface RefreshTokenStore {
  /**
   * Starts a family in one atomic step, if the user is still enabled and at the expected token
   * version; past `maxFamilies` the user's oldest families end.
   */
  startFamily(request: StartFamilyRequest): Promise<StartFamilyResult>;
  /**
   * Exchanges the family's current token for `next` in one atomic step, if the family is live and
   * its user enabled and still at the session version it started under: of concurrent calls with
   * the same token exactly one gets `rotated`. Another token of a live family is a replay, which
   * ends the family by one flag.
   */
  rotate(
    presented: PresentedRefreshToken,
    next: NewRefreshToken,
    ending: SessionEnding,
  ): Promise<RotateResult>;
  /** The user of a live family, or undefined (to meter refreshes per user before rotating). */
  ownerOf(familyId: string): Promise<string | undefined>;
  /** Ends the family if it belongs to `userId`, by one flag; false when it does not. */
  revokeFamily(familyId: string, userId: string, ending: SessionEnding): Promise<boolean>;
}

/** An access token refused until `expiresAt` (ms since the epoch). */
export interface RevokedAccessToken {
  readonly tokenId: string;
  readonly expiresAt: number;
}

/** Everything a store holds, as `store migrate` reads it from one store to copy into another. */
export interface StoreSnapshot {
  readonly users: readonly UserRecord[];
  readonly families: readonly SessionFamily[];
  readonly revokedAccessTokens: readonly RevokedAccessToken[];
}

/**
 * Access tokens refused before their expiry (logout). The ids are token ids (`jti`) or session ids
 * (`sid`, a family id: every access token of an ended session).
 */
export interface AccessTokenRevocations {
  /** Refuses the token until `expiresAt` (ms since the epoch); the caller includes any clock leeway. */
  revoke(tokenId: string, expiresAt: number): Promise<void>;
}

/** What the store can tell synchronously about a user's sessions; see SessionGuard. */
export interface SessionView {
  /** True for a revoked access-token id, or the id of a session ended by logout or replay. */
  isRevoked(id: string): boolean;
  /** The user's current state, or undefined when there is no such user. */
  sessionStateOf(userId: string): { readonly disabled: boolean; readonly tokenVersion: number } | undefined;
}

export interface Store {
  readonly users: UserStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly revokedAccessTokens: AccessTokenRevocations;
  readonly sessions: SessionView;
  /** True while the store can serve reads and writes. */
  isReady(): boolean;
  /** Waits for pending writes, then closes. */
  close(): Promise<void>;
}
