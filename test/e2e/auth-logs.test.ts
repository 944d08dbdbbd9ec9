import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { JSON_HEADERS } from '../helpers/auth-client.js';
import {
  assertTokenResponse,
  uniqueUsername,
  waitForRequestLine,
  type TokenResponseBody,
} from '../helpers/contract.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** The request id the sidecar gave a response. */
function reqIdOf(response: request.Response): string {
  const id = response.headers['x-request-id'];
  assert.equal(typeof id, 'string', 'the response carries X-Request-Id');
  return id as string;
}

describe('auth logs', () => {
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

  const requestLinesOf = (reqId: string) =>
    sidecar.logs.entries.filter((entry) => entry.msg === 'request' && entry.reqId === reqId);

  describe('request lines', () => {
    const cases: [string, (base: string) => request.Test, string, number][] = [
      ['a health check', (base) => request(base).get('/healthz'), '/healthz', 200],
      ['an unknown auth path', (base) => request(base).get('/auth/nowhere'), '/auth/nowhere', 404],
      ['a wrong method', (base) => request(base).get('/auth/login'), '/auth/login', 405],
      [
        'a failed login',
        (base) =>
          request(base)
            .post('/auth/login')
            .set(JSON_HEADERS)
            .send({ username: uniqueUsername('ghost'), password: 'whatever-123' }),
        '/auth/login',
        401,
      ],
      ['a proxied public request', (base) => request(base).get('/public/page?x=1'), '/public/page', 200],
      ['a denied proxied request', (base) => request(base).get('/api/private'), '/api/private', 401],
    ];
    for (const [name, send, path, status] of cases) {
      it(`writes exactly one "request" line for ${name}, with reqId, method, path, status and durationMs`, async () => {
        const response = await send(sidecar.url);
        assert.equal(response.status, status, response.text);
        const reqId = reqIdOf(response);
        const line = await waitForRequestLine(sidecar.logs, reqId);
        assert.equal(line.method, (response as unknown as { req: { method: string } }).req.method);
        assert.equal(line.path, path);
        assert.equal(line.status, status);
        assert.equal(typeof line.durationMs, 'number');
        assert.ok((line.durationMs as number) >= 0);
        assert.equal(requestLinesOf(reqId).length, 1, 'one request line, not more');
      });
    }

    it('leaves userId out of the request line of an anonymous request', async () => {
      const response = await request(sidecar.url).get('/healthz');
      const line = await waitForRequestLine(sidecar.logs, reqIdOf(response));
      assert.equal(line.userId, undefined);
    });
  });

  describe('after a register, a failed and a successful login, a refresh, a proxied request and a logout', () => {
    const username = uniqueUsername('audited');
    // Distinctive values, so that finding one in the log cannot be a coincidence.
    const password = `Pw-${randomBytes(12).toString('hex')}`;
    const wrongPassword = `Wrong-${randomBytes(12).toString('hex')}`;
    const reqIds: Record<string, string> = {};
    let registered: TokenResponseBody;
    let loggedIn: TokenResponseBody;
    let refreshed: TokenResponseBody;

    before(async () => {
      const base = sidecar.url;
      const registerResponse = await request(base)
        .post('/auth/register')
        .set(JSON_HEADERS)
        .send({ username, password });
      registered = assertTokenResponse(registerResponse, 201);
      reqIds.register = reqIdOf(registerResponse);

      const failed = await request(base)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username, password: wrongPassword });
      assert.equal(failed.status, 401, failed.text);
      reqIds.loginFailure = reqIdOf(failed);

      const loginResponse = await request(base)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username, password });
      loggedIn = assertTokenResponse(loginResponse, 200);
      reqIds.login = reqIdOf(loginResponse);

      const refreshResponse = await request(base)
        .post('/auth/refresh')
        .set(JSON_HEADERS)
        .send({ refreshToken: loggedIn.refreshToken });
      refreshed = assertTokenResponse(refreshResponse, 200);
      reqIds.refresh = reqIdOf(refreshResponse);

      const me = await request(base).get('/auth/me').set('Authorization', `Bearer ${refreshed.accessToken}`);
      assert.equal(me.status, 200, me.text);
      reqIds.me = reqIdOf(me);

      const proxied = await request(base)
        .get('/api/orders?limit=5')
        .set('Authorization', `Bearer ${refreshed.accessToken}`);
      assert.equal(proxied.status, 200, proxied.text);
      assert.equal(upstream.requests.at(-1)?.url, '/api/orders?limit=5');
      reqIds.proxied = reqIdOf(proxied);

      const logout = await request(base)
        .post('/auth/logout')
        .set('Authorization', `Bearer ${refreshed.accessToken}`)
        .set(JSON_HEADERS)
        .send({ refreshToken: refreshed.refreshToken });
      assert.equal(logout.status, 204, logout.text);
      reqIds.logout = reqIdOf(logout);

      // Every request has been logged before the assertions look at the text.
      for (const reqId of Object.values(reqIds)) await waitForRequestLine(sidecar.logs, reqId);
    });

    const eventsNamed = (event: string) => sidecar.logs.entries.filter((entry) => entry.event === event);

    it('writes one auth.register event for the new user', () => {
      const events = eventsNamed('auth.register').filter((entry) => entry.userId === registered.user.id);
      assert.equal(events.length, 1);
    });

    it('writes one auth.login.failure event for the failed login', () => {
      const events = eventsNamed('auth.login.failure').filter((entry) => entry.username === username);
      assert.equal(events.length, 1);
    });

    it('writes one auth.login.success event for the successful login', () => {
      const events = eventsNamed('auth.login.success').filter((entry) => entry.userId === registered.user.id);
      assert.equal(events.length, 1);
    });

    it('writes one auth.refresh event for the refresh', () => {
      const events = eventsNamed('auth.refresh').filter((entry) => entry.userId === registered.user.id);
      assert.equal(events.length, 1);
    });

    it('writes one auth.logout event for the logout', () => {
      const events = eventsNamed('auth.logout').filter((entry) => entry.userId === registered.user.id);
      assert.equal(events.length, 1);
    });

    it('writes exactly one request line for each of those requests', () => {
      for (const [step, reqId] of Object.entries(reqIds)) {
        assert.equal(requestLinesOf(reqId).length, 1, `${step}: one request line`);
      }
    });

    it('puts the userId in the request lines of /auth/me, the proxied request and the logout', () => {
      for (const step of ['me', 'proxied', 'logout']) {
        const [line] = requestLinesOf(reqIds[step] as string);
        assert.equal(line?.userId, registered.user.id, `${step}: userId`);
      }
    });

    it('puts the userId in the request lines of the register, the successful login and the refresh, once the user is known', () => {
      for (const step of ['register', 'login', 'refresh']) {
        const [line] = requestLinesOf(reqIds[step] as string);
        assert.equal(line?.userId, registered.user.id, `${step}: userId`);
      }
    });

    it('never writes the password or the wrong password to the log', () => {
      const text = sidecar.logs.text;
      // The capture did see this user's activity, so the absence below means something.
      assert.ok(text.includes(registered.user.id), 'the log mentions the user id');
      assert.ok(!text.includes(password), 'the password is not in the log');
      assert.ok(!text.includes(wrongPassword), 'the wrong password is not in the log');
    });

    it('never writes an access token, or its signature, to the log', () => {
      const text = sidecar.logs.text;
      for (const [name, session] of Object.entries({ registered, loggedIn, refreshed })) {
        assert.ok(!text.includes(session.accessToken), `${name}: the access token is not in the log`);
        const signature = session.accessToken.split('.')[2] as string;
        assert.ok(!text.includes(signature), `${name}: the access token signature is not in the log`);
      }
    });

    it('never writes a refresh token to the log', () => {
      const text = sidecar.logs.text;
      for (const [name, session] of Object.entries({ registered, loggedIn, refreshed })) {
        assert.ok(!text.includes(session.refreshToken), `${name}: the refresh token is not in the log`);
      }
    });
  });
});
