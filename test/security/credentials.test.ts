/**
 * Credential attacks: guessing passwords, one user's or many users' (limits per username and per
 * client address, answered 429 with Retry-After even for the right password), escaping the
 * per-address limit with X-Forwarded-For, flooding registration, telling known usernames from
 * unknown ones, bcrypt's 72-byte truncation, look-alike usernames (NFKC, case), and auth bodies
 * that are not plain JSON objects: other media types, oversized or malformed bodies, and
 * `__proto__`/`constructor`/`prototype` keys. The naive setup (test/helpers/naive-proxy.ts) has no
 * login of its own: whatever it fronts receives every guess, unthrottled, which is shown first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertNothingForwarded, assertRefused } from '../helpers/attack.js';
import { JSON_HEADERS, login, register } from '../helpers/auth-client.js';
import { assertTokenResponse, uniqueUsername } from '../helpers/contract.js';
import { claimsOf } from '../helpers/forged-tokens.js';
import { startNaiveProxy } from '../helpers/naive-proxy.js';
import { rawRequest } from '../helpers/raw-http.js';
import { getWith, patchJson } from '../helpers/session-client.js';
import { seedUser, startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const PASSWORD = 'correct-horse-1';
const LOGIN_WINDOW_SECONDS = 15 * 60;
const REGISTER_WINDOW_SECONDS = 60 * 60;

/** Limits for a sidecar under test: small where a test means to meet them, generous elsewhere. */
function limits(overrides: { perUsername?: number; perIp?: number; registerPerIp?: number }) {
  return {
    limits: {
      login: { perUsername: overrides.perUsername ?? 1000, perIp: overrides.perIp ?? 100_000 },
      register: { perIp: overrides.registerPerIp ?? 100_000 },
    },
  };
}

/** The full-width form of printable ASCII (U+FF01–U+FF5E), which NFKC folds back. */
function fullWidth(text: string): string {
  return [...text]
    .map((char) =>
      char >= '!' && char <= '~' ? String.fromCodePoint((char.codePointAt(0) ?? 0) + 0xfee0) : char,
    )
    .join('');
}

function loginAs(baseUrl: string, username: string, password: string, forwardedFor?: string): request.Test {
  const test = request(baseUrl).post('/auth/login').set(JSON_HEADERS);
  if (forwardedFor !== undefined) test.set('X-Forwarded-For', forwardedFor);
  return test.send({ username, password });
}

function registerAs(baseUrl: string, username: string, forwardedFor?: string): request.Test {
  const test = request(baseUrl).post('/auth/register').set(JSON_HEADERS);
  if (forwardedFor !== undefined) test.set('X-Forwarded-For', forwardedFor);
  return test.send({ username, password: PASSWORD });
}

/** 429 too_many_requests with Retry-After in whole seconds, at most the window. */
function assertTooManyRequests(response: request.Response, windowSeconds: number): void {
  assertRefused(response, 429, 'too_many_requests');
  const retryAfter = String(response.headers['retry-after']);
  assert.match(retryAfter, /^[1-9]\d*$/, 'Retry-After is a number of seconds');
  assert.ok(Number(retryAfter) <= windowSeconds, `Retry-After ${retryAfter} is within the window`);
}

/** A sidecar of its own, for tests that spend its rate limits. */
interface Isolated {
  readonly upstream: TestUpstream;
  readonly sidecar: TestSidecar;
  stop(): Promise<void>;
}

async function startIsolated(config: Record<string, unknown>): Promise<Isolated> {
  const upstream = await startUpstream();
  const sidecar = await startSidecar({ upstreamUrl: upstream.url, config });
  return {
    upstream,
    sidecar,
    async stop() {
      await sidecar.stop({ removeData: true });
      await upstream.close();
    },
  };
}

