import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { StoreOpenError, StoreUnavailableError } from '../../src/store/errors.js';
import { openRedisStore } from '../../src/store/redis-store.js';
import type { Store, UserRecord } from '../../src/store/types.js';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { assertRefused } from '../helpers/attack.js';
import { JSON_HEADERS, login, register } from '../helpers/auth-client.js';
import { redisSkipReason, startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { seedUser, startSidecar } from '../helpers/sidecar.js';
import { startUpstream } from '../helpers/upstream.js';
import { connect, startEchoUpstream } from '../helpers/websocket.js';

const HOUR = 3_600_000;

/** Polls until `condition` holds; a generous bound, not a timing assertion. */
async function eventually(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`not true within ${timeoutMs} ms`);
    await delay(10);
  }
}

const newUser = (username: string) => ({ username, passwordHash: 'hash', roles: ['user'] });

describe('redis store', { skip: redisSkipReason }, () => {
  let redis: TestRedis;
  let store: Store;
  let replica: Store;
  const keyPrefix = `test-${randomUUID()}:`;

  before(async () => {
    redis = await startRedisServer();
    store = await openRedisStore({ url: redis.url, keyPrefix });
    replica = await openRedisStore({ url: redis.url, keyPrefix });
  });

  after(async () => {
    await store?.close();
    await replica?.close();
    await redis?.cleanup();
  });

  it('creates, finds, updates and deletes a user', async () => {
    const result = await store.users.create({ ...newUser('alice'), roles: [] });
    assert.ok(result.created);
    const { user } = result;
    assert.deepEqual(await store.users.findByUsername('alice'), user);
    assert.deepEqual(await store.users.findById(user.id), user);
    assert.equal(await store.users.count(), (await store.users.list()).length);

    const updated = await store.users.update(user.id, { disabled: true }, { endSessions: false });
    assert.deepEqual(updated, { ...user, disabled: true, tokenVersion: 1 });
    assert.deepEqual((await store.users.findById(user.id))?.roles, []);
    const withRoles = await store.users.update(user.id, { roles: ['admin'] }, { endSessions: false });
    assert.deepEqual(withRoles?.roles, ['admin']);
    assert.equal(await store.users.update('no-such-id', {}, { endSessions: false }), undefined);

    assert.equal(await store.users.delete(user.id), true);
    assert.equal(await store.users.delete(user.id), false);
    assert.equal(await store.users.findByUsername('alice'), undefined);
    assert.equal(store.sessions.sessionStateOf(user.id), undefined);
  });

  it('lets exactly one of concurrent creates of one username win', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => store.users.create(newUser('bob'))));
    assert.equal(results.filter((result) => result.created).length, 1);
  });

  const ending = (at: number) => ({ now: at, refuseAccessUntil: at + HOUR });
  const startFamily = async (user: UserRecord, familyId: string, tokenHash: string, at: number) => {
    const started = await store.refreshTokens.startFamily({
      userId: user.id,
      expectedTokenVersion: user.tokenVersion,
      familyId,
      token: { tokenHash, expiresAt: at + HOUR },
      maxFamilies: 50,
      ...ending(at),
    });
    assert.ok(started.started);
  };

  it('rotates a token exactly once among 10 concurrent rotations, and a replay revokes the family', async () => {
    const created = await store.users.create(newUser('carol'));
    assert.ok(created.created);
    const at = Date.now();
    await startFamily(created.user, 'carol', 'carol-0', at);
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        store.refreshTokens.rotate(
          { familyId: 'carol', tokenHash: 'carol-0' },
          { tokenHash: `carol-1-${index}`, expiresAt: at + HOUR },
          ending(at),
        ),
      ),
    );
    const rotated = outcomes.filter((outcome) => outcome.outcome === 'rotated');
    assert.equal(rotated.length, 1);
    assert.deepEqual(rotated[0], { outcome: 'rotated', user: created.user, familyId: 'carol' });
    // The first loser presents a token that is no longer the current one: a replay, which ends
    // the family (the winner's token included); the later ones then find it revoked.
    assert.equal(outcomes.filter((outcome) => outcome.outcome === 'reused').length, 1);
    assert.equal(outcomes.filter((outcome) => outcome.outcome === 'rejected').length, 8);
    const winner = `carol-1-${outcomes.findIndex((outcome) => outcome.outcome === 'rotated')}`;
    const afterReplay = await store.refreshTokens.rotate(
      { familyId: 'carol', tokenHash: winner },
      { tokenHash: 'carol-2', expiresAt: at + HOUR },
      ending(at),
    );
    assert.deepEqual(afterReplay, { outcome: 'rejected', reason: 'revoked' });
    await eventually(() => replica.sessions.isRevoked('carol'), 1000);
  });

  it('ends every session of a user on update with endSessions', async () => {
    const created = await store.users.create(newUser('dave'));
    assert.ok(created.created);
    const at = Date.now();
    await startFamily(created.user, 'dave', 'dave-0', at);
    await store.users.update(created.user.id, { passwordHash: 'new' }, { endSessions: true });
    const outcome = await store.refreshTokens.rotate(
      { familyId: 'dave', tokenHash: 'dave-0' },
      { tokenHash: 'dave-1', expiresAt: at + HOUR },
      ending(at),
    );
    assert.deepEqual(outcome, { outcome: 'rejected', reason: 'revoked' });
  });

  it('shows a user disabled and a token revoked on one replica to another', async () => {
    const created = await store.users.create(newUser('erin'));
    assert.ok(created.created);
    const { id } = created.user;
    await eventually(() => replica.sessions.sessionStateOf(id)?.tokenVersion === 0);
    await store.users.update(id, { disabled: true }, { endSessions: true });
    assert.equal(store.sessions.sessionStateOf(id)?.disabled, true, 'the writer sees its change at once');
    await eventually(() => replica.sessions.sessionStateOf(id)?.disabled === true, 1000);

    await store.revokedAccessTokens.revoke('jti-erin', Date.now() + HOUR);
    assert.equal(store.sessions.isRevoked('jti-erin'), true);
    await eventually(() => replica.sessions.isRevoked('jti-erin'), 1000);
  });

  it('is not ready and refuses writes with store_unavailable while Redis is down, and recovers', async () => {
    await redis.stop();
    await eventually(() => !store.isReady());
    await assert.rejects(store.users.create(newUser('frank')), (err: unknown) => {
      assert.ok(err instanceof StoreUnavailableError);
      assert.equal(err.code, 'store_unavailable');
      return true;
    });
    await redis.start();
    await eventually(() => store.isReady() && replica.isReady(), 10_000);
    const created = await store.users.create(newUser('frank'));
    assert.ok(created.created);
    await eventually(() => replica.sessions.sessionStateOf(created.user.id) !== undefined, 1000);
  });
});

