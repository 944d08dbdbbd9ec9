/**
 * Holes at the front door: forwarding headers a client invents (a prefix, an original path, a
 * scheme) that Spring, ASP.NET and Traefik-style backends build links and decisions from, sent
 * through a proxied request and through a WebSocket upgrade, from an untrusted and from a trusted
 * peer; and a backend connection poisoned by a refused upgrade, which must never serve another
 * client's request. Real servers on 127.0.0.1, raw sockets where the wire matters.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { rawRequest } from '../helpers/raw-http.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { connect } from '../helpers/websocket.js';

type Field = readonly [string, string];

/** Every invented value carries this, so a leak anywhere in what the backend saw is found. */
const SPOOFED = 'spoofed';

/** Forwarding and path claims no hop is believed on, in several spellings. */
const INVENTED: readonly Field[] = [
  ['X-Forwarded-Uri', `/${SPOOFED}/uri`],
  ['X-Forwarded-Prefix', `/${SPOOFED}-prefix`],
  ['X-Forwarded-Path', `/${SPOOFED}/path`],
  ['X-Forwarded-Server', `${SPOOFED}.example`],
  ['X-Forwarded-Ssl', `on-${SPOOFED}`],
  ['X-Forwarded-Scheme', `https-${SPOOFED}`],
  ['X-Forwarded-Anything-Else', SPOOFED],
  ['X_Forwarded_Prefix', `/${SPOOFED}-underscore`],
  ['x-forwarded_uri', `/${SPOOFED}/mixed`],
  ['X-Url-Scheme', `https-${SPOOFED}`],
  ['Front-End-Https', `on-${SPOOFED}`],
  ['X-Envoy-Original-Path', `/${SPOOFED}/envoy`],
  ['X-Original-Path', `/${SPOOFED}/original`],
  ['X_Original_Path', `/${SPOOFED}/original-underscore`],
];

/** The forwarding headers a trusted hop is believed on. */
const KNOWN_FROM_TRUSTED: readonly Field[] = [
  ['X-Forwarded-For', '203.0.113.7'],
  ['X-Forwarded-Proto', 'https'],
  ['X-Forwarded-Host', 'public.example'],
  ['X-Forwarded-Port', '8443'],
];

const GIVE_UP_MS = 5_000;

interface Seen {
  readonly kind: 'request' | 'upgrade';
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly socket: Socket;
}

interface Backend {
  readonly url: string;
  readonly seen: Seen[];
  /** How upgrades are answered: accepted as WebSockets, or refused with a raw 426 on a socket kept open. */
  upgrades: 'accept' | 'refuse-keep-open';
  /** Sockets the backend held open after refusing an upgrade. */
  readonly held: Socket[];
  close(): Promise<void>;
}

async function startBackend(): Promise<Backend> {
  const seen: Seen[] = [];
  const held: Socket[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((req, res) => {
    seen.push({ kind: 'request', url: req.url ?? '', headers: req.headers, socket: req.socket });
    req.resume();
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': '2' });
    res.end('ok');
  });
  const backend: Backend = {
    url: '',
    seen,
    upgrades: 'accept',
    held,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of held) socket.destroy();
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    seen.push({ kind: 'upgrade', url: req.url ?? '', headers: req.headers, socket });
    if (backend.upgrades === 'accept') {
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(data)));
      return;
    }
    // A WebSocket handler that refuses on the raw socket, and keeps it: no HTTP parser reads it again.
    socket.write('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n');
    held.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(backend, { url: `http://127.0.0.1:${port}` });
}

function assertNoInvented(headers: IncomingHttpHeaders): void {
  for (const [name, value] of Object.entries(headers)) {
    assert.ok(!String(value).includes(SPOOFED), `the backend saw ${name}: ${String(value)}`);
  }
  for (const name of Object.keys(headers)) {
    const folded = name.replaceAll('_', '-');
    assert.ok(
      ![
        'x-forwarded-uri',
        'x-forwarded-prefix',
        'x-forwarded-path',
        'x-url-scheme',
        'front-end-https',
      ].includes(folded),
      `the backend saw ${name}`,
    );
  }
}

async function proxiedRequest(sidecar: TestSidecar, backend: Backend, fields: readonly Field[]) {
  const before = backend.seen.length;
  const response = await rawRequest(sidecar.url, { target: '/public/page', headers: fields });
  assert.equal(response.status, 200);
  const reached = backend.seen.slice(before);
  assert.equal(reached.length, 1);
  assert.equal(reached[0]?.kind, 'request');
  return reached[0].headers;
}

