/**
 * Forward-auth behind a real Caddy (Debian's package) configured with README's Caddyfile snippet
 * and `forwardAuth.headers: forwarded`: its forward_auth asks GET /auth/verify with the
 * X-Forwarded-Method/-Uri it writes itself, copies the identity headers onto the request and
 * forwards to the backend, without the client's X-User* headers (either spelling), X-Original-*
 * or Authorization.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, onlyForwardedSince } from '../helpers/attack.js';
import { findOrInstallCaddy, readmeCaddySnippet, startCaddy, type RunningCaddy } from '../helpers/caddy.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const caddyPath = findOrInstallCaddy();

describe('forward-auth behind Caddy forward_auth', { skip: !caddyPath && 'caddy is not installed' }, () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let caddy: RunningCaddy | undefined;
  let user: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ config: { forwardAuth: { headers: 'forwarded' } } });
    user = await seedUser(sidecar, 'caddy-user', ['user']);
    caddy = await startCaddy(caddyPath ?? 'caddy', await readmeCaddySnippet(sidecar.url, upstream.url));
  });
  const caddyUrl = (): string => {
    assert.ok(caddy, 'caddy started');
    return caddy.url;
  };
  after(async () => {
    await caddy?.stop();
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  it('forwards an allowed request with the verified identity, and neither the token nor a forged X_User', async () => {
    const before = upstream.requests.length;
    const response = await rawRequest(caddyUrl(), {
      target: '/api/items',
      headers: [
        ['Authorization', `Bearer ${user.token}`],
        ['X-User', 'spoofed'],
        ['X_User', 'spoofed'],
        ['x_user_roles', 'admin'],
      ],
    });
    assert.equal(response.status, 200, response.raw);
    const seen = onlyForwardedSince(upstream, before);
    assert.equal(seen.headers['x-user'], 'caddy-user');
    assert.equal(seen.headers['x-user-roles'], 'user');
    assert.equal(seen.headers.authorization, undefined);
    assert.ok(!JSON.stringify(seen.rawHeaders).includes('spoofed'), 'no forged identity in any spelling');
    assert.ok(!JSON.stringify(seen.rawHeaders).includes('admin'), 'no forged role');
  });

  it('forwards a public path without the client’s identity headers in any spelling', async () => {
    const before = upstream.requests.length;
    const response = await rawRequest(caddyUrl(), {
      target: '/public/page',
      headers: [
        ['X-User', 'spoofed'],
        ['X_USER_ID', 'spoofed'],
        ['X-User_Roles', 'spoofed'],
      ],
    });
    assert.equal(response.status, 200, response.raw);
    assert.ok(!JSON.stringify(onlyForwardedSince(upstream, before).rawHeaders).includes('spoofed'));
  });

  const spoofs: readonly {
    name: string;
    method: string;
    target: string;
    sent: [string, string][];
    status: number;
  }[] = [
    {
      name: 'X-Forwarded-Uri: /public/x on /admin/secret',
      method: 'GET',
      target: '/admin/secret',
      sent: [['X-Forwarded-Uri', '/public/x']],
      status: 401,
    },
    {
      name: 'X-Original-URI: /public/x on /admin/secret',
      method: 'GET',
      target: '/admin/secret',
      sent: [
        ['X-Original-URI', '/public/x'],
        ['X-Original-Method', 'GET'],
      ],
      status: 401,
    },
    {
      name: 'X-Forwarded-Method: GET on a user’s DELETE /admin/x',
      method: 'DELETE',
      target: '/admin/x',
      sent: [['X-Forwarded-Method', 'GET']],
      status: 403,
    },
  ];
  for (const spoof of spoofs) {
    it(`never forwards a request that claims ${spoof.name}`, async () => {
      const before = upstream.requests.length;
      const headers: [string, string][] = [...spoof.sent];
      if (spoof.status === 403) headers.push(['Authorization', `Bearer ${user.token}`]);
      const response = await rawRequest(caddyUrl(), { method: spoof.method, target: spoof.target, headers });
      assert.equal(response.status, spoof.status, response.raw);
      assertNothingForwarded(upstream, before);
    });
  }
});
