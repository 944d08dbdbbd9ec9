/**
 * Browser sign-in in a real, headless Chromium: a person opens a protected page, signs in, uses the
 * app, is attacked from another origin, and signs out. Every step is judged by what the backend saw.
 * Screenshots of the sign-in and account pages go to test-artifacts/.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { register } from '../helpers/auth-client.js';
import { rawRequest } from '../helpers/raw-http.js';
import { chromiumSkipReason, launchChromium, saveScreenshot, type TestBrowser } from '../helpers/chromium.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';

const USERNAME = 'alice';
const PASSWORD = 'wonderland-42';
/** With `secure: false` the cookie goes without the __Host- prefix. */
const COOKIE_NAME = 'auth-sidecar';
const PROTECTED = '/app/page?x=1&y=2';

const RULES = [
  { path: '/public/**', public: true },
  { path: '/app/**', authenticated: true },
  { path: '/ws/**', authenticated: true },
];

/** The session cookie's value as the browser holds it, or undefined when it holds none. */
async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies()).find((cookie) => cookie.name === COOKIE_NAME)?.value;
}

/**
 * Opens a WebSocket from inside `page`; resolves with `open`, `refused` when it closes first, or
 * `timeout` after 5 s.
 */
function openSocketIn(page: Page, url: string): Promise<string> {
  return page.evaluate(
    (target) =>
      new Promise<string>((resolve) => {
        setTimeout(() => resolve('timeout'), 5000);
        const socket = new WebSocket(target);
        socket.addEventListener('open', () => {
          socket.close();
          resolve('open');
        });
        socket.addEventListener('close', () => resolve('refused'));
      }),
    url,
  );
}

/**
 * Another origin's pages: /form auto-submits a form POST to the sidecar's /app/transfer, /socket
 * opens a WebSocket to its /ws/feed and puts the outcome in the document title.
 */
