/**
 * Browser sign-in over HTTP, with the lowdb store and a real upstream: which refusals send a browser
 * to the sign-in page, where sign-in sends it back, the cookie it sets, signing out, the pages, and
 * the brute-force limits the forms share with the JSON login. Each case checks the status and what
 * the upstream saw, or that it saw nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertNothingForwarded, onlyForwardedSince } from '../helpers/attack.js';
import { JSON_HEADERS } from '../helpers/auth-client.js';
import {
  alertText,
  cookieSetBy,
  createUser,
  CROSS_SITE_POST,
  hiddenReturnPath,
  NAVIGATION,
  navigate,
  postForm,
  SAME_ORIGIN_FETCH,
  setCookieFor,
  signIn,
} from '../helpers/browser-client.js';
import { assertProblem, assertProblemHeaders } from '../helpers/problem.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** With `secure: false` the cookie goes without the __Host- prefix. */
const COOKIE = 'auth-sidecar';
const PASSWORD = 'wonderland-42';

const RULES = [
  { path: '/public/**', public: true },
  { path: '/admin/**', roles: ['admin'] },
  { path: '/api/json/**', authenticated: true, signIn: false },
  { path: '/app/**', authenticated: true },
];

const BROWSER = { cookie: { secure: false } };

/** `location` as the sign-in page it must be: relative, /auth/sign-in, and the `rd` it carries. */
function returnPathOfSignIn(location: unknown): string | null {
  assert.equal(typeof location, 'string', 'a Location header');
  const text = location as string;
  assert.ok(text.startsWith('/') && !text.startsWith('//'), `Location is a relative path: ${text}`);
  const url = new URL(text, 'http://sidecar.invalid');
  assert.equal(url.pathname, '/auth/sign-in', text);
  return url.searchParams.get('rd');
}

/** Undoes the escaping of an HTML attribute value. */
function unescapeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

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

