/**
 * Spellings a backend reads as another path, and methods that echo the request back. A path that
 * holds `%25` before two hex digits reaches `/admin` on a backend that decodes twice; one that
 * NFKC normalization changes (`．．`, `／`, `ａdmin`) reaches it on a backend that normalizes
 * Unicode; TRACE and TRACK reflect credentials (cross-site tracing). Each is refused in the shared
 * decision, so a proxied request, a WebSocket upgrade and a forward-auth question meet the same
 * refusal, and nothing reaches the upstream. The `match` switches let the two spellings through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { connect, startEchoUpstream, type EchoUpstream } from '../helpers/websocket.js';

interface Spelling {
  readonly name: string;
  /** Under the public `/public/**`, so only the spelling can refuse it. */
  readonly target: string;
}

const DOUBLE_ENCODED: readonly Spelling[] = [
  {
    name: 'an encoded dot-dot encoded again (%252e%252e) reads as /admin',
    target: '/public/%252e%252e/admin/x',
  },
  { name: 'an encoded slash encoded again (..%252f) reads as /admin', target: '/public/..%252fadmin/x' },
  { name: 'an upper-case double escape (%252E%252E) counts too', target: '/public/%252E%252E/admin/x' },
];

const NOT_NFKC: readonly Spelling[] = [
  { name: 'fullwidth dots (．．) fold into a dot-dot', target: '/public/%EF%BC%8E%EF%BC%8E/admin/x' },
  { name: 'a fullwidth solidus (／) folds into a slash', target: '/public/x%EF%BC%8Fadmin' },
  { name: 'a fullwidth letter (ａdmin) folds into admin', target: '/public/%EF%BD%81dmin' },
];

/** Spellings that stay allowed by default: no false positives. */
const UNAMBIGUOUS: readonly Spelling[] = [
  { name: 'an encoded percent before non-hex (100%25)', target: '/public/100%25' },
  { name: 'an encoded percent before one hex digit (%25a)', target: '/public/%25a' },
  { name: 'a composed non-ASCII letter (ü) that NFKC keeps', target: '/public/%C3%BC' },
];

const TRACING = ['TRACE', 'TRACK'] as const;

const UPGRADE_HEADERS: readonly (readonly [string, string])[] = [
  ['Connection', 'Upgrade'],
  ['Upgrade', 'websocket'],
  ['Sec-WebSocket-Version', '13'],
  ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
];

/** A proxied request, an upgrade and a forward-auth question, each on its own sidecar. */
interface Setup {
  readonly http: TestSidecar;
  readonly ws: TestSidecar;
  readonly upstream: TestUpstream;
  readonly echo: EchoUpstream;
}

async function startSetup(match: Record<string, unknown>): Promise<Setup> {
  const upstream = await startUpstream();
  const echo = await startEchoUpstream();
  const http = await startSidecar({ upstreamUrl: upstream.url, config: { match } });
  const ws = await startSidecar({ upstreamUrl: echo.url, config: { match } });
  return { http, ws, upstream, echo };
}

async function stopSetup(setup: Setup): Promise<void> {
  await setup.http.stop({ removeData: true });
  await setup.ws.stop({ removeData: true });
  await setup.upstream.close();
  await setup.echo.close();
}

function verify(sidecar: TestSidecar, method: string, uri: string): Promise<RawResponse> {
  return rawRequest(sidecar.url, {
    target: '/auth/verify',
    headers: [
      ['X-Original-Method', method],
      ['X-Original-URI', uri],
    ],
  });
}

/** Opens an upgrade through the sidecar and closes it; returns the path the backend saw. */
async function upgradeThrough(setup: Setup, target: string): Promise<string | undefined> {
  const before = setup.echo.upgrades.length;
  const socket = await connect(`${setup.ws.url.replace('http:', 'ws:')}${target}`);
  if (!(socket instanceof WebSocket)) assert.fail(`the upgrade to ${target} was refused with ${socket}`);
  socket.close();
  return setup.echo.upgrades[before]?.url;
}

