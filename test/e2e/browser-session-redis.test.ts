/**
 * Browser sessions on the Redis store: ended on one replica, refused on the other within the
 * documented window; kept across a restart; and checked in memory, so that a cookie-authenticated
 * proxied request makes no Redis round trip.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type request from 'supertest';
import { stringify } from 'yaml';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { login, register, type Session } from '../helpers/auth-client.js';
import { createUser, postForm } from '../helpers/browser-client.js';
import {
  assertClearsCookie,
  assertNoTicketLogged,
  commandsBetween,
  getWithCookie,
  jsonLines,
  redisCommandCalls,
  redisQuiet,
  SESSION_COOKIE,
  sessionEnds,
  sessionSetCookies,
  startedSessionIds,
  totalCommands,
  type LogEntry,
} from '../helpers/browser-session.js';
import {
  makeWorkDir,
  placeFile,
  removeWorkDir,
  runCli,
  serveOnFreePort,
  type RunningServe,
} from '../helpers/cli-process.js';
import { redisSkipReason, startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { deleteWith, getWith, patchJson, postJson } from '../helpers/session-client.js';
import { startSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const JWT_SECRET = 'e2e-browser-redis-secret-e2e-browser-redis-secre';
const CONFIG = 'auth-sidecar.yaml';
const PASSWORD = 'correct-horse-1';
const NEW_PASSWORD = 'correct-horse-2';
/** The bound test/e2e/redis-replicas.test.ts holds a revocation to (README: Running more than one replica). */
const PROPAGATION_BOUND_MS = 1000;
/** Safety net so a hung child fails the test instead of the run; not a timing assertion. */
const SAFETY = { timeout: 60_000 };
/** Plain http in the tests: the cookie goes as `auth-sidecar`, without the __Host- prefix. */
const BROWSER = { cookie: { secure: false } };
/**
 * The Redis store may load its mirror a second time about a second after it opened (a first load
 * that raced the subscriber connection is retried on a 1 s timer): waited out before counting.
 */
const STARTUP_RESYNC_RETRY_MS = 1500;

/** Polls until `condition` holds; a generous bound for log lines to arrive, not a timing assertion. */
async function eventually(condition: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await delay(10);
  }
}

