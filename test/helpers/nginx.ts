/**
 * A real nginx (Debian's nginx-light) in front of a sidecar's GET /auth/verify, for forward-auth
 * tests: installed when missing and the tests run as root, started in a folder of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './cli-process.js';
import {
  findOrInstallProgram,
  readmeForwardAuthSnippet,
  whenAnswering,
  type RunningFrontProxy,
} from './system-package.js';

const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx'];

/** nginx's path; installs Debian's nginx-light when it is missing and this runs as root. */
export function findOrInstallNginx(): string | undefined {
  return findOrInstallProgram('nginx-light', NGINX_CANDIDATES);
}

/** The `location` blocks of README's nginx snippet (Forward-auth), pointed at a real sidecar and backend. */
export async function readmeNginxLocations(sidecarUrl: string, upstreamUrl: string): Promise<string> {
  return (await readmeForwardAuthSnippet('nginx'))
    .replaceAll('http://127.0.0.1:8080', sidecarUrl)
    .replaceAll('http://backend', upstreamUrl);
}

export type RunningNginx = RunningFrontProxy;

/** Starts nginx on 127.0.0.1 with one server made of `locations`; resolves once it answers. */
export async function startNginx(nginxPath: string, locations: string): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-nginx-'));
  await mkdir(join(dir, 'tmp'));
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  await writeFile(
    join(dir, 'nginx.conf'),
    `
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
${locations}
  }
}
`,
  );
  const nginx: ChildProcess = spawn(
    nginxPath,
    ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')],
    { stdio: 'ignore' },
  );
  return whenAnswering('nginx', nginx, dir, url);
}