describe('credential attacks', () => {
  let naiveUpstream: TestUpstream;
  let naive: Awaited<ReturnType<typeof startNaiveProxy>>;

  before(async () => {
    naiveUpstream = await startUpstream();
    naive = await startNaiveProxy(naiveUpstream.url);
  });

  after(async () => {
    await naive.close();
    await naiveUpstream.close();
  });

  /** Every guess sent through the naive setup reaches its upstream; none is answered 429. */
  async function assertNaiveLetsEveryGuessThrough(
    guesses: readonly { username: string; password: string; forwardedFor?: string }[],
  ): Promise<void> {
    const seen = naiveUpstream.requests.length;
    for (const guess of guesses) {
      const response = await loginAs(naive.url, guess.username, guess.password, guess.forwardedFor);
      assert.equal(response.status, 200, response.text);
    }
    const arrived = naiveUpstream.requests.slice(seen);
    assert.deepEqual(
      arrived.map((recorded) => `${recorded.method} ${recorded.url}`),
      guesses.map(() => 'POST /auth/login'),
    );
    guesses.forEach((guess, index) => {
      if (guess.forwardedFor === undefined) return;
      // The backend sees the address the client claimed, so it would count per claimed address.
      assert.match(
        String(arrived[index]?.headers['x-forwarded-for']),
        new RegExp(`^${guess.forwardedFor}\\b`),
      );
    });
  }

  describe('guessing one user’s password (limits.login.perUsername: 3)', () => {
    let isolated: Isolated;
    let victim: string;

    before(async () => {
      isolated = await startIsolated(limits({ perUsername: 3 }));
      victim = uniqueUsername('victim');
      await register(isolated.sidecar.url, victim, PASSWORD);
    });

    after(() => isolated.stop());

    it('gets through the naive setup: all ten guesses reach the upstream, none is refused', async () => {
      await assertNaiveLetsEveryGuessThrough(
        Array.from({ length: 10 }, (_, i) => ({ username: victim, password: `guess-${i}-xyz` })),
      );
    });

    it('is stopped by the sidecar after 3 failures: the 4th attempt gets 429 with Retry-After even with the right password, and nothing is forwarded', async () => {
      const { sidecar, upstream } = isolated;
      const seen = upstream.requests.length;
      for (let i = 0; i < 3; i++) {
        assertRefused(await loginAs(sidecar.url, victim, `guess-${i}-xyz`), 401, 'invalid_credentials');
      }
      assertTooManyRequests(await loginAs(sidecar.url, victim, PASSWORD), LOGIN_WINDOW_SECONDS);
      assertTooManyRequests(await loginAs(sidecar.url, victim, 'guess-4-xyz'), LOGIN_WINDOW_SECONDS);
      assertNothingForwarded(upstream, seen);
    });

    it('spelling the username another way (VICTIM, full-width) does not reset the count: still 429 for the right password', async () => {
      const { sidecar } = isolated;
      const other = uniqueUsername('victim');
      await register(sidecar.url, other, PASSWORD);
      for (const spelling of [other, other.toUpperCase(), fullWidth(other)]) {
        assertRefused(await loginAs(sidecar.url, spelling, 'wrong-guess-1'), 401, 'invalid_credentials');
      }
      assertTooManyRequests(await loginAs(sidecar.url, other, PASSWORD), LOGIN_WINDOW_SECONDS);
      assertTooManyRequests(await loginAs(sidecar.url, other.toUpperCase(), PASSWORD), LOGIN_WINDOW_SECONDS);
    });

    it('another user is not locked out by the guesses against the victim (not an attack)', async () => {
      const bystander = uniqueUsername('bystander');
      await register(isolated.sidecar.url, bystander, PASSWORD);
      assertTokenResponse(await loginAs(isolated.sidecar.url, bystander, PASSWORD), 200);
    });
  });

  describe('guessing many users’ passwords from one address (limits.login.perIp: 3)', () => {
    let isolated: Isolated;
    let real: string;

    before(async () => {
      isolated = await startIsolated(limits({ perIp: 3 }));
      real = uniqueUsername('stuffed');
      await register(isolated.sidecar.url, real, PASSWORD);
    });

    after(() => isolated.stop());

    it('gets through the naive setup: every guess reaches the upstream', async () => {
      await assertNaiveLetsEveryGuessThrough(
        Array.from({ length: 6 }, (_, i) => ({ username: `someone-${i}`, password: 'Summer2024!' })),
      );
    });

    it('is stopped by the sidecar after 3 failures from the address: the next login gets 429 with Retry-After even with a right password, and nothing is forwarded', async () => {
      const { sidecar, upstream } = isolated;
      const seen = upstream.requests.length;
      for (let i = 0; i < 3; i++) {
        assertRefused(
          await loginAs(sidecar.url, uniqueUsername('someone'), 'Summer2024!'),
          401,
          'invalid_credentials',
        );
      }
      assertTooManyRequests(await loginAs(sidecar.url, real, PASSWORD), LOGIN_WINDOW_SECONDS);
      assertNothingForwarded(upstream, seen);
    });
  });

  describe('rotating X-Forwarded-For to look like many clients, with no trustProxy (limits.login.perIp: 3, register.perIp: 3)', () => {
    let isolated: Isolated;
    let real: string;

    before(async () => {
      isolated = await startIsolated(limits({ perIp: 3, registerPerIp: 3 }));
      real = uniqueUsername('rotated');
      // One registration of the three this address may make.
      await register(isolated.sidecar.url, real, PASSWORD);
    });

    after(() => isolated.stop());

    it('gets through the naive setup: every guess reaches the upstream, each from the address it claims', async () => {
      await assertNaiveLetsEveryGuessThrough(
        Array.from({ length: 6 }, (_, i) => ({
          username: `someone-${i}`,
          password: 'Summer2024!',
          forwardedFor: `198.51.100.${i + 1}`,
        })),
      );
    });

    it('does not escape the sidecar’s per-address login limit: the 4th login gets 429, whatever address it claims', async () => {
      const { sidecar, upstream } = isolated;
      const seen = upstream.requests.length;
      for (let i = 0; i < 3; i++) {
        const response = await loginAs(
          sidecar.url,
          uniqueUsername('someone'),
          'Summer2024!',
          `198.51.100.${i + 1}`,
        );
        assertRefused(response, 401, 'invalid_credentials');
      }
      assertTooManyRequests(
        await loginAs(sidecar.url, real, PASSWORD, '198.51.100.99'),
        LOGIN_WINDOW_SECONDS,
      );
      assertTooManyRequests(await loginAs(sidecar.url, real, PASSWORD), LOGIN_WINDOW_SECONDS);
      assertNothingForwarded(upstream, seen);
    });

    it('does not escape the sidecar’s per-address registration limit either: the 4th registration gets 429', async () => {
      const { sidecar } = isolated;
      for (let i = 0; i < 2; i++) {
        assertTokenResponse(
          await registerAs(sidecar.url, uniqueUsername('flood'), `203.0.113.${i + 1}`),
          201,
        );
      }
      const username = uniqueUsername('flood');
      assertTooManyRequests(await registerAs(sidecar.url, username, '203.0.113.50'), REGISTER_WINDOW_SECONDS);
      assert.equal(await sidecar.deps.store.users.findByUsername(username), undefined, 'no account was made');
    });
  });

  /** Sends every guess at once; checks each answer is a 401 or a 429 problem; counts the 401s. */
  async function guessesChecked(
    baseUrl: string,
    guesses: readonly { username: string; password: string }[],
  ): Promise<{ checked: number; statuses: string }> {
    const responses = await Promise.all(
      guesses.map((guess) => loginAs(baseUrl, guess.username, guess.password)),
    );
    for (const response of responses) {
      if (response.status === 401) assertRefused(response, 401, 'invalid_credentials');
      else assertTooManyRequests(response, LOGIN_WINDOW_SECONDS);
    }
    const statuses = responses.map((response) => response.status);
    return { checked: statuses.filter((status) => status === 401).length, statuses: statuses.join(',') };
  }

  describe('sending twenty guesses at one user’s password at once, at the shipped bcrypt cost of 12 (limits.login.perUsername: 3)', () => {
    let isolated: Isolated;
    let victim: string;

    before(async () => {
      isolated = await startIsolated({
        ...limits({ perUsername: 3 }),
        passwords: { bcryptCost: 12, minLength: 8 },
      });
      victim = uniqueUsername('burst');
      await register(isolated.sidecar.url, victim, PASSWORD);
    });

    after(() => isolated.stop());

    it('gets through the naive setup: all twenty reach the upstream', async () => {
      const seen = naiveUpstream.requests.length;
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => loginAs(naive.url, victim, `guess-${i}-xyz`)),
      );
      assert.deepEqual(
        responses.map((response) => response.status),
        responses.map(() => 200),
      );
      assert.equal(naiveUpstream.requests.slice(seen).filter((r) => r.url === '/auth/login').length, 20);
    });

    it('is held to the limit by the sidecar: at most 3 are checked (401), the rest get 429, then the right password gets 429, and nothing is forwarded', async () => {
      const seen = isolated.upstream.requests.length;
      const { checked, statuses } = await guessesChecked(
        isolated.sidecar.url,
        Array.from({ length: 20 }, (_, i) => ({ username: victim, password: `guess-${i}-xyz` })),
      );
      assert.ok(checked <= 3, `${checked} of 20 concurrent guesses were checked: ${statuses}`);
      assertTooManyRequests(await loginAs(isolated.sidecar.url, victim, PASSWORD), LOGIN_WINDOW_SECONDS);
      assertNothingForwarded(isolated.upstream, seen);
    });
  });

  describe('sending twenty guesses for twenty usernames at once from one address, at the shipped bcrypt cost of 12 (limits.login.perIp: 3)', () => {
    let isolated: Isolated;

    before(async () => {
      isolated = await startIsolated({
        ...limits({ perIp: 3 }),
        passwords: { bcryptCost: 12, minLength: 8 },
      });
    });

    after(() => isolated.stop());

    it('is held to the limit by the sidecar: at most 3 are checked (401), the rest get 429, and nothing is forwarded (the naive side is the one above)', async () => {
      const seen = isolated.upstream.requests.length;
      const { checked, statuses } = await guessesChecked(
        isolated.sidecar.url,
        Array.from({ length: 20 }, () => ({ username: uniqueUsername('someone'), password: 'Summer2024!' })),
      );
      assert.ok(checked <= 3, `${checked} of 20 concurrent guesses were checked: ${statuses}`);
      assertNothingForwarded(isolated.upstream, seen);
    });
  });

  describe('a registration flood from one address (limits.register.perIp: 2)', () => {
    let isolated: Isolated;

    before(async () => {
      isolated = await startIsolated(limits({ registerPerIp: 2 }));
    });

    after(() => isolated.stop());

    it('gets through the naive setup: every registration reaches the upstream', async () => {
      const seen = naiveUpstream.requests.length;
      for (let i = 0; i < 5; i++) {
        const response = await registerAs(naive.url, uniqueUsername('flood'));
        assert.equal(response.status, 200, response.text);
      }
      assert.equal(naiveUpstream.requests.slice(seen).filter((r) => r.url === '/auth/register').length, 5);
    });

    it('is stopped by the sidecar after 2 registrations: the 3rd gets 429 with Retry-After, makes no account, and nothing is forwarded', async () => {
      const { sidecar, upstream } = isolated;
      const seen = upstream.requests.length;
      for (let i = 0; i < 2; i++)
        assertTokenResponse(await registerAs(sidecar.url, uniqueUsername('flood')), 201);
      const username = uniqueUsername('flood');
      assertTooManyRequests(await registerAs(sidecar.url, username), REGISTER_WINDOW_SECONDS);
      assert.equal(await sidecar.deps.store.users.findByUsername(username), undefined, 'no account was made');
      assertNothingForwarded(upstream, seen);
    });
  });

  describe('clients behind a trusted proxy (trustProxy: [127.0.0.1]) are counted one by one (not an attack; sidecar side only)', () => {
    let isolated: Isolated;
    let real: string;

    before(async () => {
      isolated = await startIsolated({
        ...limits({ perIp: 2, registerPerIp: 2 }),
        trustProxy: ['127.0.0.1'],
      });
      real = uniqueUsername('behind');
      await registerAs(isolated.sidecar.url, real, '192.0.2.200').expect(201);
    });

    after(() => isolated.stop());

    it('one forwarded client’s failed logins do not limit another’s', async () => {
      const { sidecar } = isolated;
      for (let i = 0; i < 2; i++) {
        const response = await loginAs(sidecar.url, uniqueUsername('someone'), 'Summer2024!', '192.0.2.1');
        assertRefused(response, 401, 'invalid_credentials');
      }
      assertTooManyRequests(await loginAs(sidecar.url, real, PASSWORD, '192.0.2.1'), LOGIN_WINDOW_SECONDS);
      assertRefused(
        await loginAs(sidecar.url, uniqueUsername('someone'), 'Summer2024!', '192.0.2.2'),
        401,
        'invalid_credentials',
      );
      assertTokenResponse(await loginAs(sidecar.url, real, PASSWORD, '192.0.2.2'), 200);
    });

    it('one forwarded client’s registrations do not limit another’s', async () => {
      const { sidecar } = isolated;
      for (let i = 0; i < 2; i++)
        assertTokenResponse(await registerAs(sidecar.url, uniqueUsername('reg'), '192.0.2.3'), 201);
      assertTooManyRequests(
        await registerAs(sidecar.url, uniqueUsername('reg'), '192.0.2.3'),
        REGISTER_WINDOW_SECONDS,
      );
      assertTokenResponse(await registerAs(sidecar.url, uniqueUsername('reg'), '192.0.2.4'), 201);
    });
  });

  describe('on one sidecar with the test defaults', () => {
    let upstream: TestUpstream;
    let sidecar: TestSidecar;

    before(async () => {
      upstream = await startUpstream();
      sidecar = await startSidecar({ upstreamUrl: upstream.url });
    });

    after(async () => {
      await sidecar.stop({ removeData: true });
      await upstream.close();
    });

    describe('telling known usernames from unknown ones (no user enumeration; sidecar side only: the naive setup has no login)', () => {
      it('a known username with a wrong password and an unknown username get the same status, the same body apart from requestId, and the same header names', async () => {
        const known = uniqueUsername('known');
        await register(sidecar.url, known, PASSWORD);
        const wrongPassword = await loginAs(sidecar.url, known, 'not-the-password-1');
        const unknownUser = await loginAs(sidecar.url, uniqueUsername('nobody'), 'not-the-password-1');
        assertRefused(wrongPassword, 401, 'invalid_credentials');
        assert.equal(unknownUser.status, wrongPassword.status);
        const withoutRequestId = (response: request.Response) => {
          const body = JSON.parse(response.text) as Record<string, unknown>;
          assert.equal(typeof body.requestId, 'string');
          delete body.requestId;
          return body;
        };
        assert.deepEqual(withoutRequestId(unknownUser), withoutRequestId(wrongPassword));
        assert.deepEqual(Object.keys(unknownUser.headers).sort(), Object.keys(wrongPassword.headers).sort());
      });
    });

    describe('bcrypt reads only 72 bytes of a password (sidecar side only: the naive setup has no registration)', () => {
      it('a 73-byte password is refused at registration with 400, and no account is made', async () => {
        const username = uniqueUsername('long73');
        const response = await request(sidecar.url)
          .post('/auth/register')
          .set(JSON_HEADERS)
          .send({ username, password: 'p'.repeat(73) });
        assertRefused(response, 400, 'invalid_request');
        assert.equal(await sidecar.deps.store.users.findByUsername(username), undefined);
      });

      it('a password of 37 two-byte characters (74 bytes) is refused at registration with 400: bytes count, not characters', async () => {
        const password = 'é'.repeat(37);
        assert.equal(Buffer.byteLength(password), 74);
        const response = await request(sidecar.url)
          .post('/auth/register')
          .set(JSON_HEADERS)
          .send({ username: uniqueUsername('long74'), password });
        assertRefused(response, 400, 'invalid_request');
      });

      it('a 72-byte password registers and logs in, and that password with more bytes after it does not log in (401)', async () => {
        const username = uniqueUsername('long72');
        const password = `${'q'.repeat(70)}-1`;
        assert.equal(Buffer.byteLength(password), 72);
        await register(sidecar.url, username, password);
        await login(sidecar.url, username, password);
        assertRefused(await loginAs(sidecar.url, username, `${password}X`), 401, 'invalid_credentials');
      });
    });

    describe('look-alike usernames of an existing admin (sidecar side only: the naive setup has no registration)', () => {
      let adminId: string;

      before(async () => {
        adminId = (await seedUser(sidecar, 'admin', ['admin'])).id;
      });

      const lookAlikes: readonly [string, string][] = [
        ['ADMIN', 'in upper case'],
        ['Admin', 'capitalised'],
        ['ａｄｍｉｎ', 'in full-width letters'],
        ['ＡＤＭＩＮ', 'in full-width capitals'],
      ];
      for (const [username, how] of lookAlikes) {
        it(`registering ${username} (admin ${how}) is refused with 409, and the admin account is untouched`, async () => {
          const response = await request(sidecar.url)
            .post('/auth/register')
            .set(JSON_HEADERS)
            .send({ username, password: PASSWORD });
          assertRefused(response, 409, 'username_taken');
          const stored = await sidecar.deps.store.users.findByUsername('admin');
          assert.equal(stored?.id, adminId);
          assert.deepEqual(stored?.roles, ['admin']);
          assert.equal(stored?.passwordHash, 'unusable');
        });
      }
    });

    describe('auth bodies that are not a JSON object (sidecar side only: the naive setup parses no body)', () => {
      const endpoints = ['/auth/register', '/auth/login'] as const;

      const refusals: readonly {
        name: string;
        contentType?: string;
        body: string;
        status: number;
        code: string;
      }[] = [
        {
          name: 'a cross-site form posts JSON as text/plain (a CORS simple request)',
          contentType: 'text/plain',
          body: JSON.stringify({ username: 'formuser', password: PASSWORD }),
          status: 415,
          code: 'unsupported_media_type',
        },
        {
          name: 'a cross-site form posts application/x-www-form-urlencoded',
          contentType: 'application/x-www-form-urlencoded',
          body: `username=formuser&password=${PASSWORD}`,
          status: 415,
          code: 'unsupported_media_type',
        },
        {
          name: 'a body without any Content-Type',
          body: JSON.stringify({ username: 'formuser', password: PASSWORD }),
          status: 415,
          code: 'unsupported_media_type',
        },
        {
          name: 'a JSON body of 17 KB, over the 16 KB limit',
          contentType: 'application/json',
          body: JSON.stringify({ username: 'formuser', password: PASSWORD, pad: 'x'.repeat(17 * 1024) }),
          status: 413,
          code: 'payload_too_large',
        },
        {
          name: 'malformed JSON',
          contentType: 'application/json',
          body: '{"username": "formuser", "password": ',
          status: 400,
          code: 'invalid_request',
        },
      ];
      for (const refusal of refusals) {
        for (const path of endpoints) {
          it(`${refusal.name} to ${path} is refused with ${refusal.status} and makes no account or session`, async () => {
            const headers: [string, string][] = [];
            if (refusal.contentType !== undefined) headers.push(['Content-Type', refusal.contentType]);
            const usersBefore = await sidecar.deps.store.users.count();
            const response = await rawRequest(sidecar.url, {
              method: 'POST',
              target: path,
              headers,
              body: refusal.body,
            });
            assertRefused(response, refusal.status, refusal.code);
            assert.equal(await sidecar.deps.store.users.count(), usersBefore);
          });
        }
      }
    });

    describe('bodies with __proto__, constructor or prototype keys (sidecar side only: the sidecar runs in this process, so any pollution would show here)', () => {
      const prototypeKeysBefore = Object.getOwnPropertyNames(Object.prototype).sort();

      function assertNothingPolluted(): void {
        assert.equal(({} as Record<string, unknown>).roles, undefined, '({}).roles');
        assert.equal(({} as Record<string, unknown>).admin, undefined, '({}).admin');
        assert.equal(({} as Record<string, unknown>).disabled, undefined, '({}).disabled');
        assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), prototypeKeysBefore);
      }

      const bodies: readonly [string, (username: string) => string][] = [
        [
          'a __proto__ key carrying roles, beside a roles key',
          (username) =>
            `{"username":"${username}","password":"${PASSWORD}","__proto__":{"roles":["admin"],"admin":true},"roles":["admin"]}`,
        ],
        [
          'a constructor.prototype path carrying roles',
          (username) =>
            `{"username":"${username}","password":"${PASSWORD}","constructor":{"prototype":{"roles":["admin"],"admin":true}}}`,
        ],
        [
          'a prototype key carrying roles',
          (username) =>
            `{"username":"${username}","password":"${PASSWORD}","prototype":{"roles":["admin"]},"roles":["admin"]}`,
        ],
        [
          'a __proto__ key nested in another __proto__ key',
          (username) =>
            `{"username":"${username}","password":"${PASSWORD}","__proto__":{"__proto__":{"roles":["admin"]}}}`,
        ],
      ];
      for (const [name, body] of bodies) {
        it(`registering with ${name} gives only the default roles and pollutes nothing`, async () => {
          const username = uniqueUsername('proto');
          const response = await request(sidecar.url)
            .post('/auth/register')
            .set(JSON_HEADERS)
            .send(body(username));
          assertNothingPolluted();
          const session = assertTokenResponse(response, 201);
          assert.deepEqual(session.user.roles, ['user']);
          assert.deepEqual(claimsOf(session.accessToken).roles, ['user']);
          const stored = await sidecar.deps.store.users.findByUsername(username);
          assert.deepEqual(stored?.roles, ['user']);
          assert.equal(Object.getPrototypeOf(stored), Object.prototype);
          const seen = upstream.requests.length;
          assertRefused(await getWith(sidecar.url, '/admin/x', session.accessToken), 403, 'forbidden');
          assertNothingForwarded(upstream, seen);
          // A user registered afterwards, without any such key, gets the default roles as well.
          const after = await register(sidecar.url, uniqueUsername('plain'), PASSWORD);
          assert.deepEqual(after.user.roles, ['user']);
          assertNothingPolluted();
        });
      }

      it('logging in with a __proto__ key carrying roles gives only the user’s own roles and pollutes nothing', async () => {
        const username = uniqueUsername('proto-login');
        await register(sidecar.url, username, PASSWORD);
        const response = await request(sidecar.url)
          .post('/auth/login')
          .set(JSON_HEADERS)
          .send(
            `{"username":"${username}","password":"${PASSWORD}","__proto__":{"roles":["admin"]},"roles":["admin"]}`,
          );
        assertNothingPolluted();
        const session = assertTokenResponse(response, 200);
        assert.deepEqual(session.user.roles, ['user']);
        assert.deepEqual(claimsOf(session.accessToken).roles, ['user']);
      });

      it('PATCH /auth/users/:id with a __proto__ key is refused with 400 as an unknown key, and pollutes nothing', async () => {
        const admin = await seedUser(sidecar, uniqueUsername('proto-admin'), ['admin']);
        const target = await seedUser(sidecar, uniqueUsername('proto-target'), ['user']);
        const response = await patchJson(
          sidecar.url,
          `/auth/users/${target.id}`,
          '{"__proto__":{"roles":["admin"],"disabled":true},"disabled":false}',
          admin.token,
        );
        assertNothingPolluted();
        assertRefused(response, 400, 'invalid_request');
        const stored = await sidecar.deps.store.users.findById(target.id);
        assert.deepEqual(stored?.roles, ['user']);
        assert.equal(stored?.disabled, false);
      });
    });
  });
});
