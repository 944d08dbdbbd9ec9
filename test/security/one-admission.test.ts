/**
 * One admission for every way in: the same spoofed header, the same ambiguous path and the same
 * refused method, sent as a proxied request, as a WebSocket upgrade and as a forward-auth question,
 * get the same answer, leave the backend the same view, and are recorded the same way. A rule added
 * to the shared step (stripping, canonical form, a refusal) holds for all three, or this fails.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';

type Field = readonly [string, string];
type Way = 'proxied request' | 'upgrade' | 'forward-auth';
const WAYS: readonly Way[] = ['proxied request', 'upgrade', 'forward-auth'];

/** What one way in made of a request: the status, and what the backend got or would get. */
interface Outcome {
  readonly status: number;
  /**
   * The backend's view: the headers it received (a proxied request, an upgrade), or the identity
   * headers forward-auth answered for the proxy in front to pass on; undefined when nothing would
   * reach it.
   */
  readonly backendSaw: IncomingHttpHeaders | undefined;
  /** The request line the sidecar logged. */
  readonly line: Record<string, unknown>;
}

interface Backend {
  readonly url: string;
  readonly seen: IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function startBackend(): Promise<Backend> {
  const seen: IncomingHttpHeaders[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.end('ok');
  });
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    seen.push(req.headers);
    wss.handleUpgrade(req, socket, head, (ws) => ws.close());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends a WebSocket handshake as written and reads the answer's status line and head, then hangs up. */
function rawUpgrade(baseUrl: string, method: string, target: string, fields: readonly Field[]) {
  const url = new URL(baseUrl);
  const head =
    `${method} ${target} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
    fields.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    '\r\n';
  return new Promise<number>((resolve, reject) => {
    const socket = connectTcp({ host: url.hostname, port: Number(url.port) }, () => socket.write(head));
    let received = '';
    socket.setTimeout(5_000, () => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${target}`));
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      socket.destroy();
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0));
    });
    socket.on('error', reject);
  });
}

const IDENTITY = ['x-user', 'x-user-id', 'x-user-roles'] as const;

async function send(
  way: Way,
  sidecar: TestSidecar,
  backend: Backend,
  request: { readonly method: string; readonly target: string; readonly fields: readonly Field[] },
): Promise<Outcome> {
  const reqId = randomUUID();
  const fields: Field[] = [...request.fields, ['X-Request-Id', reqId]];
  const before = backend.seen.length;
  let status: number;
  let answered: IncomingHttpHeaders | undefined;
  switch (way) {
    case 'proxied request':
      status = (
        await rawRequest(sidecar.url, { method: request.method, target: request.target, headers: fields })
      ).status;
      break;
    case 'upgrade':
      status = await rawUpgrade(sidecar.url, request.method, request.target, fields);
      break;
    case 'forward-auth': {
      // As nginx asks: the original request in X-Original-*, the client's own headers passed along.
      const response = await rawRequest(sidecar.url, {
        target: '/auth/verify',
        headers: [['X-Original-Method', request.method], ['X-Original-URI', request.target], ...fields],
      });
      status = response.status;
      if (status === 200) {
        answered = Object.fromEntries(
          IDENTITY.flatMap((name) => {
            const value = response.headers[name];
            return value === undefined ? [] : [[name, value]];
          }),
        );
      }
      break;
    }
  }
  const line = await requestLine(sidecar, reqId);
  const reached = backend.seen.slice(before);
  assert.ok(reached.length <= 1, `${way}: the backend got ${reached.length} requests`);
  return { status, backendSaw: way === 'forward-auth' ? answered : reached[0], line };
}