describe('browser sign-in over HTTP', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let aliceId: string;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      config: { rules: RULES, default: 'deny', browser: BROWSER },
    });
    aliceId = await createUser(sidecar, 'alice', PASSWORD, ['user']);
    await createUser(sidecar, 'root', PASSWORD, ['admin']);
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  const signInAs = (username: string, rd?: string) =>
    signIn(sidecar.url, COOKIE, { username, password: PASSWORD, ...(rd !== undefined && { rd }) });

  describe('redirect or 401 on a protected path', () => {
    const PAGE = '/app/page?x=1&y=2';
    const cases: [string, Method, string, Record<string, string>, 'sign-in' | 401][] = [
      ['a GET with Sec-Fetch-Mode: navigate is sent to sign in', 'GET', PAGE, NAVIGATION, 'sign-in'],
      ['a HEAD with Sec-Fetch-Mode: navigate is sent to sign in', 'HEAD', PAGE, NAVIGATION, 'sign-in'],
      [
        'fetch() in cors mode gets the 401, even asking for HTML',
        'GET',
        PAGE,
        { 'Sec-Fetch-Mode': 'cors', Accept: 'text/html' },
        401,
      ],
      [
        'a no-cors request gets the 401, even asking for HTML',
        'GET',
        PAGE,
        { 'Sec-Fetch-Mode': 'no-cors', Accept: 'text/html' },
        401,
      ],
      [
        'without Fetch Metadata, an Accept with text/html first is sent to sign in',
        'GET',
        PAGE,
        { Accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
        'sign-in',
      ],
      ['without Fetch Metadata, Accept: */* (curl, fetch) gets the 401', 'GET', PAGE, { Accept: '*/*' }, 401],
      ['without Fetch Metadata and without Accept gets the 401', 'GET', PAGE, {}, 401],
      [
        'without Fetch Metadata, text/html after */* gets the 401',
        'GET',
        PAGE,
        { Accept: '*/*, text/html' },
        401,
      ],
      [
        'without Fetch Metadata, text/html refused with q=0 gets the 401',
        'GET',
        PAGE,
        { Accept: 'text/html;q=0, application/json' },
        401,
      ],
      ['an API client asking for JSON gets the 401', 'GET', PAGE, { Accept: 'application/json' }, 401],
      [
        'text/html first but with X-Requested-With gets the 401',
        'GET',
        PAGE,
        { Accept: 'text/html', 'X-Requested-With': 'XMLHttpRequest' },
        401,
      ],
      ['a POST with Sec-Fetch-Mode: navigate gets the 401', 'POST', PAGE, NAVIGATION, 401],
      ['a PUT with Sec-Fetch-Mode: navigate gets the 401', 'PUT', PAGE, NAVIGATION, 401],
      ['a DELETE with Sec-Fetch-Mode: navigate gets the 401', 'DELETE', PAGE, NAVIGATION, 401],
      ['a rule with signIn: false answers a navigation 401', 'GET', '/api/json/items', NAVIGATION, 401],
    ];

    for (const [name, method, path, headers, expected] of cases) {
      it(name, async () => {
        const seen = upstream.requests.length;
        const response = await send(sidecar.url, method, path).set(headers);
        if (expected === 'sign-in') {
          assert.equal(response.status, 302, response.text);
          assert.equal(returnPathOfSignIn(response.headers.location), path);
          assert.equal(response.headers['cache-control'], 'no-store');
        } else {
          if (method === 'HEAD') assertProblemHeaders(response, 401);
          else assertProblem(response, 401);
          assert.equal(response.headers.location, undefined);
          assert.equal(response.headers['www-authenticate'], 'Bearer');
        }
        assertNothingForwarded(upstream, seen);
      });
    }

    it('the Location stays relative whatever Host and X-Forwarded-Host say', async () => {
      const response = await navigate(sidecar.url, '/app/page')
        .set('Host', 'evil.example')
        .set('X-Forwarded-Host', 'evil.example');
      assert.equal(response.status, 302);
      assert.equal(returnPathOfSignIn(response.headers.location), '/app/page');
    });

    it('a navigation to a public path is forwarded, never sent to sign in', async () => {
      const seen = upstream.requests.length;
      const response = await navigate(sidecar.url, '/public/welcome?lang=en');
      assert.equal(response.status, 200, response.text);
      assert.equal(response.headers.location, undefined);
      const forwarded = onlyForwardedSince(upstream, seen);
      assert.equal(forwarded.url, '/public/welcome?lang=en');
      assert.equal(forwarded.headers['x-user'], undefined);
    });

    it('a navigation to the root that needs a session goes to the sign-in page without rd', async () => {
      const seen = upstream.requests.length;
      const response = await navigate(sidecar.url, '/');
      assert.equal(response.status, 302);
      assert.equal(response.headers.location, '/auth/sign-in');
      assertNothingForwarded(upstream, seen);
    });

    it('a navigation with an encoded query keeps the query in rd', async () => {
      const response = await navigate(sidecar.url, '/app/search?q=a%20b&tag=%C3%A9');
      assert.equal(response.status, 302);
      assert.equal(returnPathOfSignIn(response.headers.location), '/app/search?q=a%20b&tag=%C3%A9');
    });

    it('the whole trip: redirected, the form carries rd, signed in, back on the path and query', async () => {
      const redirected = await navigate(sidecar.url, PAGE);
      assert.equal(redirected.status, 302);
      const page = await navigate(sidecar.url, String(redirected.headers.location));
      assert.equal(page.status, 200);
      assert.match(String(page.headers['content-type']), /^text\/html/);
      const rd = unescapeHtml(hiddenReturnPath(page.text) ?? '');
      assert.equal(rd, PAGE);

      const { response, cookie } = await signInAs('alice', rd);
      assert.equal(response.headers.location, PAGE);

      const seen = upstream.requests.length;
      const back = await navigate(sidecar.url, PAGE, cookie);
      assert.equal(back.status, 200, back.text);
      const forwarded = onlyForwardedSince(upstream, seen);
      assert.equal(forwarded.url, PAGE);
      assert.equal(forwarded.headers['x-user'], 'alice');
      assert.equal(forwarded.headers['x-user-id'], aliceId);
      assert.equal(forwarded.headers['x-user-roles'], 'user');
    });
  });

  describe('the return path (rd)', () => {
    const unsafe: [string, string][] = [
      ['a protocol-relative URL', '//evil.example'],
      ['a protocol-relative URL with a path', '//evil.example/app'],
      ['a slash and a backslash', '/\\evil.example'],
      ['a backslash first', '\\\\evil.example'],
      ['an encoded slash after the first', '/%2fevil.example'],
      ['an upper-case encoded slash', '/%2Fevil.example'],
      ['an encoded backslash after the first', '/%5cevil'],
      ['an upper-case encoded backslash', '/%5Cevil'],
      ['an absolute https URL', 'https://evil.example'],
      ['an absolute URL in capitals', 'HTTPS://evil.example/'],
      ['a javascript: URL', 'javascript:alert(1)'],
      ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
      ['a relative path without a leading slash', 'evil.example/app'],
      ['CR LF', '/app\r\nSet-Cookie: x=1'],
      ['an encoded CR LF', '/app/%0d%0aSet-Cookie:x=1'],
      ['a tab between the slashes', '/\t/evil.example'],
      ['a leading space', ' /app/page'],
      ['the sign-in page (a loop)', '/auth/sign-in?rd=//evil.example'],
      ['the sign-in page itself', '/auth/sign-in'],
      ['the sign-up page', '/auth/sign-up'],
      ['the sign-out page', '/auth/sign-out'],
      ['the sign-out page in capitals', '/AUTH/SIGN-OUT'],
      ['a path climbing above the root', '/a/../../b'],
      ['an encoded NUL', '/%00'],
      ['an empty rd', ''],
    ];

    for (const [name, rd] of unsafe) {
      it(`falls back to / for ${name}`, async () => {
        const page = await navigate(sidecar.url, `/auth/sign-in?rd=${encodeURIComponent(rd)}`);
        assert.equal(page.status, 200);
        assert.equal(hiddenReturnPath(page.text), '/', 'the form carries / as rd');
        const { response } = await signInAs('alice', rd);
        assert.equal(response.headers.location, '/');
      });
    }

    // Canonicalization merges slashes: what could read as `//host` becomes a path of this origin.
    const canonicalized: [string, string][] = [
      ['/.//evil.example', '/evil.example'],
      ['/app/..//evil.example', '/evil.example'],
      ['/app//x?y=1', '/app/x?y=1'],
    ];
    for (const [rd, location] of canonicalized) {
      it(`returns to ${rd} as its canonical same-origin path ${location}`, async () => {
        const { response } = await signInAs('alice', rd);
        assert.equal(response.headers.location, location);
      });
    }

    it('sign-up falls back to / for a foreign rd too', async () => {
      const page = await navigate(sidecar.url, `/auth/sign-up?rd=${encodeURIComponent('//evil.example')}`);
      assert.equal(hiddenReturnPath(page.text), '/');
      const response = await postForm(sidecar.url, '/auth/sign-up', {
        username: 'came-from-evil',
        password: 'fresh-start-8',
        rd: '/\\evil.example',
      });
      assert.equal(response.status, 303, response.text);
      assert.equal(response.headers.location, '/');
    });

    it('returns to a good rd exactly, query and all', async () => {
      const { response } = await signInAs('alice', '/app/page?x=1&y=2');
      assert.equal(response.headers.location, '/app/page?x=1&y=2');
    });

    it('sends a browser signed in already straight on to rd, and to / for a foreign one', async () => {
      const { cookie } = await signInAs('alice');
      const good = await navigate(
        sidecar.url,
        `/auth/sign-in?rd=${encodeURIComponent('/app/x?y=1')}`,
        cookie,
      );
      assert.equal(good.status, 303);
      assert.equal(good.headers.location, '/app/x?y=1');
      const evil = await navigate(
        sidecar.url,
        `/auth/sign-in?rd=${encodeURIComponent('//evil.example')}`,
        cookie,
      );
      assert.equal(evil.status, 303);
      assert.equal(evil.headers.location, '/');
    });

    it('echoes rd escaped: markup in rd never appears raw on the page', async () => {
      const rd = '/app/"><script>alert(1)</script>';
      const page = await navigate(sidecar.url, `/auth/sign-in?rd=${encodeURIComponent(rd)}`);
      assert.equal(page.status, 200);
      assert.ok(!page.text.includes('"><script>'), page.text);
      assert.ok(!page.text.includes('<script'), page.text);
    });

    it('echoes a username escaped after a failed sign-in', async () => {
      const username = '"><script>alert(1)</script>';
      const response = await postForm(sidecar.url, '/auth/sign-in', { username, password: 'wrong-password' });
      assert.ok(response.status === 400 || response.status === 401, `${response.status}`);
      assert.ok(!response.text.includes('<script'), response.text);
    });
  });

  describe('sign-out', () => {
    it('GET /auth/sign-out shows a confirm form and signs nobody out', async () => {
      const { cookie } = await signInAs('alice');
      const confirm = await navigate(sidecar.url, '/auth/sign-out', cookie);
      assert.equal(confirm.status, 200);
      assert.match(confirm.text, /<form method="post" action="\/auth\/sign-out">/);
      assert.equal(setCookieFor(confirm, COOKIE), undefined, 'the cookie is left alone');

      const seen = upstream.requests.length;
      const after = await navigate(sidecar.url, '/app/still-here', cookie);
      assert.equal(after.status, 200);
      assert.equal(onlyForwardedSince(upstream, seen).headers['x-user'], 'alice');
    });

    it('POST /auth/sign-out ends the session: 303 to sign-in, cookie cleared, old cookie refused', async () => {
      const { cookie } = await signInAs('alice');
      const response = await postForm(sidecar.url, '/auth/sign-out', {}, { cookie });
      assert.equal(response.status, 303);
      assert.equal(response.headers.location, '/auth/sign-in');
      const cleared = setCookieFor(response, COOKIE);
      assert.ok(cleared, 'the cookie is cleared');
      assert.match(cleared, /^auth-sidecar=; Max-Age=0; Path=\//);
      assert.ok(
        sidecar.logs.entries.some(
          (entry) =>
            entry.event === 'auth.session.end' && entry.reason === 'sign_out' && entry.userId === aliceId,
        ),
        'auth.session.end sign_out is audited',
      );

      const seen = upstream.requests.length;
      const navigation = await navigate(sidecar.url, '/app/page', cookie);
      assert.equal(navigation.status, 302);
      assert.equal(returnPathOfSignIn(navigation.headers.location), '/app/page');
      const api = await request(sidecar.url).get('/app/page').set(SAME_ORIGIN_FETCH).set('Cookie', cookie);
      assertProblem(api, 401);
      assertNothingForwarded(upstream, seen);
    });

    it('signing out leaves the user’s other browser session alone', async () => {
      const first = await signInAs('alice');
      const second = await signInAs('alice');
      assert.notEqual(first.cookie, second.cookie, 'a new session at every sign-in');
      await postForm(sidecar.url, '/auth/sign-out', {}, { cookie: first.cookie });

      const seen = upstream.requests.length;
      const response = await navigate(sidecar.url, '/app/other-tab', second.cookie);
      assert.equal(response.status, 200);
      assert.equal(onlyForwardedSince(upstream, seen).headers['x-user'], 'alice');
    });

    it('everywhere=1 ends every session of the user: other browsers and an API login', async () => {
      const username = 'everywhere-user';
      await createUser(sidecar, username, PASSWORD);
      const here = await signInAs(username);
      const elsewhere = await signInAs(username);
      const api = await request(sidecar.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username, password: PASSWORD });
      assert.equal(api.status, 200, api.text);
      const { accessToken, refreshToken } = api.body as { accessToken: string; refreshToken: string };

      const response = await postForm(
        sidecar.url,
        '/auth/sign-out',
        { everywhere: '1' },
        { cookie: here.cookie },
      );
      assert.equal(response.status, 303);
      assert.equal(response.headers.location, '/auth/sign-in');

      const seen = upstream.requests.length;
      for (const cookie of [here.cookie, elsewhere.cookie]) {
        const navigation = await navigate(sidecar.url, '/app/page', cookie);
        assert.equal(navigation.status, 302, 'a browser session of the user');
      }
      const bearer = await request(sidecar.url)
        .get('/app/page')
        .set('Authorization', `Bearer ${accessToken}`);
      assertProblem(bearer, 401);
      const refreshed = await request(sidecar.url)
        .post('/auth/refresh')
        .set(JSON_HEADERS)
        .send({ refreshToken });
      assertProblem(refreshed, 401);
      assertNothingForwarded(upstream, seen);
    });
  });

  describe('pages', () => {
    /** The headers every page of the sidecar carries. */
    function assertPageHeaders(response: request.Response, where: string): void {
      assert.match(String(response.headers['content-type']), /^text\/html; charset=utf-8/, where);
      const csp = String(response.headers['content-security-policy']);
      assert.ok(!csp.includes('unsafe-inline'), `${where}: ${csp}`);
      for (const directive of ["default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"]) {
        assert.ok(csp.includes(directive), `${where}: CSP has ${directive}: ${csp}`);
      }
      assert.equal(response.headers['x-frame-options'], 'DENY', where);
      assert.equal(response.headers['referrer-policy'], 'no-referrer', where);
      assert.equal(response.headers['cache-control'], 'no-store', where);
    }

    it('every page carries the security headers', async () => {
      const { cookie } = await signInAs('alice');
      const pages: [string, number, request.Response][] = [
        ['the sign-in page', 200, await navigate(sidecar.url, '/auth/sign-in')],
        ['the sign-up page', 200, await navigate(sidecar.url, '/auth/sign-up')],
        ['the account page', 200, await navigate(sidecar.url, '/auth/account', cookie)],
        ['the sign-out confirm page', 200, await navigate(sidecar.url, '/auth/sign-out', cookie)],
        ['the 403 page', 403, await navigate(sidecar.url, '/admin/panel', cookie)],
        [
          'a failed sign-in',
          401,
          await postForm(sidecar.url, '/auth/sign-in', { username: 'alice', password: 'wrong-password' }),
        ],
        [
          'an empty sign-in',
          400,
          await postForm(sidecar.url, '/auth/sign-in', { username: '', password: '' }),
        ],
        [
          'a cross-site form post',
          403,
          await postForm(
            sidecar.url,
            '/auth/sign-in',
            { username: 'alice', password: PASSWORD },
            { headers: CROSS_SITE_POST },
          ),
        ],
      ];
      for (const [where, status, page] of pages) {
        assert.equal(page.status, status, where);
        assertPageHeaders(page, where);
      }
    });

    it('the account page says who is signed in and offers both sign-outs', async () => {
      const { cookie } = await signInAs('alice');
      const page = await navigate(sidecar.url, '/auth/account', cookie);
      assert.equal(page.status, 200);
      assert.match(page.text, /alice/);
      assert.match(page.text, /<form method="post" action="\/auth\/sign-out">/);
      assert.match(page.text, /name="everywhere" value="1"/);
    });

    it('a wrong password and an unknown user get 401 and the same message', async () => {
      const wrongPassword = await postForm(sidecar.url, '/auth/sign-in', {
        username: 'alice',
        password: 'not-her-password',
      });
      const unknownUser = await postForm(sidecar.url, '/auth/sign-in', {
        username: 'nobody-here',
        password: 'not-her-password',
      });
      assert.equal(wrongPassword.status, 401);
      assert.equal(unknownUser.status, 401);
      const message = alertText(wrongPassword.text);
      assert.ok(message, 'the page shows why');
      assert.equal(alertText(unknownUser.text), message);
      assert.equal(setCookieFor(wrongPassword, COOKIE), undefined);
    });

    it('empty fields get 400 with a message', async () => {
      const cases: Record<string, string>[] = [
        { username: '', password: PASSWORD },
        { username: 'alice', password: '' },
        {},
      ];
      for (const fields of cases) {
        const response = await postForm(sidecar.url, '/auth/sign-in', fields);
        assert.equal(response.status, 400, JSON.stringify(fields));
        assert.ok(alertText(response.text), 'the page shows why');
        assert.equal(setCookieFor(response, COOKIE), undefined);
      }
    });

    it('sign-up with a taken username is 409', async () => {
      const response = await postForm(sidecar.url, '/auth/sign-up', {
        username: 'alice',
        password: 'another-pass-9',
      });
      assert.equal(response.status, 409);
      assert.ok(alertText(response.text));
      assert.equal(setCookieFor(response, COOKIE), undefined);
    });

    it('sign-up with a weak password is 400 and spells the policy out', async () => {
      const response = await postForm(sidecar.url, '/auth/sign-up', {
        username: 'weak-one',
        password: 'short',
      });
      assert.equal(response.status, 400);
      assert.match(alertText(response.text) ?? '', /8/, 'the message names the minimum length');
      assert.match(response.text, /At least 8 characters/);
      assert.equal(await sidecar.deps.store.users.findByUsername('weak-one'), undefined);
    });

    it('sign-up that succeeds lands on rd signed in', async () => {
      const response = await postForm(sidecar.url, '/auth/sign-up', {
        username: 'newcomer',
        password: 'fresh-start-7',
        rd: '/app/welcome?first=1',
      });
      assert.equal(response.status, 303, response.text);
      assert.equal(response.headers.location, '/app/welcome?first=1');
      const cookie = cookieSetBy(response, COOKIE);

      const seen = upstream.requests.length;
      const landed = await navigate(sidecar.url, '/app/welcome?first=1', cookie);
      assert.equal(landed.status, 200);
      assert.equal(onlyForwardedSince(upstream, seen).headers['x-user'], 'newcomer');
    });

    it('a signed-in user without the role gets a 403 page naming the user and the role', async () => {
      const { cookie } = await signInAs('alice');
      const seen = upstream.requests.length;
      const page = await navigate(sidecar.url, '/admin/panel', cookie);
      assert.equal(page.status, 403);
      assert.match(page.text, /Signed in as <strong>alice<\/strong>/);
      assert.match(page.text, /<strong>admin<\/strong>/);

      const api = await request(sidecar.url).get('/admin/panel').set(SAME_ORIGIN_FETCH).set('Cookie', cookie);
      assertProblem(api, 403);
      assertNothingForwarded(upstream, seen);
    });

    it('an admin signed in through the form reaches the admin path', async () => {
      const { cookie } = await signInAs('root');
      const seen = upstream.requests.length;
      const page = await navigate(sidecar.url, '/admin/panel', cookie);
      assert.equal(page.status, 200);
      const forwarded = onlyForwardedSince(upstream, seen);
      assert.equal(forwarded.headers['x-user'], 'root');
      assert.equal(forwarded.headers['x-user-roles'], 'admin');
    });
  });

  describe('with registration disabled', () => {
    let closed: TestSidecar;

    before(async () => {
      closed = await startSidecar({
        upstreamUrl: upstream.url,
        config: { rules: RULES, browser: BROWSER, registration: { enabled: false } },
      });
    });
    after(() => closed.stop({ removeData: true }));

    it('the sign-up page is 404 and a posted sign-up is 403, nobody created', async () => {
      const page = await navigate(closed.url, '/auth/sign-up');
      assert.equal(page.status, 404);
      const posted = await postForm(closed.url, '/auth/sign-up', {
        username: 'intruder',
        password: 'let-me-in-99',
      });
      assert.equal(posted.status, 403);
      assert.equal(setCookieFor(posted, COOKIE), undefined);
      assert.equal(await closed.deps.store.users.findByUsername('intruder'), undefined);
    });

    it('the sign-in page offers no sign-up link', async () => {
      const page = await navigate(closed.url, '/auth/sign-in');
      assert.equal(page.status, 200);
      assert.ok(!page.text.includes('/auth/sign-up'), page.text);
    });
  });
});

