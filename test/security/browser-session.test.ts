/**
 * Attacks on the browser session: the cookie leaking to the backend or being set by it, a second
 * credential beside it, one credential passed off as the other, and requests another site makes
 * the browser send (form posts, WebSockets, the sidecar's own forms). Each case checks the status
 * and what the backend saw, or that it saw nothing.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { WebSocket, WebSocketServer } from 'ws';
import { assertNothingForwarded, onlyForwardedSince } from '../helpers/attack.js';
import { JSON_HEADERS } from '../helpers/auth-client.js';
import {
  CROSS_SITE_POST,
  createUser,
  navigate,
  postForm,
  sameOriginPost,
  setCookieFor,
  setCookies,
  signIn,
  valueOf,
} from '../helpers/browser-client.js';
import { assertProblem } from '../helpers/problem.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { echoRecorded, startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';

/** The default `secure: true`: the cookie carries the __Host- prefix. */
const COOKIE = '__Host-auth-sidecar';
const PASSWORD = 'wonderland-42';
const TRUSTED_ORIGIN = 'http://trusted.example';

const RULES = [
  { path: '/public/**', public: true },
  { path: '/app/**', authenticated: true },
  { path: '/ws/**', authenticated: true },
];

const CONFIG = { rules: RULES, browser: { trustedOrigins: [TRUSTED_ORIGIN] } };

/** No ticket, token or cookie value reaches the backend in any header. */
function assertHoldsNone(
  recorded: RecordedRequest | { headers: IncomingHttpHeaders },
  secrets: string[],
): void {
  const text = JSON.stringify(recorded.headers);
  for (const secret of secrets) assert.ok(!text.includes(secret), `the backend saw a credential: ${text}`);
}

/** Sends an API-style GET (no Accept, no Fetch Metadata) with `headers`. */
function apiGet(baseUrl: string, path: string, headers: Record<string, string>): request.Test {
  return request(baseUrl).get(path).set(headers);
}

/** A JSON login through POST /auth/login: the API session of the same user. */
async function apiLogin(
  baseUrl: string,
  username: string,
): Promise<{ accessToken: string; refreshToken: string }> {
  const response = await request(baseUrl)
    .post('/auth/login')
    .set(JSON_HEADERS)
    .send({ username, password: PASSWORD });
  assert.equal(response.status, 200, response.text);
  return response.body as { accessToken: string; refreshToken: string };
}

