import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { DataFile } from 'lowdb/node';
import { StoreOpenError } from './errors.js';
import type {
  CreateUserResult,
  NewUser,
  RevokedAccessToken,
  RotateResult,
  SessionFamily,
  Store,
  StoreSnapshot,
  UserChanges,
  UserRecord,
} from './types.js';

interface StoreFile {
  version: 2;
  users: UserRecord[];
  families: SessionFamily[];
  revokedAccessTokens: RevokedAccessToken[];
}

/**
 * The format before sessions were families: one record per refresh token, used ones included.
 * It still opens: its users and revocations are kept, its refresh tokens are not (their holders
 * log in again), and the next write saves the file in the current format.
 */
interface LegacyStoreFile {
  version: 1;
  users: UserRecord[];
  refreshTokens: unknown[];
  revokedAccessTokens?: RevokedAccessToken[];
}

export interface LowdbStoreOptions {
  readonly path: string;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now?: () => number;
  /** Told how long each file write took, in seconds (for metrics). */
  readonly onWrite?: (seconds: number) => void;
}

/**
 * The embedded store: the whole data set in memory, persisted as one JSON file. Each mutation
 * happens synchronously in memory, then waits for a file write that contains it. lowdb's writer
 * (steno) writes to a temporary file and renames it, so the file is always complete JSON, and it
 * coalesces writes that arrive while one is running into a single next write.
 */
