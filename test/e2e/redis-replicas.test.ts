/**
 * Two `auth-sidecar serve` processes on one Redis, driven over real HTTP, as two pods of one
 * Deployment would be: what one replica acknowledges, the other enforces.
 */
import assert from 'node:assert/strict';
import { Agent, get as httpGet } from 'node:http';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { stringify } from 'yaml';
import { assertInvalidToken, getWith, patchJson, postJson, deleteWith } from '../helpers/session-client.js';
import { JSON_HEADERS, login, register, type Session } from '../helpers/auth-client.js';
import {
  makeWorkDir,
  placeFile,
  removeWorkDir,
  runCli,
  serveOnFreePort,
  type RunningServe,
} from '../helpers/cli-process.js';
import { assertNothingForwarded, assertRefused } from '../helpers/attack.js';
import { redisSkipReason, startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const JWT_SECRET = 'e2e-replicas-secret-e2e-replicas-secret-e2e-repl';
const CONFIG = 'auth-sidecar.yaml';
/** The bound for a revocation to reach every replica. */
const PROPAGATION_BOUND_MS = 1000;
/** The revocation window measured by sending this many requests to B at once after a logout on A. */
const WINDOW_REQUESTS = 60;
const WINDOW_RUNS = 10;
/** Concurrent clients that keep B busy while A answers the logout. */
const WINDOW_CLIENTS = 16;
/** At most this many of them may still be forwarded in any run (README: Running more than one replica). */
const WINDOW_BOUND = 5;
/** Safety net so a hung child fails the test instead of the run; not a timing assertion. */
const SAFETY = { timeout: 60_000 };

interface Replica extends RunningServe {
  readonly name: string;
}

/**
 * Probes `replica` until `refused` holds; fails unless it held within PROPAGATION_BOUND_MS of
 * the change having been acknowledged. Returns how long it took.
 */
async function refusedWithinBound(
  t: TestContext,
  acknowledgedAt: number,
  probe: () => Promise<request.Response>,
  what: string,
): Promise<request.Response> {
  for (;;) {
    const response = await probe();
    const elapsed = performance.now() - acknowledgedAt;
    if (response.status === 401) {
      t.diagnostic(`${what}: refused ${elapsed.toFixed(1)} ms after the change was acknowledged`);
      return response;
    }
    if (elapsed > PROPAGATION_BOUND_MS) {
      assert.fail(`${what}: still ${response.status} after ${Math.round(elapsed)} ms`);
    }
    await delay(5);
  }
}

function assertRefreshRefused(response: request.Response): void {
  assertRefused(response, 401, 'invalid_refresh_token');
}

const JANE = { username: 'jane', password: 'correct-horse-1' };

/** Sends a request again after a 503 `store_unavailable`, as its Retry-After says, a few times. */
async function asAClientWould(send: () => request.Test): Promise<request.Response> {
  for (let attempt = 1; ; attempt++) {
    const response = await send();
    if (response.status !== 503 || attempt === 5) return response;
    assertRefused(response, 503, 'store_unavailable');
    await delay(Number(response.headers['retry-after']) * 1000);
  }
}

/** A GET on one of `agent`'s open connections; resolves with the status. */
function getOn(agent: Agent, base: string, path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpGet(`${base}${path}`, { agent, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
  });
}

async function statusOf(url: string): Promise<number> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response.status;
}

async function pollStatus(url: string, wanted: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await statusOf(url)) !== wanted) {
    if (Date.now() > deadline) assert.fail(`${url} never answered ${wanted}`);
    await delay(20);
  }
}