describe('the browser session under attack', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  /** Every cookie value handed out, to check none is ever logged. */
  const issued: string[] = [];

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: CONFIG });
    await createUser(sidecar, 'alice', PASSWORD);
    await createUser(sidecar, 'bob', PASSWORD);
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  /** Signs `username` in through the form; returns the `name=value` cookie. */
  async function signInAs(username = 'alice'): Promise<string> {
    const { cookie } = await signIn(sidecar.url, COOKIE, { username, password: PASSWORD });
    issued.push(valueOf(cookie));
    return cookie;
  }

  /** One exchange and the one request the backend saw of it, if any. */
  async function exchange(test: request.Test) {
    const seen = upstream.requests.length;
    const response = await test;
    const reached = upstream.requests.slice(seen);
    assert.ok(reached.length <= 1, `the backend saw ${reached.length} requests for one`);
    return { response, forwarded: reached[0] };
  }

  describe('the credential stays with the sidecar', () => {
    it('the backend sees X-User and the other cookies, never the session cookie', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/app/page', { Cookie: `theme=dark; ${cookie}; lang=en` }),
      );
      assert.equal(response.status, 200, response.text);
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-user'], 'alice');
      assert.equal(forwarded.headers.cookie, 'theme=dark; lang=en');
      assertHoldsNone(forwarded, [valueOf(cookie)]);
    });

    it('a request with only the session cookie reaches the backend with no Cookie header', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(apiGet(sidecar.url, '/app/page', { Cookie: cookie }));
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assert.equal(forwarded.headers.cookie, undefined);
      assert.equal(forwarded.headers['x-user'], 'alice');
    });

    it('the valid cookie on a public path: identity added, the cookie removed', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/public/page', { Cookie: `${cookie}; theme=dark` }),
      );
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-user'], 'alice');
      assert.equal(forwarded.headers.cookie, 'theme=dark');
    });

    const unusable: [string, () => Promise<string>][] = [
      ['a garbage value', () => Promise.resolve('not-a-ticket')],
      ['a ticket with its signature changed', async () => `${valueOf(await signInAs()).slice(0, -4)}AAAA`],
      ['an unsigned token', () => Promise.resolve('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')],
    ];
    for (const [name, value] of unusable) {
      it(`${name} in the cookie on a public path: forwarded without identity and without the cookie`, async () => {
        const ticket = await value();
        const { response, forwarded } = await exchange(
          apiGet(sidecar.url, '/public/page', { Cookie: `${COOKIE}=${ticket}; theme=dark` }),
        );
        assert.equal(response.status, 200);
        assert.ok(forwarded);
        assert.equal(forwarded.headers['x-user'], undefined);
        assert.equal(forwarded.headers.cookie, 'theme=dark');
        assertHoldsNone(forwarded, [ticket]);
      });

      it(`${name} in the cookie on a protected path: 401, nothing forwarded`, async () => {
        const ticket = await value();
        const { response, forwarded } = await exchange(
          apiGet(sidecar.url, '/app/page', { Cookie: `${COOKIE}=${ticket}` }),
        );
        assertProblem(response, 401);
        assert.equal(forwarded, undefined);
      });
    }

    it('the unprefixed spelling of the cookie is removed too, whatever it holds', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/public/page', { Cookie: `auth-sidecar=${valueOf(cookie)}; theme=dark` }),
      );
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assert.equal(forwarded.headers.cookie, 'theme=dark');
    });

    it('a client-sent X-User beside the cookie never reaches the backend', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/app/page', {
          Cookie: cookie,
          'X-User': 'root',
          'X-User-Roles': 'admin',
          'X-User-Id': 'forged-id',
        }),
      );
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-user'], 'alice');
      assert.equal(forwarded.headers['x-user-roles'], 'user');
      assert.ok(!forwarded.rawHeaders.includes('forged-id'), forwarded.rawHeaders.join(' | '));
    });

    describe('a backend that sets the sidecar’s cookie', () => {
      before(() =>
        upstream.behave((_req, res) => {
          res.setHeader('Set-Cookie', [
            'auth-sidecar=evil; Path=/',
            '__Host-auth-sidecar=evil; Path=/; Secure',
            'backend-pref=1; Path=/',
          ]);
          res.end('ok');
        }),
      );
      after(() => upstream.behave(echoRecorded));

      for (const [where, path, withCookie] of [
        ['on a public path, signed out', '/public/page', false],
        ['on a protected path, signed in', '/app/page', true],
      ] as const) {
        it(`its Set-Cookie for the session cookie is dropped, its own cookie kept (${where})`, async () => {
          const headers: Record<string, string> = withCookie ? { Cookie: await signInAs() } : {};
          const { response, forwarded } = await exchange(apiGet(sidecar.url, path, headers));
          assert.equal(response.status, 200);
          assert.ok(forwarded);
          const fields = setCookies(response);
          assert.ok(fields.includes('backend-pref=1; Path=/'), JSON.stringify(fields));
          assert.ok(!fields.some((field) => field.includes('evil')), JSON.stringify(fields));
        });
      }
    });
  });

  describe('two credentials', () => {
    it('Authorization decides: an invalid bearer beside a valid cookie is 401, not the cookie’s user', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/app/page', { Cookie: cookie, Authorization: 'Bearer not-a-jwt' }),
      );
      assertProblem(response, 401);
      assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_token"');
      assert.equal(forwarded, undefined);
    });

    it('Authorization decides: bob’s bearer token beside alice’s cookie is bob', async () => {
      const cookie = await signInAs('alice');
      const { accessToken } = await apiLogin(sidecar.url, 'bob');
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/app/page', { Cookie: cookie, Authorization: `Bearer ${accessToken}` }),
      );
      assert.equal(response.status, 200);
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-user'], 'bob');
      assertHoldsNone(forwarded, [valueOf(cookie)]);
    });

    it('the cookie’s ticket sent as a bearer token is refused', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/app/page', { Authorization: `Bearer ${valueOf(cookie)}` }),
      );
      assertProblem(response, 401);
      assert.equal(forwarded, undefined);
    });

    it('a bearer access token put in the cookie is refused', async () => {
      const { accessToken } = await apiLogin(sidecar.url, 'alice');
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/app/page', { Cookie: `${COOKIE}=${accessToken}` }),
      );
      assertProblem(response, 401);
      assert.equal(forwarded, undefined);
    });

    it('the cookie twice is not read, even with one of them valid, and is cleared', async () => {
      const cookie = await signInAs();
      for (const header of [`${COOKIE}=a; ${cookie}`, `${cookie}; ${COOKIE}=a`, `${cookie}; ${cookie}`]) {
        const { response, forwarded } = await exchange(apiGet(sidecar.url, '/app/page', { Cookie: header }));
        assertProblem(response, 401);
        assert.equal(forwarded, undefined, header);
        assert.match(setCookieFor(response, COOKIE) ?? '', /Max-Age=0/, 'the cookie is cleared');
      }
    });

    it('the cookie under its unprefixed name (settable by a sibling or over http) is not read', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        apiGet(sidecar.url, '/app/page', { Cookie: `auth-sidecar=${valueOf(cookie)}` }),
      );
      assertProblem(response, 401);
      assert.equal(forwarded, undefined);
    });
  });

  describe('cross-site requests with the cookie', () => {
    const own = () => new URL(sidecar.url).origin;
    type Verdict = 'refused' | 'forwarded';
    const cases: [
      string,
      'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'GET',
      () => Record<string, string>,
      Verdict,
    ][] = [
      [
        'a POST with Sec-Fetch-Site: cross-site',
        'POST',
        () => ({ 'Sec-Fetch-Site': 'cross-site' }),
        'refused',
      ],
      [
        'a POST with Sec-Fetch-Site: same-site (a sibling subdomain)',
        'POST',
        () => ({ 'Sec-Fetch-Site': 'same-site' }),
        'refused',
      ],
      ['a cross-site form post', 'POST', () => ({ ...CROSS_SITE_POST }), 'refused'],
      [
        'a PUT from another site',
        'PUT',
        () => ({ 'Sec-Fetch-Site': 'cross-site', Origin: 'http://evil.example' }),
        'refused',
      ],
      ['a PATCH from another site', 'PATCH', () => ({ 'Sec-Fetch-Site': 'cross-site' }), 'refused'],
      ['a DELETE from another site', 'DELETE', () => ({ 'Sec-Fetch-Site': 'cross-site' }), 'refused'],
      [
        'a POST without Fetch Metadata and Origin http://evil.example',
        'POST',
        () => ({ Origin: 'http://evil.example' }),
        'refused',
      ],
      [
        'a POST with Origin null (a sandboxed frame, a redirect)',
        'POST',
        () => ({ Origin: 'null' }),
        'refused',
      ],
      [
        'a POST from the same host on another port',
        'POST',
        () => ({ Origin: `http://127.0.0.1:${Number(new URL(sidecar.url).port) === 1 ? 2 : 1}` }),
        'refused',
      ],
      [
        'a POST from the https twin of the origin',
        'POST',
        () => ({ Origin: own().replace('http:', 'https:') }),
        'refused',
      ],
      [
        'a POST with Sec-Fetch-Site: same-origin',
        'POST',
        () => ({ 'Sec-Fetch-Site': 'same-origin', Origin: own() }),
        'forwarded',
      ],
      ['a POST without Fetch Metadata and its own Origin', 'POST', () => ({ Origin: own() }), 'forwarded'],
      ['a POST from a trusted origin', 'POST', () => ({ Origin: TRUSTED_ORIGIN }), 'forwarded'],
      [
        'a cross-site POST from a trusted origin',
        'POST',
        () => ({ 'Sec-Fetch-Site': 'cross-site', Origin: TRUSTED_ORIGIN }),
        'forwarded',
      ],
      ['a POST with neither Origin nor Sec-Fetch-Site (curl)', 'POST', () => ({}), 'forwarded'],
      [
        'a cross-site GET (a safe method)',
        'GET',
        () => ({ 'Sec-Fetch-Site': 'cross-site', Origin: 'http://evil.example' }),
        'forwarded',
      ],
    ];

    for (const [name, method, headers, verdict] of cases) {
      it(`${name} is ${verdict}`, async () => {
        const cookie = await signInAs();
        const logged = sidecar.logs.entries.length;
        const agent = request(sidecar.url);
        const test =
          method === 'GET'
            ? agent.get('/app/transfer')
            : method === 'PUT'
              ? agent.put('/app/transfer')
              : method === 'PATCH'
                ? agent.patch('/app/transfer')
                : method === 'DELETE'
                  ? agent.delete('/app/transfer')
                  : agent.post('/app/transfer').type('form').send({ to: 'mallory', amount: '1000' });
        const { response, forwarded } = await exchange(test.set(headers()).set('Cookie', cookie));
        if (verdict === 'refused') {
          assertProblem(response, 403);
          assert.equal(forwarded, undefined);
          const denied = sidecar.logs.entries
            .slice(logged)
            .find((entry) => entry.event === 'auth.denied' && entry.reason === 'cross_origin');
          assert.ok(denied, 'audited as auth.denied, reason cross_origin');
        } else {
          assert.equal(response.status, 200, response.text);
          assert.ok(forwarded);
          assert.equal(forwarded.method, method);
          assert.equal(forwarded.headers['x-user'], 'alice');
        }
      });
    }

    it('forwarding headers from an untrusted client cannot make a foreign Origin its own', async () => {
      const cookie = await signInAs();
      const { response, forwarded } = await exchange(
        request(sidecar.url).post('/app/transfer').set({
          Origin: 'https://evil.example',
          'X-Forwarded-Host': 'evil.example',
          'X-Forwarded-Proto': 'https',
          Forwarded: 'host=evil.example;proto=https',
          Cookie: cookie,
        }),
      );
      assertProblem(response, 403);
      assert.equal(forwarded, undefined);
    });

    it('a cross-site POST with a bearer token (never sent by the browser on its own) is forwarded', async () => {
      const { accessToken } = await apiLogin(sidecar.url, 'alice');
      const { response, forwarded } = await exchange(
        request(sidecar.url)
          .post('/app/transfer')
          .set(CROSS_SITE_POST)
          .set('Authorization', `Bearer ${accessToken}`),
      );
      assert.equal(response.status, 200);
      assert.equal(forwarded?.headers['x-user'], 'alice');
    });

    it('a cross-site POST to a public path without the cookie is forwarded', async () => {
      const { response, forwarded } = await exchange(
        request(sidecar.url).post('/public/form').set(CROSS_SITE_POST),
      );
      assert.equal(response.status, 200);
      assert.ok(forwarded);
    });
  });

  describe('the sidecar’s own forms from another site', () => {
    it('a cross-site sign-in (login CSRF) is 403 and sets no cookie', async () => {
      for (const headers of [CROSS_SITE_POST, { Origin: 'http://evil.example' }]) {
        const logged = sidecar.logs.entries.length;
        const response = await postForm(
          sidecar.url,
          '/auth/sign-in',
          { username: 'alice', password: PASSWORD, rd: '/app/page' },
          { headers },
        );
        assert.equal(response.status, 403);
        assert.equal(setCookieFor(response, COOKIE), undefined);
        const events = sidecar.logs.entries.slice(logged);
        assert.ok(!events.some((entry) => entry.event === 'auth.session.start'), 'no session started');
        assert.ok(events.some((entry) => entry.event === 'auth.denied' && entry.reason === 'cross_origin'));
      }
    });

    it('a cross-site sign-up is 403 and creates nobody', async () => {
      const response = await postForm(
        sidecar.url,
        '/auth/sign-up',
        { username: 'planted', password: 'planted-pass-1' },
        { headers: CROSS_SITE_POST },
      );
      assert.equal(response.status, 403);
      assert.equal(await sidecar.deps.store.users.findByUsername('planted'), undefined);
    });

    for (const [name, headers] of [
      ['cross-site', CROSS_SITE_POST],
      [
        'same-site',
        { 'Sec-Fetch-Site': 'same-site', 'Sec-Fetch-Mode': 'navigate', Origin: 'http://sibling.example' },
      ],
    ] as const) {
      it(`a ${name} sign-out (everywhere too) is 403 and the session goes on`, async () => {
        const cookie = await signInAs();
        const attempts: Record<string, string>[] = [{}, { everywhere: '1' }];
        for (const fields of attempts) {
          const response = await postForm(sidecar.url, '/auth/sign-out', fields, { cookie, headers });
          assert.equal(response.status, 403);
          assert.equal(setCookieFor(response, COOKIE), undefined, 'the cookie is not cleared');
        }
        const { response, forwarded } = await exchange(navigate(sidecar.url, '/app/page', cookie));
        assert.equal(response.status, 200);
        assert.equal(forwarded?.headers['x-user'], 'alice');
      });
    }

    it('a cross-site password change is 403: the old password and the session still work', async () => {
      await createUser(sidecar, 'carol', PASSWORD);
      const cookie = await signInAs('carol');
      const response = await postForm(
        sidecar.url,
        '/auth/account/password',
        { currentPassword: PASSWORD, newPassword: 'attacker-chose-1' },
        { cookie, headers: CROSS_SITE_POST },
      );
      assert.equal(response.status, 403);
      const { response: page, forwarded } = await exchange(navigate(sidecar.url, '/app/page', cookie));
      assert.equal(page.status, 200);
      assert.equal(forwarded?.headers['x-user'], 'carol');
      await signInAs('carol');
    });

    it('an image on another site pointing at GET /auth/sign-out signs nobody out', async () => {
      const cookie = await signInAs();
      const response = await request(sidecar.url)
        .get('/auth/sign-out')
        .set({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' })
        .set('Cookie', cookie);
      assert.equal(response.status, 200);
      assert.equal(setCookieFor(response, COOKIE), undefined);
      const { response: page, forwarded } = await exchange(navigate(sidecar.url, '/app/page', cookie));
      assert.equal(page.status, 200);
      assert.equal(forwarded?.headers['x-user'], 'alice');
    });
  });

  describe('session fixation', () => {
    it('signing in over a planted cookie gives a new session and ends the planted one', async () => {
      const planted = await signInAs('bob');
      const response = await postForm(
        sidecar.url,
        '/auth/sign-in',
        { username: 'alice', password: PASSWORD, rd: '/' },
        { cookie: planted, headers: sameOriginPost(sidecar.url) },
      );
      assert.equal(response.status, 303);
      const fresh = setCookieFor(response, COOKIE)?.split(';')[0];
      assert.ok(fresh && fresh !== planted, 'a new cookie');
      issued.push(valueOf(fresh));

      const old = await exchange(apiGet(sidecar.url, '/app/page', { Cookie: planted }));
      assertProblem(old.response, 401);
      assert.equal(old.forwarded, undefined);
      const now = await exchange(apiGet(sidecar.url, '/app/page', { Cookie: fresh }));
      assert.equal(now.forwarded?.headers['x-user'], 'alice');
    });
  });

  it('no cookie value handed out in these tests was ever logged', () => {
    assert.ok(issued.length > 10);
    const text = sidecar.logs.text;
    for (const value of issued) assert.ok(!text.includes(value), 'a cookie value is in the logs');
  });
});

