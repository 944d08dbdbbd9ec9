/**
 * Session attacks: a token that was valid once and should not be any more. A refresh token that
 * comes back after it was rotated revokes its whole family (RFC 9700 §4.14.2); concurrent refreshes
 * with one token yield one new pair; logout revokes the access token presented; a password change
 * ends every session; a disabled or deleted user is refused at once everywhere; a role change
 * supersedes the access tokens carrying the old roles. User management needs the admin role and
 * never shows a password hash. A self-contained JWT stays good until `exp` wherever only its
 * signature is checked, so each of these is first shown to get through the naive setup
 * (test/helpers/naive-proxy.ts) where it does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertNothingForwarded, assertRefused } from '../helpers/attack.js';
import { login, register, type Session } from '../helpers/auth-client.js';
import {
  createTestClock,
  uniqueUsername,
  waitForLogEntry,
  type TestClock,
  type TokenResponseBody,
} from '../helpers/contract.js';
import { claimsOf } from '../helpers/forged-tokens.js';
import { startNaiveProxy } from '../helpers/naive-proxy.js';
import {
  assertForwarded,
  assertInvalidToken,
  deleteWith,
  getWith,
  patchJson,
  postJson,
  refreshOk,
} from '../helpers/session-client.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const PASSWORD = 'correct-horse-1';
const NEW_PASSWORD = 'battery-staple-2';

describe('session attacks', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let clock: TestClock;
  let naiveUpstream: TestUpstream;
  let naive: Awaited<ReturnType<typeof startNaiveProxy>>;
  let admin: SeededUser;
  let plainUser: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    clock = createTestClock();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, now: clock.now });
    naiveUpstream = await startUpstream();
    naive = await startNaiveProxy(naiveUpstream.url);
    admin = await seedUser(sidecar, 'session-admin', ['admin']);
    plainUser = await seedUser(sidecar, 'session-plain', ['user']);
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await naive.close();
    await upstream.close();
    await naiveUpstream.close();
  });

  /** The naive side: the token still gets a request through to the upstream. */
  async function assertNaiveForwards(path: string, token: string): Promise<void> {
    await assertForwarded(naive.url, naiveUpstream, path, token);
  }

  /** The sidecar side: a 401 invalid_token on a proxied path, and nothing reaches the upstream. */
  async function assertSidecarRefusesProxied(path: string, token: string): Promise<void> {
    const seen = upstream.requests.length;
    assertInvalidToken(await getWith(sidecar.url, path, token));
    assertNothingForwarded(upstream, seen);
  }

  function assertRefreshRefused(response: request.Response): void {
    assertRefused(response, 401, 'invalid_refresh_token');
  }

  describe('refresh token reuse (RFC 9700 §4.14.2)', () => {
    it('a thief replays a refresh token its holder has already rotated: the replay gets 401, the holder’s newest refresh token then gets 401 too, and the log says auth.refresh.reuse_detected (sidecar side only: the naive setup has no sessions)', async () => {
      const session = await register(sidecar.url, uniqueUsername('reuse'), PASSWORD);
      const seen = upstream.requests.length;
      const holders = await refreshOk(sidecar.url, session.refreshToken);
      const replay = await postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken });
      assertRefreshRefused(replay);
      assertRefreshRefused(
        await postJson(sidecar.url, '/auth/refresh', { refreshToken: holders.refreshToken }),
      );
      const event = await waitForLogEntry(
        sidecar.logs,
        (entry) => entry.event === 'auth.refresh.reuse_detected' && entry.userId === session.user.id,
      );
      assert.equal(typeof event.familyId, 'string');
      assertNothingForwarded(upstream, seen);
    });

    it('a thief who rotates a stolen refresh token first loses the family when its holder presents the same token: both get 401 from then on (sidecar side only)', async () => {
      const session = await register(sidecar.url, uniqueUsername('reuse-first'), PASSWORD);
      const thiefs = await refreshOk(sidecar.url, session.refreshToken);
      assertRefreshRefused(
        await postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken }),
      );
      assertRefreshRefused(
        await postJson(sidecar.url, '/auth/refresh', { refreshToken: thiefs.refreshToken }),
      );
      await waitForLogEntry(
        sidecar.logs,
        (entry) => entry.event === 'auth.refresh.reuse_detected' && entry.userId === session.user.id,
      );
    });

    it('a refresh token of another login of the same user is left alone by the revocation (not an attack)', async () => {
      const username = uniqueUsername('reuse-other');
      const session = await register(sidecar.url, username, PASSWORD);
      const other = await login(sidecar.url, username, PASSWORD);
      await refreshOk(sidecar.url, session.refreshToken);
      assertRefreshRefused(
        await postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken }),
      );
      await refreshOk(sidecar.url, other.refreshToken);
    });

    it('ten concurrent refreshes with one refresh token get exactly one 200; the other nine get 401 (sidecar side only)', async () => {
      const session = await register(sidecar.url, uniqueUsername('race'), PASSWORD);
      const responses = await Promise.all(
        Array.from({ length: 10 }, () =>
          postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      assert.equal(statuses.filter((status) => status === 200).length, 1, `statuses: ${statuses.join(',')}`);
      for (const response of responses.filter((r) => r.status !== 200)) assertRefreshRefused(response);
    });
  });

  describe('a logged-out access token is replayed (POST /auth/logout with Bearer)', () => {
    let logoutUpstream: TestUpstream;
    let logoutSidecar: TestSidecar;
    let logoutClock: TestClock;
    let session: Session;

    before(async () => {
      logoutUpstream = await startUpstream();
      logoutClock = createTestClock();
      logoutSidecar = await startSidecar({ upstreamUrl: logoutUpstream.url, now: logoutClock.now });
      session = await register(logoutSidecar.url, uniqueUsername('logout'), PASSWORD);
      await assertForwarded(logoutSidecar.url, logoutUpstream, '/api/items', session.accessToken);
      const response = await postJson(
        logoutSidecar.url,
        '/auth/logout',
        { refreshToken: session.refreshToken },
        session.accessToken,
      );
      assert.equal(response.status, 204, response.text);
    });

    after(async () => {
      await logoutSidecar.stop({ removeData: true });
      await logoutUpstream.close();
    });

    it('gets through the naive setup: the upstream receives the request', async () => {
      await assertNaiveForwards('/api/items', session.accessToken);
    });

    it('is refused by the sidecar on a protected path with 401 invalid_token and never forwarded', async () => {
      const seen = logoutUpstream.requests.length;
      assertInvalidToken(await getWith(logoutSidecar.url, '/api/items', session.accessToken));
      assertNothingForwarded(logoutUpstream, seen);
    });

    it('is refused by GET /auth/me with 401 invalid_token', async () => {
      assertInvalidToken(await getWith(logoutSidecar.url, '/auth/me', session.accessToken));
    });

    it('the refresh token handed in at logout gets 401 as well', async () => {
      assertRefreshRefused(
        await postJson(logoutSidecar.url, '/auth/refresh', { refreshToken: session.refreshToken }),
      );
    });

    it('is still refused 10 s past its exp, inside the 30 s leeway, after the store has written again', async () => {
      const exp = (claimsOf(session.accessToken).exp as number) * 1000;
      logoutClock.advance(exp + 10_000 - logoutClock.now());
      // Any write will do: the store persists its state, revocations included.
      await register(logoutSidecar.url, uniqueUsername('bystander'), PASSWORD);
      const seen = logoutUpstream.requests.length;
      assertInvalidToken(await getWith(logoutSidecar.url, '/api/items', session.accessToken));
      assertNothingForwarded(logoutUpstream, seen);
      assertInvalidToken(await getWith(logoutSidecar.url, '/auth/me', session.accessToken));
    });

    it('is still refused once the clock passes its exp and the 30 s leeway: revoked until it expires, then expired', async () => {
      const exp = (claimsOf(session.accessToken).exp as number) * 1000;
      logoutClock.advance(exp + 31_000 - logoutClock.now());
      const seen = logoutUpstream.requests.length;
      assertInvalidToken(await getWith(logoutSidecar.url, '/api/items', session.accessToken));
      assertNothingForwarded(logoutUpstream, seen);
    });
  });

  describe('tokens issued before a password change (POST /auth/password)', () => {
    let username: string;
    let registered: Session;
    let loggedIn: Session;

    before(async () => {
      username = uniqueUsername('pwchange');
      registered = await register(sidecar.url, username, PASSWORD);
      loggedIn = await login(sidecar.url, username, PASSWORD);
    });

    it('a wrong currentPassword is refused with a 403 problem (wrong_password)', async () => {
      const response = await postJson(
        sidecar.url,
        '/auth/password',
        { currentPassword: 'not-the-password-9', newPassword: NEW_PASSWORD },
        loggedIn.accessToken,
      );
      assertRefused(response, 403, 'wrong_password');
    });

    for (const [name, newPassword] of [
      ['shorter than passwords.minLength (8)', 'short-1'],
      ['longer than 72 bytes', 'p'.repeat(73)],
    ] as const) {
      it(`a newPassword ${name} is refused with a 400 problem`, async () => {
        const response = await postJson(
          sidecar.url,
          '/auth/password',
          { currentPassword: PASSWORD, newPassword },
          loggedIn.accessToken,
        );
        assertRefused(response, 400, 'invalid_request');
      });
    }

    it('without a bearer token the change is refused with 401', async () => {
      const response = await postJson(sidecar.url, '/auth/password', {
        currentPassword: PASSWORD,
        newPassword: NEW_PASSWORD,
      });
      assertRefused(response, 401, 'unauthenticated');
    });

    describe('after a successful change (204)', () => {
      before(async () => {
        const response = await postJson(
          sidecar.url,
          '/auth/password',
          { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
          loggedIn.accessToken,
        );
        assert.equal(response.status, 204, response.text);
      });

      it('an access token issued before gets through the naive setup: the upstream receives the request', async () => {
        await assertNaiveForwards('/api/items', registered.accessToken);
      });

      it('every access token issued before is refused by the sidecar with 401 and never forwarded', async () => {
        for (const session of [registered, loggedIn]) {
          await assertSidecarRefusesProxied('/api/items', session.accessToken);
          assertInvalidToken(await getWith(sidecar.url, '/auth/me', session.accessToken));
        }
      });

      it('every refresh token issued before gets 401', async () => {
        for (const session of [registered, loggedIn]) {
          assertRefreshRefused(
            await postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken }),
          );
        }
      });

      it('the old password no longer logs in (401); the new one does', async () => {
        assertRefused(
          await postJson(sidecar.url, '/auth/login', { username, password: PASSWORD }),
          401,
          'invalid_credentials',
        );
        const fresh = await login(sidecar.url, username, NEW_PASSWORD);
        await assertForwarded(sidecar.url, upstream, '/api/items', fresh.accessToken);
      });
    });
  });

  describe('user management needs the admin role', () => {
    const endpoints: readonly {
      name: string;
      send: (token?: string) => request.Test;
    }[] = [
      { name: 'GET /auth/users', send: (token) => getWith(sidecar.url, '/auth/users', token) },
      {
        name: 'PATCH /auth/users/:id',
        send: (token) => patchJson(sidecar.url, `/auth/users/${plainUser.id}`, { roles: ['admin'] }, token),
      },
      {
        name: 'DELETE /auth/users/:id',
        send: (token) => deleteWith(sidecar.url, `/auth/users/${plainUser.id}`, token),
      },
    ];
    for (const endpoint of endpoints) {
      it(`${endpoint.name} without a token is refused with 401 and WWW-Authenticate: Bearer (sidecar side only: the naive setup has no user management)`, async () => {
        const response = await endpoint.send();
        assertRefused(response, 401, 'unauthenticated');
        assert.equal(response.headers['www-authenticate'], 'Bearer');
      });
      it(`${endpoint.name} by a signed-in user without the admin role is refused with 403, and changes nothing (sidecar side only)`, async () => {
        assertRefused(await endpoint.send(plainUser.token), 403, 'forbidden');
        const stored = await sidecar.deps.store.users.findById(plainUser.id);
        assert.deepEqual(stored?.roles, ['user']);
        // The user is still there, with the token it had.
        await assertForwarded(sidecar.url, upstream, '/api/items', plainUser.token);
      });
    }

    it('GET /auth/users by an admin lists {id, username, roles, disabled, createdAt} and never a password hash', async () => {
      const username = uniqueUsername('listed');
      await register(sidecar.url, username, PASSWORD);
      const stored = await sidecar.deps.store.users.findByUsername(username);
      assert.ok(stored, 'the registered user is in the store');
      const response = await getWith(sidecar.url, '/auth/users', admin.token);
      assert.equal(response.status, 200, response.text);
      const users = (response.body as { users: Record<string, unknown>[] }).users;
      assert.ok(Array.isArray(users));
      assert.deepEqual(Object.keys(response.body as object), ['users']);
      for (const listed of users) {
        assert.deepEqual(Object.keys(listed).sort(), ['createdAt', 'disabled', 'id', 'roles', 'username']);
      }
      const entry = users.find((listed) => listed.username === username);
      assert.deepEqual(entry, {
        id: stored.id,
        username,
        roles: ['user'],
        disabled: false,
        createdAt: stored.createdAt,
      });
      assert.ok(!response.text.includes('passwordHash'), 'no passwordHash member');
      assert.ok(!response.text.includes(stored.passwordHash), 'the hash itself is not in the body');
    });

    const badPatches: readonly { name: string; body: unknown }[] = [
      { name: 'an unknown key (role instead of roles)', body: { role: ['admin'] } },
      { name: 'a passwordHash, which is no admin change', body: { passwordHash: 'x' } },
      { name: 'an empty body {}', body: {} },
    ];
    for (const { name, body } of badPatches) {
      it(`PATCH /auth/users/:id by an admin with ${name} is refused with 400 and changes nothing`, async () => {
        const target = await seedUser(sidecar, uniqueUsername('patched'), ['user']);
        const response = await patchJson(sidecar.url, `/auth/users/${target.id}`, body, admin.token);
        assertRefused(response, 400, 'invalid_request');
        const stored = await sidecar.deps.store.users.findById(target.id);
        assert.equal(stored?.passwordHash, 'unusable');
        assert.deepEqual(stored?.roles, ['user']);
        await assertForwarded(sidecar.url, upstream, '/api/items', target.token);
      });
    }

    it('PATCH /auth/users/:id by an admin for an unknown id is refused with 404', async () => {
      const response = await patchJson(
        sidecar.url,
        '/auth/users/no-such-user',
        { disabled: true },
        admin.token,
      );
      assertRefused(response, 404, 'not_found');
    });

    it('DELETE /auth/users/:id by an admin for an unknown id is refused with 404', async () => {
      assertRefused(await deleteWith(sidecar.url, '/auth/users/no-such-user', admin.token), 404, 'not_found');
    });
  });

  /** A user with a live session; `end` is what the admin does to it. */
  const endings: readonly {
    name: string;
    end: (userId: string) => Promise<void>;
  }[] = [
    {
      name: 'a user an admin has disabled (PATCH /auth/users/:id {disabled: true})',
      end: async (userId) => {
        const response = await patchJson(
          sidecar.url,
          `/auth/users/${userId}`,
          { disabled: true },
          admin.token,
        );
        assert.equal(response.status, 200, response.text);
        const body = response.body as { user: Record<string, unknown> };
        assert.deepEqual(Object.keys(body), ['user']);
        assert.equal(body.user.id, userId);
        assert.equal(body.user.disabled, true);
        assert.equal(body.user.passwordHash, undefined);
      },
    },
    {
      name: 'a user an admin has deleted (DELETE /auth/users/:id)',
      end: async (userId) => {
        const response = await deleteWith(sidecar.url, `/auth/users/${userId}`, admin.token);
        assert.equal(response.status, 204, response.text);
        assert.equal(await sidecar.deps.store.users.findById(userId), undefined);
      },
    },
  ];
  for (const ending of endings) {
    describe(`${ending.name} keeps using an access token that has not expired`, () => {
      let username: string;
      let session: Session;

      before(async () => {
        username = uniqueUsername('ended');
        session = await register(sidecar.url, username, PASSWORD);
        await assertForwarded(sidecar.url, upstream, '/api/items', session.accessToken);
        await ending.end(session.user.id);
      });

      it('gets through the naive setup: the upstream receives the request', async () => {
        await assertNaiveForwards('/api/items', session.accessToken);
      });

      it('is refused by the sidecar at once on a protected path with 401 invalid_token and never forwarded', async () => {
        await assertSidecarRefusesProxied('/api/items', session.accessToken);
      });

      it('is refused by GET /auth/me with 401 invalid_token', async () => {
        assertInvalidToken(await getWith(sidecar.url, '/auth/me', session.accessToken));
      });

      it('cannot refresh: its refresh token gets 401', async () => {
        assertRefreshRefused(
          await postJson(sidecar.url, '/auth/refresh', { refreshToken: session.refreshToken }),
        );
      });

      it('cannot log in with the right password: 401', async () => {
        assertRefused(
          await postJson(sidecar.url, '/auth/login', { username, password: PASSWORD }),
          401,
          'invalid_credentials',
        );
      });
    });
  }

  describe('a user whose roles an admin changes (PATCH /auth/users/:id {roles})', () => {
    let session: Session;
    let promoted: TokenResponseBody;

    before(async () => {
      session = await register(sidecar.url, uniqueUsername('regranted'), PASSWORD);
      const response = await patchJson(
        sidecar.url,
        `/auth/users/${session.user.id}`,
        { roles: ['user', 'admin'] },
        admin.token,
      );
      assert.equal(response.status, 200, response.text);
      assert.deepEqual((response.body as { user: { roles: string[] } }).user.roles, ['user', 'admin']);
    });

    it('the access token with the old roles is refused with 401 until the user refreshes (sidecar side only: not an attack)', async () => {
      await assertSidecarRefusesProxied('/api/items', session.accessToken);
      assertInvalidToken(await getWith(sidecar.url, '/auth/me', session.accessToken));
    });

    it('a refresh brings a token carrying the new roles, which the sidecar honours (not an attack)', async () => {
      promoted = await refreshOk(sidecar.url, session.refreshToken);
      assert.deepEqual(promoted.user.roles, ['user', 'admin']);
      assert.deepEqual(claimsOf(promoted.accessToken).roles, ['user', 'admin']);
      const recorded = await assertForwarded(sidecar.url, upstream, '/admin/reports', promoted.accessToken);
      assert.equal(recorded.headers['x-user-roles'], 'user,admin');
    });

    describe('then takes the admin role away again, while the user holds a token that says admin', () => {
      before(async () => {
        const response = await patchJson(
          sidecar.url,
          `/auth/users/${session.user.id}`,
          { roles: ['user'] },
          admin.token,
        );
        assert.equal(response.status, 200, response.text);
      });

      it('gets through the naive setup to an admin path: the upstream receives the request', async () => {
        await assertNaiveForwards('/admin/reports', promoted.accessToken);
      });

      it('is refused by the sidecar on the admin path with 401 invalid_token and never forwarded', async () => {
        await assertSidecarRefusesProxied('/admin/reports', promoted.accessToken);
      });

      it('is refused by GET /auth/me and on any protected path with 401', async () => {
        await assertSidecarRefusesProxied('/api/items', promoted.accessToken);
        assertInvalidToken(await getWith(sidecar.url, '/auth/me', promoted.accessToken));
      });

      it('a refresh brings a token with the user role only: 403 on the admin path, 200 on /api', async () => {
        const demoted = await refreshOk(sidecar.url, promoted.refreshToken);
        assert.deepEqual(demoted.user.roles, ['user']);
        assert.deepEqual(claimsOf(demoted.accessToken).roles, ['user']);
        const seen = upstream.requests.length;
        assertRefused(await getWith(sidecar.url, '/admin/reports', demoted.accessToken), 403, 'forbidden');
        assertNothingForwarded(upstream, seen);
        const recorded = await assertForwarded(sidecar.url, upstream, '/api/items', demoted.accessToken);
        assert.equal(recorded.headers['x-user-roles'], 'user');
      });
    });
  });
});