describe('opening the redis store', { skip: redisSkipReason }, () => {
  it('fails with a StoreOpenError that names the server but not its password', async () => {
    const redis = await startRedisServer();
    await redis.cleanup();
    const url = `redis://:s3cret@127.0.0.1:${redis.port}/0`;
    await assert.rejects(openRedisStore({ url, keyPrefix: 'x:', openTimeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof StoreOpenError);
      assert.match(err.message, /cannot reach Redis/);
      assert.doesNotMatch(err.message, /s3cret/);
      return true;
    });
  });
});

describe('a sidecar on the redis store', { skip: redisSkipReason }, () => {
  let redis: TestRedis;

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    await redis?.cleanup();
  });

  for (const [policy, expected] of [
    ['fail-closed', 503],
    ['serve-verified', 200],
  ] as const) {
    it(`answers a valid token ${expected} through the proxy and forward-auth while Redis is down (store.unavailable: ${policy})`, async () => {
      if (!redis.running()) await redis.start();
      const upstream = await startUpstream();
      const sidecar = await startSidecar({
        upstreamUrl: upstream.url,
        config: {
          store: { driver: 'redis', url: redis.url, keyPrefix: `${policy}:`, unavailable: policy },
          metrics: { onPublicPort: true },
        },
      });
      try {
        const user = await seedUser(sidecar, `outage-${policy}`, ['user']);
        await request(sidecar.url).get('/api/items').set('Authorization', `Bearer ${user.token}`).expect(200);
        await redis.stop();
        await eventually(() => !sidecar.deps.store.isReady());
        const seen = upstream.requests.length;
        const proxied = await request(sidecar.url)
          .get('/api/items')
          .set('Authorization', `Bearer ${user.token}`);
        const verified = await request(sidecar.url)
          .get('/auth/verify')
          .set('X-Original-URI', '/api/items')
          .set('X-Original-Method', 'GET')
          .set('Authorization', `Bearer ${user.token}`);
        for (const response of [proxied, verified]) {
          assert.equal(response.status, expected, response.text);
          if (expected === 503) {
            assertRefused(response, 503, 'store_unavailable');
            assert.equal(response.headers['retry-after'], '1');
          }
        }
        if (expected === 503) {
          assert.equal(upstream.requests.length, seen, 'never forwarded');
        } else {
          assert.equal(verified.headers['x-user'], `outage-${policy}`);
          const served = sidecar.logs.entries.filter((line) => line.event === 'store.unavailable.served');
          assert.equal(served.length, 2);
          const metrics = await request(sidecar.url).get('/metrics');
          assert.match(metrics.text, /auth_sidecar_unchecked_sessions_total 2/);
        }
        // Without a valid token nothing changes: the refusal does not depend on the store.
        await request(sidecar.url).get('/api/items').expect(401);
        // Every replica loses Redis at once: under serve-verified they must stay in their Service.
        await request(sidecar.url)
          .get('/readyz')
          .expect(policy === 'fail-closed' ? 503 : 200);
      } finally {
        await sidecar.stop({ removeData: true });
        await upstream.close();
        if (!redis.running()) await redis.start();
      }
    });

    it(`${policy === 'fail-closed' ? 'refuses' : 'keeps'} WebSockets while Redis is down (store.unavailable: ${policy})`, async () => {
      if (!redis.running()) await redis.start();
      const upstream = await startEchoUpstream();
      const sidecar = await startSidecar({
        upstreamUrl: upstream.url,
        config: {
          store: { driver: 'redis', url: redis.url, keyPrefix: `ws-${policy}:`, unavailable: policy },
          websocket: { recheck: '50ms' },
        },
      });
      const wsUrl = `${sidecar.url.replace('http', 'ws')}/api/socket`;
      const sockets: WebSocket[] = [];
      try {
        const user = await seedUser(sidecar, `ws-${policy}`, ['user']);
        const headers = { Authorization: `Bearer ${user.token}` };
        const open = await connect(wsUrl, headers);
        assert.ok(open instanceof WebSocket);
        sockets.push(open);
        const closed = once(open, 'close');

        await redis.stop();
        await eventually(() => !sidecar.deps.store.isReady());
        const again = await connect(wsUrl, headers);
        if (policy === 'fail-closed') {
          assert.equal(again, 503);
          await closed; // at its next recheck
          assert.ok(sidecar.logs.entries.some((line) => line.reason === 'store_unavailable'));
        } else {
          assert.ok(again instanceof WebSocket);
          sockets.push(again);
          await delay(200); // a few rechecks
          assert.equal(open.readyState, WebSocket.OPEN);
        }
      } finally {
        for (const socket of sockets) socket.terminate();
        await sidecar.stop({ removeData: true });
        await upstream.close();
        if (!redis.running()) await redis.start();
      }
    });
  }

  it('counts failed logins spread over two replicas toward one per-username limit', async () => {
    if (!redis.running()) await redis.start();
    const config = {
      store: { driver: 'redis', url: redis.url, keyPrefix: 'limits:' },
      limits: { login: { perUsername: 3, perIp: 1000 } },
    };
    const a = await startSidecar({ config });
    const b = await startSidecar({ config });
    try {
      await register(a.url, 'hedy');
      const guess = (sidecar: typeof a) =>
        request(sidecar.url)
          .post('/auth/login')
          .set(JSON_HEADERS)
          .send({ username: 'hedy', password: 'wrong-guess-1' });
      const statuses = [];
      for (const sidecar of [a, b, a, b]) statuses.push((await guess(sidecar)).status);
      assert.deepEqual(statuses, [401, 401, 401, 429]);
      const right = await request(a.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username: 'hedy', password: 'correct-horse-1' });
      assert.equal(right.status, 429, 'past the limit even the right password waits');
    } finally {
      await a.stop({ removeData: true });
      await b.stop({ removeData: true });
    }
  });

  it('registers and logs in', async () => {
    const sidecar = await startSidecar({ config: { store: { driver: 'redis', url: redis.url } } });
    try {
      const registered = await register(sidecar.url, 'grace');
      const session = await login(sidecar.url, 'grace');
      assert.equal(session.user.id, registered.user.id);
      assert.ok(sidecar.deps.store.isReady());

      await redis.stop();
      const response = await request(sidecar.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username: 'grace', password: 'correct-horse-1' });
      assert.equal(response.status, 503);
      assert.equal(response.headers['retry-after'], '1');
      assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
      assert.equal((response.body as { code?: string }).code, 'store_unavailable');
      const ready = await request(sidecar.url).get('/readyz');
      assert.equal(ready.status, 503);
    } finally {
      await sidecar.stop({ removeData: true });
    }
  });
});
