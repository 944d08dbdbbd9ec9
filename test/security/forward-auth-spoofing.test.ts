/**
 * Forward-auth spoofing: the proxy in front passes the client's own headers on to GET
 * /auth/verify, so a client can add the other pair of original-request headers (X-Forwarded-Uri
 * where nginx sets X-Original-URI), repeat one, or leave the method out, hoping the sidecar decides
 * on its word instead of the proxy's. Through a real nginx (README's snippet, and one that does not
 * clear the other pair) the backend must never see such a request; asked directly, the sidecar
 * refuses every such question with 400.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { findOrInstallNginx, readmeNginxLocations, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, TEST_RULES, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

type Field = readonly [string, string];

/** GET and HEAD on /docs are public; any other method there is for admins. */
const RULES = [
  { path: '/docs/**', methods: ['GET', 'HEAD'], public: true },
  { path: '/docs/**', roles: ['admin'] },
  ...TEST_RULES,
];

/** The nginx snippet without the lines that clear X-Forwarded-Method/-Uri, as many set-ups have it. */
function withoutClearing(locations: string): string {
  return locations
    .split('\n')
    .filter((line) => !/proxy_set_header X-Forwarded-(Uri|Method) ""/.test(line))
    .join('\n');
}

const nginxPath = findOrInstallNginx();

interface NginxAttack {
  readonly name: string;
  readonly method: string;
  readonly target: string;
  readonly caller: 'anonymous' | 'user';
  readonly sent: readonly Field[];
  /**
   * The status behind README's snippet (the sidecar decides on what nginx set) and behind an nginx
   * that passes the client's pair on (the sidecar's 400, which nginx answers as 500).
   */
  readonly status: { readonly readme: number; readonly leaky: number };
}

const NGINX_ATTACKS: readonly NginxAttack[] = [
  {
    name: 'an anonymous client asks for /admin/secret and claims X-Forwarded-Uri: /public/x',
    method: 'GET',
    target: '/admin/secret',
    caller: 'anonymous',
    sent: [['X-Forwarded-Uri', '/public/x']],
    status: { readme: 401, leaky: 500 },
  },
  {
    name: 'a user sends DELETE /docs/x and claims X-Forwarded-Method: GET',
    method: 'DELETE',
    target: '/docs/x',
    caller: 'user',
    sent: [['X-Forwarded-Method', 'GET']],
    status: { readme: 403, leaky: 500 },
  },
  {
    name: 'an anonymous client sends DELETE /docs/x and claims both X-Forwarded-Method: GET and X-Forwarded-Uri: /public/x',
    method: 'DELETE',
    target: '/docs/x',
    caller: 'anonymous',
    sent: [
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Uri', '/public/x'],
    ],
    status: { readme: 401, leaky: 500 },
  },
  {
    name: 'an anonymous client asks for /admin/secret and sends the pair nginx sets itself (X-Original-URI: /public/x)',
    method: 'GET',
    target: '/admin/secret',
    caller: 'anonymous',
    sent: [
      ['X-Original-URI', '/public/x'],
      ['X-Original-Method', 'GET'],
    ],
    status: { readme: 401, leaky: 401 },
  },
];

describe(
  'forward-auth spoofing through a real nginx',
  { skip: !nginxPath && 'nginx is not installed' },
  () => {
    let upstream: TestUpstream;
    let sidecar: TestSidecar;
    let user: SeededUser;
    const setups: { name: string; kind: 'readme' | 'leaky'; nginx: RunningNginx }[] = [];

    before(async () => {
      upstream = await startUpstream();
      sidecar = await startSidecar({ config: { rules: RULES } });
      user = await seedUser(sidecar, 'spoof-user', ['user']);
      const locations = await readmeNginxLocations(sidecar.url, upstream.url);
      const path = nginxPath ?? 'nginx';
      setups.push({
        name: 'README’s nginx snippet',
        kind: 'readme',
        nginx: await startNginx(path, locations),
      });
      setups.push({
        name: 'an nginx that passes the client’s X-Forwarded-Method/-Uri on',
        kind: 'leaky',
        nginx: await startNginx(path, withoutClearing(locations)),
      });
    });
    after(async () => {
      for (const { nginx } of setups) await nginx.stop();
      await sidecar.stop({ removeData: true });
      await upstream.close();
    });

    const headersOf = (caller: 'anonymous' | 'user', sent: readonly Field[]): Field[] => [
      ...sent,
      ...(caller === 'user' ? [['Authorization', `Bearer ${user.token}`] as const] : []),
    ];

    for (const attack of NGINX_ATTACKS) {
      it(`${attack.name}: the backend never sees it, behind either nginx`, async () => {
        for (const { name, nginx, kind } of setups) {
          const before = upstream.requests.length;
          const response = await rawRequest(nginx.url, {
            method: attack.method,
            target: attack.target,
            headers: headersOf(attack.caller, attack.sent),
          });
          assert.equal(response.status, attack.status[kind], `${name}: ${response.raw}`);
          assertNothingForwarded(upstream, before);
        }
      });
    }

    it('still forwards an honest GET on a public path behind README’s nginx, so the refusals above are not a broken set-up', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(setups[0]!.nginx.url, { target: '/docs/x' });
      assert.equal(response.status, 200, response.raw);
      assert.equal(onlyForwardedSince(upstream, before).method, 'GET');
    });
  },
);