describe('two sidecar processes on one Redis', { skip: redisSkipReason }, () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let cwd: string;
  let a: Replica;
  let b: Replica;
  let admin: Session;
  const env = () => ({ JWT_SECRET, REDIS_URL: redis.url });

  async function startReplica(name: string): Promise<Replica> {
    return { name, ...(await serveOnFreePort(CONFIG, { cwd, env: env() })) };
  }

  async function addAdmin(): Promise<Session> {
    const added = await runCli(
      ['user', 'add', '--config', CONFIG, '--username', 'root', '--role', 'admin', '--password-stdin'],
      { cwd, env: env(), stdin: 'correct-horse-1\n' },
    );
    assert.equal(added.code, 0, added.stderr);
    return login(a.url, 'root');
  }

  before(async () => {
    redis = await startRedisServer();
    upstream = await startUpstream();
    cwd = await makeWorkDir();
    await placeFile(
      cwd,
      CONFIG,
      stringify({
        listen: { host: '127.0.0.1' },
        upstream: { url: upstream.url },
        store: { driver: 'redis', keyPrefix: 'replicas:' },
        passwords: { bcryptCost: 10 },
        metrics: { onPublicPort: true },
        limits: { login: { perUsername: 3, perIp: 1000 }, register: { perIp: 1000 } },
        rules: [{ path: '/api/**', authenticated: true }],
      }),
    );
    [a, b] = await Promise.all([startReplica('A'), startReplica('B')]);
    admin = await addAdmin();
  });

  after(async () => {
    for (const replica of [a, b]) await replica?.process.kill();
    await upstream?.close();
    await redis?.cleanup();
    if (cwd) await removeWorkDir(cwd);
  });

  it('lets a user registered on A log in on B, and both forward their tokens', SAFETY, async () => {
    const registered = await register(a.url, 'ada');
    const session = await login(b.url, 'ada');
    assert.equal(session.user.id, registered.user.id);
    for (const replica of [a, b]) {
      await getWith(replica.url, '/api/items', registered.accessToken).expect(200);
      await getWith(replica.url, '/api/items', session.accessToken).expect(200);
    }
    const again = await postJson(b.url, '/auth/register', { username: 'ada', password: 'correct-horse-2' });
    assertRefused(again, 409, 'username_taken');
  });

  it('gives one 201 and one 409 to one username registered on A and B at once', SAFETY, async () => {
    const body = { username: 'twin', password: 'correct-horse-1' };
    const statuses = await Promise.all(
      [a, b].map(async (replica) => (await postJson(replica.url, '/auth/register', body)).status),
    );
    assert.deepEqual(statuses.sort(), [201, 409]);
  });

  it(
    `refuses on B, within ${PROPAGATION_BOUND_MS} ms, a token logged out on A (B's token cache included)`,
    SAFETY,
    async (t) => {
      await register(a.url, 'brian');
      const session = await login(a.url, 'brian');
      // Twice, so that B's second answer comes from its cache of verified tokens.
      for (let i = 0; i < 2; i++) await getWith(b.url, '/api/items', session.accessToken).expect(200);

      await postJson(
        a.url,
        '/auth/logout',
        { refreshToken: session.refreshToken },
        session.accessToken,
      ).expect(204);
      const acknowledgedAt = performance.now();
      assertInvalidToken(
        await refusedWithinBound(
          t,
          acknowledgedAt,
          () => getWith(b.url, '/api/items', session.accessToken),
          'logged-out token on B',
        ),
      );
      assertRefreshRefused(await postJson(b.url, '/auth/refresh', { refreshToken: session.refreshToken }));
    },
  );

  it(
    `forwards at most ${WINDOW_BOUND} of the first ${WINDOW_REQUESTS} requests sent to B after A answered a logout, with B under load (over ${WINDOW_RUNS} runs)`,
    SAFETY,
    async (t) => {
      await register(a.url, 'wendy');
      const agent = new Agent({ keepAlive: true, maxSockets: WINDOW_CLIENTS });
      t.after(() => agent.destroy());
      const forwarded: number[] = [];
      for (let run = 0; run < WINDOW_RUNS; run++) {
        const session = await login(a.url, 'wendy');
        const path = `/api/window-${run}`;
        // Clients that keep B busy with the session's token, before, during and after the logout.
        let answeredAt = Infinity;
        const after: number[] = [];
        const clients = Array.from({ length: WINDOW_CLIENTS }, async () => {
          while (after.length < WINDOW_REQUESTS) {
            const sentAt = performance.now();
            const status = await getOn(agent, b.url, path, session.accessToken);
            if (sentAt > answeredAt && after.length < WINDOW_REQUESTS) after.push(status);
          }
        });
        await delay(50);
        await postJson(a.url, '/auth/logout', {}, session.accessToken).expect(204);
        answeredAt = performance.now();
        await Promise.all(clients);
        assert.ok(
          after.every((status) => status === 200 || status === 401),
          after.join(' '),
        );
        forwarded.push(after.filter((status) => status === 200).length);
      }
      t.diagnostic(
        `forwarded of the first ${WINDOW_REQUESTS} after the logout, per run: ${forwarded.join(', ')}`,
      );
      assert.ok(Math.max(...forwarded) <= WINDOW_BOUND, `forwarded: ${forwarded.join(', ')}`);
    },
  );

  it(
    `refuses on B, within ${PROPAGATION_BOUND_MS} ms, the tokens of a password change, a disabled and a deleted user on A`,
    SAFETY,
    async (t) => {
      const [changer, disabled, deleted] = await Promise.all(
        ['chris', 'dora', 'eddie'].map((name) => register(a.url, name)),
      );
      const changes: [string, Session, () => request.Test][] = [
        [
          'password change',
          changer!,
          () =>
            postJson(
              a.url,
              '/auth/password',
              { currentPassword: 'correct-horse-1', newPassword: 'correct-horse-9' },
              changer!.accessToken,
            ),
        ],
        [
          'disabling',
          disabled!,
          () => patchJson(a.url, `/auth/users/${disabled!.user.id}`, { disabled: true }, admin.accessToken),
        ],
        ['deletion', deleted!, () => deleteWith(a.url, `/auth/users/${deleted!.user.id}`, admin.accessToken)],
      ];
      for (const [what, session, change] of changes) {
        for (let i = 0; i < 2; i++) await getWith(b.url, '/api/items', session.accessToken).expect(200);
        const response = await change();
        assert.ok(response.status < 300, `${what}: ${response.status} ${response.text}`);
        const acknowledgedAt = performance.now();
        assertInvalidToken(
          await refusedWithinBound(
            t,
            acknowledgedAt,
            () => getWith(b.url, '/api/items', session.accessToken),
            `token after ${what} on B`,
          ),
        );
        assertRefreshRefused(await postJson(b.url, '/auth/refresh', { refreshToken: session.refreshToken }));
      }
    },
  );

  it(
    'gives exactly one 200 to ten concurrent refreshes of one token spread over A and B',
    SAFETY,
    async () => {
      const session = await register(a.url, 'fay');
      const responses = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          postJson((i % 2 === 0 ? a : b).url, '/auth/refresh', { refreshToken: session.refreshToken }),
        ),
      );
      const winners = responses.filter((response) => response.status === 200);
      assert.equal(winners.length, 1, responses.map((response) => response.status).join(' '));
      for (const response of responses) if (response.status !== 200) assertRefreshRefused(response);
    },
  );

  it('detects on B the replay of a token rotated on A, and ends the family on both', SAFETY, async () => {
    const session = await register(a.url, 'gus');
    const rotated = await postJson(a.url, '/auth/refresh', { refreshToken: session.refreshToken }).expect(
      200,
    );
    const next = (rotated.body as Session).refreshToken;

    assertRefreshRefused(await postJson(b.url, '/auth/refresh', { refreshToken: session.refreshToken }));
    for (const replica of [a, b]) {
      assertRefreshRefused(await postJson(replica.url, '/auth/refresh', { refreshToken: next }));
    }
  });

  it('counts failed logins spread over A and B toward one per-username limit', SAFETY, async () => {
    await register(a.url, 'hedy');
    const guess = (replica: Replica) =>
      postJson(replica.url, '/auth/login', { username: 'hedy', password: 'wrong-guess-1' });
    const statuses: number[] = [];
    for (const replica of [a, b, a, b]) statuses.push((await guess(replica)).status);
    assert.deepEqual(statuses, [401, 401, 401, 429]);
    const right = await postJson(a.url, '/auth/login', { username: 'hedy', password: 'correct-horse-1' });
    assertRefused(right, 429, 'too_many_requests');
    assert.ok(Number(right.headers['retry-after']) > 0);
  });

  it(
    'treats a Redis that stops answering as down, and keeps every session when it answers again',
    SAFETY,
    async () => {
      const session = await register(a.url, 'jane');
      await getWith(b.url, '/api/items', session.accessToken).expect(200);

      redis.pause(); // connections stay open, nothing answers: a hung server or a lossy network
      try {
        for (const replica of [a, b]) await pollStatus(`${replica.url}/readyz`, 503);
        const loginAttempt = await postJson(a.url, '/auth/login', {
          username: 'jane',
          password: 'correct-horse-1',
        });
        assertRefused(loginAttempt, 503, 'store_unavailable');
        assertRefused(await getWith(b.url, '/api/items', session.accessToken), 503, 'store_unavailable');
      } finally {
        redis.resume();
      }

      for (const replica of [a, b]) await pollStatus(`${replica.url}/readyz`, 200);
      await getWith(b.url, '/api/items', session.accessToken).expect(200);
      // The attempt counters' own connection may come back a moment after the store's: a client
      // told 503 with Retry-After retries, as this one does (the refresh was not made).
      const refreshed = await asAClientWould(() =>
        postJson(a.url, '/auth/refresh', { refreshToken: session.refreshToken }),
      );
      assert.equal(refreshed.status, 200, refreshed.text);
      assert.equal((await asAClientWould(() => postJson(b.url, '/auth/login', JANE))).status, 200);
    },
  );

  it(
    'answers the documented 503s while Redis is down, and resumes by itself when it is back',
    SAFETY,
    async () => {
      const session = await register(a.url, 'ida');
      await getWith(b.url, '/api/items', session.accessToken).expect(200);
      const forwarded = upstream.requests.length;

      await redis.stop();
      for (const replica of [a, b]) await pollStatus(`${replica.url}/readyz`, 503);
      for (const replica of [a, b]) {
        assert.equal(await statusOf(`${replica.url}/healthz`), 200, `${replica.name} is alive`);
        const loginAttempt = await postJson(replica.url, '/auth/login', {
          username: 'ida',
          password: 'correct-horse-1',
        });
        assertRefused(loginAttempt, 503, 'store_unavailable');
        assert.equal(loginAttempt.headers['retry-after'], '1');
        const registration = await request(replica.url)
          .post('/auth/register')
          .set(JSON_HEADERS)
          .send({ username: `new-${replica.name.toLowerCase()}`, password: 'correct-horse-1' });
        assertRefused(registration, 503, 'store_unavailable');
        // store.unavailable defaults to fail-closed: revocations cannot be checked, so nothing passes.
        const proxied = await getWith(replica.url, '/api/items', session.accessToken);
        assertRefused(proxied, 503, 'store_unavailable');
        assert.equal(proxied.headers['retry-after'], '1');
        await getWith(replica.url, '/api/items').expect(401);
      }
      assertNothingForwarded(upstream, forwarded);
      assert.match((await request(a.url).get('/metrics')).text, /^auth_sidecar_store_up 0$/m);

      await redis.start(); // empty: the test server keeps nothing (--save "")
      for (const replica of [a, b]) await pollStatus(`${replica.url}/readyz`, 200);
      assert.match((await request(a.url).get('/metrics')).text, /^auth_sidecar_store_up 1$/m);
      const after = await register(b.url, 'ida');
      await login(a.url, 'ida');
      await getWith(a.url, '/api/items', after.accessToken).expect(200);
      assert.equal(a.process.child.exitCode, null, 'A never restarted');
      assert.equal(b.process.child.exitCode, null, 'B never restarted');
      const events = a.process
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { event?: string; reason?: string });
      const unavailable = events.find((line) => line.event === 'store.unavailable');
      assert.ok(unavailable?.reason, 'the outage is logged with its cause');
      assert.ok(
        events.some((line) => line.event === 'store.ready'),
        'and so is the recovery',
      );
    },
  );
});
