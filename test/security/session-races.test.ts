/**
 * A password change (or an admin disabling the user and enabling them again) that lands while a
 * login or a refresh is in flight. A login reads the user, checks the password with bcrypt, then
 * starts a session; a refresh exchanges the token, then issues an access token for the user. An
 * attacker who knows the old password, or holds a stolen refresh token, keeps requests in flight
 * so that one of them straddles the owner's password change. Nothing that straddles it may leave
 * the attacker with a session: the login is refused like a wrong password, and what a refresh
 * hands out is refused by the proxy (the upstream never sees it) and cannot be refreshed again.
 *
 * The worst moment is hit every time with a hook on the sidecar's own store: the owner's real
 * password change (or the admin's two PATCH requests) runs over HTTP right before the session
 * starts, or right after the rotation, then the store call goes on. A last test does it with
 * real concurrent requests and no hook. Each runs on lowdb and on Redis.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertNothingForwarded, assertRefused } from '../helpers/attack.js';
import { login, register, type Session } from '../helpers/auth-client.js';
import { uniqueUsername } from '../helpers/contract.js';
import { redisSkipReason, startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { assertInvalidToken, getWith, patchJson, postJson } from '../helpers/session-client.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const OLD_PASSWORD = 'correct-horse-1';
const NEW_PASSWORD = 'battery-staple-2';

type AsyncMethod = (...args: unknown[]) => Promise<unknown>;

/**
 * The next call of `target[name]` runs `before` first, or `after` once the store has answered;
 * later calls are untouched.
 */
function interceptNext(
  target: object,
  name: string,
  hook: { before?: () => Promise<void>; after?: () => Promise<void> },
): void {
  const methods = target as Record<string, AsyncMethod>;
  const original = methods[name]!;
  methods[name] = async (...args: unknown[]) => {
    methods[name] = original;
    await hook.before?.();
    const result = await original.apply(target, args);
    await hook.after?.();
    return result;
  };
}

