/**
 * A client that refreshes in a loop must neither grow the store nor make a logout expensive. Each
 * session is one record however often it rotates (the store keeps its current token and a
 * generation, not every used token), so ending it is one flag; refreshes are metered per session
 * and per user (429 with Retry-After); a user holds at most `tokens.maxSessions` sessions, a login
 * past it ending the oldest one, whose access tokens the proxy then refuses.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { assertNothingForwarded, assertRefused } from '../helpers/attack.js';
import { login, register, type Session } from '../helpers/auth-client.js';
import { uniqueUsername } from '../helpers/contract.js';
import { redisSkipReason, startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { assertForwarded, assertInvalidToken, getWith, postJson } from '../helpers/session-client.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const PASSWORD = 'correct-horse-1';
const ROTATIONS = 300;
/** Room for the loop: only the metering tests meet a refresh limit. */
const UNMETERED = { refresh: { perSession: 100_000, perUser: 100_000 } };
const GENEROUS_LOGINS = {
  login: { perUsername: 1000, perIp: 100_000 },
  register: { perIp: 100_000 },
};

/** Refreshes `session` `times` times in a row; each must succeed. Returns the last pair. */
async function refreshLoop(url: string, session: Session, times: number): Promise<Session> {
  let current = session;
  for (let index = 0; index < times; index++) {
    const response = await postJson(url, '/auth/refresh', { refreshToken: current.refreshToken });
    assert.equal(response.status, 200, `refresh ${index + 1}: ${response.text}`);
    current = response.body as Session;
  }
  return current;
}

describe('a refresh loop on the embedded store (lowdb)', () => {
  let sidecar: TestSidecar;

  before(async () => {
    sidecar = await startSidecar({ config: { limits: { ...GENEROUS_LOGINS, ...UNMETERED } } });
  });

  after(() => sidecar?.stop({ removeData: true }));

  it(`leaves one session record in the store file after ${ROTATIONS} refreshes, and the first token is still a replay`, async () => {
    const session = await register(sidecar.url, uniqueUsername('loop'), PASSWORD);
    const last = await refreshLoop(sidecar.url, session, ROTATIONS);
    const file = JSON.parse(await readFile(sidecar.storePath, 'utf8')) as {
      families?: { userId: string; generation: number }[];
      refreshTokens?: unknown[];
    };
    assert.equal(file.refreshTokens, undefined, 'no record per refresh token');
    const own = (file.families ?? []).filter((family) => family.userId === session.user.id);
    assert.equal(own.length, 1, `${own.length} session records`);
    assert.equal(own[0]?.generation, ROTATIONS);
    assertRefused(
      await postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken }),
      401,
      'invalid_refresh_token',
    );
    assertRefused(
      await postJson(sidecar.url, '/auth/refresh', { refreshToken: last.refreshToken }),
      401,
      'invalid_refresh_token',
    );
  });
});

describe('a refresh loop on the shared store (Redis)', { skip: redisSkipReason }, () => {
  let redis: TestRedis;
  let client: Redis;
  let sidecar: TestSidecar;
  const keyPrefix = 'growth:';

  before(async () => {
    redis = await startRedisServer();
    client = new Redis(redis.url);
    sidecar = await startSidecar({
      config: {
        store: { driver: 'redis', url: redis.url, keyPrefix },
        limits: { ...GENEROUS_LOGINS, ...UNMETERED },
      },
    });
  });

  after(async () => {
    await sidecar?.stop({ removeData: true });
    client?.disconnect();
    await redis?.cleanup();
  });

  /** The store's keys, rate-limit counters aside. */
  async function storeKeys(): Promise<string[]> {
    const keys = await client.keys(`${keyPrefix}*`);
    return keys.filter((key) => !key.startsWith(`${keyPrefix}limit:`)).sort();
  }

  it(`adds no key to Redis over ${ROTATIONS} refreshes, and a logout then ends the session by one flag`, async () => {
    const session = await register(sidecar.url, uniqueUsername('loop'), PASSWORD);
    const first = await refreshLoop(sidecar.url, session, 1);
    const before = await storeKeys();
    const last = await refreshLoop(sidecar.url, first, ROTATIONS);
    assert.deepEqual(await storeKeys(), before, 'the same keys after the loop');

    await postJson(sidecar.url, '/auth/logout', { refreshToken: last.refreshToken }, last.accessToken).expect(
      204,
    );
    const added = (await storeKeys()).filter((key) => !before.includes(key));
    // The access token presented and the session: two refusals, nothing per rotation.
    assert.equal(added.length, 2, added.join(' '));
    assert.ok(added.every((key) => key.startsWith(`${keyPrefix}revoked:`)));
    assertRefused(
      await postJson(sidecar.url, '/auth/refresh', { refreshToken: last.refreshToken }),
      401,
      'invalid_refresh_token',
    );
  });
});

