/**
 * A real Caddy (Debian's package) in front of a sidecar's GET /auth/verify, configured with
 * README's Caddyfile snippet: installed when missing and the tests run as root.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from './cli-process.js';
import {
  findOrInstallProgram,
  readmeForwardAuthSnippet,
  whenAnswering,
  type RunningFrontProxy,
} from './system-package.js';

const CADDY_CANDIDATES = ['/usr/bin/caddy', '/usr/local/bin/caddy'];

/** Caddy's path; installs Debian's caddy when it is missing and this runs as root. */
export function findOrInstallCaddy(): string | undefined {
  return findOrInstallProgram('caddy', CADDY_CANDIDATES);
}

/** README's Caddyfile snippet (Forward-auth), pointed at a real sidecar and backend. */
export async function readmeCaddySnippet(sidecarUrl: string, upstreamUrl: string): Promise<string> {
  return (await readmeForwardAuthSnippet('caddyfile'))
    .replaceAll('auth-sidecar:8080', new URL(sidecarUrl).host)
    .replaceAll('backend:3000', new URL(upstreamUrl).host);
}

export type RunningCaddy = RunningFrontProxy;

/** Starts Caddy on 127.0.0.1 with one site made of `directives`; resolves once it answers. */
export async function startCaddy(caddyPath: string, directives: string): Promise<RunningCaddy> {
  const dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-caddy-'));
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const caddyfile = join(dir, 'Caddyfile');
  await writeFile(
    caddyfile,
    `{\n  admin off\n  auto_https off\n}\nhttp://127.0.0.1:${port} {\n${directives}\n}\n`,
  );
  const caddy: ChildProcess = spawn(caddyPath, ['run', '--config', caddyfile, '--adapter', 'caddyfile'], {
    stdio: 'ignore',
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  });
  return whenAnswering('caddy', caddy, dir, url);
}
