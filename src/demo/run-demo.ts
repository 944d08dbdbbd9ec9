#!/usr/bin/env node
/**
 * `npm run demo`: the sidecar with the demo config, a throwaway signing secret and the echo backend
 * behind it, so that a first try needs no setup at all. config/demo.yaml is the example config's
 * rules plus browser sign-in over plain http (`browser.cookie.secure: false`) and `/` for a
 * signed-in browser; the example config that operators copy keeps the Secure cookie.
 */
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { runCli } from '../cli/run.js';
import { listenEchoBackend } from './echo-backend.js';

const CONFIG = 'config/demo.yaml';
const port = process.env.PORT ?? '8080';
const base = `http://localhost:${port}`;
const echo = await listenEchoBackend(0);
const jwtSecret = randomBytes(48).toString('base64');
const shutdownSignal = Promise.race([
  once(process, 'SIGTERM').then(() => 'SIGTERM'),
  once(process, 'SIGINT').then(() => 'SIGINT'),
]);

process.stdout.write(`Demo: generated a throwaway JWT_SECRET for this run (tokens die with it).
Demo: echo backend on ${echo.url}; it answers with the request it received, headers included.
Demo: config ${CONFIG}: browser sign-in over plain http, so the session cookie is not Secure
      (browser.cookie.secure: false). Behind TLS, keep the default (true).
`);
const running = runCli(['serve', '--config', CONFIG], {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: { ...process.env, JWT_SECRET: jwtSecret, UPSTREAM_URL: echo.url, PORT: port },
  shutdownSignal,
});

const started = await Promise.race([waitUntilReady(`${base}/readyz`), running.then(() => false)]);
if (started) printInstructions();
const code = await running;
echo.server.close();
process.exitCode = code;

function printInstructions(): void {
  const json = `-H 'Content-Type: application/json'`;
  const credentials = `'{"username":"alice","password":"wonderland-42"}'`;
  process.stdout.write(`
auth-sidecar is listening on ${base} in front of the echo backend.

In a browser, open ${base}/ : it sends you to the sign-in page. Create an account there (or sign in),
and you land back on / : the echo backend's page, showing the X-User header the sidecar added.
${base}/auth/account shows who you are and signs you out.

Or with curl, in another terminal:

  curl -s -X POST ${base}/auth/register ${json} -d ${credentials}
  TOKEN=$(curl -s -X POST ${base}/auth/login ${json} -d ${credentials} | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).accessToken')
  curl -s ${base}/api/hello -H "Authorization: Bearer $TOKEN"     # forwarded: look for x-user
  curl -s ${base}/api/hello                                       # 401: no token
  curl -s ${base}/admin/users -H "Authorization: Bearer $TOKEN"   # 403: alice is not an admin

Press Ctrl+C to stop.

`);
}

async function waitUntilReady(url: string): Promise<boolean> {
  for (;;) {
    try {
      if ((await fetch(url)).ok) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
