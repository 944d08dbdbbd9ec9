/**
 * Methods outside a short list: WebDAV servers act on MOVE, COPY, PROPFIND, MKCOL, LOCK..., caches
 * on PURGE, and QUERY, SEARCH and REPORT read. A rule could only name GET...CONNECT, so a protected
 * rule for the writes let every other method through to the next, public rule. Now a rule (and a
 * policy test) names any RFC 9110 method token, and the lint names the methods that fall through.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** Methods Node's parser accepts that a WebDAV server, a cache or a QUERY-aware backend acts on. */
const OTHER_METHODS = [
  'MOVE',
  'COPY',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'LOCK',
  'UNLOCK',
  'PURGE',
  'SEARCH',
  'QUERY',
  'REPORT',
  'ACL',
] as const;
const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];

describe('methods outside GET...CONNECT', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar | undefined;
  let admin: SeededUser;

  /** The sidecar the rules under test started; fails the test when they were refused. */
  function running(): TestSidecar {
    assert.ok(sidecar, 'the sidecar started with rules naming these methods');
    return sidecar;
  }

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      config: {
        rules: [
          // Lower-case is upper-cased: `move` names MOVE.
          { path: '/files/**', methods: [...WRITES, ...OTHER_METHODS.slice(1), 'move'], roles: ['admin'] },
          { path: '/files/**', public: true },
        ],
        tests: [
          { request: 'PROPFIND /files/a', expect: 401 },
          { request: 'purge /files/a', as: { roles: ['admin'] }, expect: 'forward' },
          { request: 'GET /files/a', expect: 'forward' },
        ],
      },
    });
    admin = await seedUser(sidecar, 'webdav-admin', ['admin']);
  });
  after(async () => {
    await upstream.close();
    await sidecar?.stop({ removeData: true });
  });

  for (const method of OTHER_METHODS) {
    it(`a rule naming ${method} answers an anonymous ${method} /files/report.pdf with 401 and forwards nothing`, async () => {
      const seen = upstream.requests.length;
      const response = await rawRequest(running().url, { method, target: '/files/report.pdf' });
      assertRefused(response, 401, 'unauthenticated');
      assertNothingForwarded(upstream, seen);
    });
  }

  it('forwards MOVE from an admin with its method and path unchanged', async () => {
    const seen = upstream.requests.length;
    const response = await rawRequest(running().url, {
      method: 'MOVE',
      target: '/files/a.txt',
      headers: [
        ['Authorization', `Bearer ${admin.token}`],
        ['Destination', '/files/b.txt'],
      ],
    });
    assert.equal(response.status, 200, response.raw);
    const forwarded = onlyForwardedSince(upstream, seen);
    assert.equal(forwarded.method, 'MOVE');
    assert.equal(forwarded.url, '/files/a.txt');
    assert.equal(forwarded.headers['x-user'], 'webdav-admin');
  });

  it('still forwards an anonymous GET to the public rule', async () => {
    const seen = upstream.requests.length;
    const response = await rawRequest(running().url, { target: '/files/a.txt' });
    assert.equal(response.status, 200, response.raw);
    assert.equal(onlyForwardedSince(upstream, seen).method, 'GET');
  });

  it('lints the writes-only rule before a public one, naming the methods that fall through', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-methods-'));
    try {
      const file = join(dir, 'auth-sidecar.yaml');
      await writeFile(
        file,
        stringify({
          rules: [
            { path: '/files/**', methods: WRITES, roles: ['admin'] },
            { path: '/files/**', public: true },
          ],
        }),
      );
      const loaded = await loadConfig({ path: file, requireSecret: false });
      const warnings = loaded.warnings ?? [];
      assert.equal(warnings.length, 1, warnings.join('\n'));
      const [warning = ''] = warnings;
      assert.match(warning, /:\d+ rules\[0\]: only POST, PUT, PATCH, DELETE are protected here: /);
      for (const method of ['GET', 'HEAD', 'OPTIONS', ...OTHER_METHODS]) {
        assert.match(warning, new RegExp(`[ :]${method}[,]`), `${method} is named`);
      }
      assert.match(
        warning,
        /and every other method reach \/files\/\*\* as public through the later rule rules\[1\]/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