describe('the session cookie’s attributes', () => {
  const configs: [string, Record<string, unknown>, RegExp][] = [
    [
      'secure (the default): __Host- prefix, Secure, SameSite=Lax, no Domain',
      {},
      /^__Host-auth-sidecar=[^;]+; Max-Age=(1799|1800); Path=\/; HttpOnly; SameSite=Lax; Secure$/,
    ],
    [
      'sameSite strict: SameSite=Strict',
      { cookie: { sameSite: 'strict' } },
      /^__Host-auth-sidecar=[^;]+; Max-Age=(1799|1800); Path=\/; HttpOnly; SameSite=Strict; Secure$/,
    ],
    [
      'secure false: plain name, no Secure',
      { cookie: { secure: false } },
      /^auth-sidecar=[^;]+; Max-Age=(1799|1800); Path=\/; HttpOnly; SameSite=Lax$/,
    ],
  ];

  for (const [name, browser, expected] of configs) {
    it(name, async () => {
      const upstream = await startUpstream();
      const sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { rules: RULES, browser } });
      try {
        await createUser(sidecar, 'alice', PASSWORD);
        const response = await postForm(sidecar.url, '/auth/sign-in', {
          username: 'alice',
          password: PASSWORD,
          rd: '/',
        });
        assert.equal(response.status, 303, response.text);
        const field = setCookieFor(response, sidecar.deps.browser?.cookie.name ?? '?');
        assert.ok(field, JSON.stringify(response.headers['set-cookie']));
        assert.match(field, expected);
        assert.doesNotMatch(field, /domain=/i);

        // The cookie, sent back under its name, is what lets the browser in.
        const seen = upstream.requests.length;
        const page = await navigate(sidecar.url, '/app/x', field.split(';')[0]);
        assert.equal(page.status, 200);
        assert.equal(onlyForwardedSince(upstream, seen).headers['x-user'], 'alice');
      } finally {
        await sidecar.stop({ removeData: true });
        await upstream.close();
      }
    });
  }
});

