/**
 * `npm run demo`'s parts: the echo backend answers a browser with a small HTML page of the identity
 * headers it received and everything else with JSON, and config/demo.yaml turns browser sign-in on
 * over plain http while the example config operators copy keeps the Secure cookie.
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { listenEchoBackend, prefersHtml, type EchoedRequest } from '../../src/demo/echo-backend.js';
import { makeWorkDir, removeWorkDir, REPO_ROOT, runCli } from '../helpers/cli-process.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';

const CHROME_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8';

describe('the demo echo backend', () => {
  let server: Server;
  let url: string;

  before(async () => {
    ({ server, url } = await listenEchoBackend(0));
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it('answers a browser with an HTML page of the method, path and identity headers, escaped', async () => {
    const response = await fetch(`${url}/reports?a=1&b=2`, {
      headers: {
        Accept: CHROME_ACCEPT,
        'X-User': '<script>alert(1)</script>',
        'X-User-Id': 'u-1',
        'X-User-Roles': 'user,admin',
      },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/]+=*'$/);
    const html = await response.text();
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the username is escaped');
    assert.ok(!html.includes('<script'), 'no script at all');
    assert.ok(html.includes('/reports?a=1&amp;b=2'), 'the path is shown, escaped');
    for (const shown of ['GET', 'u-1', 'user,admin', 'X-User-Roles', 'href="/auth/account"']) {
      assert.ok(html.includes(shown), `the page shows ${shown}`);
    }
  });

  it('says (none) for an identity header it did not receive', async () => {
    const html = await (await fetch(url, { headers: { Accept: 'text/html' } })).text();
    assert.match(html, /<th scope="row">X-User<\/th><td>\(none\)<\/td>/);
  });

  for (const [client, accept] of [
    ['curl and fetch() (*/*)', '*/*'],
    ['an API client', 'application/json'],
    ['a client that sends no Accept', undefined],
    ['a client that ranks JSON above HTML', 'application/json, text/html;q=0.5'],
  ] as const) {
    it(`answers ${client} with the JSON description of the request`, async () => {
      const response = await fetch(`${url}/api/hello`, {
        method: 'POST',
        body: 'four',
        headers: { 'X-User': 'alice', ...(accept === undefined ? {} : { Accept: accept }) },
      });
      if (accept === undefined) assert.equal(response.headers.get('content-type'), 'application/json');
      const echoed = (await response.json()) as EchoedRequest;
      assert.equal(echoed.method, 'POST');
      assert.equal(echoed.url, '/api/hello');
      assert.equal(echoed.headers['x-user'], 'alice');
      assert.equal(echoed.bodyBytes, 4);
    });
  }

  it('ranks text/html against application/json by q, then by order', () => {
    const cases: [string | undefined, boolean][] = [
      [CHROME_ACCEPT, true],
      ['text/html', true],
      ['TEXT/HTML;q=0.9, application/json;q=0.8', true],
      ['application/json, text/html', false],
      ['text/html, application/json', true],
      ['text/html;q=0', false],
      ['text/html;q=0.5, application/json', false],
      ['text/*', false],
      ['*/*', false],
      ['', false],
      [undefined, false],
    ];
    for (const [accept, html] of cases) assert.equal(prefersHtml(accept), html, String(accept));
  });
});

describe('the demo config', () => {
  const demoConfig = join(REPO_ROOT, 'config/demo.yaml');

  it('turns browser sign-in on over plain http, with registration and / for a signed-in user', async () => {
    const { config } = await loadConfig({ path: demoConfig, env: { JWT_SECRET: TEST_JWT_SECRET } });
    assert.equal(config.browser.enabled, true);
    assert.equal(config.browser.cookie.secure, false);
    assert.equal(config.registration.enabled, true);
    assert.deepEqual(config.rules[0], { path: '/', authenticated: true });
  });

  it("leaves the example config's cookie Secure", async () => {
    const example = join(REPO_ROOT, 'config/auth-sidecar.yaml');
    const { config } = await loadConfig({ path: example, env: { JWT_SECRET: TEST_JWT_SECRET } });
    assert.equal(config.browser.cookie.secure, true);
  });

  it('passes its own policy tests', { timeout: 60_000 }, async () => {
    const cwd = await makeWorkDir();
    try {
      const result = await runCli(['test-config', '--config', demoConfig], { cwd });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^\d+ passed, 0 failed$/m);
    } finally {
      await removeWorkDir(cwd);
    }
  });
});
