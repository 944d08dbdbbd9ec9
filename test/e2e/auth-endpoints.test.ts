import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { JSON_HEADERS, login, register } from '../helpers/auth-client.js';
import { assertTokenResponse, createTestClock, uniqueUsername, type TestClock } from '../helpers/contract.js';
import { assertProblem, problemCore } from '../helpers/problem.js';
import { startSidecar, TEST_JWT_SECRET, type TestSidecar } from '../helpers/sidecar.js';
import { mintToken, unsignedToken } from '../helpers/tokens.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const PASSWORD = 'correct-horse-1';
/** A refresh token: the family's secret and the token's own, 256 bits of base64url each. */
const BASE64URL_256_BITS = /^[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/;

describe('auth endpoints', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { tokens: { accessTtl: '15m' } } });
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  const post = (path: string, body: unknown) =>
    request(sidecar.url)
      .post(path)
      .set(JSON_HEADERS)
      .send(body as object);

  describe('POST /auth/register', () => {
    it('creates an account and answers 201 with the user, a token pair, tokenType Bearer and expiresIn', async () => {
      const username = uniqueUsername('reg');
      const response = await post('/auth/register', { username, password: PASSWORD });
      const body = assertTokenResponse(response, 201);
      assert.equal(body.user.username, username);
      assert.deepEqual(body.user.roles, ['user']);
    });

    it('reports expiresIn as the configured access token lifetime in seconds (15m is 900)', async () => {
      const response = await post('/auth/register', { username: uniqueUsername('ttl'), password: PASSWORD });
      assert.equal(assertTokenResponse(response, 201).expiresIn, 900);
    });

    it('issues an HS256 access token with sub, username, roles, iss, aud, iat, exp and jti', async () => {
      const username = uniqueUsername('jwt');
      const body = assertTokenResponse(await post('/auth/register', { username, password: PASSWORD }), 201);
      const decoded = jwt.decode(body.accessToken, { complete: true });
      assert.ok(decoded && typeof decoded.payload === 'object', 'the access token is a JWT');
      assert.equal(decoded.header.alg, 'HS256');
      const claims = decoded.payload;
      assert.equal(claims.sub, body.user.id);
      assert.equal(claims.username, username);
      assert.deepEqual(claims.roles, ['user']);
      assert.equal(claims.iss, 'auth-sidecar');
      assert.equal(claims.aud, 'upstream');
      assert.equal(typeof claims.iat, 'number');
      assert.equal(typeof claims.exp, 'number');
      assert.equal((claims.exp as number) - (claims.iat as number), body.expiresIn);
      assert.equal(typeof claims.jti, 'string');
      assert.notEqual(claims.jti, '');
      // Signed with the configured secret, not merely shaped like a JWT.
      assert.doesNotThrow(() =>
        jwt.verify(body.accessToken, TEST_JWT_SECRET, {
          algorithms: ['HS256'],
          issuer: 'auth-sidecar',
          audience: 'upstream',
        }),
      );
    });

    it('issues an opaque refresh token of at least 256 bits of base64url, different for every session', async () => {
      const username = uniqueUsername('opaque');
      const first = assertTokenResponse(await post('/auth/register', { username, password: PASSWORD }), 201);
      const second = await login(sidecar.url, username, PASSWORD);
      for (const token of [first.refreshToken, second.refreshToken]) {
        assert.match(token, BASE64URL_256_BITS);
        assert.equal(jwt.decode(token), null, 'the refresh token is not a JWT');
      }
      assert.notEqual(first.refreshToken, second.refreshToken);
      assert.notEqual(first.accessToken, second.accessToken);
    });

    it('accepts an optional email address', async () => {
      const response = await post('/auth/register', {
        username: uniqueUsername('mail'),
        password: PASSWORD,
        email: 'someone@example.com',
      });
      assertTokenResponse(response, 201);
    });

    it('refuses an email that is not an email address with 400', async () => {
      const response = await post('/auth/register', {
        username: uniqueUsername('badmail'),
        password: PASSWORD,
        email: 'not-an-email',
      });
      assertProblem(response, 400);
    });

    it('refuses a username that is taken with 409', async () => {
      const username = uniqueUsername('taken');
      await register(sidecar.url, username);
      assertProblem(await post('/auth/register', { username, password: 'another-password-2' }), 409);
    });

    it('treats Alice and alice as one account: the name is stored lower-cased and the second is refused', async () => {
      const lower = uniqueUsername('alice');
      const mixed = lower.replace('alice', 'Alice');
      const first = assertTokenResponse(
        await post('/auth/register', { username: mixed, password: PASSWORD }),
        201,
      );
      assert.equal(first.user.username, lower);
      assertProblem(await post('/auth/register', { username: lower, password: PASSWORD }), 409);
    });

    it('treats a full-width username as its NFKC form (Ｂｏｂ is bob)', async () => {
      const suffix = uniqueUsername('');
      const fullWidth = `\uFF22\uFF4F\uFF42${suffix}`; // "Ｂｏｂ" + suffix
      const first = assertTokenResponse(
        await post('/auth/register', { username: fullWidth, password: PASSWORD }),
        201,
      );
      assert.equal(first.user.username, `bob${suffix}`);
      assertProblem(await post('/auth/register', { username: `bob${suffix}`, password: PASSWORD }), 409);
    });

    it('accepts usernames of exactly 3 and exactly 64 characters made of letters, digits, ".", "_" and "-"', async () => {
      const long = `a.b_c-9${uniqueUsername('x')}`.padEnd(64, '0');
      assert.equal(long.length, 64);
      for (const username of ['a_z', long]) {
        const response = await post('/auth/register', { username, password: PASSWORD });
        assert.equal(assertTokenResponse(response, 201).user.username, username);
      }
    });

    const badUsernames: [string, unknown][] = [
      ['a username of 2 characters', 'ab'],
      ['a username of 65 characters', 'a'.repeat(65)],
      ['an empty username', ''],
      ['a username with a space', 'has space'],
      ['a username with a slash', 'bad/name'],
      ['a username with @', 'user@example'],
      ['a username with a non-ASCII letter', 'émile'],
      ['a username that is not a string', 12345],
    ];
    for (const [name, username] of badUsernames) {
      it(`refuses ${name} with 400`, async () => {
        assertProblem(await post('/auth/register', { username, password: PASSWORD }), 400);
      });
    }

    it('refuses a registration without a username or without a password with 400', async () => {
      assertProblem(await post('/auth/register', { password: PASSWORD }), 400);
      assertProblem(await post('/auth/register', { username: uniqueUsername('nopw') }), 400);
    });

    it('refuses a password one character shorter than passwords.minLength (8) with 400', async () => {
      assertProblem(
        await post('/auth/register', { username: uniqueUsername('pw7'), password: 'seven77' }),
        400,
      );
    });

    it('accepts a password of exactly passwords.minLength (8) characters', async () => {
      const response = await post('/auth/register', {
        username: uniqueUsername('pw8'),
        password: 'eight888',
      });
      assertTokenResponse(response, 201);
    });

    it('counts password length in characters, so 4 emoji (8 UTF-16 units) are too short', async () => {
      const password = '\u{1F600}'.repeat(4);
      assert.equal(password.length, 8);
      assertProblem(await post('/auth/register', { username: uniqueUsername('emoji'), password }), 400);
    });

    it('accepts a password of exactly 72 bytes', async () => {
      const ascii = await post('/auth/register', {
        username: uniqueUsername('pw72'),
        password: 'p'.repeat(72),
      });
      assertTokenResponse(ascii, 201);
      const multiByte = await post('/auth/register', {
        username: uniqueUsername('pw72u'),
        password: 'é'.repeat(36),
      });
      assertTokenResponse(multiByte, 201);
    });

    it('refuses a password of more than 72 bytes with 400, counting bytes and not characters', async () => {
      assertProblem(
        await post('/auth/register', { username: uniqueUsername('pw73'), password: 'p'.repeat(73) }),
        400,
      );
      // 37 characters, but 74 bytes in UTF-8.
      const password = 'é'.repeat(37);
      assert.equal(Buffer.byteLength(password), 74);
      assertProblem(await post('/auth/register', { username: uniqueUsername('pw74u'), password }), 400);
    });
  });

  describe('registration settings', () => {
    let closed: TestSidecar;
    let custom: TestSidecar;

    before(async () => {
      closed = await startSidecar({ config: { registration: { enabled: false } } });
      custom = await startSidecar({ config: { registration: { defaultRoles: ['reader', 'beta'] } } });
    });

    after(async () => {
      await closed.stop({ removeData: true });
      await custom.stop({ removeData: true });
    });

    it('refuses registration with 403 when registration is disabled, and creates no account', async () => {
      const username = uniqueUsername('closed');
      const response = await request(closed.url)
        .post('/auth/register')
        .set(JSON_HEADERS)
        .send({ username, password: PASSWORD });
      assertProblem(response, 403);
      const loginAttempt = await request(closed.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username, password: PASSWORD });
      assertProblem(loginAttempt, 401);
    });

    it('gives newly registered users registration.defaultRoles, in the response, the token and /auth/me', async () => {
      const session = await register(custom.url, uniqueUsername('roles'));
      assert.deepEqual(session.user.roles, ['reader', 'beta']);
      assert.deepEqual((jwt.decode(session.accessToken) as jwt.JwtPayload).roles, ['reader', 'beta']);
      const me = await request(custom.url)
        .get('/auth/me')
        .set('Authorization', `Bearer ${session.accessToken}`);
      assert.equal(me.status, 200);
      assert.deepEqual((me.body as { roles: string[] }).roles, ['reader', 'beta']);
    });
  });

  describe('POST /auth/login', () => {
    let username: string;
    let registered: TestSidecarSession;

    before(async () => {
      username = uniqueUsername('login');
      registered = await register(sidecar.url, username, PASSWORD);
    });

    it('answers 200 with the same token shape as registration, for the same user', async () => {
      const body = assertTokenResponse(await post('/auth/login', { username, password: PASSWORD }), 200);
      assert.deepEqual(body.user, registered.user);
      assert.equal(body.expiresIn, 900);
      assert.match(body.refreshToken, BASE64URL_256_BITS);
      assert.equal((jwt.decode(body.accessToken) as jwt.JwtPayload).sub, registered.user.id);
    });

    it('accepts the username in any letter case (ALICE logs in as alice)', async () => {
      const body = assertTokenResponse(
        await post('/auth/login', { username: username.toUpperCase(), password: PASSWORD }),
        200,
      );
      assert.equal(body.user.id, registered.user.id);
    });

    it('answers 401 with the same problem whether the user is unknown or the password is wrong', async () => {
      const wrongPassword = assertProblem(
        await post('/auth/login', { username, password: 'wrong-password-9' }),
        401,
      );
      const unknownUser = assertProblem(
        await post('/auth/login', { username: uniqueUsername('nobody'), password: PASSWORD }),
        401,
      );
      assert.deepEqual(problemCore(unknownUser), problemCore(wrongPassword));
    });

    it('answers 401 for the right password followed by more bytes past the 72nd', async () => {
      const name = uniqueUsername('long');
      const password = 'q'.repeat(72);
      await register(sidecar.url, name, password);
      assertProblem(await post('/auth/login', { username: name, password: `${password}x` }), 401);
    });
  });

  describe('POST /auth/refresh', () => {
    it('exchanges a refresh token for a new pair with Cache-Control no-store', async () => {
      const session = await register(sidecar.url, uniqueUsername('refresh'));
      const body = assertTokenResponse(
        await post('/auth/refresh', { refreshToken: session.refreshToken }),
        200,
      );
      assert.deepEqual(body.user, session.user);
      assert.match(body.refreshToken, BASE64URL_256_BITS);
      assert.notEqual(body.refreshToken, session.refreshToken);
      assert.notEqual(body.accessToken, session.accessToken);
      assert.equal(body.expiresIn, 900);
      const me = await request(sidecar.url)
        .get('/auth/me')
        .set('Authorization', `Bearer ${body.accessToken}`);
      assert.equal(me.status, 200);
    });

    it('refuses the refresh token that was just used with 401', async () => {
      const session = await register(sidecar.url, uniqueUsername('used'));
      const rotated = assertTokenResponse(
        await post('/auth/refresh', { refreshToken: session.refreshToken }),
        200,
      );
      // The new token works ...
      assertTokenResponse(await post('/auth/refresh', { refreshToken: rotated.refreshToken }), 200);
      // ... the one just exchanged does not.
      assertProblem(await post('/auth/refresh', { refreshToken: session.refreshToken }), 401);
    });

    it('refuses an unknown refresh token with 401', async () => {
      const made = 'A'.repeat(43);
      assertProblem(await post('/auth/refresh', { refreshToken: made }), 401);
    });

    it('revokes the whole family when an already-rotated token is presented again', async () => {
      const session = await register(sidecar.url, uniqueUsername('family'));
      const second = assertTokenResponse(
        await post('/auth/refresh', { refreshToken: session.refreshToken }),
        200,
      );
      const third = assertTokenResponse(
        await post('/auth/refresh', { refreshToken: second.refreshToken }),
        200,
      );
      // Replaying the first (already rotated) token is refused ...
      assertProblem(await post('/auth/refresh', { refreshToken: session.refreshToken }), 401);
      // ... and the newest token of that family no longer works either.
      assertProblem(await post('/auth/refresh', { refreshToken: third.refreshToken }), 401);
    });

    it('leaves other families of the same user alone when one family is revoked for reuse', async () => {
      const username = uniqueUsername('families');
      const first = await register(sidecar.url, username);
      const other = await login(sidecar.url, username);
      assertTokenResponse(await post('/auth/refresh', { refreshToken: first.refreshToken }), 200);
      assertProblem(await post('/auth/refresh', { refreshToken: first.refreshToken }), 401);
      assertTokenResponse(await post('/auth/refresh', { refreshToken: other.refreshToken }), 200);
    });

    describe('expiry (tokens.refreshTtl of 1h on an injected clock)', () => {
      let clock: TestClock;
      let timed: TestSidecar;

      before(async () => {
        clock = createTestClock();
        timed = await startSidecar({
          now: clock.now,
          config: { tokens: { accessTtl: '10m', refreshTtl: '1h' } },
        });
      });

      after(async () => {
        await timed.stop({ removeData: true });
      });

      const refresh = (refreshToken: string) =>
        request(timed.url).post('/auth/refresh').set(JSON_HEADERS).send({ refreshToken });

      it('reports expiresIn from tokens.accessTtl (10m is 600)', async () => {
        const response = await request(timed.url)
          .post('/auth/register')
          .set(JSON_HEADERS)
          .send({ username: uniqueUsername('ttl10'), password: PASSWORD });
        const body = assertTokenResponse(response, 201);
        assert.equal(body.expiresIn, 600);
        const claims = jwt.decode(body.accessToken) as jwt.JwtPayload;
        assert.equal((claims.exp as number) - (claims.iat as number), 600);
      });

      it('still accepts a refresh token just before its lifetime ends', async () => {
        const session = await register(timed.url, uniqueUsername('fresh'));
        clock.advance(60 * 60 * 1000 - 1000);
        assertTokenResponse(await refresh(session.refreshToken), 200);
      });

      it('refuses a refresh token once its lifetime has passed with 401', async () => {
        const username = uniqueUsername('expired');
        await register(timed.url, username);
        const session = await login(timed.url, username);
        clock.advance(60 * 60 * 1000 + 1000);
        assertProblem(await refresh(session.refreshToken), 401);
      });

      it('gives a rotated refresh token a full new lifetime from the moment of rotation', async () => {
        const session = await register(timed.url, uniqueUsername('rolling'));
        clock.advance(50 * 60 * 1000);
        const next = assertTokenResponse(await refresh(session.refreshToken), 200);
        clock.advance(50 * 60 * 1000);
        assertTokenResponse(await refresh(next.refreshToken), 200);
      });
    });
  });

  describe('POST /auth/logout', () => {
    const logout = (accessToken: string | undefined, body?: object) => {
      const call = request(sidecar.url).post('/auth/logout');
      if (accessToken !== undefined) call.set('Authorization', `Bearer ${accessToken}`);
      return body === undefined ? call : call.set(JSON_HEADERS).send(body);
    };

    it('answers 204 and the refresh token given stops working', async () => {
      const session = await register(sidecar.url, uniqueUsername('logout'));
      const response = await logout(session.accessToken, { refreshToken: session.refreshToken });
      assert.equal(response.status, 204, response.text);
      assert.equal(response.text, '');
      assertProblem(await post('/auth/refresh', { refreshToken: session.refreshToken }), 401);
    });

    it('answers 204 to a logout whose JSON body has no refreshToken', async () => {
      const session = await register(sidecar.url, uniqueUsername('empty-logout'));
      const response = await logout(session.accessToken, {});
      assert.equal(response.status, 204, response.text);
    });

    it('answers 204 to a logout with an empty body (Content-Length: 0, no Content-Type, as fetch sends it)', async () => {
      const session = await register(sidecar.url, uniqueUsername('nobody-logout'));
      const response = await request(sidecar.url)
        .post('/auth/logout')
        .set('Authorization', `Bearer ${session.accessToken}`)
        .set('Content-Length', '0');
      assert.equal(response.status, 204, response.text);
    });

    it('answers 401 with WWW-Authenticate Bearer when there is no bearer token, and revokes nothing', async () => {
      const session = await register(sidecar.url, uniqueUsername('anon-logout'));
      const response = await logout(undefined, { refreshToken: session.refreshToken });
      assertProblem(response, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assertTokenResponse(await post('/auth/refresh', { refreshToken: session.refreshToken }), 200);
    });

    it('answers 401 when the bearer token is not valid, and revokes nothing', async () => {
      const session = await register(sidecar.url, uniqueUsername('bad-logout'));
      const forged = mintToken({
        sub: session.user.id,
        username: session.user.username,
        secret: 'x'.repeat(48),
      });
      const response = await logout(forged, { refreshToken: session.refreshToken });
      assertProblem(response, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assertTokenResponse(await post('/auth/refresh', { refreshToken: session.refreshToken }), 200);
    });

    it("leaves a refresh token that is not the caller's alone: it still refreshes", async () => {
      const caller = await register(sidecar.url, uniqueUsername('caller'));
      const victim = await register(sidecar.url, uniqueUsername('victim'));
      const response = await logout(caller.accessToken, { refreshToken: victim.refreshToken });
      assert.equal(response.status, 204, response.text);
      assertTokenResponse(await post('/auth/refresh', { refreshToken: victim.refreshToken }), 200);
    });
  });

  describe('GET /auth/me', () => {
    let session: TestSidecarSession;

    before(async () => {
      session = await register(sidecar.url, uniqueUsername('me'));
    });

    it('answers 200 with exactly {id, username, roles} of the bearer', async () => {
      const response = await request(sidecar.url)
        .get('/auth/me')
        .set('Authorization', `Bearer ${session.accessToken}`);
      assert.equal(response.status, 200, response.text);
      assert.match(String(response.headers['content-type']), /^application\/json\b/);
      assert.deepEqual(response.body, {
        id: session.user.id,
        username: session.user.username,
        roles: ['user'],
      });
    });

    it('answers 401 with WWW-Authenticate exactly "Bearer" when no token is sent', async () => {
      const response = await request(sidecar.url).get('/auth/me');
      assertProblem(response, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer');
    });

    const badTokens: [string, () => string][] = [
      ['a token that is not a JWT', () => 'not-a-jwt'],
      [
        'a token signed with another secret',
        () => mintToken({ sub: session.user.id, secret: 'y'.repeat(48) }),
      ],
      ['an expired token', () => mintToken({ sub: session.user.id, expiresIn: -3600 })],
      ['an unsigned (alg none) token', () => unsignedToken({ sub: session.user.id })],
      ['a token from another issuer', () => mintToken({ sub: session.user.id, iss: 'someone-else' })],
      ['a token for another audience', () => mintToken({ sub: session.user.id, aud: 'elsewhere' })],
      [
        'a HS512 token signed with the right secret',
        () => mintToken({ sub: session.user.id, algorithm: 'HS512' }),
      ],
      ['a valid token whose user does not exist', () => mintToken({ sub: 'no-such-user-id' })],
      ['an access token with its signature changed', () => `${session.accessToken.slice(0, -4)}AAAA`],
    ];
    for (const [name, token] of badTokens) {
      it(`answers 401 with WWW-Authenticate Bearer error="invalid_token" for ${name}`, async () => {
        const response = await request(sidecar.url).get('/auth/me').set('Authorization', `Bearer ${token()}`);
        assertProblem(response, 401);
        assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_token"');
      });
    }
  });

  describe('request bodies', () => {
    it('refuses a body that is not JSON with a 415 problem', async () => {
      for (const path of ['/auth/register', '/auth/login', '/auth/refresh']) {
        const response = await request(sidecar.url)
          .post(path)
          .set('Content-Type', 'text/plain')
          .send('username=alice&password=secret');
        assertProblem(response, 415);
      }
      const form = await request(sidecar.url)
        .post('/auth/login')
        .type('form')
        .send({ username: 'alice', password: PASSWORD });
      assertProblem(form, 415);
    });

    it('refuses malformed JSON with a 400 problem', async () => {
      for (const path of ['/auth/register', '/auth/login', '/auth/refresh']) {
        const response = await request(sidecar.url)
          .post(path)
          .set(JSON_HEADERS)
          .send('{"username": "alice",');
        assertProblem(response, 400);
      }
    });

    it('refuses a body over 16 KB with a 413 problem', async () => {
      const body = JSON.stringify({ username: 'alice', password: 'p'.repeat(17 * 1024) });
      for (const path of ['/auth/register', '/auth/login', '/auth/refresh']) {
        const response = await request(sidecar.url).post(path).set(JSON_HEADERS).send(body);
        assertProblem(response, 413);
      }
    });

    it('reads a body just under 16 KB rather than refusing it as too large', async () => {
      const body = JSON.stringify({ refreshToken: 'r'.repeat(16 * 1024 - 100) });
      assert.ok(Buffer.byteLength(body) < 16 * 1024);
      const response = await request(sidecar.url).post('/auth/refresh').set(JSON_HEADERS).send(body);
      assert.notEqual(response.status, 413, response.text);
      assertProblem(response, 400);
    });
  });

  describe('routing', () => {
    const unknown: [string, string][] = [
      ['GET', '/auth/unknown'],
      ['POST', '/auth/unknown'],
      ['GET', '/auth'],
      ['GET', '/auth/'],
      ['POST', '/auth/login/extra'],
      ['GET', '/auth/me/'],
      ['DELETE', '/auth/nope/1'],
    ];
    for (const [method, path] of unknown) {
      it(`answers ${method} ${path} with a 404 problem and never forwards it to the upstream`, async () => {
        const call = request(sidecar.url)[method.toLowerCase() as 'get' | 'post' | 'delete'](path);
        const response = method === 'POST' ? await call.set(JSON_HEADERS).send({}) : await call;
        assertProblem(response, 404);
        assert.deepEqual(upstream.requests, []);
      });
    }

    it('answers an unknown /auth path carrying a valid token with 404 and does not forward it', async () => {
      const session = await register(sidecar.url, uniqueUsername('route'));
      const response = await request(sidecar.url)
        .get('/auth/admin')
        .set('Authorization', `Bearer ${session.accessToken}`);
      assertProblem(response, 404);
      assert.deepEqual(upstream.requests, []);
    });

    const wrongMethods: [string, string, string][] = [
      ['GET', '/auth/login', 'POST'],
      ['GET', '/auth/register', 'POST'],
      ['GET', '/auth/refresh', 'POST'],
      ['GET', '/auth/logout', 'POST'],
      ['DELETE', '/auth/me', 'GET'],
    ];
    for (const [method, path, allowed] of wrongMethods) {
      it(`answers ${method} ${path} with a 405 problem whose Allow lists ${allowed}`, async () => {
        const response = await request(sidecar.url)[method.toLowerCase() as 'get' | 'delete'](path);
        assertMethodNotAllowed(response, method, allowed);
      });
    }

    // Wrong methods that usually carry a body: once with a JSON body, once with an empty one.
    const wrongBodyMethods: [string, string, string][] = [
      ['PUT', '/auth/login', 'POST'],
      ['PATCH', '/auth/register', 'POST'],
      ['POST', '/auth/me', 'GET'],
    ];
    for (const [method, path, allowed] of wrongBodyMethods) {
      const send = (body?: object) => {
        const call = request(sidecar.url)[method.toLowerCase() as 'put' | 'patch' | 'post'](path);
        return body === undefined ? call.set('Content-Length', '0') : call.set(JSON_HEADERS).send(body);
      };
      it(`answers ${method} ${path} with a JSON body with a 405 problem whose Allow lists ${allowed}`, async () => {
        assertMethodNotAllowed(await send({}), method, allowed);
      });
      it(`answers ${method} ${path} with an empty body (Content-Length: 0) with a 405 problem whose Allow lists ${allowed}`, async () => {
        assertMethodNotAllowed(await send(), method, allowed);
      });
    }
  });

  describe('health', () => {
    it('answers GET /healthz with 200 while serving', async () => {
      const response = await request(sidecar.url).get('/healthz');
      assert.equal(response.status, 200, response.text);
    });

    it('answers GET /readyz with 200 when the store is open', async () => {
      const response = await request(sidecar.url).get('/readyz');
      assert.equal(response.status, 200, response.text);
    });
  });
});

type TestSidecarSession = Awaited<ReturnType<typeof register>>;

function assertMethodNotAllowed(response: request.Response, method: string, allowed: string): void {
  assertProblem(response, 405);
  const allow = String(response.headers.allow ?? '')
    .split(',')
    .map((part) => part.trim());
  assert.ok(allow.includes(allowed), `Allow: ${String(response.headers.allow)}`);
  assert.ok(!allow.includes(method), `Allow must not list ${method}: ${String(response.headers.allow)}`);
}