describe('an idle session’s cookie', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let clock = Date.now();

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: CONFIG, now: () => clock });
    await createUser(sidecar, 'alice', PASSWORD);
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  it('past the idle timeout: refused on a protected path and cleared, removed on a public path', async () => {
    const { cookie } = await signIn(sidecar.url, COOKIE, { username: 'alice', password: PASSWORD });
    clock += 31 * 60_000;

    const seen = upstream.requests.length;
    const refused = await apiGet(sidecar.url, '/app/page', { Cookie: cookie });
    assertProblem(refused, 401);
    assert.match(setCookieFor(refused, COOKIE) ?? '', /^__Host-auth-sidecar=; Max-Age=0/);
    const navigation = await navigate(sidecar.url, '/app/page', cookie);
    assert.equal(navigation.status, 302);
    assertNothingForwarded(upstream, seen);

    const open = await apiGet(sidecar.url, '/public/page', { Cookie: `${cookie}; theme=dark` });
    assert.equal(open.status, 200);
    const forwarded = onlyForwardedSince(upstream, seen);
    assert.equal(forwarded.headers['x-user'], undefined);
    assert.equal(forwarded.headers.cookie, 'theme=dark');
    assert.ok(
      sidecar.logs.entries.some((entry) => entry.event === 'auth.session.end' && entry.reason === 'idle'),
      'auth.session.end idle is audited',
    );
  });
});