for (const driver of ['lowdb', 'redis'] as const) {
  describe(
    `requests in flight across a password change or a disabling (${driver})`,
    {
      skip: driver === 'redis' ? redisSkipReason : undefined,
    },
    () => {
      let redis: TestRedis | undefined;
      let upstream: TestUpstream;
      let sidecar: TestSidecar;
      let admin: SeededUser;

      before(async () => {
        upstream = await startUpstream();
        if (driver === 'redis') redis = await startRedisServer();
        const store = redis ? { driver: 'redis', url: redis.url, keyPrefix: 'races:' } : undefined;
        sidecar = await startSidecar({ upstreamUrl: upstream.url, ...(store ? { config: { store } } : {}) });
        admin = await seedUser(sidecar, uniqueUsername('race-admin'), ['admin']);
      });

      after(async () => {
        await sidecar?.stop({ removeData: true });
        await upstream?.close();
        await redis?.cleanup();
      });

      /** The owner's own password change, over HTTP; it must succeed. */
      async function changePassword(owner: Session): Promise<void> {
        const response = await postJson(
          sidecar.url,
          '/auth/password',
          { currentPassword: OLD_PASSWORD, newPassword: NEW_PASSWORD },
          owner.accessToken,
        );
        assert.equal(response.status, 204, response.text);
      }

      /** The admin disables the user, then enables them again. */
      async function disableAndEnable(userId: string): Promise<void> {
        for (const disabled of [true, false]) {
          const response = await patchJson(sidecar.url, `/auth/users/${userId}`, { disabled }, admin.token);
          assert.equal(response.status, 200, response.text);
        }
      }

      /**
       * Whatever the attacker's request obtained is dead: a refusal, or tokens whose access token
       * the proxy refuses (never forwarded) and whose refresh token gets 401.
       */
      async function assertObtainedNothing(response: request.Response, refusal: string): Promise<void> {
        if (response.status !== 200) {
          assertRefused(response, 401, refusal);
          return;
        }
        const obtained = response.body as Session;
        const seen = upstream.requests.length;
        assertInvalidToken(await getWith(sidecar.url, '/api/items', obtained.accessToken));
        assertNothingForwarded(upstream, seen);
        assertInvalidToken(await getWith(sidecar.url, '/auth/me', obtained.accessToken));
        assertRefused(
          await postJson(sidecar.url, '/auth/refresh', { refreshToken: obtained.refreshToken }),
          401,
          'invalid_refresh_token',
        );
      }

      it('a login with the old password whose check straddles the owner’s password change is refused with 401 invalid_credentials', async () => {
        const username = uniqueUsername('race-login');
        const owner = await register(sidecar.url, username, OLD_PASSWORD);
        interceptNext(sidecar.deps.store.refreshTokens, 'startFamily', {
          before: () => changePassword(owner),
        });
        const attacker = await postJson(sidecar.url, '/auth/login', { username, password: OLD_PASSWORD });
        assertRefused(attacker, 401, 'invalid_credentials');
        assert.equal((attacker.body as { detail?: string }).detail, 'The username or password is wrong.');
        await assertObtainedNothing(attacker, 'invalid_credentials');
        await login(sidecar.url, username, NEW_PASSWORD);
      });

      it('a login whose check straddles the admin disabling and re-enabling the user is refused with 401: nothing is revived', async () => {
        const username = uniqueUsername('race-reenable');
        const victim = await register(sidecar.url, username, OLD_PASSWORD);
        interceptNext(sidecar.deps.store.refreshTokens, 'startFamily', {
          before: () => disableAndEnable(victim.user.id),
        });
        const attacker = await postJson(sidecar.url, '/auth/login', { username, password: OLD_PASSWORD });
        assertRefused(attacker, 401, 'invalid_credentials');
        await assertObtainedNothing(attacker, 'invalid_credentials');
        assertRefused(
          await postJson(sidecar.url, '/auth/refresh', { refreshToken: victim.refreshToken }),
          401,
          'invalid_refresh_token',
        );
      });

      it('a refresh with a stolen token that straddles the owner’s password change obtains an access token the proxy refuses, never forwarded, and a refresh token that gets 401', async () => {
        const username = uniqueUsername('race-refresh');
        const owner = await register(sidecar.url, username, OLD_PASSWORD);
        const stolen = await login(sidecar.url, username, OLD_PASSWORD);
        interceptNext(sidecar.deps.store.refreshTokens, 'rotate', { after: () => changePassword(owner) });
        const attacker = await postJson(sidecar.url, '/auth/refresh', { refreshToken: stolen.refreshToken });
        await assertObtainedNothing(attacker, 'invalid_refresh_token');
      });

      it('a refresh that straddles the admin disabling and re-enabling the user obtains nothing that works', async () => {
        const username = uniqueUsername('race-refresh-reenable');
        const stolen = await register(sidecar.url, username, OLD_PASSWORD);
        interceptNext(sidecar.deps.store.refreshTokens, 'rotate', {
          after: () => disableAndEnable(stolen.user.id),
        });
        const attacker = await postJson(sidecar.url, '/auth/refresh', { refreshToken: stolen.refreshToken });
        await assertObtainedNothing(attacker, 'invalid_refresh_token');
      });

      it('of logins with the old password kept in flight across the owner’s password change (real concurrent requests, no hook), none leaves a working session', async () => {
        const username = uniqueUsername('race-burst');
        const owner = await register(sidecar.url, username, OLD_PASSWORD);
        const attempts: Promise<request.Response>[] = [];
        const change = changePassword(owner);
        let changed = false;
        void change.then(() => (changed = true));
        // A new login every 15 ms until the change has answered (at most 12, well inside the
        // bcrypt queue), so that several straddle it.
        while (!changed && attempts.length < 12) {
          // then() sends it now: a supertest request goes out only once something waits for it.
          attempts.push(
            postJson(sidecar.url, '/auth/login', { username, password: OLD_PASSWORD }).then((r) => r),
          );
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
        await change;
        const responses = await Promise.all(attempts);
        assert.ok(responses.length >= 3, `${responses.length} logins were in flight`);
        for (const response of responses) await assertObtainedNothing(response, 'invalid_credentials');
      });
    },
  );
}
