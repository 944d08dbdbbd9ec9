/**
 * `_method` overrides: Rack/Rails, Laravel, Symfony and Express's method-override serve a POST that
 * carries `_method=GET` as a GET. With the shipped rules (`/api/reports/** [GET, HEAD]` for
 * analysts, then `/api/**` for any user), a plain user's POST with `_method=GET` would reach the
 * analysts-only action. A `_method` query parameter is refused in every spelling; a form POST is
 * decided as every method its body could name, so it passes only where each of them would.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** Spellings of the name that a framework reads as `_method`. */
const QUERY_OVERRIDES: readonly [string, string][] = [
  ['the plain name', '?_method=GET'],
  ['upper case', '?_METHOD=GET'],
  ['mixed case after another parameter', '?a=1&_Method=GET'],
  ['an encoded underscore', '?%5Fmethod=GET'],
  ['a lower-case encoded underscore and encoded letters', '?%5f%6D%65thod=GET'],
  ['a ; separator (older Rack)', '?a=1;_method=GET'],
  ['an array suffix', '?_method[]=GET'],
  ['a dot that PHP folds to _', '?.method=GET'],
  ['an encoded dot that PHP folds to _', '?%2Emethod=GET'],
  ['no value', '?_method'],
];

const FORM = 'application/x-www-form-urlencoded';