describe('browser sessions on two sidecar processes sharing one Redis', { skip: redisSkipReason }, () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let cwd: string;
  let a: RunningServe;
  let b: RunningServe;
  let admin: Session;
  const tickets = new Set<string>();
  const env = () => ({ JWT_SECRET, REDIS_URL: redis.url });
  const logsOf = (replica: RunningServe): LogEntry[] => jsonLines(replica.process.stdout());

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
        store: { driver: 'redis', keyPrefix: 'browser-replicas:' },
        passwords: { bcryptCost: 10 },
        limits: { login: { perUsername: 1000, perIp: 100_000 }, register: { perIp: 100_000 } },
        browser: BROWSER,
        rules: [{ path: '/api/**', authenticated: true }],
      }),
    );
    [a, b] = await Promise.all([
      serveOnFreePort(CONFIG, { cwd, env: env() }),
      serveOnFreePort(CONFIG, { cwd, env: env() }),
    ]);
    const added = await runCli(
      ['user', 'add', '--config', CONFIG, '--username', 'root', '--role', 'admin', '--password-stdin'],
      { cwd, env: env(), stdin: `${PASSWORD}\n` },
    );
    assert.equal(added.code, 0, added.stderr);
    admin = await login(b.url, 'root', PASSWORD);
  });

  after(async () => {
    for (const replica of [a, b]) await replica?.process.kill();
    await upstream?.close();
    await redis?.cleanup();
    if (cwd) await removeWorkDir(cwd);
  });

  /** Signs in through the form on `replica`; returns the ticket and the session id it audited. */
  async function signInOn(
    replica: RunningServe,
    username: string,
  ): Promise<{ ticket: string; sessionId: string }> {
    const started = startedSessionIds(logsOf(replica)).length;
    const response = await postForm(replica.url, '/auth/sign-in', { username, password: PASSWORD, rd: '/' });
    assert.equal(response.status, 303, `sign-in of ${username}: ${response.status} ${response.text}`);
    const [field] = sessionSetCookies(response);
    assert.ok(field && field.value !== '', 'sign-in sets the cookie');
    tickets.add(field.value);
    await eventually(() => startedSessionIds(logsOf(replica)).length > started, 'auth.session.start logged');
    return { ticket: field.value, sessionId: startedSessionIds(logsOf(replica)).at(-1) ?? '' };
  }

  async function assertCookieWorksOn(replica: RunningServe, ticket: string, username: string): Promise<void> {
    const seen = upstream.requests.length;
    const response = await getWithCookie(replica.url, '/api/items', ticket);
    assert.equal(response.status, 200, `${username}: ${response.status} ${response.text}`);
    const recorded = onlyForwardedSince(upstream, seen);
    assert.equal(recorded.headers['x-user'], username);
    assert.equal(recorded.headers.cookie, undefined);
  }

  /**
   * Probes `replica` with the cookie until it is refused; fails unless it was within
   * PROPAGATION_BOUND_MS of the change having been acknowledged by the other replica.
   */
  async function refusedWithinBound(
    t: TestContext,
    replica: RunningServe,
    ticket: string,
    acknowledgedAt: number,
    what: string,
  ): Promise<request.Response> {
    for (let probes = 1; ; probes++) {
      const response = await getWithCookie(replica.url, '/api/items', ticket);
      const elapsed = performance.now() - acknowledgedAt;
      if (response.status === 401) {
        t.diagnostic(`${what}: refused ${elapsed.toFixed(1)} ms after the change (probe ${probes})`);
        return response;
      }
      if (elapsed > PROPAGATION_BOUND_MS) {
        assert.fail(`${what}: still ${response.status} after ${Math.round(elapsed)} ms`);
      }
      await delay(5);
    }
  }

  interface Subject {
    readonly userId: string;
    readonly username: string;
    readonly ticket: string;
  }

  const endings: {
    readonly name: string;
    readonly reason: 'sign_out' | 'revoked';
    readonly end: (subject: Subject) => Promise<void>;
  }[] = [
    {
      name: 'a sign-out on B with the same cookie',
      reason: 'sign_out',
      async end({ ticket }) {
        const response = await postForm(
          b.url,
          '/auth/sign-out',
          {},
          { cookie: `${SESSION_COOKIE}=${ticket}` },
        );
        assert.equal(response.status, 303, response.text);
        assertClearsCookie(response);
      },
    },
    {
      name: 'a password change through POST /auth/password on B (bearer of another login)',
      reason: 'revoked',
      async end({ username }) {
        const api = await login(b.url, username, PASSWORD);
        const response = await postJson(
          b.url,
          '/auth/password',
          { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
          api.accessToken,
        );
        assert.equal(response.status, 204, response.text);
      },
    },
    {
      name: 'a password change on B’s account page, by another browser of the user',
      reason: 'revoked',
      async end({ username }) {
        const other = await signInOn(b, username);
        const response = await postForm(
          b.url,
          '/auth/account/password',
          { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
          { cookie: `${SESSION_COOKIE}=${other.ticket}` },
        );
        assert.equal(response.status, 303, response.text);
        assert.equal(response.headers.location, '/auth/account?changed=1');
        for (const field of sessionSetCookies(response)) tickets.add(field.value);
      },
    },
    {
      name: 'disabling the user on B',
      reason: 'revoked',
      async end({ userId }) {
        const response = await patchJson(
          b.url,
          `/auth/users/${userId}`,
          { disabled: true },
          admin.accessToken,
        );
        assert.equal(response.status, 200, response.text);
      },
    },
    {
      name: 'changing the user’s roles on B',
      reason: 'revoked',
      async end({ userId }) {
        const response = await patchJson(
          b.url,
          `/auth/users/${userId}`,
          { roles: ['user', 'analyst'] },
          admin.accessToken,
        );
        assert.equal(response.status, 200, response.text);
      },
    },
    {
      name: 'deleting the user on B',
      reason: 'revoked',
      async end({ userId }) {
        const response = await deleteWith(b.url, `/auth/users/${userId}`, admin.accessToken);
        assert.equal(response.status, 204, response.text);
      },
    },
  ];

  for (const [index, ending] of endings.entries()) {
    it(
      `refuses on A, within ${PROPAGATION_BOUND_MS} ms, a cookie of a session ended by ${ending.name}`,
      SAFETY,
      async (t) => {
        const username = `replica-ender-${index}`;
        const registered = await register(a.url, username, PASSWORD);
        const session = await signInOn(a, username);
        // Twice, so that A's second answer comes from its cache of verified tickets.
        for (let i = 0; i < 2; i++) await assertCookieWorksOn(a, session.ticket, username);
        await assertCookieWorksOn(b, session.ticket, username);

        await ending.end({ userId: registered.user.id, username, ticket: session.ticket });
        const acknowledgedAt = performance.now();
        const seen = upstream.requests.length;
        const refused = await refusedWithinBound(t, a, session.ticket, acknowledgedAt, ending.name);
        assertRefused(refused, 401, 'unauthenticated');
        assertClearsCookie(refused);
        assertNothingForwarded(upstream, seen);
        const navigation = await getWithCookie(a.url, '/api/items', session.ticket, 'navigate');
        assert.equal(navigation.status, 302);
        assert.equal(navigation.headers.location, '/auth/sign-in?rd=%2Fapi%2Fitems');
        assertNothingForwarded(upstream, seen);

        // Whoever ended it says why; A, which sees the cookie afterwards, says it was revoked.
        const teller = ending.reason === 'sign_out' ? b : a;
        await eventually(
          () =>
            sessionEnds(logsOf(teller), session.sessionId).some((entry) => entry.reason === ending.reason),
          `auth.session.end ${ending.reason}`,
        );
        await eventually(
          () => sessionEnds(logsOf(a), session.sessionId).some((entry) => entry.reason === 'revoked'),
          'auth.session.end revoked on A',
        );
        for (const replica of [a, b]) assertNoTicketLogged(replica.process.stdout(), tickets);
      },
    );
  }
});

