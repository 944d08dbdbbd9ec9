/**
 * Path confusion: a request-target that the rules read as one path and the backend as another.
 * The sidecar decides on exactly the canonical path it forwards, and refuses what it cannot make
 * canonical without guessing. Every attack is first shown to get through the naive setup
 * (express + http-proxy-middleware, test/helpers/naive-proxy.ts) where it does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { startNaiveProxy } from '../helpers/naive-proxy.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

type Caller = 'anonymous' | 'user' | 'admin';

/** A target the sidecar refuses outright, whoever sends it. */
interface Refusal {
  readonly name: string;
  /** Sent byte for byte as the request-target. */
  readonly target: string;
  /** Node's own parser refuses it, in front of both setups: only the sidecar side is asserted. */
  readonly nodeRefuses?: true;
  /** The naive setup happens to stop it too (its prefix check sees /admin): sidecar side only. */
  readonly naiveStops?: true;
}

/** A target the sidecar makes canonical and then decides on like any other path. */
interface Resolution {
  readonly name: string;
  readonly target: string;
  /** The path the rules see and, when allowed, the upstream receives. */
  readonly canonical: string;
  /** Status per caller; 200 means forwarded as `canonical`. */
  readonly expect: Readonly<Record<Caller, 200 | 401 | 403>>;
  /** The naive setup forwards it for an anonymous caller, as this URL. */
  readonly naiveForwardsAs?: string;
}

const ADMIN_ONLY = { anonymous: 401, user: 403, admin: 200 } as const;
const DEFAULT_DENY = { anonymous: 401, user: 403, admin: 403 } as const;

const ENCODED_DELIMITERS: readonly Refusal[] = [
  { name: 'an encoded slash (%2f) climbs out of /public into /admin', target: '/public/..%2fadmin/x' },
  {
    name: 'an upper-case encoded slash (%2F) climbs out of /public into /admin',
    target: '/public/..%2Fadmin/x',
  },
  {
    name: 'encoded slashes (%2f) around a dot-dot hide /admin inside one segment',
    target: '/public%2f..%2fadmin/x',
  },
  { name: 'an encoded backslash (%5c) climbs out of /public into /admin', target: '/public/..%5cadmin/x' },
  {
    name: 'an upper-case encoded backslash (%5C) climbs out of /public into /admin',
    target: '/public/..%5Cadmin/x',
  },
  { name: 'encoded dots (%2e%2e) climb out of /public into /admin', target: '/public/%2e%2e/admin/x' },
  {
    name: 'upper-case encoded dots (%2E%2E) climb out of /public into /admin',
    target: '/public/%2E%2E/admin/x',
  },
  { name: 'a half-encoded dot-dot (.%2e) climbs out of /public into /admin', target: '/public/.%2e/admin/x' },
  { name: 'a single encoded dot (%2e) segment is not silently resolved', target: '/public/%2e/x' },
];

const BACKSLASH_AND_CONTROL: readonly Refusal[] = [
  {
    name: 'raw backslashes walk out of /public into /admin on a Windows backend',
    target: '/public\\..\\admin\\x',
  },
  { name: 'an encoded NUL (%00) truncates the path on a C backend', target: '/public/x%00' },
  {
    name: 'an encoded CR LF (%0d%0a) smuggles a header line to a backend that decodes it',
    target: '/public/x%0d%0aX-User:%20admin',
  },
  { name: 'an encoded DEL (%7f) control character', target: '/public/x%7f' },
  { name: 'a raw NUL byte in the path', target: '/public/x\u0000y', nodeRefuses: true },
  { name: 'a raw control byte (0x01) in the path', target: '/public/x\u0001y', nodeRefuses: true },
  { name: 'a raw DEL byte (0x7f) in the path', target: '/public/x\u007fy', nodeRefuses: true },
];

const INVALID_ENCODING: readonly Refusal[] = [
  { name: 'a percent sign followed by non-hex digits (%zz)', target: '/public/%zz' },
  { name: 'a percent-escape cut short at the end of the path (%4)', target: '/public/x%4' },
  { name: 'IIS-style %u escapes spell out a dot-dot', target: '/public/%u002e%u002e/admin/x' },
  { name: 'invalid UTF-8 once decoded (%C3%28)', target: '/public/%C3%28' },
  {
    name: 'overlong UTF-8 dots (%C0%AE%C0%AE) climb out of /public into /admin',
    target: '/public/%C0%AE%C0%AE/admin/x',
  },
  { name: 'a lone 0xFF byte (%FF) that is no UTF-8 at all', target: '/public/%FF' },
];

