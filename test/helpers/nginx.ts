/**
 * A real nginx (Debian's nginx-light) in front of a sidecar's GET /auth/verify, for forward-auth
 * tests: installed when missing and the tests run as root, started in a folder of its own.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { findFreePort, REPO_ROOT } from './cli-process.js';

const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx'];

/** nginx's path; installs Debian's nginx-light when it is missing and this runs as root. */
export function findOrInstallNginx(): string | undefined {
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

/**
 * The `location` blocks of README's nginx snippet (Forward-auth), pointed at a real sidecar and
 * backend: what a reader copies is what the tests run.
 */
export async function readmeNginxLocations(sidecarUrl: string, upstreamUrl: string): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Forward-auth'));
  const snippet = /```nginx\n([\s\S]*?)```/.exec(section)?.[1];
  if (snippet === undefined) throw new Error('README.md has no nginx snippet under Forward-auth');
  return snippet.replaceAll('http://127.0.0.1:8080', sidecarUrl).replaceAll('http://backend', upstreamUrl);
}

export interface RunningNginx {
  readonly url: string;
  stop(): Promise<void>;
}

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
  const stop = async () => {
    nginx.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 200; attempt++) {
    const up = await fetch(`${url}/public/ping`).then(
      (response) => response.arrayBuffer().then(() => true),
      () => false,
    );
    if (up) return { url, stop };
    await delay(25);
  }
  await stop();
  throw new Error('nginx did not start');
}
