/**
 * A graceful stop as Kubernetes drives it: SIGTERM, readiness off at once, the listener kept open
 * for `shutdown.delay` while endpoints drop the pod, then closed; the request still in flight (a
 * streaming answer) finishes, the logs reach stdout and the process exits 0.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import {
  findFreePort,
  makeWorkDir,
  placeFile,
  removeWorkDir,
  startServe,
  type ServeProcess,
} from '../helpers/cli-process.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const JWT_SECRET = 'e2e-shutdown-secret-e2e-shutdown-secret-e2e-shut';
const SHUTDOWN_DELAY_MS = 300;
/** Safety net so a hung child fails the test instead of the run; not a timing assertion. */
const SAFETY = { timeout: 60_000 };

/** GET that resolves with the response head, its body collected until the end. */
function startGet(url: string): Promise<{ response: IncomingMessage; body: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (response) => {
      response.setEncoding('utf8');
      let text = '';
      response.on('data', (chunk: string) => (text += chunk));
      const body = new Promise<string>((done, fail) => {
        response.once('end', () => done(text));
        response.once('error', fail);
      });
      resolve({ response, body });
    });
    req.once('error', reject);
    req.end();
  });
}

/** Status of GET url, or the connection error code when nothing answers. */
async function statusOrError(url: string): Promise<number | string> {
  try {
    const response = await fetch(url, { headers: { connection: 'close' } });
    await response.arrayBuffer();
    return response.status;
  } catch (err) {
    return ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? String(err);
  }
}

async function pollUntil<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    await delay(10);
  }
}

describe('graceful shutdown', () => {
  let upstream: TestUpstream;
  let cwd: string;
  let serve: ServeProcess;
  let baseUrl: string;
  let releaseStream!: () => void;
  const streamReleased = new Promise<void>((resolve) => (releaseStream = resolve));

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      // The first half of the answer now, the rest when the test says so.
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first half;');
      void streamReleased.then(() => res.end('second half'));
    });
    cwd = await makeWorkDir();
    const port = await findFreePort();
    await placeFile(
      cwd,
      'auth-sidecar.yaml',
      stringify({
        listen: { host: '127.0.0.1', port },
        upstream: { url: upstream.url },
        store: { path: 'data/store.json' },
        passwords: { bcryptCost: 10 },
        shutdown: { delay: `${SHUTDOWN_DELAY_MS}ms`, grace: '20s' },
        rules: [{ path: '/public/**', public: true }],
      }),
    );
    serve = startServe(['serve', '--config', 'auth-sidecar.yaml'], { cwd, env: { JWT_SECRET } });
    baseUrl = `http://127.0.0.1:${port}`;
    await serve.waitForReady(baseUrl);
  });

  after(async () => {
    releaseStream();
    await serve.kill();
    await upstream.close();
    await removeWorkDir(cwd);
  });

  it(
    'turns /readyz 503 at once, closes the listener after shutdown.delay, finishes the stream in flight and exits 0',
    SAFETY,
    async () => {
      const inFlight = await startGet(`${baseUrl}/public/stream`);
      assert.equal(inFlight.response.statusCode, 200);

      const signalledAt = performance.now();
      serve.child.kill('SIGTERM');
      assert.equal(
        await pollUntil(
          () => statusOrError(`${baseUrl}/readyz`),
          (s) => s !== 200,
        ),
        503,
      );
      const readiness = await fetch(`${baseUrl}/readyz`, { headers: { connection: 'close' } });
      assert.deepEqual(await readiness.json(), { status: 'not_ready', reason: 'shutting_down' });
      assert.equal(await statusOrError(`${baseUrl}/healthz`), 200, 'still accepting during the delay');

      const refused = await pollUntil(
        () => statusOrError(`${baseUrl}/healthz`),
        (s) => typeof s === 'string',
      );
      assert.equal(refused, 'ECONNREFUSED');
      assert.ok(performance.now() - signalledAt >= SHUTDOWN_DELAY_MS, 'the listener outlived the delay');

      releaseStream();
      assert.equal(await inFlight.body, 'first half;second half');
      const { code, signal } = await serve.exited;
      assert.equal(signal, null);
      assert.equal(code, 0, serve.stderr());

      const lines = serve
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; path?: string; status?: number; event?: string });
      assert.ok(
        lines.some((line) => line.msg === 'request' && line.path === '/public/stream' && line.status === 200),
      );
      assert.equal(lines.at(-1)?.event, 'server.stopped');
    },
  );
});