/** A backend that takes WebSocket upgrades, records them, and adds Set-Cookie fields to its 101. */
async function startSocketBackend(): Promise<{
  url: string;
  upgrades: IncomingHttpHeaders[];
  close(): Promise<void>;
}> {
  const upgrades: IncomingHttpHeaders[] = [];
  const wss = new WebSocketServer({ noServer: true });
  wss.on('headers', (headers) => {
    headers.push(
      'Set-Cookie: __Host-auth-sidecar=evil; Path=/; Secure',
      'Set-Cookie: backend-pref=1; Path=/',
    );
  });
  const server: Server = createServer((_req, res) => res.end('ok'));
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    upgrades.push(req.headers);
    wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    upgrades,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Opens a WebSocket: the 101's headers, or the status of the refusal. */
function openSocket(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('upgrade', (response) => {
      resolve({ status: 101, headers: response.headers });
      socket.once('open', () => socket.close());
    });
    socket.once('unexpected-response', (_req, response) => {
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
      response.resume();
      socket.terminate();
    });
    socket.once('error', reject);
  });
}

describe('WebSocket upgrades with the cookie', () => {
  let backend: Awaited<ReturnType<typeof startSocketBackend>>;
  let sidecar: TestSidecar;
  let cookie: string;
  let wsUrl: string;

  before(async () => {
    backend = await startSocketBackend();
    sidecar = await startSidecar({ upstreamUrl: backend.url, config: CONFIG });
    await createUser(sidecar, 'alice', PASSWORD);
    cookie = (await signIn(sidecar.url, COOKIE, { username: 'alice', password: PASSWORD })).cookie;
    wsUrl = `${sidecar.url.replace('http:', 'ws:')}/ws/feed`;
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await backend.close();
  });

  const foreign: [string, Record<string, string>][] = [
    ['a foreign Origin', { Origin: 'http://evil.example' }],
    [
      'a foreign Origin and Sec-Fetch-Site: cross-site',
      { Origin: 'http://evil.example', 'Sec-Fetch-Site': 'cross-site' },
    ],
    ['Sec-Fetch-Site: same-site', { Origin: 'http://sibling.example', 'Sec-Fetch-Site': 'same-site' }],
  ];
  for (const [name, headers] of foreign) {
    it(`an upgrade with the cookie and ${name} is refused with 403, never reaching the backend`, async () => {
      const seen = backend.upgrades.length;
      const logged = sidecar.logs.entries.length;
      const answer = await openSocket(wsUrl, { ...headers, Cookie: cookie });
      assert.equal(answer.status, 403);
      assert.equal(backend.upgrades.length, seen, 'the backend saw the upgrade');
      assert.ok(
        sidecar.logs.entries
          .slice(logged)
          .some((entry) => entry.event === 'auth.denied' && entry.reason === 'cross_origin'),
      );
    });
  }

  it('a same-origin upgrade with the cookie opens; the backend sees X-User, not the cookie', async () => {
    const seen = backend.upgrades.length;
    const answer = await openSocket(wsUrl, {
      Origin: new URL(sidecar.url).origin,
      Cookie: `${cookie}; theme=dark`,
    });
    assert.equal(answer.status, 101);
    const upgrade = backend.upgrades[seen];
    assert.ok(upgrade, 'the backend saw the upgrade');
    assert.equal(upgrade['x-user'], 'alice');
    assert.equal(upgrade.cookie, 'theme=dark');
    assertHoldsNone({ headers: upgrade }, [valueOf(cookie)]);
  });

  it('the backend’s 101 cannot set the session cookie; its own cookie passes', async () => {
    const answer = await openSocket(wsUrl, { Origin: new URL(sidecar.url).origin, Cookie: cookie });
    assert.equal(answer.status, 101);
    const fields = [answer.headers['set-cookie'] ?? []].flat();
    assert.ok(fields.includes('backend-pref=1; Path=/'), JSON.stringify(fields));
    assert.ok(!fields.some((field) => field.includes('evil')), JSON.stringify(fields));
  });
});
