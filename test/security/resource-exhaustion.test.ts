/**
 * Attacks on the sidecar's connections to the backend: a client that holds them with bodies sent
 * a byte at a time, with responses it never reads, with upgrades, or with more requests than its
 * share. Each runs with real sockets on loopback against a small pool, and each asserts what the
 * client got and what the backend saw. Clients are told apart by their source address
 * (127.0.0.2, 127.0.0.3, …: all of 127/8 is local on Linux).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { Readable, type Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { assertRefused } from '../helpers/attack.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

/** Backend connections of the sidecars under test: small, so that an attack fills them quickly. */
const POOL = 8;
/** Exchanges one client may have under way. */
const PER_CLIENT = 4;
/** How long the slow-reading backend leaves a body unread. */
const SLOW_READER_PAUSE_MS = 1_200;
/** How long any wait in these tests lasts at most before the test fails. */
const GIVE_UP_MS = 5_000;

const RULES = [{ path: '/public/**', public: true }];

/** The limits under test, over the sidecar's defaults; each describe block adds its own. */
function limitsConfig(
  upstreamUrl: string,
  proxy: Record<string, unknown>,
  upstream: Record<string, unknown> = {},
) {
  return {
    rules: RULES,
    upstream: { url: upstreamUrl, timeout: '30s', maxConnections: POOL, queueTimeout: '2s', ...upstream },
    limits: { proxy: { perClient: PER_CLIENT, ...proxy } },
  };
}

// ---------------------------------------------------------------------------------------------
// A backend that records each request as its head arrives, and how each exchange ended.

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  bodyBytes: number;
  /** The whole body arrived. */
  complete: boolean;
  /** The connection closed before the exchange finished: the sidecar gave it up. */
  abandoned: boolean;
}

interface RecordingBackend {
  readonly url: string;
  readonly seen: SeenRequest[];
  /** Upgrade requests that reached it, by path. */
  readonly upgrades: string[];
  /** Answers every request held on /public/hold/*. */
  releaseHeld(count?: number): void;
  close(): Promise<void>;
}

/** A response body generated as it is read: large, never held in memory. */
function endlessBytes(total: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  return new Readable({
    read() {
      if (sent >= total) this.push(null);
      else {
        sent += chunk.length;
        this.push(chunk);
      }
    },
  });
}

async function startRecordingBackend(): Promise<RecordingBackend> {
  const seen: SeenRequest[] = [];
  const held: ServerResponse[] = [];
  const answer = (res: ServerResponse, record: SeenRequest) => {
    const body = JSON.stringify(record);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const record: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      bodyBytes: 0,
      complete: false,
      abandoned: false,
    };
    seen.push(record);
    res.once('close', () => {
      if (!res.writableFinished) record.abandoned = true;
    });
    req.on('data', (chunk: Buffer) => (record.bodyBytes += chunk.length));
    if (record.url.startsWith('/public/slow-reader')) {
      // A backend busy elsewhere: it takes none of the body for a while.
      req.pause();
      setTimeout(() => req.resume(), SLOW_READER_PAUSE_MS);
    }
    req.once('end', () => {
      record.complete = true;
      if (record.url.startsWith('/public/hold/')) held.push(res);
      else if (record.url.startsWith('/public/big')) {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        endlessBytes(256 * 1024 * 1024).pipe(res);
      } else answer(res, record);
    });
  });
  const upgrades = new Set<Duplex>();
  const upgradePaths: string[] = [];
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
    // Never answers an upgrade: the sidecar's deadline must end it.
    upgradePaths.push(req.url ?? '');
    upgrades.add(socket);
    socket.once('close', () => upgrades.delete(socket));
    socket.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    upgrades: upgradePaths,
    releaseHeld(count = held.length) {
      for (const res of held.splice(0, count)) res.end('released');
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const socket of upgrades) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Clients on raw sockets, from a chosen source address.

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

interface RawClient {
  readonly socket: Socket;
  /** The response, once its head and body (as far as it came) arrived and the socket closed or the body completed. */
  readonly answer: Promise<Answer | undefined>;
  /** Whether an answer has arrived yet. */
  answered(): boolean;
  /** Resolves when the sidecar closed the connection. */
  readonly closed: Promise<void>;
}