async function startAttacker(sidecarUrl: string): Promise<{ server: Server; port: number }> {
  const wsUrl = `${sidecarUrl.replace('http:', 'ws:')}/ws/feed`;
  const pages: Record<string, string> = {
    '/form': `<form method="post" action="${sidecarUrl}/app/transfer">
<input name="to" value="mallory"><input name="amount" value="1000"></form>
<script>document.forms[0].submit();</script>`,
    '/socket': `<title>pending</title>
<script>
const socket = new WebSocket(${JSON.stringify(wsUrl)});
socket.onopen = () => { document.title = 'open'; };
socket.onclose = () => { if (document.title === 'pending') document.title = 'refused'; };
</script>`,
  };
  const server = createServer((req, res) => {
    const html = pages[req.url ?? ''];
    res.writeHead(html === undefined ? 404 : 200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html>${html ?? ''}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('browser sign-in in a real Chromium', { skip: chromiumSkipReason }, () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let chromium: TestBrowser;
  let context: BrowserContext;
  let page: Page;
  let attacker: { server: Server; port: number };
  /** The session cookie while signed in, kept to replay it after sign-out. */
  let signedInCookie: string | undefined;

  /** What reached the upstream from index `from` on. */
  const seenSince = (from: number): RecordedRequest[] => upstream.requests.slice(from);
  const pathOf = (url: string) => new URL(url).pathname;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      config: {
        rules: RULES,
        browser: { cookie: { secure: false } },
        websocket: { queryToken: false },
      },
    });
    await register(sidecar.url, USERNAME, PASSWORD);
    attacker = await startAttacker(sidecar.url);
    chromium = await launchChromium();
    context = await chromium.browser.newContext();
    // Another cookie of the sidecar's site: it reaches the backend, the session cookie never does.
    await context.addCookies([{ name: 'theme', value: 'dark', url: sidecar.url }]);
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await chromium?.close();
    if (attacker) {
      attacker.server.closeAllConnections();
      await new Promise((resolve) => attacker.server.close(resolve));
    }
    await sidecar?.stop({ removeData: true });
    await upstream?.close();
  });

  it('sends a protected page to the sign-in form, with the path and query to come back to', async () => {
    const seen = upstream.requests.length;
    const response = await page.goto(`${sidecar.url}${PROTECTED}`);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/auth/sign-in');
    assert.equal(url.searchParams.get('rd'), PROTECTED);
    assert.equal(response?.status(), 200);
    assert.ok(await page.getByRole('heading', { name: 'Sign in' }).isVisible(), 'the heading says Sign in');
    assert.ok(await page.getByLabel(/^username$/i).isVisible(), 'a visible field labelled Username');
    assert.ok(await page.getByLabel(/^password$/i).isVisible(), 'a visible field labelled Password');
    assert.ok(await page.getByRole('button', { name: /^sign in$/i }).isVisible(), 'a Sign in button');
    await saveScreenshot(page, 'sign-in');
    assert.deepEqual(seenSince(seen), [], 'nothing reached the backend');
  });

  it('signs in with the keyboard and lands on the original page, which the backend sees as the user', async () => {
    const seen = upstream.requests.length;
    await page.getByLabel(/^username$/i).fill(USERNAME);
    await page.getByLabel(/^password$/i).fill(PASSWORD);
    await Promise.all([page.waitForURL(`${sidecar.url}${PROTECTED}`), page.keyboard.press('Enter')]);

    signedInCookie = await sessionCookie(context);
    assert.ok(signedInCookie, 'the browser holds the session cookie');
    const cookie = (await context.cookies()).find(({ name }) => name === COOKIE_NAME);
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Lax');
    assert.equal(cookie?.path, '/');

    const forwarded = seenSince(seen);
    assert.deepEqual(
      forwarded.map(({ method, url }) => `${method} ${url}`),
      [`GET ${PROTECTED}`],
    );
    assert.equal(forwarded[0]?.headers['x-user'], USERNAME);
    assert.equal(
      forwarded[0]?.headers.cookie,
      'theme=dark',
      'other cookies pass, the session cookie does not',
    );
  });

  it('keeps the session on reload', async () => {
    const seen = upstream.requests.length;
    const response = await page.reload();
    assert.equal(response?.status(), 200);
    assert.equal(page.url(), `${sidecar.url}${PROTECTED}`);
    assert.equal(seenSince(seen)[0]?.headers['x-user'], USERNAME);
  });

  it('serves 30 parallel fetches from the page, all as the user, and stays signed in', async () => {
    const seen = upstream.requests.length;
    const statuses = await page.evaluate(() =>
      Promise.all(
        Array.from({ length: 30 }, (_, i) => fetch(`/app/item/${i}`).then((response) => response.status)),
      ),
    );
    assert.deepEqual(statuses, Array<number>(30).fill(200));
    const forwarded = seenSince(seen);
    assert.equal(forwarded.length, 30);
    assert.ok(forwarded.every((recorded) => recorded.headers['x-user'] === USERNAME));
    assert.equal((await page.reload())?.status(), 200);
    assert.equal(page.url(), `${sidecar.url}${PROTECTED}`);
  });

  it('lets a WebSocket from its own origin through as the user', async () => {
    const seen = upstream.requests.length;
    // The recording backend does not speak WebSocket: what matters is that the upgrade reached it.
    await openSocketIn(page, `${sidecar.url.replace('http:', 'ws:')}/ws/feed`);
    const upgrades = seenSince(seen).filter((recorded) => recorded.headers.upgrade === 'websocket');
    assert.equal(upgrades.length, 1, 'the upgrade reached the backend');
    assert.equal(upgrades[0]?.url, '/ws/feed');
    assert.equal(upgrades[0]?.headers['x-user'], USERNAME);
  });

  for (const { site, host, status } of [
    // Same site, another port: SameSite=Lax sends the cookie; the sidecar's origin check refuses it.
    { site: 'another port of the same host', host: '127.0.0.1', status: 403 },
    // Another site: a Lax cookie is not sent on a cross-site POST or WebSocket at all.
    { site: 'another site', host: 'localhost', status: 401 },
  ]) {
    it(`does not let a page on ${site} POST a form or open a WebSocket as the user`, async () => {
      assert.ok(signedInCookie, 'signed in before the attack');
      const origin = `http://${host}:${attacker.port}`;
      const seen = upstream.requests.length;
      const logged = sidecar.logs.lines.length;
      const attack = await context.newPage();
      try {
        const [answer] = await Promise.all([
          attack.waitForResponse((response) => pathOf(response.url()) === '/app/transfer'),
          attack.goto(`${origin}/form`),
        ]);
        assert.equal(answer.status(), status, 'the form POST is refused');

        await attack.goto(`${origin}/socket`);
        await attack.waitForFunction("document.title !== 'pending'");
        assert.equal(await attack.title(), 'refused');
      } finally {
        await attack.close();
      }
      assert.deepEqual(
        seenSince(seen).map(({ method, url }) => `${method} ${url}`),
        [],
        'neither the POST nor the upgrade reached the backend',
      );
      if (status === 403) {
        const refused = sidecar.logs.entries
          .slice(logged)
          .filter((entry) => entry.event === 'auth.denied' && entry.reason === 'cross_origin')
          .map((entry) => entry.path);
        assert.deepEqual(refused.sort(), ['/app/transfer', '/ws/feed'], 'both refused as cross-origin');
      }
      assert.equal(await sessionCookie(context), signedInCookie, 'and the user is still signed in');
    });
  }

  it('shows the account page and signs out with its button; the protected page asks to sign in again', async () => {
    await page.goto(`${sidecar.url}/auth/account`);
    assert.ok(await page.getByText(USERNAME).first().isVisible(), 'the page names the user');
    await saveScreenshot(page, 'account');

    await Promise.all([
      page.waitForURL((url) => url.pathname === '/auth/sign-in'),
      page.getByRole('button', { name: 'Sign out', exact: true }).click(),
    ]);
    assert.equal(await sessionCookie(context), undefined, 'the cookie is cleared');
    assert.ok(
      sidecar.logs.entries.some((entry) => entry.event === 'auth.session.end' && entry.reason === 'sign_out'),
      'the sign-out is audited',
    );

    const seen = upstream.requests.length;
    await page.goto(`${sidecar.url}${PROTECTED}`);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/auth/sign-in');
    assert.equal(url.searchParams.get('rd'), PROTECTED);
    assert.deepEqual(seenSince(seen), []);
  });

  it('refuses the old cookie replayed by a plain client: 302 to sign-in for a page, 401 for JSON', async () => {
    const ticket = signedInCookie;
    assert.ok(ticket);
    const seen = upstream.requests.length;
    // Raw HTTP, as curl sends it: no Fetch Metadata, so Accept alone tells a page from an API call.
    const replay = (accept: string) =>
      rawRequest(sidecar.url, {
        target: PROTECTED,
        headers: [
          ['Cookie', `${COOKIE_NAME}=${ticket}`],
          ['Accept', accept],
        ],
      });

    const navigation = await replay('text/html');
    assert.equal(navigation.status, 302);
    const location = navigation.headers.location ?? '';
    assert.match(location, /^\/auth\/sign-in\?/, 'a relative Location to the sign-in page');
    assert.equal(new URL(location, sidecar.url).searchParams.get('rd'), PROTECTED);
    assert.equal((await replay('application/json')).status, 401);
    // fetch() says Sec-Fetch-Mode: cors: never a navigation, whatever it accepts.
    const fetched = await fetch(`${sidecar.url}${PROTECTED}`, {
      headers: { Cookie: `${COOKIE_NAME}=${ticket}`, Accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(fetched.status, 401);
    assert.deepEqual(seenSince(seen), [], 'the backend saw none of them');
  });

  it('never let the session cookie reach the backend or the logs', () => {
    const ticket = signedInCookie;
    assert.ok(ticket);
    for (const recorded of upstream.requests) {
      assert.ok(!recorded.rawHeaders.some((value) => value.includes(ticket)), recorded.url);
    }
    assert.ok(!sidecar.logs.text.includes(ticket), 'the cookie value is never logged');
  });
});
