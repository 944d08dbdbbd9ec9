import { connectRedisClient, defineScripts } from './redis-client.js';
import { REDIS_IMPORT_SCRIPTS, type RedisImportScriptName } from './redis-scripts.js';
import type { SessionFamily, StoreSnapshot, UserRecord } from './types.js';

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
  /** Sessions (refresh-token families) that can still rotate: the ones copied. */
  readonly families: ImportCounts;
  /** Families revoked, ended by their user's password change or disabling, or expired: left behind. */
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
 * Copies a snapshot into the Redis store: users, live sessions (refresh-token families), and
 * access-token and session revocations not yet expired. Each record is one atomic script that keeps the newer
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

    const usersById = new Map(snapshot.users.map((user) => [user.id, user]));
    const live = snapshot.families.filter((family) => isLive(family, usersById.get(family.userId), at));
    const families = emptyCounts();
    for (const family of live) {
      if (!copiedUserIds.has(family.userId)) continue;
      const outcome = await run(
        'authSidecarImportFamily',
        prefix,
        JSON.stringify(family),
        family.familyId,
        family.userId,
        family.startedAt,
        family.expiresAt,
        family.generation,
      );
      count(families, outcome);
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
      families,
      endedFamilies: snapshot.families.length - live.length,
      revocations,
    };
  } finally {
    await client.quit().catch(() => client.disconnect());
  }
}

/** A family that could still rotate: not ended, not expired, and its user's sessions not ended since. */
function isLive(family: SessionFamily, user: UserRecord | undefined, at: number): boolean {
  return (
    family.revokedAt === undefined &&
    family.expiresAt > at &&
    user !== undefined &&
    !user.disabled &&
    user.sessionVersion === family.sessionVersion
  );
}

function emptyCounts(): ImportCounts {
  return { copied: 0, updated: 0, current: 0 };
}

function count(counts: ImportCounts, outcome: ImportOutcome): void {
  if (outcome === 'copied' || outcome === 'updated' || outcome === 'current') counts[outcome]++;
  else throw new Error(`redis import: unexpected outcome ${outcome}`);
}
