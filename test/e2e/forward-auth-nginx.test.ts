/**
 * Forward-auth behind a real nginx (Debian's nginx-light) configured with README's snippet: its
 * auth_request asks the sidecar's GET /auth/verify, copies the identity headers onto the request
 * and forwards to the backend.
 * Allowed and denied paths must behave as they do through the sidecar's own proxy.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { findOrInstallNginx, readmeNginxLocations, startNginx, type RunningNginx } from '../helpers/nginx.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';

const nginxPath = findOrInstallNginx();

describe('forward-auth behind nginx auth_request', { skip: !nginxPath && 'nginx is not installed' }, () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let nginx: RunningNginx;
  let baseUrl: string;
  let user: SeededUser;
  let admin: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar();
    user = await seedUser(sidecar, 'nginx-user', ['user']);
    admin = await seedUser(sidecar, 'nginx-admin', ['admin']);
    // README's own snippet, so that what it shows is what is tested.
    nginx = await startNginx(nginxPath ?? 'nginx', await readmeNginxLocations(sidecar.url, upstream.url));
    baseUrl = nginx.url;
  });

  after(async () => {
    await nginx.stop();
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  /** GET through nginx with the path sent byte for byte; the request the upstream saw, if any. */
  async function throughNginx(path: string, headers: Record<string, string> = {}) {
    const seen = upstream.requests.length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${baseUrl}/`, { path, headers }, (response) => {
        response.resume();
        response.once('end', () => resolve(response.statusCode ?? 0));
      });
      req.once('error', reject);
      req.end();
    });
    const forwarded: RecordedRequest | undefined = upstream.requests[seen];
    return { status, forwarded };
  }

  it('forwards an allowed request with the identity nginx copied from the sidecar’s answer', async () => {
    const { status, forwarded } = await throughNginx('/admin/users', {
      Authorization: `Bearer ${admin.token}`,
    });
    assert.equal(status, 200);
    assert.equal(forwarded?.url, '/admin/users');
    assert.equal(forwarded?.headers['x-user'], 'nginx-admin');
    assert.equal(forwarded?.headers['x-user-id'], admin.id);
    assert.equal(forwarded?.headers['x-user-roles'], 'admin');
    assert.equal(forwarded?.headers.authorization, undefined, 'the token stays off the backend');
  });

  it('replaces a client’s forged X-User with the verified identity', async () => {
    const { forwarded } = await throughNginx('/api/items', {
      Authorization: `Bearer ${user.token}`,
      'X-User': 'nginx-admin',
    });
    assert.equal(forwarded?.headers['x-user'], 'nginx-user');
  });

  it('forwards a public path without a token and without identity, in any spelling the client used', async () => {
    const { status, forwarded } = await throughNginx('/public/page', {
      'X-User': 'nginx-admin',
      X_User: 'nginx-admin',
      x_user_roles: 'admin',
    });
    assert.equal(status, 200);
    assert.equal(forwarded?.headers['x-user'], undefined);
    assert.ok(!JSON.stringify(forwarded?.rawHeaders).includes('admin'), 'no forged identity or role');
  });

  it('refuses a protected path without a token with 401, never forwarded', async () => {
    const { status, forwarded } = await throughNginx('/api/items');
    assert.equal(status, 401);
    assert.equal(forwarded, undefined);
  });

  it('refuses a user on an admin path with 403, never forwarded', async () => {
    const { status, forwarded } = await throughNginx('/admin/users', {
      Authorization: `Bearer ${user.token}`,
    });
    assert.equal(status, 403);
    assert.equal(forwarded, undefined);
  });

  it('decides a dot-segment path on its canonical form, as the proxy does', async () => {
    const { status, forwarded } = await throughNginx('/public/../admin/users', {
      Authorization: `Bearer ${user.token}`,
    });
    assert.equal(status, 403);
    assert.equal(forwarded, undefined);
  });
});