const ABOVE_ROOT: readonly Refusal[] = [
  { name: 'a dot-dot right at the root climbs above it', target: '/../admin/x' },
  { name: 'two dot-dots out of /public climb above the root', target: '/public/../../admin/x' },
  { name: 'a path that ends above the root', target: '/public/../..' },
];

const PATH_PARAMETERS: readonly Refusal[] = [
  {
    name: 'a ;x=1 path parameter that a servlet container strips from /admin',
    target: '/admin;x=1',
    naiveStops: true,
  },
  {
    name: 'a ..; segment that a servlet container reads as .. (/public/..;/admin)',
    target: '/public/..;/admin/x',
  },
  { name: 'a ;jsessionid parameter inside /public', target: '/public;jsessionid=abc/x' },
];

const RESOLVED: readonly Resolution[] = [
  {
    name: 'a double slash (//admin/x) is the path /admin/x, never a host named admin',
    target: '//admin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '//admin/x',
  },
  {
    name: 'a dot-dot out of /public (/public/../admin/x) is decided as /admin/x',
    target: '/public/../admin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/public/../admin/x',
  },
  {
    name: 'dot and dot-dot segments (/public/./../admin/x) are decided as /admin/x',
    target: '/public/./../admin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/public/./../admin/x',
  },
  {
    name: 'an encoded unreserved letter (/%61dmin/x) is decided as /admin/x',
    target: '/%61dmin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/%61dmin/x',
  },
  {
    name: 'a dot-dot out of /auth (/auth/../admin/x) is /admin/x, not a sidecar endpoint',
    target: '/auth/../admin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/auth/../admin/x',
  },
  {
    name: 'an absolute-form target (http://other/admin/x) is decided and forwarded by its path only',
    target: 'http://other/admin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
  },
  {
    name: 'an absolute-form target with a double slash (http://other//admin/x) is decided as /admin/x',
    target: 'http://other//admin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/http://other//admin/x',
  },
  {
    name: 'an absolute-form target with a dot-dot (https://other/public/../admin/x) is decided as /admin/x',
    target: 'https://other/public/../admin/x',
    canonical: '/admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/https://other/public/../admin/x',
  },
  {
    name: '/publicity is not under /public/** and falls to the default deny',
    target: '/publicity',
    canonical: '/publicity',
    expect: DEFAULT_DENY,
    naiveForwardsAs: '/publicity',
  },
  {
    name: 'with case-sensitive matching (the default) /ADMIN/x is not /admin and falls to the default deny',
    target: '/ADMIN/x',
    canonical: '/ADMIN/x',
    expect: DEFAULT_DENY,
    naiveForwardsAs: '/ADMIN/x',
  },
];

/** Under `match: { caseInsensitive: true }`, for backends that ignore case (IIS and friends). */
const CASE_INSENSITIVE: readonly Resolution[] = [
  {
    name: 'with case-insensitive matching /ADMIN/x needs the admin role',
    target: '/ADMIN/x',
    canonical: '/ADMIN/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/ADMIN/x',
  },
  {
    name: 'with case-insensitive matching /Admin/x needs the admin role',
    target: '/Admin/x',
    canonical: '/Admin/x',
    expect: ADMIN_ONLY,
    naiveForwardsAs: '/Admin/x',
  },
];

const UNKNOWN_AUTH_PATHS: readonly { name: string; target: string }[] = [
  { name: 'an unknown /auth path (/auth/x) is the sidecar’s own: 404, never forwarded', target: '/auth/x' },
  { name: 'an unknown /auth path reached as //auth/x is still the sidecar’s own', target: '//auth/x' },
  {
    name: 'an unknown /auth path reached as /public/../auth/x is still the sidecar’s own',
    target: '/public/../auth/x',
  },
];

