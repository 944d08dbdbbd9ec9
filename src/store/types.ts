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
}

export type NewUser = Omit<UserRecord, 'id' | 'createdAt' | 'disabled' | 'tokenVersion'>;

export interface UserChanges {
  readonly roles?: readonly string[];
  readonly disabled?: boolean;
  readonly passwordHash?: string;
}

export interface UpdateOptions {
  /** Also revoke every refresh-token family of the user (password change, disabling). */
  readonly endSessions: boolean;
}

export type CreateUserResult =
  | { readonly created: true; readonly user: UserRecord }
  | { readonly created: false; readonly reason: 'username_taken' };

/** One refresh token of a family; a family is the chain of rotations from one login. */
export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly userId: string;
  readonly familyId: string;
  /** Milliseconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** Set when this token was exchanged for the next one of its family. */
  readonly usedAt?: number;
  readonly revokedAt?: number;
}

export interface NewRefreshToken {
  readonly tokenHash: string;
  readonly expiresAt: number;
}

export type RotateResult =
  | { readonly outcome: 'rotated'; readonly userId: string; readonly familyId: string }
  /** A used token came back: the family has been revoked (RFC 9700 §4.14.2). */
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
  /** Deletes the user and every refresh token of theirs; false when there is no such user. */
  delete(id: string): Promise<boolean>;
}

export interface RefreshTokenStore {
  /** Starts a new family with its first token. */
  startFamily(userId: string, token: NewRefreshToken, now: number): Promise<{ familyId: string }>;
  /**
   * Exchanges a live token for `next` in one atomic step: of concurrent calls with the same
   * token exactly one gets `rotated`.
   */
  rotate(tokenHash: string, next: NewRefreshToken, now: number): Promise<RotateResult>;
  /** Revokes the family of the token if it belongs to `userId`; false when it does not. */
  revokeFamilyOf(tokenHash: string, userId: string, now: number): Promise<boolean>;
}

/** An access token refused until `expiresAt` (ms since the epoch). */
export interface RevokedAccessToken {
  readonly tokenId: string;
  readonly expiresAt: number;
}

/** Everything a store holds, as `store migrate` reads it from one store to copy into another. */
export interface StoreSnapshot {
  readonly users: readonly UserRecord[];
  readonly refreshTokens: readonly RefreshTokenRecord[];
  readonly revokedAccessTokens: readonly RevokedAccessToken[];
}

/** Access tokens refused before their expiry (logout). */
export interface AccessTokenRevocations {
  /** Refuses the token until `expiresAt` (ms since the epoch); the caller includes any clock leeway. */
  revoke(tokenId: string, expiresAt: number): Promise<void>;
}

/** What the store can tell synchronously about a user's sessions; see SessionGuard. */
export interface SessionView {
  isRevoked(tokenId: string): boolean;
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