export async function openLowdbStore(options: LowdbStoreOptions): Promise<Store> {
  const { path } = options;
  const now = options.now ?? Date.now;
  await mkdir(dirname(path), { recursive: true });
  const existed = await access(path).then(
    () => true,
    () => false,
  );
  const empty: StoreFile = { version: 2, users: [], families: [], revokedAccessTokens: [] };
  /** Users change rarely and tokens on every refresh: the users' JSON is kept until a user changes. */
  let users: { readonly list: UserRecord[]; readonly json: string } | undefined;
  const usersOf = () => (users ??= jsonOf([...usersById.values()]));
  const adapter = new DataFile<StoreFile>(path, {
    parse: (text) => JSON.parse(text) as StoreFile,
    stringify: (file) =>
      `{"version":2,"users":${usersOf().json},"families":${JSON.stringify(file.families)},` +
      `"revokedAccessTokens":${JSON.stringify(file.revokedAccessTokens)}}`,
  });
  const db = new Low<StoreFile>(adapter, empty);
  try {
    await db.read();
  } catch (err) {
    throw new StoreOpenError(path, `cannot read the store file: ${(err as Error).message}`, { cause: err });
  }
  const data = validateStoreFile(path, db.data);

  const usersById = new Map(data.users.map((user) => [user.id, withDefaults(user)]));
  const usersByName = new Map([...usersById.values()].map((user) => [user.username, user]));
  const families = new Map(data.families.map((family) => [family.familyId, family]));
  /** Each user's families in the order they started, oldest first. */
  const familiesByUser = new Map<string, Set<string>>();
  for (const family of [...families.values()].sort((a, b) => a.startedAt - b.startedAt))
    if (family.revokedAt === undefined) familiesOf(family.userId).add(family.familyId);
  const revoked = new Map(data.revokedAccessTokens.map((entry) => [entry.tokenId, entry.expiresAt]));
  let ready = false;
  let lastWrite: Promise<void> = Promise.resolve();

  function snapshot(): StoreFile {
    const at = now();
    for (const family of families.values()) if (family.expiresAt <= at) forgetFamily(family);
    for (const [tokenId, expiresAt] of revoked) if (expiresAt <= at) revoked.delete(tokenId);
    return {
      version: 2,
      users: usersOf().list,
      families: [...families.values()],
      revokedAccessTokens: [...revoked].map(([tokenId, expiresAt]) => ({ tokenId, expiresAt })),
    };
  }

  /** A write asked for and not yet started: every change made until it starts goes into it. */
  let pendingWrite: Promise<void> | undefined;

  /**
   * Resolves once a file write holding every change made so far has completed. Changes made while
   * a write runs share the next one, so the data set is serialized once per write rather than once
   * per change: a burst of refreshes costs a few writes, not one each.
   */
  function persist(): Promise<void> {
    pendingWrite ??= lastWrite.then(() => {
      pendingWrite = undefined;
      return writeNow();
    });
    return pendingWrite;
  }

  async function writeNow(): Promise<void> {
    db.data = snapshot();
    const startedAt = performance.now();
    const write = db.write();
    if (options.onWrite) {
      const { onWrite } = options;
      void write.then(
        () => onWrite((performance.now() - startedAt) / 1000),
        () => undefined,
      );
    }
    lastWrite = write.catch(() => undefined);
    try {
      await write;
      ready = true;
    } catch (err) {
      ready = false;
      throw err;
    }
  }

  function familiesOf(userId: string): Set<string> {
    let ids = familiesByUser.get(userId);
    if (!ids) familiesByUser.set(userId, (ids = new Set()));
    return ids;
  }

  function forgetFamily(family: SessionFamily): void {
    families.delete(family.familyId);
    const ids = familiesByUser.get(family.userId);
    ids?.delete(family.familyId);
    if (ids?.size === 0) familiesByUser.delete(family.userId);
  }

  /**
   * Ends a family by one flag; the record stays until it expires, so that its tokens are refused
   * as revoked, and the family id is refused for access tokens until `refuseAccessUntil`.
   */
  function endFamily(family: SessionFamily, at: number, refuseAccessUntil: number): void {
    families.set(family.familyId, { ...family, revokedAt: at });
    familiesByUser.get(family.userId)?.delete(family.familyId);
    revoked.set(family.familyId, Math.max(refuseAccessUntil, revoked.get(family.familyId) ?? 0));
  }

  function putUser(user: UserRecord): void {
    usersById.set(user.id, user);
    usersByName.set(user.username, user);
    users = undefined;
  }

  function removeUser(user: UserRecord): void {
    usersById.delete(user.id);
    usersByName.delete(user.username);
    users = undefined;
  }

  // A new store is written at once; an existing one only proves it could be: rewriting a large
  // file would hold start-up back for nothing.
  const writable = existed
    ? access(dirname(path), constants.W_OK).then(() => void (ready = true))
    : persist();
  await writable.catch((err: unknown) => {
    throw new StoreOpenError(path, `cannot write the store file: ${(err as Error).message}`, { cause: err });
  });

  return {
    isReady: () => ready,

    async close() {
      await lastWrite;
      ready = false;
    },

    sessions: {
      isRevoked: (tokenId) => revoked.has(tokenId),
      sessionStateOf(userId) {
        const user = usersById.get(userId);
        return user && { disabled: user.disabled, tokenVersion: user.tokenVersion };
      },
    },

    revokedAccessTokens: {
      async revoke(tokenId, expiresAt) {
        revoked.set(tokenId, expiresAt);
        await persist();
      },
    },

    users: {
      async create(user: NewUser): Promise<CreateUserResult> {
        if (usersByName.has(user.username)) return { created: false, reason: 'username_taken' };
        const record: UserRecord = {
          ...user,
          id: randomUUID(),
          createdAt: new Date(now()).toISOString(),
          disabled: false,
          tokenVersion: 0,
          sessionVersion: 0,
        };
        putUser(record);
        try {
          await persist();
        } catch (err) {
          // Not acknowledged, so not kept: a retry must not find the name taken.
          removeUser(record);
          throw err;
        }
        return { created: true, user: record };
      },
      findByUsername: (username) => Promise.resolve(usersByName.get(username)),
      findById: (id) => Promise.resolve(usersById.get(id)),
      list: () => Promise.resolve([...usersById.values()]),
      count: () => Promise.resolve(usersById.size),

      async update(id: string, changes: UserChanges, { endSessions }) {
        const current = usersById.get(id);
        if (!current) return undefined;
        const updated: UserRecord = {
          ...current,
          ...(changes.roles === undefined ? {} : { roles: [...changes.roles] }),
          ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
          ...(changes.passwordHash === undefined ? {} : { passwordHash: changes.passwordHash }),
          tokenVersion: current.tokenVersion + 1,
          sessionVersion: current.sessionVersion + (endSessions ? 1 : 0),
        };
        // The families stay until they expire or make room, but none of them rotates again.
        putUser(updated);
        await persist();
        return updated;
      },

      async replacePasswordHash(id, expectedHash, nextHash) {
        const current = usersById.get(id);
        if (!current || current.passwordHash !== expectedHash) return false;
        putUser({ ...current, passwordHash: nextHash });
        await persist();
        return true;
      },

      async delete(id) {
        const user = usersById.get(id);
        if (!user) return false;
        removeUser(user);
        for (const family of families.values()) if (family.userId === id) forgetFamily(family);
        familiesByUser.delete(id);
        await persist();
        return true;
      },
    },

    refreshTokens: {
      async startFamily(request) {
        const { userId, familyId, token, now: at } = request;
        const user = usersById.get(userId);
        if (!user || user.disabled || user.tokenVersion !== request.expectedTokenVersion)
          return { started: false };
        const own = familiesOf(userId);
        const evicted: string[] = [];
        for (const oldest of own) {
          if (own.size < request.maxFamilies) break;
          const family = families.get(oldest);
          if (family) endFamily(family, at, request.refuseAccessUntil);
          else own.delete(oldest);
          evicted.push(oldest);
        }
        families.set(familyId, {
          familyId,
          userId,
          tokenHash: token.tokenHash,
          generation: 0,
          sessionVersion: user.sessionVersion,
          startedAt: at,
          expiresAt: token.expiresAt,
        });
        own.add(familyId);
        await persist();
        return { started: true, user, evicted };
      },

      async rotate(presented, next, { now: at, refuseAccessUntil }): Promise<RotateResult> {
        const family = families.get(presented.familyId);
        if (!family) return { outcome: 'rejected', reason: 'unknown' };
        if (family.revokedAt !== undefined) return { outcome: 'rejected', reason: 'revoked' };
        if (family.expiresAt <= at) return { outcome: 'rejected', reason: 'expired' };
        const user = usersById.get(family.userId);
        if (!user) return { outcome: 'rejected', reason: 'unknown' };
        if (user.disabled || user.sessionVersion !== family.sessionVersion)
          return { outcome: 'rejected', reason: 'revoked' };
        const { userId, familyId } = family;
        if (presented.tokenHash !== family.tokenHash) {
          endFamily(family, at, refuseAccessUntil);
          await persist();
          return { outcome: 'reused', userId, familyId };
        }
        families.set(familyId, {
          ...family,
          tokenHash: next.tokenHash,
          generation: family.generation + 1,
          expiresAt: next.expiresAt,
        });
        await persist();
        return { outcome: 'rotated', user, familyId };
      },

      ownerOf(familyId) {
        const family = families.get(familyId);
        return Promise.resolve(family?.revokedAt === undefined ? family?.userId : undefined);
      },

      async revokeFamily(familyId, userId, { now: at, refuseAccessUntil }) {
        const family = families.get(familyId);
        if (!family || family.userId !== userId) return false;
        if (family.revokedAt === undefined) endFamily(family, at, refuseAccessUntil);
        await persist();
        return true;
      },
    },
  };
}

