import { connectRedisClient, defineScripts } from './redis-client.js';
import { REDIS_IMPORT_SCRIPTS, type RedisImportScriptName } from './redis-scripts.js';
import type { RefreshTokenRecord, StoreSnapshot, UserRecord } from './types.js';

/** How each record fared; a re-run of a finished copy reports everything as `current`. */
export interface ImportCounts {
  copied: number;
  updated: number;
  current: number;
}

export interface ImportReport {
  readonly users: ImportCounts;
  /** Users not copied because their name belongs to another user in Redis. */
  readonly conflicts: readonly UserRecord[];
  readonly refreshTokens: ImportCounts;
  /** Families with a token that can still be exchanged: the ones copied. */
  readonly liveFamilies: number;
  /** Families revoked, used up or expired: left behind, since Redis would refuse them anyway. */
  readonly endedFamilies: number;
  readonly revocations: ImportCounts;
}

export interface ImportOptions {
  readonly url: string;
  readonly keyPrefix: string;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now?: () => number;
}

type ImportOutcome = 'copied' | 'updated' | 'current' | 'conflict' | 'orphan';

/**
 * Copies a snapshot into the Redis store: users, the tokens of live refresh-token families, and
 * access-token revocations not yet expired. Each record is one atomic script that keeps the newer
 * of two copies, so a run cut short (or repeated) is finished by running it again; nothing in
 * Redis is ever deleted. Running replicas see the copied users and revocations at once.
 */
export async function importIntoRedis(
  snapshot: StoreSnapshot,
  options: ImportOptions,
): Promise<ImportReport> {
  const { keyPrefix: prefix } = options;
  const at = (options.now ?? Date.now)();
  const client = await connectRedisClient(options.url);
  try {
    const define = defineScripts(client, REDIS_IMPORT_SCRIPTS);
    const run = (name: RedisImportScriptName, ...args: (string | number)[]) =>
      define(name, ...args) as Promise<ImportOutcome>;
    const users = emptyCounts();
    const conflicts: UserRecord[] = [];
    const copiedUserIds = new Set<string>();
    for (const user of snapshot.users) {
      const outcome = await run(
        'authSidecarImportUser',
        prefix,
        user.id,
        user.username,
        JSON.stringify(user),
        user.tokenVersion,
      );
      if (outcome === 'conflict') conflicts.push(user);
      else {
        count(users, outcome);
        copiedUserIds.add(user.id);
      }
    }

    const { live, ended } = splitFamilies(snapshot.refreshTokens, at);
    const refreshTokens = emptyCounts();
    for (const token of live.flat()) {
      if (!copiedUserIds.has(token.userId)) continue;
      const outcome = await run(
        'authSidecarImportRefreshToken',
        prefix,
        token.tokenHash,
        token.userId,
        token.familyId,
        token.issuedAt,
        token.expiresAt,
        token.usedAt ?? '',
        token.revokedAt ?? '',
      );
      count(refreshTokens, outcome);
    }

    const revocations = emptyCounts();
    for (const revocation of snapshot.revokedAccessTokens) {
      if (revocation.expiresAt <= at) continue;
      count(
        revocations,
        await run('authSidecarImportRevocation', prefix, revocation.tokenId, revocation.expiresAt),
      );
    }
    return {
      users,
      conflicts,
      refreshTokens,
      liveFamilies: live.filter((family) => copiedUserIds.has(family[0]!.userId)).length,
      endedFamilies: ended,
      revocations,
    };
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
}

/**
 * Groups tokens by family. A family is live while one of its tokens is unused, unrevoked and
 * unexpired; its expired tokens are dropped (Redis would expire them at once).
 */
function splitFamilies(
  tokens: readonly RefreshTokenRecord[],
  at: number,
): { live: RefreshTokenRecord[][]; ended: number } {
  const families = new Map<string, RefreshTokenRecord[]>();
  for (const token of tokens) {
    const family = families.get(token.familyId);
    if (family) family.push(token);
    else families.set(token.familyId, [token]);
  }
  const live: RefreshTokenRecord[][] = [];
  let ended = 0;
  for (const family of families.values()) {
    const usable = (token: RefreshTokenRecord) =>
      token.usedAt === undefined && token.revokedAt === undefined && token.expiresAt > at;
    if (family.some(usable)) live.push(family.filter((token) => token.expiresAt > at));
    else ended++;
  }
  return { live, ended };
}

function emptyCounts(): ImportCounts {
  return { copied: 0, updated: 0, current: 0 };
}

function count(counts: ImportCounts, outcome: ImportOutcome): void {
  if (outcome === 'copied' || outcome === 'updated' || outcome === 'current') counts[outcome]++;
  else throw new Error(`redis import: unexpected outcome ${outcome}`);
}
