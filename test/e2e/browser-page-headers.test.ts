import assert from 'node:assert/strict';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  PAGE_HEADERS,
  sendPage,
  sendStylesheet,
  STYLESHEET_HEADERS,
} from '../../src/browser/pages/send-page.js';
import { signInPage } from '../../src/browser/pages/sign-in-page.js';
import { STYLESHEET } from '../../src/browser/pages/stylesheet.js';

describe('sendPage and sendStylesheet, on a real server', () => {
  let server: Server;
  let base: string;
  const html = signInPage({ title: 'Sign in', returnPath: '/', signUpAvailable: false });

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/style.css') return sendStylesheet(res);
      if (req.url === '/busy') return sendPage(res, 503, html, { 'Retry-After': '5' });
      if (req.url === '/misuse') return misuse(res);
      res.setHeader('Set-Cookie', 'a=b');
      sendPage(res, 200, html);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function misuse(res: ServerResponse): void {
    try {
      sendPage(res, 200, html, { 'cache-control': 'public' });
    } catch (err) {
      res.statusCode = err instanceof TypeError ? 599 : 598;
      res.end();
    }
  }

  it('sends the page with every page header, its type and length, keeping headers set before', async () => {
    const response = await fetch(`${base}/`);
    assert.equal(response.status, 200);
    for (const [name, value] of Object.entries(PAGE_HEADERS))
      assert.equal(response.headers.get(name), value, name);
    assert.equal(response.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(html)));
    assert.equal(response.headers.get('set-cookie'), 'a=b');
    assert.equal(await response.text(), html);
  });

  it('sends a CSP without unsafe-inline that allows no script, no framing and forms only to itself', () => {
    const csp = PAGE_HEADERS['Content-Security-Policy'] ?? '';
    assert.doesNotMatch(csp, /unsafe-inline|script-src/);
    for (const directive of [
      "default-src 'none'",
      "style-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ]) {
      assert.ok(csp.includes(directive), directive);
    }
  });

  it('answers HEAD with the same headers and no body', async () => {
    const response = await fetch(`${base}/`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-length'), String(Buffer.byteLength(html)));
    assert.equal(response.headers.get('x-frame-options'), 'DENY');
    assert.equal(await response.text(), '');
  });

  it('sends the status given and extra headers beside the page headers', async () => {
    const response = await fetch(`${base}/busy`);
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('retry-after'), '5');
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });

  it('refuses with a TypeError an extra header that would replace a page header', async () => {
    assert.equal((await fetch(`${base}/misuse`)).status, 599);
  });

  it('sends the stylesheet as CSS, cacheable for an hour, and 304 to a browser that has it', async () => {
    const response = await fetch(`${base}/style.css`);
    assert.equal(response.status, 200);
    for (const [name, value] of Object.entries(STYLESHEET_HEADERS))
      assert.equal(response.headers.get(name), value, name);
    assert.equal(await response.text(), STYLESHEET);
    const etag = response.headers.get('etag') ?? '';
    const again = await fetch(`${base}/style.css`, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(await again.text(), '');
  });
});