async function requestLine(sidecar: TestSidecar, reqId: string): Promise<Record<string, unknown>> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const line = sidecar.logs.entries.find((entry) => entry.msg === 'request' && entry.reqId === reqId);
    if (line) return line;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no request line for ${reqId}`);
}

describe('one admission for a proxied request, an upgrade and forward-auth', () => {
  let backend: Backend;
  let sidecar: TestSidecar;
  let alice: SeededUser;

  before(async () => {
    backend = await startBackend();
    sidecar = await startSidecar({ upstreamUrl: backend.url });
    alice = await seedUser(sidecar, 'alice', ['user']);
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await backend.close();
  });

  const SPOOFED_IDENTITY: readonly Field[] = [
    ['X-User', 'admin'],
    ['X_User_Id', 'admin-id'],
    ['x-user-roles', 'admin'],
  ];

  const passing = [
    {
      name: 'a client’s own X-User headers (any spelling) never reach the backend as an identity',
      method: 'GET',
      target: '/public/page',
      fields: SPOOFED_IDENTITY,
      token: false,
      expect: (saw: IncomingHttpHeaders) => {
        for (const name of IDENTITY) assert.equal(saw[name], undefined, `the backend saw ${name}`);
      },
    },
    {
      name: 'beside a valid token, the backend sees the token’s user, not the claimed one',
      method: 'GET',
      target: '/api/things',
      fields: SPOOFED_IDENTITY,
      token: true,
      expect: (saw: IncomingHttpHeaders) => {
        assert.equal(saw['x-user'], 'alice');
        assert.equal(saw['x-user-roles'], 'user');
      },
    },
    {
      name: 'an invented forwarding header (X-Forwarded-Prefix) never reaches the backend',
      method: 'GET',
      target: '/public/page',
      fields: [['X-Forwarded-Prefix', '/admin']] as const,
      token: false,
      expect: (saw: IncomingHttpHeaders) => assert.equal(saw['x-forwarded-prefix'], undefined),
    },
  ];

  for (const testCase of passing) {
    it(testCase.name, async () => {
      const fields: Field[] = [...testCase.fields];
      if (testCase.token) fields.push(['Authorization', `Bearer ${alice.token}`]);
      for (const way of WAYS) {
        const outcome = await send(way, sidecar, backend, { ...testCase, fields });
        assert.equal(outcome.status, way === 'upgrade' ? 101 : 200, way);
        assert.ok(outcome.backendSaw, `${way}: nothing would reach the backend`);
        testCase.expect(outcome.backendSaw);
        assert.equal(outcome.line.decision, 'allow', way);
      }
    });
  }

  const refused = [
    {
      name: 'a fullwidth dot segment (not stable under NFKC) is refused with 400',
      method: 'GET',
      target: '/public/%EF%BC%8E%EF%BC%8E/admin/x',
      status: 400,
      reason: 'not_nfkc',
    },
    {
      name: 'a double-encoded dot segment is refused with 400',
      method: 'GET',
      target: '/public/%252e%252e/admin/x',
      status: 400,
      reason: 'double_encoding',
    },
    {
      name: 'a path that climbs above the root is refused with 400',
      method: 'GET',
      target: '/public/../../admin/x',
      status: 400,
      reason: 'above_root',
    },
    {
      name: 'TRACE is refused with 405',
      method: 'TRACE',
      target: '/public/page',
      status: 405,
      reason: 'method_refused',
    },
  ];

  for (const testCase of refused) {
    it(`${testCase.name}, the same way each time, and nothing reaches the backend`, async () => {
      const lines: Record<string, unknown>[] = [];
      for (const way of WAYS) {
        const outcome = await send(way, sidecar, backend, { ...testCase, fields: SPOOFED_IDENTITY });
        assert.equal(outcome.status, testCase.status, way);
        assert.equal(outcome.backendSaw, undefined, `${way}: it reached the backend`);
        lines.push(outcome.line);
      }
      for (const [i, line] of lines.entries()) {
        assert.equal(line.decision, 'deny', WAYS[i]);
        assert.equal(line.reason, testCase.reason, WAYS[i]);
        assert.equal(line.status, testCase.status, WAYS[i]);
      }
      assert.equal(lines[1]?.upgrade, 'websocket', 'the upgrade was not handled as one');
    });
  }
});
