import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { DataFile } from 'lowdb/node';
import type {
  CreateUserResult,
  NewRefreshToken,
  NewUser,
  RefreshTokenRecord,
  RevokedAccessToken,
  RotateResult,
  Store,
  StoreSnapshot,
  UserChanges,
  UserRecord,
} from './types.js';

interface StoreFile {
  version: 1;
  users: UserRecord[];
  refreshTokens: RefreshTokenRecord[];
  revokedAccessTokens: RevokedAccessToken[];
}

/** The file could not be used as a store; start-up stops with this message. */
export class StoreOpenError extends Error {
  constructor(
    path: string,
    /** The message without the path. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${reason}`, options);
    this.name = 'StoreOpenError';
  }
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
  const empty: StoreFile = { version: 1, users: [], refreshTokens: [], revokedAccessTokens: [] };
  /** Users change rarely and tokens on every refresh: the users' JSON is kept until a user changes. */
  let users: { readonly list: UserRecord[]; readonly json: string } | undefined;
  const usersOf = () => (users ??= jsonOf([...usersById.values()]));
  const adapter = new DataFile<StoreFile>(path, {
    parse: (text) => JSON.parse(text) as StoreFile,
    stringify: (file) =>
      `{"version":1,"users":${usersOf().json},"refreshTokens":${JSON.stringify(file.refreshTokens)},` +
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
  const tokens = new Map(data.refreshTokens.map((token) => [token.tokenHash, token]));
  const revoked = new Map(data.revokedAccessTokens.map((entry) => [entry.tokenId, entry.expiresAt]));
  let ready = false;
  let lastWrite: Promise<void> = Promise.resolve();

  function snapshot(): StoreFile {
    const at = now();
    for (const [hash, token] of tokens) if (token.expiresAt <= at) tokens.delete(hash);
    for (const [tokenId, expiresAt] of revoked) if (expiresAt <= at) revoked.delete(tokenId);
    return {
      version: 1,
      users: usersOf().list,
      refreshTokens: [...tokens.values()],
      revokedAccessTokens: [...revoked].map(([tokenId, expiresAt]) => ({ tokenId, expiresAt })),
    };
  }

  /** Resolves once a file write holding every change made so far has completed. */
  async function persist(): Promise<void> {
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

  function revokeWhere(matches: (token: RefreshTokenRecord) => boolean, at: number): void {
    for (const [hash, token] of tokens) {
      if (matches(token) && token.revokedAt === undefined) tokens.set(hash, { ...token, revokedAt: at });
    }
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
        };
        putUser(updated);
        if (endSessions) revokeWhere((token) => token.userId === id, now());
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
        for (const [hash, token] of tokens) if (token.userId === id) tokens.delete(hash);
        await persist();
        return true;
      },
    },

    refreshTokens: {
      async startFamily(userId, token, at) {
        const familyId = randomUUID();
        tokens.set(token.tokenHash, { ...token, userId, familyId, issuedAt: at });
        await persist();
        return { familyId };
      },

      async rotate(tokenHash: string, next: NewRefreshToken, at: number): Promise<RotateResult> {
        const current = tokens.get(tokenHash);
        if (!current) return { outcome: 'rejected', reason: 'unknown' };
        if (current.revokedAt !== undefined) return { outcome: 'rejected', reason: 'revoked' };
        const { userId, familyId } = current;
        if (current.usedAt !== undefined) {
          revokeWhere((token) => token.familyId === familyId, at);
          await persist();
          return { outcome: 'reused', userId, familyId };
        }
        if (current.expiresAt <= at) return { outcome: 'rejected', reason: 'expired' };
        tokens.set(tokenHash, { ...current, usedAt: at });
        tokens.set(next.tokenHash, { ...next, userId, familyId, issuedAt: at });
        await persist();
        return { outcome: 'rotated', userId, familyId };
      },

      async revokeFamilyOf(tokenHash, userId, at) {
        const token = tokens.get(tokenHash);
        if (!token || token.userId !== userId) return false;
        revokeWhere((candidate) => candidate.familyId === token.familyId, at);
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
  return { ...file, users: file.users.map(withDefaults) };
}

function jsonOf(list: UserRecord[]): { readonly list: UserRecord[]; readonly json: string } {
  return { list, json: JSON.stringify(list) };
}

/** Files written before users had these fields read as enabled, version 0. */
function withDefaults(user: UserRecord): UserRecord {
  return { ...user, disabled: user.disabled ?? false, tokenVersion: user.tokenVersion ?? 0 };
}

function validateStoreFile(path: string, data: unknown): StoreFile {
  const file = data as Partial<StoreFile> | null;
  if (
    typeof file !== 'object' ||
    file === null ||
    file.version !== 1 ||
    !Array.isArray(file.users) ||
    !Array.isArray(file.refreshTokens)
  ) {
    throw new StoreOpenError(
      path,
      'not an auth-sidecar store file (expected version 1 with users and refreshTokens)',
    );
  }
  return { ...(file as StoreFile), revokedAccessTokens: file.revokedAccessTokens ?? [] };
}
