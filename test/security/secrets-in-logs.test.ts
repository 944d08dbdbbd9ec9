/**
 * Secrets in logs: whoever can read the logs must not find a way in there. Every auth action is an
 * audit event (a pino line with an `event` field) and every denied proxied request an
 * `auth.denied` event with its rule and reason, but no password, access token or refresh token
 * appears anywhere in the captured log text, whether the request succeeded, failed or was denied.
 * The naive setup (test/helpers/naive-proxy.ts) hands a token it should have refused to the
 * backend, Authorization header and all, which is shown first where it does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertNothingForwarded } from '../helpers/attack.js';
import { register, type Session } from '../helpers/auth-client.js';
import {
  assertTokenResponse,
  createTestClock,
  uniqueUsername,
  waitForLogEntry,
  waitForRequestLine,
  type TestClock,
  type TokenResponseBody,
} from '../helpers/contract.js';
import { forgeToken } from '../helpers/forged-tokens.js';
import { startNaiveProxy } from '../helpers/naive-proxy.js';
import { assertForwarded, assertInvalidToken, getWith, postJson } from '../helpers/session-client.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** A value no log line could hold by coincidence. */
function distinctive(prefix: string): string {
  return `${prefix}-${randomBytes(12).toString('hex')}`;
}

function reqIdOf(response: request.Response): string {
  const id = response.headers['x-request-id'];
  assert.equal(typeof id, 'string', 'the response carries X-Request-Id');
  return id as string;
}

/** The rule ids of the test rule table (test/helpers/sidecar.ts TEST_RULES). */
const ADMIN_RULE = 'rules[1]';
const API_RULE = 'rules[3]';