describe('refresh metering and the cap on sessions', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      config: {
        tokens: { maxSessions: 3 },
        limits: { ...GENEROUS_LOGINS, refresh: { perSession: 10, perUser: 25, window: '1m' } },
      },
    });
  });

  after(async () => {
    await sidecar?.stop({ removeData: true });
    await upstream?.close();
  });

  it('answers the 11th refresh of one session within the window 429 with Retry-After, before rotating it', async () => {
    const session = await register(sidecar.url, uniqueUsername('metered'), PASSWORD);
    const last = await refreshLoop(sidecar.url, session, 10);
    const refused = await postJson(sidecar.url, '/auth/refresh', { refreshToken: last.refreshToken });
    assertRefused(refused, 429, 'too_many_requests');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${refused.headers['retry-after']}`);
    // Not rotated: the session is intact, and its access token still passes.
    await assertForwarded(sidecar.url, upstream, '/api/items', last.accessToken);
  });

  it('meters refreshes per user across sessions: the 26th within the window is 429', async () => {
    const username = uniqueUsername('metered-user');
    await register(sidecar.url, username, PASSWORD);
    let sessions = await Promise.all([1, 2, 3].map(() => login(sidecar.url, username, PASSWORD)));
    const statuses: number[] = [];
    for (let round = 0; round < 9; round++) {
      const next: Session[] = [];
      for (const session of sessions) {
        const response = await postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken });
        statuses.push(response.status);
        next.push(response.status === 200 ? (response.body as Session) : session);
      }
      sessions = next;
    }
    assert.deepEqual(
      statuses,
      [...Array<number>(25).fill(200), 429, 429],
      'each session stays under its own limit',
    );
  });

  it('does not meter made-up refresh tokens against anyone: they get 401, and the owner still refreshes', async () => {
    const session = await register(sidecar.url, uniqueUsername('made-up'), PASSWORD);
    for (let index = 0; index < 20; index++) {
      const forged = `${String(index).padStart(43, 'B')}.${'A'.repeat(43)}`;
      assertRefused(
        await postJson(sidecar.url, '/auth/refresh', { refreshToken: forged }),
        401,
        'invalid_refresh_token',
      );
    }
    await refreshLoop(sidecar.url, session, 1);
  });

  it('ends the oldest session when a login goes past tokens.maxSessions (3): its refresh token gets 401 and its access token is refused, never forwarded', async () => {
    const username = uniqueUsername('capped');
    const oldest = await register(sidecar.url, username, PASSWORD);
    const others = [];
    for (let index = 0; index < 3; index++) others.push(await login(sidecar.url, username, PASSWORD));
    assertRefused(
      await postJson(sidecar.url, '/auth/refresh', { refreshToken: oldest.refreshToken }),
      401,
      'invalid_refresh_token',
    );
    const seen = upstream.requests.length;
    assertInvalidToken(await getWith(sidecar.url, '/api/items', oldest.accessToken));
    assertNothingForwarded(upstream, seen);
    for (const session of others) await refreshLoop(sidecar.url, session, 1);
  });
});