/**
 * Reads a store file without opening it as a store: nothing is written, so it is safe while a
 * sidecar serves from the same file (whose writes replace it whole, by rename).
 */
export async function readLowdbSnapshot(path: string): Promise<StoreSnapshot> {
  let text;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new StoreOpenError(path, `cannot read the store file: ${(err as Error).message}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new StoreOpenError(path, `not JSON: ${(err as Error).message}`, { cause: err });
  }
  const file = validateStoreFile(path, parsed);
  return {
    users: file.users.map(withDefaults),
    families: file.families,
    revokedAccessTokens: file.revokedAccessTokens,
  };
}

function jsonOf(list: UserRecord[]): { readonly list: UserRecord[]; readonly json: string } {
  return { list, json: JSON.stringify(list) };
}

/** Files written before users had these fields read as enabled, version 0. */
function withDefaults(user: UserRecord): UserRecord {
  return {
    ...user,
    disabled: user.disabled ?? false,
    tokenVersion: user.tokenVersion ?? 0,
    sessionVersion: user.sessionVersion ?? 0,
  };
}

function validateStoreFile(path: string, data: unknown): StoreFile {
  const file = data as Partial<StoreFile> | Partial<LegacyStoreFile> | null;
  if (typeof file === 'object' && file !== null && Array.isArray(file.users)) {
    const revokedAccessTokens = file.revokedAccessTokens ?? [];
    if (file.version === 2 && Array.isArray(file.families))
      return { version: 2, users: file.users, families: file.families, revokedAccessTokens };
    if (file.version === 1 && Array.isArray(file.refreshTokens))
      return { version: 2, users: file.users, families: [], revokedAccessTokens };
  }
  throw new StoreOpenError(
    path,
    'not an auth-sidecar store file (expected version 2 with users and families, or version 1 with users and refreshTokens)',
  );
}
