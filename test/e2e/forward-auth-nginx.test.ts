/**
 * Forward-auth behind a real nginx (Debian's nginx-light): its auth_request asks the sidecar's
 * GET /auth/verify, copies the identity headers onto the request and forwards to the backend.
 * Allowed and denied paths must behave as they do through the sidecar's own proxy.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { findFreePort } from '../helpers/cli-process.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';

const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx'];

/** nginx's path; installs Debian's nginx-light when it is missing and this runs as root. */
function findOrInstallNginx(): string | undefined {
  const found = () => NGINX_CANDIDATES.find((path) => existsSync(path));
  if (found()) return found();
  if (process.getuid?.() !== 0) return undefined;
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', 'nginx-light'], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status;
  if (install() !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    install();
  }
  return found();
}

function nginxConfig(dir: string, port: number, sidecarUrl: string, upstreamUrl: string): string {
  return `
daemon off;
master_process off;
worker_processes 1;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    location = /_auth {
      internal;
      proxy_pass ${sidecarUrl}/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location / {
      auth_request /_auth;
      auth_request_set $user $upstream_http_x_user;
      auth_request_set $user_id $upstream_http_x_user_id;
      auth_request_set $roles $upstream_http_x_user_roles;
      proxy_set_header X-User $user;
      proxy_set_header X-User-Id $user_id;
      proxy_set_header X-User-Roles $roles;
      proxy_pass ${upstreamUrl};
    }
  }
}
`;
}

const nginxPath = findOrInstallNginx();

describe('forward-auth behind nginx auth_request', { skip: !nginxPath && 'nginx is not installed' }, () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let nginx: ChildProcess;
  let dir: string;
  let baseUrl: string;
  let user: SeededUser;
  let admin: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar();
    user = await seedUser(sidecar, 'nginx-user', ['user']);
    admin = await seedUser(sidecar, 'nginx-admin', ['admin']);
    dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-nginx-'));
    await mkdir(join(dir, 'tmp'));
    const port = await findFreePort();
    baseUrl = `http://127.0.0.1:${port}`;
    await writeFile(join(dir, 'nginx.conf'), nginxConfig(dir, port, sidecar.url, upstream.url));
    nginx = spawn(
      nginxPath ?? 'nginx',
      ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')],
      {
        stdio: 'ignore',
      },
    );
    for (let attempt = 0; attempt < 200; attempt++) {
      const up = await fetch(`${baseUrl}/public/ping`).then(
        (response) => response.arrayBuffer().then(() => true),
        () => false,
      );
      if (up) return;
      await delay(25);
    }
    throw new Error('nginx did not start');
  });

  after(async () => {
    nginx.kill('SIGTERM');
    await sidecar.stop({ removeData: true });
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
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
  });

  it('replaces a client’s forged X-User with the verified identity', async () => {
    const { forwarded } = await throughNginx('/api/items', {
      Authorization: `Bearer ${user.token}`,
      'X-User': 'nginx-admin',
    });
    assert.equal(forwarded?.headers['x-user'], 'nginx-user');
  });

  it('forwards a public path without a token and without identity', async () => {
    const { status, forwarded } = await throughNginx('/public/page', { 'X-User': 'nginx-admin' });
    assert.equal(status, 200);
    assert.equal(forwarded?.headers['x-user'], undefined);
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