describe('method overrides', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let user: SeededUser;
  let analyst: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    // The default rules of startSidecar are the shipped ones: /api/reports/** [GET, HEAD] for
    // analysts and admins, then /api/** for any signed-in user.
    sidecar = await startSidecar({ upstreamUrl: upstream.url });
    user = await seedUser(sidecar, 'override-user', ['user']);
    analyst = await seedUser(sidecar, 'override-analyst', ['analyst']);
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  function post(who: SeededUser | undefined, target: string, body?: string, type?: string) {
    const headers: [string, string][] = [];
    if (who) headers.push(['Authorization', `Bearer ${who.token}`]);
    if (type) headers.push(['Content-Type', type]);
    return rawRequest(sidecar.url, { method: 'POST', target, headers, ...(body !== undefined && { body }) });
  }

  describe('a _method query parameter', () => {
    for (const [name, query] of QUERY_OVERRIDES) {
      it(`is refused with 400 invalid_request when spelled with ${name} (${query}), and never forwarded`, async () => {
        const seen = upstream.requests.length;
        const problem = assertRefused(await post(user, `/api/reports/q1${query}`), 400, 'invalid_request');
        assert.match(String(problem.detail), /_method/);
        assertNothingForwarded(upstream, seen);
      });
    }

    it('is refused on a GET too, even for an analyst', async () => {
      const seen = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        target: '/api/reports/q1?_method=DELETE',
        headers: [['Authorization', `Bearer ${analyst.token}`]],
      });
      assertRefused(response, 400, 'invalid_request');
      assertNothingForwarded(upstream, seen);
    });

    it('leaves other parameters alone: ?method=GET&_methods=x is forwarded as sent', async () => {
      const seen = upstream.requests.length;
      const response = await post(user, '/api/items?method=GET&_methods=x&q=%5Fmeth');
      assert.equal(response.status, 200, response.raw);
      assert.equal(onlyForwardedSince(upstream, seen).url, '/api/items?method=GET&_methods=x&q=%5Fmeth');
    });
  });

  describe('a form POST, whose body may carry _method', () => {
    it('is refused to a plain user with 403 on a path whose GET is for analysts, and never forwarded', async () => {
      const seen = upstream.requests.length;
      const problem = assertRefused(
        await post(user, '/api/reports/q1', '_method=GET', FORM),
        403,
        'forbidden',
      );
      assert.match(String(problem.detail), /_method/);
      assertNothingForwarded(upstream, seen);
    });

    it('is refused the same way as multipart/form-data', async () => {
      const seen = upstream.requests.length;
      const body = '--b\r\nContent-Disposition: form-data; name="_method"\r\n\r\nGET\r\n--b--\r\n';
      assertRefused(
        await post(user, '/api/reports/q1', body, 'multipart/form-data; boundary=b'),
        403,
        'forbidden',
      );
      assertNothingForwarded(upstream, seen);
    });

    it('is refused the same way with a body and no Content-Type (Rack reads that as a form)', async () => {
      const seen = upstream.requests.length;
      assertRefused(await post(user, '/api/reports/q1', '_method=GET'), 403, 'forbidden');
      assertNothingForwarded(upstream, seen);
    });

    it('is refused to an anonymous caller with 401, as every method on /api is', async () => {
      const seen = upstream.requests.length;
      assertRefused(await post(undefined, '/api/reports/q1', '_method=GET', FORM), 401, 'unauthenticated');
      assertNothingForwarded(upstream, seen);
    });

    it('is forwarded for an analyst, whom every method on the path allows, with its body intact', async () => {
      const seen = upstream.requests.length;
      const response = await post(analyst, '/api/reports/q1', '_method=GET&x=1', FORM);
      assert.equal(response.status, 200, response.raw);
      const forwarded = onlyForwardedSince(upstream, seen);
      assert.equal(forwarded.method, 'POST');
      assert.equal(forwarded.url, '/api/reports/q1');
      assert.equal(forwarded.bodyBytes, '_method=GET&x=1'.length);
    });

    it('is forwarded for a plain user where every method is open to any user (/api/items)', async () => {
      const seen = upstream.requests.length;
      const response = await post(user, '/api/items', 'name=x', FORM);
      assert.equal(response.status, 200, response.raw);
      assert.equal(onlyForwardedSince(upstream, seen).url, '/api/items');
    });

    it('leaves a JSON POST to /api/reports decided by its own method: forwarded for a plain user', async () => {
      const seen = upstream.requests.length;
      const response = await post(user, '/api/reports/q1', '{"_method":"GET"}', 'application/json');
      assert.equal(response.status, 200, response.raw);
      assert.equal(onlyForwardedSince(upstream, seen).method, 'POST');
    });
  });

  describe('through forward-auth (/auth/verify)', () => {
    function verify(who: SeededUser, uri: string, type?: string) {
      const headers: [string, string][] = [
        ['Authorization', `Bearer ${who.token}`],
        ['X-Original-Method', 'POST'],
        ['X-Original-URI', uri],
      ];
      if (type) headers.push(['Content-Type', type]);
      return rawRequest(sidecar.url, { target: '/auth/verify', headers });
    }

    it('answers 400 to a question whose URI carries _method, and nothing is forwarded', async () => {
      const seen = upstream.requests.length;
      assertRefused(await verify(user, '/api/reports/q1?_method=GET'), 400, 'invalid_request');
      assertNothingForwarded(upstream, seen);
    });

    it('answers 403 to a plain user whose original request is a form POST to /api/reports', async () => {
      assertRefused(await verify(user, '/api/reports/q1', FORM), 403, 'forbidden');
      const allowed = await verify(user, '/api/reports/q1', 'application/json');
      assert.equal(allowed.status, 200, allowed.raw);
    });
  });

  it('strips X-HTTP-Method-Override, X-HTTP-Method and X-Method-Override before forwarding', async () => {
    const seen = upstream.requests.length;
    const response = await rawRequest(sidecar.url, {
      method: 'POST',
      target: '/api/reports/q1',
      headers: [
        ['Authorization', `Bearer ${user.token}`],
        ['Content-Type', 'application/json'],
        ['X-HTTP-Method-Override', 'GET'],
        ['X-HTTP-Method', 'GET'],
        ['X-Method-Override', 'GET'],
      ],
      body: '{}',
    });
    assert.equal(response.status, 200, response.raw);
    const forwarded = onlyForwardedSince(upstream, seen);
    for (const name of ['x-http-method-override', 'x-http-method', 'x-method-override']) {
      assert.equal(forwarded.headers[name], undefined, `${name} is not forwarded`);
    }
  });
});