describe('browser sessions on the Redis store', { skip: redisSkipReason }, () => {
  let redis: TestRedis;

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await redis?.cleanup();
  });

  it('keeps a session across a restart of the sidecar', SAFETY, async () => {
    const upstream = await startUpstream();
    const config = {
      browser: BROWSER,
      store: { driver: 'redis', url: redis.url, keyPrefix: 'browser-restart:' },
    };
    let sidecar = await startSidecar({ upstreamUrl: upstream.url, config });
    try {
      await createUser(sidecar, 'restarted', PASSWORD);
      const response = await postForm(sidecar.url, '/auth/sign-in', {
        username: 'restarted',
        password: PASSWORD,
        rd: '/',
      });
      assert.equal(response.status, 303, response.text);
      const ticket = sessionSetCookies(response)[0]?.value ?? '';
      await getWithCookie(sidecar.url, '/api/items', ticket).expect(200);
      await sidecar.stop({ removeData: true });

      sidecar = await startSidecar({ upstreamUrl: upstream.url, config });
      const seen = upstream.requests.length;
      const again = await getWithCookie(sidecar.url, '/api/items', ticket);
      assert.equal(again.status, 200, again.text);
      assert.equal(onlyForwardedSince(upstream, seen).headers['x-user'], 'restarted');
    } finally {
      await sidecar.stop({ removeData: true });
      await upstream.close();
    }
  });

  it('keeps a signed-out session ended across a restart of the sidecar', SAFETY, async () => {
    const upstream = await startUpstream();
    const config = {
      browser: BROWSER,
      store: { driver: 'redis', url: redis.url, keyPrefix: 'browser-restart-out:' },
    };
    let sidecar = await startSidecar({ upstreamUrl: upstream.url, config });
    try {
      await createUser(sidecar, 'signed-out', PASSWORD);
      const response = await postForm(sidecar.url, '/auth/sign-in', {
        username: 'signed-out',
        password: PASSWORD,
        rd: '/',
      });
      assert.equal(response.status, 303, response.text);
      const ticket = sessionSetCookies(response)[0]?.value ?? '';
      const cookie = `${SESSION_COOKIE}=${ticket}`;
      assert.equal((await postForm(sidecar.url, '/auth/sign-out', {}, { cookie })).status, 303);
      await sidecar.stop({ removeData: true });

      sidecar = await startSidecar({ upstreamUrl: upstream.url, config });
      const seen = upstream.requests.length;
      const again = await getWithCookie(sidecar.url, '/api/items', ticket);
      assertRefused(again, 401, 'unauthenticated');
      assertClearsCookie(again);
      assertNothingForwarded(upstream, seen);
    } finally {
      await sidecar.stop({ removeData: true });
      await upstream.close();
    }
  });

  it(
    'makes no Redis round trip for 200 cookie-authenticated proxied GETs (nor for 200 bearer ones)',
    SAFETY,
    async (t) => {
      const upstream = await startUpstream();
      const startedAt = performance.now();
      const sidecar = await startSidecar({
        upstreamUrl: upstream.url,
        config: {
          browser: BROWSER,
          store: { driver: 'redis', url: redis.url, keyPrefix: 'browser-roundtrips:' },
        },
      });
      const REQUESTS = 200;
      try {
        await createUser(sidecar, 'counted', PASSWORD);
        const signedIn = await postForm(sidecar.url, '/auth/sign-in', {
          username: 'counted',
          password: PASSWORD,
          rd: '/',
        });
        assert.equal(signedIn.status, 303, signedIn.text);
        const ticket = sessionSetCookies(signedIn)[0]?.value ?? '';
        const api = await login(sidecar.url, 'counted', PASSWORD);
        // Warm both paths, and let the store's start-up work and the logins' writes settle.
        await getWithCookie(sidecar.url, '/api/warm', ticket).expect(200);
        await getWith(sidecar.url, '/api/warm', api.accessToken).expect(200);
        await delay(Math.max(0, STARTUP_RESYNC_RETRY_MS - (performance.now() - startedAt)));
        await redisQuiet(redis.port);

        const measure = async (send: (i: number) => request.Test) => {
          const seen = upstream.requests.length;
          const before = await redisCommandCalls(redis.port);
          for (let i = 0; i < REQUESTS; i++) {
            const response = await send(i);
            assert.equal(response.status, 200, response.text);
          }
          const ran = commandsBetween(before, await redisCommandCalls(redis.port));
          const forwarded = upstream.requests.slice(seen);
          assert.equal(forwarded.length, REQUESTS);
          assert.ok(forwarded.every((recorded) => recorded.headers['x-user'] === 'counted'));
          return ran;
        };
        // The counting sees what does reach Redis: a login writes its session there.
        const beforeLogin = await redisCommandCalls(redis.port);
        await login(sidecar.url, 'counted', PASSWORD);
        const byLogin = commandsBetween(beforeLogin, await redisCommandCalls(redis.port));
        assert.ok(totalCommands(byLogin) > 0, 'a login is counted');

        const byCookie = await measure((i) => getWithCookie(sidecar.url, `/api/cookie/${i}`, ticket));
        const byBearer = await measure((i) => getWith(sidecar.url, `/api/bearer/${i}`, api.accessToken));
        t.diagnostic(
          `Redis commands, cookie: ${JSON.stringify([...byCookie])}; bearer: ${JSON.stringify([...byBearer])}`,
        );
        assert.ok(
          totalCommands(byCookie) <= totalCommands(byBearer),
          `the cookie path ran more commands than the bearer path: ${JSON.stringify([...byCookie])}`,
        );
        assert.equal(totalCommands(byCookie), 0, `commands run: ${JSON.stringify([...byCookie])}`);
        assertNoTicketLogged(sidecar.logs.text, [ticket]);
      } finally {
        await sidecar.stop({ removeData: true });
        await upstream.close();
      }
    },
  );
});