describe('path holes: ambiguous spellings and tracing methods', () => {
  describe('by default', () => {
    let setup: Setup;
    before(async () => {
      setup = await startSetup({});
    });
    after(() => stopSetup(setup));

    for (const { name, target } of [...DOUBLE_ENCODED, ...NOT_NFKC]) {
      it(`${name}: 400 through a proxied request, an upgrade and forward-auth, nothing forwarded`, async () => {
        const seen = setup.upstream.requests.length;
        const upgrades = setup.echo.upgrades.length;
        assertRefused(await rawRequest(setup.http.url, { target }), 400, 'invalid_path');
        assertRefused(
          await rawRequest(setup.ws.url, { target, headers: UPGRADE_HEADERS }),
          400,
          'invalid_path',
        );
        assertRefused(await verify(setup.http, 'GET', target), 400, 'invalid_path');
        assertNothingForwarded(setup.upstream, seen);
        assert.equal(setup.echo.upgrades.length, upgrades, 'the WebSocket backend saw no upgrade');
      });
    }

    for (const method of TRACING) {
      it(`${method} is refused through a proxied request, an upgrade and forward-auth, nothing forwarded`, async () => {
        const seen = setup.upstream.requests.length;
        const upgrades = setup.echo.upgrades.length;
        // Node's HTTP parser knows no TRACK and answers it 400 itself; forward-auth names it in a header.
        const [status, code] = method === 'TRACE' ? [405, 'method_not_allowed'] : [400, 'invalid_request'];
        assertRefused(await rawRequest(setup.http.url, { method, target: '/public/x' }), status, code);
        assertRefused(
          await rawRequest(setup.ws.url, { method, target: '/public/x', headers: UPGRADE_HEADERS }),
          status,
          code,
        );
        const problem = assertRefused(
          await verify(setup.http, method, '/public/x'),
          405,
          'method_not_allowed',
        );
        assert.match(String(problem.detail), /TRACE and TRACK are refused/);
        assertNothingForwarded(setup.upstream, seen);
        assert.equal(setup.echo.upgrades.length, upgrades, 'the WebSocket backend saw no upgrade');
      });
    }

    for (const { name, target } of UNAMBIGUOUS) {
      it(`${name} is still forwarded as it is, and answered 200 by forward-auth`, async () => {
        const seen = setup.upstream.requests.length;
        const response = await rawRequest(setup.http.url, { target });
        assert.equal(response.status, 200, response.raw);
        assert.equal(onlyForwardedSince(setup.upstream, seen).url, target);
        assert.equal(await upgradeThrough(setup, target), target);
        assert.equal((await verify(setup.http, 'GET', target)).status, 200);
      });
    }
  });

  const SWITCHES = [
    { key: 'allowEncodedPercent', spellings: DOUBLE_ENCODED, other: NOT_NFKC },
    { key: 'allowNonNfkcPaths', spellings: NOT_NFKC, other: DOUBLE_ENCODED },
  ] as const;

  for (const { key, spellings, other } of SWITCHES) {
    describe(`with match.${key}: true`, () => {
      let setup: Setup;
      before(async () => {
        setup = await startSetup({ [key]: true });
      });
      after(() => stopSetup(setup));

      for (const { name, target } of spellings) {
        it(`${name}: let through a proxied request, an upgrade and forward-auth`, async () => {
          const seen = setup.upstream.requests.length;
          const response = await rawRequest(setup.http.url, { target });
          assert.equal(response.status, 200, response.raw);
          assert.equal(onlyForwardedSince(setup.upstream, seen).url, target);
          assert.equal(await upgradeThrough(setup, target), target);
          assert.equal((await verify(setup.http, 'GET', target)).status, 200);
        });
      }

      it('still refuses the other spelling and TRACE', async () => {
        const seen = setup.upstream.requests.length;
        for (const { target } of other) {
          assertRefused(await rawRequest(setup.http.url, { target }), 400, 'invalid_path');
        }
        assertRefused(
          await rawRequest(setup.http.url, { method: 'TRACE', target: '/public/x' }),
          405,
          'method_not_allowed',
        );
        assertNothingForwarded(setup.upstream, seen);
      });
    });
  }
});