describe('brute-force limits shared by the form and POST /auth/login', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      config: {
        rules: RULES,
        browser: BROWSER,
        limits: { login: { perUsername: 3, perIp: 1000 } },
      },
    });
    await createUser(sidecar, 'form-first', PASSWORD);
    await createUser(sidecar, 'json-first', PASSWORD);
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  const jsonLogin = (username: string, password: string) =>
    request(sidecar.url).post('/auth/login').set(JSON_HEADERS).send({ username, password });

  it('three failed form sign-ins, then the JSON login with the right password is 429', async () => {
    for (let i = 0; i < 3; i++) {
      const failed = await postForm(sidecar.url, '/auth/sign-in', {
        username: 'form-first',
        password: 'guess-number-x',
      });
      assert.equal(failed.status, 401);
    }
    const response = await jsonLogin('form-first', PASSWORD);
    assertProblem(response, 429);
    assert.match(String(response.headers['retry-after']), /^\d+$/);
  });

  it('three failed JSON logins, then the form with the right password shows 429 with the wait', async () => {
    for (let i = 0; i < 3; i++) {
      const failed = await jsonLogin('json-first', 'guess-number-y');
      assertProblem(failed, 401);
    }
    const response = await postForm(sidecar.url, '/auth/sign-in', {
      username: 'json-first',
      password: PASSWORD,
    });
    assert.equal(response.status, 429);
    assert.match(String(response.headers['retry-after']), /^\d+$/);
    assert.match(alertText(response.text) ?? '', /Try again in \d+ (seconds|minutes)/);
    assert.equal(setCookieFor(response, COOKIE), undefined);
  });
});