interface QuestionAttack {
  readonly name: string;
  readonly sent: readonly Field[];
}

/** Questions for `forwardAuth.headers: original` (the default); each would be allowed if believed. */
const QUESTION_ATTACKS: readonly QuestionAttack[] = [
  {
    name: 'X-Original-URI: /admin/secret and X-Forwarded-Uri: /public/x together',
    sent: [
      ['X-Original-Method', 'GET'],
      ['X-Original-URI', '/admin/secret'],
      ['X-Forwarded-Uri', '/public/x'],
    ],
  },
  {
    name: 'X-Original-Method: DELETE and X-Forwarded-Method: GET together',
    sent: [
      ['X-Original-Method', 'DELETE'],
      ['X-Original-URI', '/docs/x'],
      ['X-Forwarded-Method', 'GET'],
    ],
  },
  {
    name: 'X-Original-URI twice (/public/x, then /admin/secret)',
    sent: [
      ['X-Original-Method', 'GET'],
      ['X-Original-URI', '/public/x'],
      ['X-Original-URI', '/admin/secret'],
    ],
  },
  {
    name: 'X-Original-Method twice (GET, then DELETE)',
    sent: [
      ['X-Original-Method', 'GET'],
      ['X-Original-Method', 'DELETE'],
      ['X-Original-URI', '/docs/x'],
    ],
  },
  {
    name: 'no method header at all, which must not default to GET',
    sent: [['X-Original-URI', '/docs/x']],
  },
  {
    name: 'a method header that is not an HTTP method (GET /admin)',
    sent: [
      ['X-Original-Method', 'GET /admin'],
      ['X-Original-URI', '/docs/x'],
    ],
  },
];

describe('forward-auth questions that carry a doubt', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { rules: RULES } });
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
    assert.equal(upstream.requests.length, 0, 'forward-auth never forwards');
  });

  for (const attack of QUESTION_ATTACKS) {
    it(`refuses a question with ${attack.name} with 400`, async () => {
      const response = await rawRequest(sidecar.url, { target: '/auth/verify', headers: attack.sent });
      assertRefused(response, 400, 'invalid_request');
    });
  }

  it('answers an honest question with X-Original-Method and X-Original-URI by default', async () => {
    const response = await rawRequest(sidecar.url, {
      target: '/auth/verify',
      headers: [
        ['X-Original-Method', 'GET'],
        ['X-Original-URI', '/docs/x'],
      ],
    });
    assert.equal(response.status, 200, response.raw);
  });

  it('with forwardAuth.headers: forwarded, reads X-Forwarded-Method/-Uri and refuses X-Original-URI alongside them', async () => {
    const forwarded = await startSidecar({
      upstreamUrl: upstream.url,
      config: { rules: RULES, forwardAuth: { headers: 'forwarded' } },
    });
    after(() => forwarded.stop({ removeData: true }));
    const honest: Field[] = [
      ['X-Forwarded-Method', 'GET'],
      ['X-Forwarded-Uri', '/docs/x'],
    ];
    const ok = await rawRequest(forwarded.url, { target: '/auth/verify', headers: honest });
    assert.equal(ok.status, 200, ok.raw);
    const mixed = await rawRequest(forwarded.url, {
      target: '/auth/verify',
      headers: [...honest, ['X-Original-URI', '/admin/secret']],
    });
    assertRefused(mixed, 400, 'invalid_request');
    const denied = await rawRequest(forwarded.url, {
      target: '/auth/verify',
      headers: [
        ['X-Forwarded-Method', 'DELETE'],
        ['X-Forwarded-Uri', '/docs/x'],
      ],
    });
    assertRefused(denied, 401, 'unauthenticated');
  });
});
