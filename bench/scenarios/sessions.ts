/**
 * Scenario 8: what a refresh loop leaves behind and what ending sessions then costs. One user
 * holds 1,000 sessions (refresh-token families) that rotate 100,000 times between them; then 20
 * logouts (each ends one session) and a password change (ends all 1,000) are timed, on the embedded
 * store and on Redis, through the store's own interface (no HTTP: the figures are the store's).
 * A session is one record however often it rotates, so neither should depend on the rotations.
 */
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import { openRedisStore } from '../../src/store/redis-store.js';
import type { Store, UserRecord } from '../../src/store/types.js';
import { median, round2 } from '../lib/stats.js';
import { startBenchRedis } from '../servers/redis.js';

export const SESSIONS_SETTINGS = { families: 1000, rotations: 100_000, logouts: 20 } as const;

const HOUR = 3_600_000;

export interface SessionStoreFigures {
  readonly families: number;
  readonly rotations: number;
  /** Wall-clock seconds of all the rotations, 1,000 families rotating at once. */
  readonly rotateSeconds: number;
  /** One logout: the session of one family ended. */
  readonly logoutMs: { readonly median: number; readonly max: number };
  /** A password change that ends all of the user's sessions. */
  readonly passwordChangeMs: number;
  /** Records kept: families in the lowdb file, or keys in Redis. */
  readonly records: number;
  /** The lowdb file's size, or Redis's used_memory_dataset, in bytes. */
  readonly bytes: number;
}

export interface SessionsResult {
  readonly lowdb: SessionStoreFigures;
  readonly redis: SessionStoreFigures | { readonly skipped: string };
}

export async function runSessions(workDir: string): Promise<SessionsResult> {
  const path = join(workDir, 'sessions.json');
  const lowdbStore = await openLowdbStore({ path });
  let lowdb: SessionStoreFigures;
  try {
    lowdb = await measure(lowdbStore, async () => {
      const { size } = await stat(path);
      const file = JSON.parse(await readFile(path, 'utf8')) as { families: unknown[] };
      return { records: file.families.length, bytes: size };
    });
  } finally {
    await lowdbStore.close();
  }

  const server = await startBenchRedis();
  if ('skipped' in server) return { lowdb, redis: server };
  const keyPrefix = 'bench-sessions:';
  const redisStore = await openRedisStore({ url: server.url, keyPrefix });
  const client = new Redis(server.url);
  try {
    const redis = await measure(redisStore, async () => {
      const info = await client.info('memory');
      const bytes = Number(/^used_memory_dataset:(\d+)/m.exec(info)?.[1] ?? NaN);
      return { records: await client.dbsize(), bytes };
    });
    return { lowdb, redis };
  } finally {
    client.disconnect();
    await redisStore.close();
    await server.stop();
  }
}

async function measure(
  store: Store,
  footprint: () => Promise<{ records: number; bytes: number }>,
): Promise<SessionStoreFigures> {
  const { families: familyCount, rotations, logouts } = SESSIONS_SETTINGS;
  const created = await store.users.create({ username: 'loop', passwordHash: 'hash', roles: ['user'] });
  if (!created.created) throw new Error('sessions bench: the user exists');
  const user: UserRecord = created.user;
  const ending = () => ({ now: Date.now(), refuseAccessUntil: Date.now() + HOUR });
  const families = [];
  for (let index = 0; index < familyCount; index++) {
    const family = { familyId: randomUUID(), tokenHash: randomUUID() };
    const started = await store.refreshTokens.startFamily({
      userId: user.id,
      expectedTokenVersion: user.tokenVersion,
      familyId: family.familyId,
      token: { tokenHash: family.tokenHash, expiresAt: Date.now() + HOUR },
      maxFamilies: familyCount,
      ...ending(),
    });
    if (!started.started) throw new Error('sessions bench: a family did not start');
    families.push(family);
  }

  const rotateStartedAt = performance.now();
  const perFamily = rotations / familyCount;
  await Promise.all(
    families.map(async (family) => {
      for (let step = 0; step < perFamily; step++) {
        const next = randomUUID();
        const result = await store.refreshTokens.rotate(
          family,
          { tokenHash: next, expiresAt: Date.now() + HOUR },
          ending(),
        );
        if (result.outcome !== 'rotated') throw new Error(`sessions bench: rotation ${result.outcome}`);
        family.tokenHash = next;
      }
    }),
  );
  const rotateSeconds = round2((performance.now() - rotateStartedAt) / 1000);
  const { records, bytes } = await footprint();

  const logoutMs: number[] = [];
  for (const family of families.slice(0, logouts)) {
    const startedAt = performance.now();
    await store.refreshTokens.revokeFamily(family.familyId, user.id, ending());
    logoutMs.push(performance.now() - startedAt);
  }
  const changeStartedAt = performance.now();
  await store.users.update(user.id, { passwordHash: 'new-hash' }, { endSessions: true });
  const passwordChangeMs = round2(performance.now() - changeStartedAt);
  const last = families.at(-1)!;
  const after = await store.refreshTokens.rotate(
    last,
    { tokenHash: 'x', expiresAt: Date.now() + HOUR },
    ending(),
  );
  if (after.outcome !== 'rejected') throw new Error('sessions bench: a session outlived the password change');

  return {
    families: familyCount,
    rotations,
    rotateSeconds,
    logoutMs: { median: round2(median(logoutMs)), max: round2(Math.max(...logoutMs)) },
    passwordChangeMs,
    records,
    bytes,
  };
}

/** One line per store, for the bench's progress output. */
export function describeSessions(result: SessionsResult): string[] {
  return Object.entries(result).map(([driver, figures]: [string, SessionsResult['redis']]) => {
    if ('skipped' in figures) return `${driver}: skipped (${figures.skipped})`;
    return (
      `${driver}: ${figures.rotations.toLocaleString('en-US')} rotations of ${figures.families} sessions in ` +
      `${figures.rotateSeconds} s, ${figures.records} records (${(figures.bytes / 1e6).toFixed(2)} MB); ` +
      `logout ${figures.logoutMs.median} ms (max ${figures.logoutMs.max}), password change ${figures.passwordChangeMs} ms`
    );
  });
}