/** What the rules say of each upgrade: the same as of a plain request to its path. */
const UPGRADES: readonly { name: string; target: string; caller: Caller; expected: 'forwarded' | 401 }[] = [
  {
    name: 'a WebSocket upgrade on a public path would tunnel past the rules',
    target: '/public/chat',
    caller: 'anonymous',
    expected: 'forwarded',
  },
  {
    name: 'a WebSocket upgrade with a valid token on /api would tunnel past the rules',
    target: '/api/chat',
    caller: 'user',
    expected: 'forwarded',
  },
  {
    name: 'a WebSocket upgrade on /admin without a token',
    target: '/admin/chat',
    caller: 'anonymous',
    expected: 401,
  },
];

describe('path confusion', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let ciUpstream: TestUpstream;
  let ciSidecar: TestSidecar;
  let naiveUpstream: TestUpstream;
  let naive: Awaited<ReturnType<typeof startNaiveProxy>>;
  let users: Record<Exclude<Caller, 'anonymous'>, SeededUser>;
  let ciUsers: Record<Exclude<Caller, 'anonymous'>, SeededUser>;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url });
    ciUpstream = await startUpstream();
    ciSidecar = await startSidecar({
      upstreamUrl: ciUpstream.url,
      config: { match: { caseInsensitive: true } },
    });
    naiveUpstream = await startUpstream();
    naive = await startNaiveProxy(naiveUpstream.url);
    users = {
      user: await seedUser(sidecar, 'path-user', ['user']),
      admin: await seedUser(sidecar, 'path-admin', ['admin']),
    };
    ciUsers = {
      user: await seedUser(ciSidecar, 'path-ci-user', ['user']),
      admin: await seedUser(ciSidecar, 'path-ci-admin', ['admin']),
    };
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await ciSidecar.stop({ removeData: true });
    await naive.close();
    await upstream.close();
    await ciUpstream.close();
    await naiveUpstream.close();
  });

  /** One GET with the target byte for byte, with `user`'s token if given, on a fresh connection. */
  function get(
    baseUrl: string,
    target: string,
    user?: SeededUser,
    extra: readonly (readonly [string, string])[] = [],
  ): Promise<RawResponse> {
    const auth: [string, string][] = user ? [['Authorization', `Bearer ${user.token}`]] : [];
    return rawRequest(baseUrl, { target, headers: [...auth, ...extra] });
  }

  /** Shows the naive setup forwarding `target` (anonymously unless `user`) to its upstream as `forwardedAs`. */
  async function assertNaiveForwards(
    target: string,
    forwardedAs: string,
    extra: readonly (readonly [string, string])[] = [],
    user?: SeededUser,
  ): Promise<void> {
    const seen = naiveUpstream.requests.length;
    const response = await get(naive.url, target, user, extra);
    assert.equal(response.status, 200, response.raw);
    assert.equal(onlyForwardedSince(naiveUpstream, seen).url, forwardedAs);
  }

  function describeRefusals(title: string, refusals: readonly Refusal[]): void {
    describe(title, () => {
      for (const attack of refusals) {
        describe(attack.name, () => {
          if (attack.nodeRefuses) {
            it('is refused by the sidecar with 400 problem+json and never forwarded (Node’s parser refuses it for both setups; sidecar side only)', async () => {
              const seen = upstream.requests.length;
              for (const user of [undefined, users.admin]) {
                assertRefused(await get(sidecar.url, attack.target, user), 400, 'invalid_request');
              }
              assertNothingForwarded(upstream, seen);
            });
            return;
          }
          if (!attack.naiveStops) {
            it('gets through the naive setup: the upstream sees it', async () => {
              await assertNaiveForwards(attack.target, attack.target);
            });
          }
          it('is refused by the sidecar with 400 invalid_path, even for an admin, and never forwarded', async () => {
            const seen = upstream.requests.length;
            for (const user of [undefined, users.user, users.admin]) {
              assertRefused(await get(sidecar.url, attack.target, user), 400, 'invalid_path');
            }
            assertNothingForwarded(upstream, seen);
          });
        });
      }
    });
  }

  describeRefusals('encoded delimiters', ENCODED_DELIMITERS);
  describeRefusals('backslashes and control characters', BACKSLASH_AND_CONTROL);
  describeRefusals('invalid percent-encoding and UTF-8', INVALID_ENCODING);
  describeRefusals('dot-dot above the root', ABOVE_ROOT);
  describeRefusals('path parameters', PATH_PARAMETERS);

  function describeResolutions(
    title: string,
    resolutions: readonly Resolution[],
    setup: () => { sidecar: TestSidecar; upstream: TestUpstream; users: typeof users },
  ): void {
    describe(title, () => {
      for (const attack of resolutions) {
        describe(attack.name, () => {
          const { naiveForwardsAs } = attack;
          if (naiveForwardsAs !== undefined) {
            it('gets through the naive setup without a token: the upstream sees it', async () => {
              await assertNaiveForwards(attack.target, naiveForwardsAs);
            });
          }
          for (const caller of ['anonymous', 'user', 'admin'] as const) {
            const status = attack.expect[caller];
            const outcome =
              status === 200
                ? `is forwarded as exactly ${attack.canonical}`
                : `gets ${status} and is never forwarded`;
            it(`from ${caller === 'anonymous' ? 'an anonymous caller' : `a caller with the ${caller} role`} ${outcome} by the sidecar`, async () => {
              const target = setup();
              const user = caller === 'anonymous' ? undefined : target.users[caller];
              const seen = target.upstream.requests.length;
              const response = await get(target.sidecar.url, attack.target, user);
              if (status !== 200) {
                assertRefused(response, status, status === 401 ? 'unauthenticated' : 'forbidden');
                assertNothingForwarded(target.upstream, seen);
                return;
              }
              assert.equal(response.status, 200, response.raw);
              const forwarded = onlyForwardedSince(target.upstream, seen);
              assert.equal(
                forwarded.url,
                attack.canonical,
                'the upstream gets the path the rules decided on',
              );
              assert.equal(
                forwarded.headers.host,
                new URL(target.sidecar.url).host,
                'the Host is the client’s',
              );
              assert.equal(forwarded.headers['x-user'], user?.username);
            });
          }
        });
      }
    });
  }

  describeResolutions('paths made canonical, then decided', RESOLVED, () => ({ sidecar, upstream, users }));
  describeResolutions('case-insensitive matching (match.caseInsensitive: true)', CASE_INSENSITIVE, () => ({
    sidecar: ciSidecar,
    upstream: ciUpstream,
    users: ciUsers,
  }));

  describe('the sidecar’s own /auth paths', () => {
    for (const attack of UNKNOWN_AUTH_PATHS) {
      describe(attack.name, () => {
        it('gets through the naive setup: the upstream sees it', async () => {
          await assertNaiveForwards(attack.target, attack.target);
        });
        it('is answered 404 by the sidecar, with or without a token, and never forwarded', async () => {
          const seen = upstream.requests.length;
          for (const user of [undefined, users.admin]) {
            assertRefused(await get(sidecar.url, attack.target, user), 404, 'not_found');
          }
          assertNothingForwarded(upstream, seen);
        });
      });
    }
  });

  describe('protocol upgrades, decided by the rules', () => {
    const handshake = [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
    ] as const;
    for (const attack of UPGRADES) {
      describe(attack.name, () => {
        const caller = attack.caller;
        if (!attack.target.startsWith('/admin')) {
          it('gets through the naive setup: the upstream sees the upgrade request', async () => {
            const user = caller === 'anonymous' ? undefined : users[caller];
            const seen = naiveUpstream.requests.length;
            const response = await get(naive.url, attack.target, user, handshake);
            assert.equal(response.status, 200, response.raw);
            const forwarded = onlyForwardedSince(naiveUpstream, seen);
            assert.equal(forwarded.url, attack.target);
            assert.equal(forwarded.headers.upgrade, 'websocket');
          });
        }
        it(`is decided by the sidecar's rules like any request: ${attack.expected === 401 ? '401, never forwarded' : 'forwarded with the identity the rules allow'}`, async () => {
          const user = caller === 'anonymous' ? undefined : users[caller];
          const seen = upstream.requests.length;
          const response = await get(sidecar.url, attack.target, user, handshake);
          if (attack.expected === 401) {
            assertRefused(response, 401, 'unauthenticated');
            assertNothingForwarded(upstream, seen);
            return;
          }
          const forwarded = onlyForwardedSince(upstream, seen);
          assert.equal(forwarded.url, attack.target);
          assert.equal(forwarded.headers.upgrade, 'websocket');
          assert.equal(forwarded.headers['x-user'], user?.username);
        });
      });
    }
  });
});
