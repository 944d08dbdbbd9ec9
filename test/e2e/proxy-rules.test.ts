import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertProblem, assertProblemHeaders } from '../helpers/problem.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { mintToken, unsignedToken, type MintOptions } from '../helpers/tokens.js';
import { startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';

type Caller = 'anonymous' | 'user' | 'analyst' | 'admin' | 'editor';
type KnownCaller = Exclude<Caller, 'anonymous'>;

/** The callers with a valid identity; each sidecar gets them as real users of its store. */
const IDENTITIES: Record<KnownCaller, { username: string; roles: string[] }> = {
  user: { username: 'alice', roles: ['user'] },
  analyst: { username: 'bob', roles: ['user', 'analyst'] },
  admin: { username: 'root', roles: ['admin'] },
  editor: { username: 'erin', roles: ['editor', 'user'] },
};

/** The IDENTITIES as seeded in one sidecar: real ids and tokens the sidecar issued. */
type Users = Record<KnownCaller, SeededUser>;

async function seedUsers(sidecar: TestSidecar): Promise<Users> {
  const seed = (caller: KnownCaller) =>
    seedUser(sidecar, IDENTITIES[caller].username, IDENTITIES[caller].roles);
  return {
    user: await seed('user'),
    analyst: await seed('analyst'),
    admin: await seed('admin'),
    editor: await seed('editor'),
  };
}

/**
 * A token minted for a seeded user, valid but for what `options` break (expiry, secret, iss, aud,
 * algorithm): the session behind it stands, so a refusal is for that defect alone.
 */
function mintFor(user: SeededUser, options: MintOptions = {}): string {
  return mintToken({ sub: user.id, username: user.username, roles: user.roles, ...options });
}

/** One rule per glob feature the contract names; first match wins, in this order. */
const RULES = [
  { path: '/public/**', public: true },
  { path: '/admin/**', roles: ['admin'] },
  { path: '/api/reports/**', methods: ['GET'], roles: ['analyst', 'admin'] },
  { path: '/api/**', authenticated: true },
  { path: '/files/*', public: true },
  { path: '/docs/*/edit', roles: ['editor'] },
  { path: '/docs/**', public: true },
  { path: '/items/**', methods: ['POST', 'DELETE'], roles: ['admin'] },
  { path: '/items/**', public: true },
];

const IDENTITY_HEADERS = ['x-user', 'x-user-id', 'x-user-roles'];

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

function send(baseUrl: string, method: Method, path: string): request.Test {
  const agent = request(baseUrl);
  switch (method) {
    case 'GET':
      return agent.get(path);
    case 'HEAD':
      return agent.head(path);
    case 'POST':
      return agent.post(path);
    case 'PUT':
      return agent.put(path);
    case 'DELETE':
      return agent.delete(path);
  }
}

/** Header names as they arrived, folded the way CGI-style servers fold them. */
function foldedNames(recorded: RecordedRequest): string[] {
  return recorded.rawHeaders
    .filter((_, i) => i % 2 === 0)
    .map((name) => name.toLowerCase().replaceAll('_', '-'));
}

function assertNoIdentityHeaders(recorded: RecordedRequest): void {
  const folded = foldedNames(recorded);
  for (const name of IDENTITY_HEADERS) {
    assert.equal(
      folded.includes(name),
      false,
      `${name} reached the upstream: ${recorded.rawHeaders.join(' | ')}`,
    );
  }
}

function assertIdentity(recorded: RecordedRequest, users: Users, caller: KnownCaller): void {
  const identity = IDENTITIES[caller];
  assert.equal(recorded.headers['x-user'], identity.username);
  assert.equal(recorded.headers['x-user-id'], users[caller].id);
  assert.equal(recorded.headers['x-user-roles'], identity.roles.join(','));
}

describe('proxy rules', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let users: Users;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { rules: RULES, default: 'deny' } });
    users = await seedUsers(sidecar);
  });

  function tokenFor(caller: KnownCaller): string {
    return users[caller].token;
  }

  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  /** Sends one request and returns the response and what the upstream saw of it, if anything. */
  async function exchange(method: Method, path: string, authorization?: string) {
    const before = upstream.requests.length;
    const test = send(sidecar.url, method, path);
    if (authorization !== undefined) test.set('Authorization', authorization);
    const response = await test;
    const seen = upstream.requests.slice(before);
    assert.ok(seen.length <= 1, `the upstream saw ${seen.length} requests for one`);
    return { response, forwarded: seen[0] };
  }

  describe('path globs, methods and the default', () => {
    const cases: [string, Method, string, Caller, 200 | 401 | 403][] = [
      ['a public path is forwarded without a token', 'GET', '/public/page', 'anonymous', 200],
      ['a ** rule matches its own root', 'GET', '/public', 'anonymous', 200],
      ['a ** rule matches its root with a trailing slash', 'GET', '/public/', 'anonymous', 200],
      ['a ** rule matches any depth', 'GET', '/public/a/b/c.txt', 'anonymous', 200],
      [
        'a path that only shares a prefix with a ** rule is not matched by it',
        'GET',
        '/publicity',
        'anonymous',
        401,
      ],
      [
        'a prefix-sharing path falls to the default deny, 403 with a valid token',
        'GET',
        '/publicity',
        'user',
        403,
      ],
      ['a prefix-sharing path below is not matched either', 'GET', '/publicity/page', 'anonymous', 401],
      ['/api itself is covered by /api/** and needs a user', 'GET', '/api', 'anonymous', 401],
      ['/api itself is forwarded for a user', 'GET', '/api', 'user', 200],
      ['a deep /api path is forwarded for a user', 'GET', '/api/a/b/c', 'user', 200],
      ['an admin path without a token is 401', 'GET', '/admin/users', 'anonymous', 401],
      ['an admin path for a user without the role is 403', 'GET', '/admin/users', 'user', 403],
      ['an admin path for an admin is forwarded', 'GET', '/admin/users', 'admin', 200],
      ['/admin itself needs the admin role', 'GET', '/admin', 'user', 403],
      ['a GET-only role rule applies to GET', 'GET', '/api/reports/q1', 'user', 403],
      ['a GET-only role rule forwards a listed role', 'GET', '/api/reports/q1', 'analyst', 200],
      ['a GET-only role rule also applies to HEAD', 'HEAD', '/api/reports/q1', 'user', 403],
      ['a GET-only role rule forwards HEAD for a listed role', 'HEAD', '/api/reports/q1', 'analyst', 200],
      [
        'a POST skips the GET-only rule and is decided by the next rule',
        'POST',
        '/api/reports/q1',
        'user',
        200,
      ],
      ['a POST that skips the GET-only rule still needs a user', 'POST', '/api/reports/q1', 'anonymous', 401],
      ['a DELETE skips the GET-only rule for any user', 'DELETE', '/api/reports/q1', 'user', 200],
      ['* matches exactly one segment', 'GET', '/files/report.pdf', 'anonymous', 200],
      ['* does not match two segments', 'GET', '/files/a/b', 'anonymous', 401],
      ['* does not match two segments, 403 with a valid token', 'GET', '/files/a/b', 'user', 403],
      ['* does not match an empty segment', 'GET', '/files/', 'anonymous', 401],
      ['* does not match a missing segment', 'GET', '/files', 'anonymous', 401],
      ['* in the middle of a glob needs the role for one segment', 'GET', '/docs/intro/edit', 'user', 403],
      ['* in the middle of a glob without a token is 401', 'GET', '/docs/intro/edit', 'anonymous', 401],
      ['* in the middle of a glob forwards the listed role', 'GET', '/docs/intro/edit', 'editor', 200],
      ['* in the middle does not span two segments', 'GET', '/docs/a/b/edit', 'anonymous', 200],
      ['a later ** rule takes what the earlier rule did not match', 'GET', '/docs/intro', 'anonymous', 200],
      ['a method-limited role rule applies to its methods', 'POST', '/items/1', 'user', 403],
      ['a method-limited role rule forwards the role', 'POST', '/items/1', 'admin', 200],
      ['a method-limited role rule applies to each listed method', 'DELETE', '/items/1', 'anonymous', 401],
      ['other methods go on to the next rule', 'GET', '/items/1', 'anonymous', 200],
      ['other methods go on to the next rule, PUT too', 'PUT', '/items/1', 'anonymous', 200],
      ['the root matches no rule: default deny without a token is 401', 'GET', '/', 'anonymous', 401],
      ['the root matches no rule: default deny with a token is 403', 'GET', '/', 'user', 403],
      ['an unknown path is denied for an admin too', 'PUT', '/unknown/thing', 'admin', 403],
    ];

    for (const [name, method, path, caller, status] of cases) {
      it(name, async () => {
        const { response, forwarded } = await exchange(
          method,
          path,
          caller === 'anonymous' ? undefined : `Bearer ${tokenFor(caller)}`,
        );
        if (status === 200) {
          assert.equal(response.status, 200, response.text);
          assert.ok(forwarded, 'the upstream never saw the request');
          assert.equal(forwarded.method, method);
          assert.equal(forwarded.url, path);
          if (caller === 'anonymous') assertNoIdentityHeaders(forwarded);
          else assertIdentity(forwarded, users, caller);
        } else {
          if (method === 'HEAD') assertProblemHeaders(response, status);
          else assertProblem(response, status);
          assert.equal(forwarded, undefined, `the upstream saw ${method} ${path}`);
          if (status === 401) assert.equal(response.headers['www-authenticate'], 'Bearer');
        }
      });
    }
  });

  describe('tokens where a user is needed', () => {
    /** A user's real token with the payload swapped for the admin's claims, signature kept. */
    const forged = (token: string) => {
      const [header, , signature] = token.split('.');
      const now = Math.floor(Date.now() / 1000);
      const payload = Buffer.from(
        JSON.stringify({
          sub: users.admin.id,
          username: users.admin.username,
          roles: users.admin.roles,
          iss: 'auth-sidecar',
          aud: 'upstream',
          iat: now,
          exp: now + 900,
          jti: `forged-${now}`,
          ver: 0,
        }),
      ).toString('base64url');
      return `${header}.${payload}.${signature}`;
    };
    // Built when the test runs: every token but the defect names the seeded admin.
    const invalid: [string, () => string][] = [
      ['a token that is not a JWT', () => 'Bearer not-a-jwt'],
      [
        'a JWT with a missing signature part',
        () => `Bearer ${tokenFor('admin').split('.').slice(0, 2).join('.')}`,
      ],
      [
        'a JWT signed with another secret',
        () => `Bearer ${mintFor(users.admin, { secret: 'x'.repeat(48) })}`,
      ],
      ['a JWT whose payload was changed after signing', () => `Bearer ${forged(tokenFor('user'))}`],
      ['an expired JWT', () => `Bearer ${mintFor(users.admin, { expiresIn: -3600 })}`],
      [
        'an unsigned JWT (alg none)',
        () =>
          `Bearer ${unsignedToken({ sub: users.admin.id, username: users.admin.username, roles: users.admin.roles })}`,
      ],
      ['a JWT from another issuer', () => `Bearer ${mintFor(users.admin, { iss: 'someone-else' })}`],
      ['a JWT for another audience', () => `Bearer ${mintFor(users.admin, { aud: 'another-service' })}`],
      ['a JWT signed with another algorithm', () => `Bearer ${mintFor(users.admin, { algorithm: 'HS512' })}`],
      ['credentials in another scheme', () => 'Basic cm9vdDpodW50ZXIy'],
    ];

    for (const path of ['/api/data', '/admin/panel']) {
      it(`forwards a minted admin token with nothing wrong on ${path} (the control for the refusals below)`, async () => {
        const { response, forwarded } = await exchange('GET', path, `Bearer ${mintFor(users.admin)}`);
        assert.equal(response.status, 200, response.text);
        assert.ok(forwarded);
        assertIdentity(forwarded, users, 'admin');
      });

      for (const [name, authorization] of invalid) {
        it(`refuses ${name} on ${path} with 401 invalid_token, never forwarded`, async () => {
          const { response, forwarded } = await exchange('GET', path, authorization());
          assertProblem(response, 401);
          assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_token"');
          assert.equal(forwarded, undefined);
        });
      }

      it(`answers no token at all on ${path} with 401 and a bare Bearer challenge, never forwarded`, async () => {
        const { response, forwarded } = await exchange('GET', path);
        assertProblem(response, 401);
        assert.equal(response.headers['www-authenticate'], 'Bearer');
        assert.equal(forwarded, undefined);
      });
    }

    it('refuses a valid token without the role with 403 problem+json, never forwarded', async () => {
      const { response, forwarded } = await exchange('GET', '/admin/panel', `Bearer ${tokenFor('analyst')}`);
      assertProblem(response, 403);
      assert.equal(forwarded, undefined);
    });

    it('forwards an allowed request with X-User, X-User-Id and comma-separated X-User-Roles', async () => {
      const { response, forwarded } = await exchange(
        'GET',
        '/api/reports/q2',
        `Bearer ${tokenFor('analyst')}`,
      );
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-user'], 'bob');
      assert.equal(forwarded.headers['x-user-id'], users.analyst.id);
      assert.equal(forwarded.headers['x-user-roles'], 'user,analyst');
    });

    it('forwards a role rule for any one of the listed roles', async () => {
      const { response, forwarded } = await exchange('GET', '/api/reports/q2', `Bearer ${tokenFor('admin')}`);
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assertIdentity(forwarded, users, 'admin');
    });
  });

  describe('tokens on a public path', () => {
    // Built when the test runs: every token but the defect names the seeded admin.
    const ignored: [string, () => string][] = [
      ['a malformed token', () => 'Bearer not-a-jwt'],
      ['an expired token', () => `Bearer ${mintFor(users.admin, { expiresIn: -3600 })}`],
      [
        'an unsigned token',
        () =>
          `Bearer ${unsignedToken({ sub: users.admin.id, username: users.admin.username, roles: users.admin.roles })}`,
      ],
      [
        'a token signed with another secret',
        () => `Bearer ${mintFor(users.admin, { secret: 'y'.repeat(48) })}`,
      ],
      ['credentials in another scheme', () => 'Basic cm9vdDpodW50ZXIy'],
    ];
    for (const [name, authorization] of ignored) {
      it(`ignores ${name}: forwarded without identity headers, never a 401`, async () => {
        const { response, forwarded } = await exchange('GET', '/public/page', authorization());
        assert.equal(response.status, 200, response.text);
        assert.ok(forwarded);
        assertNoIdentityHeaders(forwarded);
      });
    }

    it('adds the identity headers when a valid token came along', async () => {
      const { response, forwarded } = await exchange('GET', '/public/page', `Bearer ${tokenFor('editor')}`);
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assertIdentity(forwarded, users, 'editor');
    });

    it('adds no identity headers without a token', async () => {
      const { response, forwarded } = await exchange('GET', '/public/page');
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assertNoIdentityHeaders(forwarded);
    });
  });

  describe('identity headers sent by the client', () => {
    const spellings = [
      'X-User',
      'x-user',
      'X-USER',
      'X_User',
      'x_user',
      'X-User-Id',
      'X_USER_ID',
      'x_user_roles',
    ];
    const targets: [string, string, Caller][] = [
      ['a public path without a token', '/public/page', 'anonymous'],
      ['a public path with a token', '/public/page', 'user'],
      ['an authenticated path', '/api/data', 'user'],
      ['a role path', '/admin/panel', 'admin'],
    ];

    for (const [where, path, caller] of targets) {
      for (const spelling of spellings) {
        it(`removes a client-sent ${spelling} on ${where}`, async () => {
          const before = upstream.requests.length;
          const test = request(sidecar.url).get(path).set(spelling, 'forged-by-client');
          if (caller !== 'anonymous') test.set('Authorization', `Bearer ${tokenFor(caller)}`);
          const response = await test;
          assert.equal(response.status, 200, response.text);
          const forwarded = upstream.requests[before];
          assert.ok(forwarded);
          assert.equal(
            forwarded.rawHeaders.some((value) => value.includes('forged-by-client')),
            false,
            forwarded.rawHeaders.join(' | '),
          );
          if (caller === 'anonymous') assertNoIdentityHeaders(forwarded);
          else assertIdentity(forwarded, users, caller);
        });
      }
    }

    it('removes every spelling at once, sent together with the real identity', async () => {
      const before = upstream.requests.length;
      const test = request(sidecar.url)
        .get('/api/data')
        .set('Authorization', `Bearer ${tokenFor('user')}`);
      for (const spelling of spellings) test.set(spelling, `forged-${spelling}`);
      const response = await test;
      assert.equal(response.status, 200);
      const forwarded = upstream.requests[before];
      assert.ok(forwarded);
      assert.equal(
        forwarded.rawHeaders.some((value) => value.startsWith('forged-')),
        false,
      );
      assertIdentity(forwarded, users, 'user');
      const folded = foldedNames(forwarded);
      for (const name of IDENTITY_HEADERS) assert.equal(folded.filter((n) => n === name).length, 1, name);
    });
  });

  describe('default: authenticated', () => {
    let other: TestSidecar;
    let otherUsers: Users;

    before(async () => {
      other = await startSidecar({
        upstreamUrl: upstream.url,
        config: {
          rules: [
            { path: '/public/**', public: true },
            { path: '/admin/**', roles: ['admin'] },
          ],
          default: 'authenticated',
        },
      });
      otherUsers = await seedUsers(other);
    });

    after(async () => {
      await other.stop({ removeData: true });
    });

    it('refuses an unmatched path without a token with 401 Bearer, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await request(other.url).get('/anything/else');
      assertProblem(response, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer');
      assert.equal(upstream.requests.length, before);
    });

    it('refuses an unmatched path with an expired token with 401 invalid_token, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await request(other.url)
        .get('/anything/else')
        .set('Authorization', `Bearer ${mintFor(otherUsers.user, { expiresIn: -3600 })}`);
      assertProblem(response, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assert.equal(upstream.requests.length, before);
    });

    it('forwards an unmatched path for any valid token, with identity headers', async () => {
      const before = upstream.requests.length;
      const response = await request(other.url)
        .get('/anything/else?x=1')
        .set('Authorization', `Bearer ${otherUsers.user.token}`);
      assert.equal(response.status, 200);
      const forwarded = upstream.requests[before];
      assert.ok(forwarded);
      assert.equal(forwarded.url, '/anything/else?x=1');
      assertIdentity(forwarded, otherUsers, 'user');
    });

    it('still applies the rules that match', async () => {
      const before = upstream.requests.length;
      const response = await request(other.url)
        .get('/admin/x')
        .set('Authorization', `Bearer ${otherUsers.user.token}`);
      assertProblem(response, 403);
      assert.equal(upstream.requests.length, before);
    });
  });

  describe('configured identity header names', () => {
    let other: TestSidecar;
    let otherUsers: Users;

    before(async () => {
      other = await startSidecar({
        upstreamUrl: upstream.url,
        config: {
          rules: RULES,
          identity: { userHeader: 'X-Remote-User', idHeader: 'X-Remote-Id', rolesHeader: 'X-Remote-Groups' },
        },
      });
      otherUsers = await seedUsers(other);
    });

    after(async () => {
      await other.stop({ removeData: true });
    });

    it('forwards the identity under the configured names', async () => {
      const before = upstream.requests.length;
      const response = await request(other.url)
        .get('/api/data')
        .set('Authorization', `Bearer ${otherUsers.analyst.token}`);
      assert.equal(response.status, 200);
      const forwarded = upstream.requests[before];
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-remote-user'], 'bob');
      assert.equal(forwarded.headers['x-remote-id'], otherUsers.analyst.id);
      assert.equal(forwarded.headers['x-remote-groups'], 'user,analyst');
    });

    const spellings = ['X-Remote-User', 'x_remote_user', 'X-REMOTE-ID', 'x_remote_groups'];
    for (const spelling of spellings) {
      it(`removes a client-sent ${spelling} on a public path`, async () => {
        const before = upstream.requests.length;
        const response = await request(other.url).get('/public/page').set(spelling, 'forged-by-client');
        assert.equal(response.status, 200);
        const forwarded = upstream.requests[before];
        assert.ok(forwarded);
        assert.equal(
          forwarded.rawHeaders.some((value) => value.includes('forged-by-client')),
          false,
        );
      });
    }
  });
});