describe('secrets in logs', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let clock: TestClock;
  let naiveUpstream: TestUpstream;
  let naive: Awaited<ReturnType<typeof startNaiveProxy>>;

  before(async () => {
    upstream = await startUpstream();
    clock = createTestClock();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, now: clock.now });
    naiveUpstream = await startUpstream();
    naive = await startNaiveProxy(naiveUpstream.url);
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await naive.close();
    await upstream.close();
    await naiveUpstream.close();
  });

  const eventsNamed = (event: string) => sidecar.logs.entries.filter((entry) => entry.event === event);

  function assertNotLogged(secrets: Readonly<Record<string, string>>): void {
    const text = sidecar.logs.text;
    for (const [name, secret] of Object.entries(secrets)) {
      assert.ok(!text.includes(secret), `${name} is not in the log`);
    }
  }

  /** A token, its signature on its own, and its payload on its own: none may be logged. */
  function tokenParts(name: string, token: string): Record<string, string> {
    const [, payload = '', signature = ''] = token.split('.');
    return { [name]: token, [`${name} (signature)`]: signature, [`${name} (payload)`]: payload };
  }

  describe('a user registers, fails and succeeds to log in, refreshes, replays a refresh token, fails and succeeds to change the password, is denied, logs out, and lets a token expire', () => {
    const username = uniqueUsername('logged');
    const password = distinctive('Pw1');
    const wrongPassword = distinctive('Wrong');
    const wrongCurrentPassword = distinctive('WrongCurrent');
    const newPassword = distinctive('Pw2');
    const unknownRefreshToken = randomBytes(32).toString('base64url');
    const reqIds: string[] = [];
    let userId: string;
    const sessions: Record<string, TokenResponseBody> = {};

    /** Sends, notes the request id, and checks the status. */
    async function step(send: request.Test, status: number): Promise<request.Response> {
      const response = await send;
      assert.equal(response.status, status, response.text);
      reqIds.push(reqIdOf(response));
      return response;
    }

    before(async () => {
      const base = sidecar.url;
      sessions.registered = assertTokenResponse(
        await step(postJson(base, '/auth/register', { username, password }), 201),
        201,
      );
      userId = sessions.registered.user.id;
      await step(postJson(base, '/auth/login', { username, password: wrongPassword }), 401);
      sessions.loggedIn = assertTokenResponse(
        await step(postJson(base, '/auth/login', { username, password }), 200),
        200,
      );
      sessions.refreshed = assertTokenResponse(
        await step(postJson(base, '/auth/refresh', { refreshToken: sessions.loggedIn.refreshToken }), 200),
        200,
      );
      // The rotated token again: reuse detected, the family revoked with every access token of it,
      // so the password change below uses the session of the registration.
      await step(postJson(base, '/auth/refresh', { refreshToken: sessions.loggedIn.refreshToken }), 401);
      await step(postJson(base, '/auth/refresh', { refreshToken: unknownRefreshToken }), 401);
      await step(
        postJson(
          base,
          '/auth/password',
          { currentPassword: wrongCurrentPassword, newPassword },
          sessions.registered.accessToken,
        ),
        403,
      );
      await step(
        postJson(
          base,
          '/auth/password',
          { currentPassword: password, newPassword },
          sessions.registered.accessToken,
        ),
        204,
      );
      sessions.afterChange = assertTokenResponse(
        await step(postJson(base, '/auth/login', { username, password: newPassword }), 200),
        200,
      );
      // Denied: a user token on an admin path, and a token from before the password change.
      await step(getWith(base, '/admin/settings', sessions.afterChange.accessToken), 403);
      await step(getWith(base, '/api/items', sessions.registered.accessToken), 401);
      await step(
        postJson(
          base,
          '/auth/logout',
          { refreshToken: sessions.afterChange.refreshToken },
          sessions.afterChange.accessToken,
        ),
        204,
      );
      // Denied: the logged-out token.
      await step(getWith(base, '/api/items', sessions.afterChange.accessToken), 401);
      sessions.expiring = assertTokenResponse(
        await step(postJson(base, '/auth/login', { username, password: newPassword }), 200),
        200,
      );
      clock.advance(15 * 60_000 + 30_000 + 1_000);
      // Denied: an expired token.
      await step(getWith(base, '/api/items', sessions.expiring.accessToken), 401);
      // Every request has been logged before the assertions read the text.
      for (const reqId of reqIds) await waitForRequestLine(sidecar.logs, reqId);
    });

    const expectedEvents: readonly [string, (entry: Record<string, unknown>) => boolean][] = [
      ['auth.register', (entry) => entry.userId === userId && entry.username === username],
      ['auth.login.failure', (entry) => entry.username === username],
      ['auth.login.success', (entry) => entry.userId === userId],
      ['auth.refresh', (entry) => entry.userId === userId],
      ['auth.refresh.reuse_detected', (entry) => entry.userId === userId],
      ['auth.password.change', (entry) => entry.userId === userId],
      ['auth.logout', (entry) => entry.userId === userId],
    ];
    for (const [event, matches] of expectedEvents) {
      it(`writes an ${event} event for the user`, () => {
        assert.ok(eventsNamed(event).some(matches), `an ${event} line for ${username}`);
      });
    }

    const denials: readonly [string, string, string][] = [
      ['a user token on an admin path', ADMIN_RULE, 'role_missing'],
      ['a token issued before the password change', API_RULE, 'token_superseded'],
      ['the logged-out token', API_RULE, 'token_revoked'],
      ['the expired token', API_RULE, 'token_expired'],
    ];
    for (const [what, rule, reason] of denials) {
      it(`writes an auth.denied event with rule ${rule} and reason ${reason} for ${what}`, () => {
        assert.ok(
          eventsNamed('auth.denied').some((entry) => entry.rule === rule && entry.reason === reason),
          `auth.denied ${rule} ${reason}`,
        );
      });
    }

    it('never writes a password: not the registered one, the wrong one, the wrong current one, nor the new one', () => {
      // The log saw this user's activity, so the absence below means something.
      assert.ok(sidecar.logs.text.includes(userId), 'the log mentions the user id');
      assertNotLogged({ password, wrongPassword, wrongCurrentPassword, newPassword });
    });

    it('never writes an access token, nor its signature or payload on their own', () => {
      for (const [name, session] of Object.entries(sessions)) {
        assertNotLogged(tokenParts(`${name} access token`, session.accessToken));
      }
    });

    it('never writes a refresh token: not one issued, nor the unknown one presented', () => {
      for (const [name, session] of Object.entries(sessions)) {
        assertNotLogged({ [`${name} refresh token`]: session.refreshToken });
      }
      assertNotLogged({ unknownRefreshToken });
    });
  });

  /** A token the naive setup still honours and the sidecar must refuse, with its log line. */
  const replays: readonly {
    name: string;
    /** Makes the token, on a user registered for the case. */
    token: (session: Session) => Promise<string>;
    reason: string;
  }[] = [
    {
      name: 'an access token replayed after its logout',
      token: async (session) => {
        const response = await postJson(sidecar.url, '/auth/logout', {}, session.accessToken);
        assert.equal(response.status, 204, response.text);
        return session.accessToken;
      },
      reason: 'token_revoked',
    },
    {
      name: 'a token signed with the right secret for another audience (aud: billing-service)',
      token: (session) =>
        Promise.resolve(
          forgeToken(session.user, {
            nowSeconds: Math.floor(clock.now() / 1000),
            claims: { aud: 'billing-service' },
          }),
        ),
      reason: 'token_invalid',
    },
  ];
  for (const replay of replays) {
    describe(`${replay.name}, sent to /api/items`, () => {
      let token: string;

      before(async () => {
        const session = await register(sidecar.url, uniqueUsername('replayed'), distinctive('Pw'));
        token = await replay.token(session);
      });

      it('gets through the naive setup: the upstream receives the request and the token itself, for its own logs', async () => {
        const recorded = await assertForwarded(naive.url, naiveUpstream, '/api/items', token);
        assert.equal(recorded.headers.authorization, `Bearer ${token}`);
      });

      it(`is refused by the sidecar with 401 and never forwarded; the log has auth.denied (${API_RULE}, ${replay.reason}) and not the token`, async () => {
        const seen = upstream.requests.length;
        const response = await getWith(sidecar.url, '/api/items', token);
        assertInvalidToken(response);
        assertNothingForwarded(upstream, seen);
        const reqId = reqIdOf(response);
        const denied = await waitForLogEntry(
          sidecar.logs,
          (entry) => entry.event === 'auth.denied' && entry.reqId === reqId,
        );
        assert.equal(denied.rule, API_RULE);
        assert.equal(denied.reason, replay.reason);
        await waitForRequestLine(sidecar.logs, reqId);
        assertNotLogged(tokenParts('the replayed token', token));
      });
    });
  }

  describe('a password typed into the username field of a login', () => {
    const typedPassword = `Pw1!${randomBytes(12).toString('hex')}`;
    let reqId: string;

    before(async () => {
      const response = await postJson(sidecar.url, '/auth/login', {
        username: typedPassword,
        password: distinctive('Other'),
      });
      assert.equal(response.status, 401, response.text);
      reqId = reqIdOf(response);
      await waitForRequestLine(sidecar.logs, reqId);
    });

    it('writes the auth.login.failure event with username null and reason invalid_username, never the field', async () => {
      const failure = await waitForLogEntry(
        sidecar.logs,
        (entry) => entry.event === 'auth.login.failure' && entry.reqId === reqId,
      );
      assert.equal(failure.username, null);
      assert.equal(failure.reason, 'invalid_username');
      assertNotLogged({ typedPassword, 'typedPassword (lower-cased)': typedPassword.toLowerCase() });
    });

    it('counts the attempt under the one key of invalid usernames, not under the field', async () => {
      const { loginPerUsername } = sidecar.deps.limiters;
      assert.equal(await loginPerUsername.used(typedPassword.toLowerCase()), 0);
      assert.ok((await loginPerUsername.used('~invalid')) >= 1);
    });

    it('still logs a valid username that failed, as it is normalized', async () => {
      const username = uniqueUsername('typo');
      const response = await postJson(sidecar.url, '/auth/login', {
        username: username.toUpperCase(),
        password: distinctive('Wrong'),
      });
      assert.equal(response.status, 401, response.text);
      const id = reqIdOf(response);
      const failure = await waitForLogEntry(
        sidecar.logs,
        (entry) => entry.event === 'auth.login.failure' && entry.reqId === id,
      );
      assert.equal(failure.username, username);
      assert.equal(failure.reason, 'invalid_credentials');
    });
  });
});