/** Sends `head` (and then whatever the caller writes) from `localAddress`. */
function openClient(baseUrl: string, localAddress: string, head: string): RawClient {
  const url = new URL(baseUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port), localAddress });
  const chunks: Buffer[] = [];
  let result: Answer | undefined;
  let settle!: (answer: Answer | undefined) => void;
  const answer = new Promise<Answer | undefined>((resolve) => (settle = resolve));
  const tryParse = (final: boolean) => {
    if (result) return;
    const raw = Buffer.concat(chunks).toString('latin1');
    const end = raw.indexOf('\r\n\r\n');
    if (end === -1) {
      if (final) settle(undefined);
      return;
    }
    const [statusLine = '', ...lines] = raw.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const body = raw.slice(end + 4);
    const length = headers['content-length'];
    if (!final && (length === undefined || body.length < Number(length))) return;
    result = { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body };
    settle(result);
  };
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    tryParse(false);
  });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      tryParse(true);
      resolve();
    }),
  );
  socket.write(head);
  return { socket, answer, answered: () => result !== undefined, closed };
}

function postHead(baseUrl: string, path: string, fields: readonly string[]): string {
  return `POST ${path} HTTP/1.1\r\nHost: ${new URL(baseUrl).host}\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n`;
}

function getHead(baseUrl: string, path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${new URL(baseUrl).host}\r\nConnection: close\r\n\r\n`;
}

/** Writes one byte every `everyMs` until the socket closes or the test stops it. */
function trickle(socket: Socket, everyMs: number): () => void {
  const timer = setInterval(() => {
    if (socket.writable) socket.write('x');
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
  return () => clearInterval(timer);
}

/** A plain GET from `localAddress`, answered in full. */
async function get(baseUrl: string, localAddress: string, path: string): Promise<Answer | undefined> {
  const client = openClient(baseUrl, localAddress, getHead(baseUrl, path));
  const answer = await Promise.race([client.answer, delay(GIVE_UP_MS).then(() => undefined)]);
  client.socket.destroy();
  return answer;
}

/** Polls `condition` every 20 ms; fails the test after GIVE_UP_MS. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = performance.now() + GIVE_UP_MS;
  while (!(await condition())) {
    if (performance.now() > deadline) assert.fail(`gave up waiting: ${what}`);
    await delay(20);
  }
}

function readiness(sidecar: TestSidecar): Promise<Answer | undefined> {
  return get(sidecar.url, '127.0.0.1', '/readyz');
}

// ---------------------------------------------------------------------------------------------

describe('resource exhaustion: slow clients and the backend connections', () => {
  let backend: RecordingBackend;
  const clients: RawClient[] = [];

  before(async () => {
    backend = await startRecordingBackend();
  });

  after(async () => {
    for (const client of clients) client.socket.destroy();
    await backend.close();
  });

  describe('one client trickling request bodies', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar({ config: limitsConfig(backend.url, { bodyTimeout: '10s' }) });
    });

    after(async () => {
      backend.releaseHeld();
      await sidecar.stop({ removeData: true });
    });

    it('holds at most limits.proxy.perClient backend connections: another client is still served, and the surplus is answered 429 and never forwarded', async () => {
      // More uploads than the whole pool holds, every one trickling a byte at a time.
      const attackers = POOL + PER_CLIENT;
      const before = backend.seen.length;
      const attack: RawClient[] = [];
      for (let i = 0; i < attackers; i += 1) {
        const client = openClient(
          sidecar.url,
          '127.0.0.2',
          postHead(sidecar.url, `/public/upload-${i}`, ['Content-Length: 100000']),
        );
        trickle(client.socket, 200);
        attack.push(client);
        clients.push(client);
      }
      const uploads = () => backend.seen.slice(before).filter((r) => r.url.startsWith('/public/upload-'));
      // A forwarded request's head travels with its first body byte.
      await waitFor(() => uploads().length >= PER_CLIENT, 'the admitted uploads forwarded');

      const victim = await get(sidecar.url, '127.0.0.1', '/public/victim');
      assert.equal(victim?.status, 200, 'another client is answered');
      assert.ok(
        backend.seen.some((r) => r.url === '/public/victim'),
        'the backend saw the other client',
      );

      await waitFor(
        () => attack.filter((client) => client.answered()).length >= attackers - PER_CLIENT,
        'the surplus requests answered',
      );
      const answers = await Promise.all(attack.filter((c) => c.answered()).map((c) => c.answer));
      assert.equal(answers.length, attackers - PER_CLIENT, 'only the surplus is answered');
      for (const answer of answers) {
        assertRefused(answer, 429, 'too_many_requests');
        assert.equal(answer?.headers['retry-after'], '1');
      }
      const forwarded = uploads();
      assert.equal(forwarded.length, PER_CLIENT, 'the backend saw only perClient of the uploads');
      assert.ok(
        forwarded.every((r) => !r.complete),
        'the uploads it saw are still trickling',
      );
      assert.equal(
        await metric(sidecar, 'auth_sidecar_proxy_refusals_total{reason="client_busy"}'),
        attackers - PER_CLIENT,
      );

      for (const client of attack) client.socket.destroy();
      await waitFor(async () => (await poolInUse(sidecar)) === 0, 'every connection given back');
    });
  });

  describe('a request body sent below limits.proxy.bodyMinRate', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar({
        config: limitsConfig(backend.url, { bodyTimeout: '300ms', bodyMinRate: 1000 }),
      });
    });

    after(async () => {
      await sidecar.stop({ removeData: true });
    });

    const cases = [
      { name: 'with a Content-Length', fields: ['Content-Length: 100000'] },
      { name: 'chunked', fields: ['Transfer-Encoding: chunked'] },
      { name: 'after Expect: 100-continue', fields: ['Content-Length: 100000', 'Expect: 100-continue'] },
    ];
    for (const { name, fields } of cases) {
      it(`is cut off with 408, its connection closed and the backend request aborted (${name})`, async () => {
        const path = `/public/slow-body-${cases.findIndex((c) => c.name === name)}`;
        const client = openClient(sidecar.url, '127.0.0.2', postHead(sidecar.url, path, fields));
        clients.push(client);
        // Chunked: one chunk of 100000 bytes, trickled; the same byte rate either way.
        if (fields.includes('Transfer-Encoding: chunked')) client.socket.write('186a0\r\n');
        trickle(client.socket, 100);

        const answer = await Promise.race([client.answer, delay(GIVE_UP_MS).then(() => 'none' as const)]);
        assert.notEqual(answer, 'none', 'the sidecar answered the trickling request');
        // A 100 Continue may come first; the final answer is what counts.
        const final = answer === 'none' ? undefined : answer;
        const problem = assertRefused(
          final?.status === 100 ? await finalAnswerAfterContinue(client) : final,
          408,
          'request_timeout',
        );
        assert.equal(problem.code, 'request_timeout');
        await Promise.race([
          client.closed,
          delay(GIVE_UP_MS).then(() => assert.fail('connection left open')),
        ]);
        const seen = backend.seen.find((r) => r.url === path);
        assert.ok(seen, 'the backend saw the request start');
        await waitFor(() => seen.abandoned, 'the backend request aborted');
        assert.equal(seen.complete, false);
        await waitFor(async () => (await poolInUse(sidecar)) === 0, 'its backend connection given back');
      });
    }

    it('lets a body through that arrives at a working pace, however long it takes past bodyTimeout', async () => {
      const path = '/public/steady-body';
      const total = 20 * 2048;
      const client = openClient(
        sidecar.url,
        '127.0.0.2',
        postHead(sidecar.url, path, [`Content-Length: ${total}`, 'Connection: close']),
      );
      clients.push(client);
      for (let sent = 0; sent < total; sent += 2048) {
        client.socket.write(Buffer.alloc(2048, 0x62));
        await delay(50);
      }
      const answer = await client.answer;
      assert.equal(answer?.status, 200, answer?.body);
      const seen = backend.seen.find((r) => r.url === path);
      assert.equal(seen?.bodyBytes, total);
      assert.equal(seen?.complete, true);
    });

    it('does not count against the client the time the backend takes none of the body', async () => {
      const path = '/public/slow-reader';
      // More than the socket buffers on the way hold, so that the sidecar stops reading.
      const total = 64 * 1024 * 1024;
      const client = openClient(
        sidecar.url,
        '127.0.0.2',
        postHead(sidecar.url, path, [`Content-Length: ${total}`, 'Connection: close']),
      );
      clients.push(client);
      const chunk = Buffer.alloc(1024 * 1024, 0x63);
      for (let sent = 0; sent < total; sent += chunk.length) {
        if (!client.socket.write(chunk)) await once(client.socket, 'drain');
      }
      const answer = await Promise.race([client.answer, delay(GIVE_UP_MS).then(() => undefined)]);
      assert.equal(answer?.status, 200, answer?.body);
      const seen = backend.seen.find((r) => r.url === path);
      assert.equal(seen?.bodyBytes, total);
    });
  });

  describe('clients that fill every backend connection', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar({
        config: limitsConfig(backend.url, {}, { queueTimeout: '300ms' }),
      });
    });

    after(async () => {
      backend.releaseHeld();
      await sidecar.stop({ removeData: true });
    });

    it('make /readyz answer 503 upstream_saturated, a waiting request 503 by upstream.queueTimeout, never forwarded, and a freed connection serve the next in line', async () => {
      const holders: RawClient[] = [];
      for (let i = 0; i < POOL; i += 1) {
        // Two clients, each within its own limit, together hold every connection.
        const address = i < PER_CLIENT ? '127.0.0.2' : '127.0.0.3';
        const client = openClient(sidecar.url, address, getHead(sidecar.url, `/public/hold/${i}`));
        holders.push(client);
        clients.push(client);
      }
      await waitFor(
        () => backend.seen.filter((r) => r.url.startsWith('/public/hold/')).length === POOL,
        'every connection held',
      );

      const ready = await readiness(sidecar);
      assert.equal(ready?.status, 503);
      assert.deepEqual(JSON.parse(ready?.body ?? '{}'), {
        status: 'not_ready',
        reason: 'upstream_saturated',
      });
      const metrics = (await sidecar.deps.metrics.render()).body;
      assert.match(metrics, new RegExp(`auth_sidecar_upstream_connections\\{state="in_use"\\} ${POOL}\\b`));

      const waitedFrom = performance.now();
      const queued = await get(sidecar.url, '127.0.0.4', '/public/queued');
      const waitedMs = performance.now() - waitedFrom;
      const problem = assertRefused(queued, 503, 'server_busy');
      assert.ok(problem.detail);
      assert.equal(queued?.headers['retry-after'], '1');
      assert.ok(waitedMs >= 250, `it waited for a connection first (${Math.round(waitedMs)} ms)`);
      assert.ok(!backend.seen.some((r) => r.url === '/public/queued'), 'the backend never saw it');
      assert.match(
        (await sidecar.deps.metrics.render()).body,
        /auth_sidecar_proxy_refusals_total\{reason="queue_timeout"\} 1\b/,
      );

      const next = openClient(sidecar.url, '127.0.0.4', getHead(sidecar.url, '/public/next-in-line'));
      clients.push(next);
      await waitFor(async () => (await poolWaiting(sidecar)) === 1, 'the next request waiting');
      backend.releaseHeld(1);
      const served = await next.answer;
      assert.equal(served?.status, 200, 'served once a connection came free');
      assert.ok(backend.seen.some((r) => r.url === '/public/next-in-line'));

      backend.releaseHeld();
      await Promise.all(holders.map((h) => h.answer));
      await waitFor(async () => (await poolInUse(sidecar)) === 0, 'every connection given back');
      assert.equal((await readiness(sidecar))?.status, 200);
    });
  });

  describe('a client that stops reading a response', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar({ config: limitsConfig(backend.url, { sendTimeout: '300ms' }) });
    });

    after(async () => {
      await sidecar.stop({ removeData: true });
    });

    it('is disconnected after limits.proxy.sendTimeout, and the backend download is aborted', async () => {
      const client = openClient(sidecar.url, '127.0.0.2', getHead(sidecar.url, '/public/big'));
      clients.push(client);
      // Reads nothing: the kernel buffers fill, then the sidecar's.
      client.socket.pause();
      await waitFor(() => backend.seen.some((r) => r.url === '/public/big'), 'the download started');
      const seen = backend.seen.find((r) => r.url === '/public/big');
      await waitFor(() => seen?.abandoned === true, 'the backend download aborted');
      // Reading again, the client finds the rest of what was buffered, then the closed connection.
      client.socket.resume();
      await Promise.race([client.closed, delay(GIVE_UP_MS).then(() => assert.fail('connection left open'))]);
      await waitFor(async () => (await poolInUse(sidecar)) === 0, 'its backend connection given back');
      assert.match(
        (await sidecar.deps.metrics.render()).body,
        /auth_sidecar_proxy_refusals_total\{reason="response_stalled"\} 1\b/,
      );
    });
  });

  describe('WebSocket upgrades', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar({
        config: limitsConfig(backend.url, {}, { timeout: '300ms' }),
      });
    });

    after(async () => {
      await sidecar.stop({ removeData: true });
    });

    const upgradeHead = (path: string) =>
      `GET ${path} HTTP/1.1\r\nHost: ${new URL(sidecar.url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

    it('count against limits.proxy.perClient while pending: the surplus is answered 429, never forwarded', async () => {
      const before = backend.upgrades.length;
      const pending: RawClient[] = [];
      for (let i = 0; i < PER_CLIENT + 2; i += 1) {
        const client = openClient(sidecar.url, '127.0.0.5', upgradeHead(`/public/ws-${i}`));
        pending.push(client);
        clients.push(client);
      }
      await waitFor(() => pending.filter((c) => c.answered()).length >= 2, 'the surplus answered');
      const refused = await Promise.all(pending.filter((c) => c.answered()).map((c) => c.answer));
      for (const answer of refused) assertRefused(answer, 429, 'too_many_requests');
      // A plain request of the same client is its fifth exchange too.
      assertRefused(await get(sidecar.url, '127.0.0.5', '/public/plain'), 429, 'too_many_requests');
      await waitFor(() => backend.upgrades.length - before >= PER_CLIENT, 'the admitted upgrades forwarded');
      assert.equal(backend.upgrades.length - before, PER_CLIENT, 'the backend saw only perClient upgrades');
      for (const client of pending) client.socket.destroy();
    });

    it('that the backend never answers are closed after upstream.timeout and give their connection back', async () => {
      // The previous test's upgrades give their connections back at their own upstream.timeout.
      await waitFor(async () => (await poolInUse(sidecar)) === 0, 'the earlier upgrades given back');
      const client = openClient(sidecar.url, '127.0.0.6', upgradeHead('/public/ws-silent'));
      clients.push(client);
      // Seen by the backend: it held a connection (for upstream.timeout, too short to poll for).
      await waitFor(() => backend.upgrades.includes('/public/ws-silent'), 'the upgrade forwarded');
      await Promise.race([
        client.closed,
        delay(GIVE_UP_MS).then(() => assert.fail('pending upgrade left open')),
      ]);
      await waitFor(async () => (await poolInUse(sidecar)) === 0, 'its backend connection given back');
    });
  });
});

/** After a 100 Continue on the same socket, the final response that followed it. */
async function finalAnswerAfterContinue(client: RawClient): Promise<Answer | undefined> {
  await client.closed;
  const answer = await client.answer;
  if (!answer) return undefined;
  const rest = answer.body;
  const end = rest.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0),
    headers,
    body: rest.slice(end + 4),
  };
}

/** A metric's value as the sidecar would expose it. */
async function metric(sidecar: TestSidecar, series: string): Promise<number | undefined> {
  const { body } = await sidecar.deps.metrics.render();
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

function poolInUse(sidecar: TestSidecar): Promise<number | undefined> {
  return metric(sidecar, 'auth_sidecar_upstream_connections{state="in_use"}');
}

function poolWaiting(sidecar: TestSidecar): Promise<number | undefined> {
  return metric(sidecar, 'auth_sidecar_upstream_waiting_requests');
}