async function upgrade(sidecar: TestSidecar, backend: Backend, fields: readonly Field[]) {
  const before = backend.seen.length;
  const ws = await connect(`${sidecar.url.replace('http', 'ws')}/public/ws`, Object.fromEntries(fields));
  assert.notEqual(typeof ws, 'number', 'the upgrade was refused');
  if (typeof ws !== 'number') ws.terminate();
  const reached = backend.seen.slice(before);
  assert.equal(reached.length, 1);
  assert.equal(reached[0]?.kind, 'upgrade');
  return reached[0].headers;
}

describe('forwarding headers a client invents', () => {
  let backend: Backend;
  let untrusting: TestSidecar;
  let trusting: TestSidecar;

  before(async () => {
    backend = await startBackend();
    untrusting = await startSidecar({ upstreamUrl: backend.url });
    trusting = await startSidecar({ upstreamUrl: backend.url, config: { trustProxy: ['127.0.0.1'] } });
  });
  after(async () => {
    await untrusting.stop({ removeData: true });
    await trusting.stop({ removeData: true });
    await backend.close();
  });

  describe('from an untrusted peer', () => {
    const sent = [...INVENTED, ...KNOWN_FROM_TRUSTED.map(([n, v]) => [n, `${v}-${SPOOFED}`] as const)];
    it('a proxied request reaches the backend with none of them, and the sidecar’s own view', async () => {
      const headers = await proxiedRequest(untrusting, backend, sent);
      assertNoInvented(headers);
      assert.equal(headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(headers['x-forwarded-proto'], 'http');
    });
    it('a WebSocket upgrade reaches the backend with none of them', async () => {
      const headers = await upgrade(untrusting, backend, sent);
      assertNoInvented(headers);
    });
  });

  describe('from a trusted hop (trustProxy: [127.0.0.1])', () => {
    const sent = [...INVENTED, ...KNOWN_FROM_TRUSTED];
    it('a proxied request keeps only -For (with the peer appended), -Proto, -Host and -Port', async () => {
      const headers = await proxiedRequest(trusting, backend, sent);
      assertNoInvented(headers);
      assert.equal(headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
      assert.equal(headers['x-forwarded-proto'], 'https');
      assert.equal(headers['x-forwarded-host'], 'public.example');
      assert.equal(headers['x-forwarded-port'], '8443');
    });
    it('a WebSocket upgrade keeps only the known set too', async () => {
      const headers = await upgrade(trusting, backend, sent);
      assertNoInvented(headers);
      assert.equal(headers['x-forwarded-host'], 'public.example');
    });
  });
});

describe('a backend connection used for a refused upgrade', () => {
  let backend: Backend;
  let sidecar: TestSidecar;

  before(async () => {
    backend = await startBackend();
    backend.upgrades = 'refuse-keep-open';
    sidecar = await startSidecar({
      upstreamUrl: backend.url,
      config: { upstream: { url: backend.url, timeout: '3s', maxConnections: 1, queueTimeout: '3s' } },
    });
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await backend.close();
  });

  it('is never reused: another client’s GET gets its 200 promptly, on a fresh connection', async () => {
    const refused = await connect(`${sidecar.url.replace('http', 'ws')}/public/ws`);
    assert.equal(refused, 426);
    assert.equal(backend.held.length, 1);

    const started = performance.now();
    const response = await rawRequest(sidecar.url, { target: '/public/after' });
    const tookMs = performance.now() - started;
    assert.equal(response.status, 200);
    assert.ok(tookMs < 1_500, `the GET took ${Math.round(tookMs)} ms`);

    const [upgradeSeen, requestSeen] = backend.seen;
    assert.equal(upgradeSeen?.kind, 'upgrade');
    assert.equal(requestSeen?.kind, 'request');
    assert.equal(requestSeen.url, '/public/after');
    assert.notEqual(
      requestSeen.socket,
      upgradeSeen.socket,
      'the GET reached the backend on the refused socket',
    );
    assert.notEqual(requestSeen.socket.remotePort, upgradeSeen.socket.remotePort);
  });

  it('a loop of refused upgrades leaves the pool usable', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal(await connect(`${sidecar.url.replace('http', 'ws')}/public/ws/${i}`), 426);
    }
    const response = await Promise.race([
      rawRequest(sidecar.url, { target: '/public/after-loop' }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer')), GIVE_UP_MS).unref()),
    ]);
    assert.equal(response.status, 200);
    const sockets = backend.seen.filter((seen) => seen.kind === 'upgrade').map((seen) => seen.socket);
    const last = backend.seen.at(-1);
    assert.equal(last?.url, '/public/after-loop');
    assert.ok(!sockets.includes(last.socket), 'the GET reached the backend on a refused socket');
  });
});
