import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { waitForRequestLine } from '../helpers/contract.js';
import { assertProblem } from '../helpers/problem.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { echoRecorded, startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';

/** Who a request is sent as: a user seeded in the sidecar under test, or nobody. */
type Caller = 'user' | 'admin' | undefined;

/** The last rule makes every other path public, so a request that slips past a check is forwarded. */
const RULES = [
  { path: '/public/**', public: true },
  { path: '/admin/**', roles: ['admin'] },
  { path: '/api/**', authenticated: true },
  { path: '/**', public: true },
];

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A port on 127.0.0.1 that nothing listens on (bound once, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('proxy forwarding', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let alice: SeededUser;
  /** `Authorization` of alice (role user) and of root (role admin), as issued by the sidecar. */
  let USER: string;
  let ADMIN: string;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { rules: RULES } });
    alice = await seedUser(sidecar, 'alice', ['user']);
    USER = `Bearer ${alice.token}`;
    ADMIN = `Bearer ${(await seedUser(sidecar, 'root', ['admin'])).token}`;
  });

  /** The `Authorization` header fields of a caller. */
  function authorizationOf(caller: Caller): [string, string][] {
    if (caller === undefined) return [];
    return [['Authorization', caller === 'user' ? USER : ADMIN]];
  }

  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  /** What reached the upstream from `before` on; at most one request is expected. */
  function seenSince(before: number): RecordedRequest | undefined {
    const seen = upstream.requests.slice(before);
    assert.ok(seen.length <= 1, `the upstream saw ${seen.length} requests for one`);
    return seen[0];
  }

  describe('method, path, query and body', () => {
    const target = '/api/items/42?sort=desc&q=a%20b&empty=&flag&a=1&a=2';
    const body = JSON.stringify({ name: 'widget', count: 3 });
    const cases: [string, 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS' | 'GET'][] = [
      ['a GET arrives unchanged', 'GET'],
      ['a POST with a body arrives unchanged', 'POST'],
      ['a PUT with a body arrives unchanged', 'PUT'],
      ['a PATCH with a body arrives unchanged', 'PATCH'],
      ['a DELETE with a body arrives unchanged', 'DELETE'],
      ['an OPTIONS with a body arrives unchanged', 'OPTIONS'],
    ];
    for (const [name, method] of cases) {
      it(name, async () => {
        const before = upstream.requests.length;
        const sent = method === 'GET' ? undefined : body;
        const response = await rawRequest(sidecar.url, {
          method,
          target,
          headers: [
            ['Authorization', USER],
            ...(sent === undefined ? [] : ([['Content-Type', 'application/json']] as [string, string][])),
          ],
          ...(sent === undefined ? {} : { body: sent }),
        });
        assert.equal(response.status, 200, response.raw);
        const forwarded = seenSince(before);
        assert.ok(forwarded);
        assert.equal(forwarded.method, method);
        assert.equal(forwarded.url, target);
        assert.equal(forwarded.bodyBytes, sent === undefined ? 0 : Buffer.byteLength(sent));
        assert.equal(forwarded.bodySha256, sha256(sent ?? ''));
        if (sent !== undefined) assert.equal(forwarded.headers['content-type'], 'application/json');
      });
    }

    it('a HEAD arrives as HEAD', async () => {
      const before = upstream.requests.length;
      const response = await request(sidecar.url).head('/public/file.txt?v=3');
      assert.equal(response.status, 200);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.method, 'HEAD');
      assert.equal(forwarded.url, '/public/file.txt?v=3');
    });

    it('a query string with escapes and reserved characters arrives byte for byte', async () => {
      const before = upstream.requests.length;
      const query = '?b=%2F%2e%7e&c=x:y@z/?w&d=%E2%82%AC&e=a+b&f=%252F';
      const response = await rawRequest(sidecar.url, { target: `/public/search${query}` });
      assert.equal(response.status, 200, response.raw);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.url, `/public/search${query}`);
    });

    it('a path with escapes that need no canonicalization arrives unchanged', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, { target: '/public/a%20b/%C3%A9t%C3%A9' });
      assert.equal(response.status, 200, response.raw);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.url, '/public/a%20b/%C3%A9t%C3%A9');
    });

    it('a 5 MB POST body arrives intact', async () => {
      const payload = randomBytes(5 * 1024 * 1024);
      const before = upstream.requests.length;
      const response = await request(sidecar.url)
        .post('/api/upload')
        .set('Authorization', USER)
        .set('Content-Type', 'application/octet-stream')
        .send(payload);
      assert.equal(response.status, 200, response.text);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.method, 'POST');
      assert.equal(forwarded.bodyBytes, payload.length);
      assert.equal(forwarded.bodySha256, sha256(payload));
    });

    it('a 5 MB chunked POST body arrives intact', async () => {
      const payload = randomBytes(5 * 1024 * 1024);
      const chunks: Buffer[] = [];
      for (let offset = 0; offset < payload.length; offset += 1 << 20) {
        const chunk = payload.subarray(offset, offset + (1 << 20));
        chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
      }
      chunks.push(Buffer.from('0\r\n\r\n'));
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        method: 'POST',
        target: '/api/upload',
        headers: [
          ['Authorization', USER],
          ['Content-Type', 'application/octet-stream'],
          ['Transfer-Encoding', 'chunked'],
        ],
        body: Buffer.concat(chunks),
      });
      assert.equal(response.status, 200, response.raw.slice(0, 500));
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.bodyBytes, payload.length);
      assert.equal(forwarded.bodySha256, sha256(payload));
    });
  });

  describe('canonical paths', () => {
    const forwarded: [string, string, Caller, string][] = [
      ['repeated slashes and a dot segment collapse', '//api//x/./y', 'user', '/api/x/y'],
      ['the query survives canonicalization', '//api//x/./y?z=1&z=2', 'user', '/api/x/y?z=1&z=2'],
      ['a dot-dot segment removes its parent', '/public/a/../b', undefined, '/public/b'],
      ['an admin path reached through slashes is forwarded for an admin', '//admin//x', 'admin', '/admin/x'],
      [
        'an admin path reached through dot-dot is forwarded for an admin',
        '/public/../admin/x',
        'admin',
        '/admin/x',
      ],
      ['an encoded letter is decoded before forwarding', '/%61dmin/x', 'admin', '/admin/x'],
    ];
    for (const [name, target, caller, path] of forwarded) {
      it(`${name}: ${target} arrives as ${path}`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(sidecar.url, { target, headers: authorizationOf(caller) });
        assert.equal(response.status, 200, response.raw);
        const seen = seenSince(before);
        assert.ok(seen);
        assert.equal(seen.url, path);
      });
    }

    const denied: [string, string, Caller, 401 | 403][] = [
      ['a double slash does not hide /admin from the rules', '//admin/x', 'user', 403],
      ['a double slash does not hide /admin from an anonymous caller', '//admin/x', undefined, 401],
      ['a dot-dot from a public path does not escape to /admin', '/public/../admin/x', 'user', 403],
      ['a dot segment does not hide /admin', '/./admin/x', 'user', 403],
      ['dot-dot and slashes together do not hide /admin', '/public/.//..//admin/x', undefined, 401],
      ['an encoded letter does not hide /admin', '/%61dmin/x', 'user', 403],
      ['a trailing slash does not hide /admin', '/admin/x/', 'user', 403],
      ['a double slash does not hide /api', '//api/x', undefined, 401],
    ];
    for (const [name, target, caller, status] of denied) {
      it(`${name} (${target}: ${status}, never forwarded)`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(sidecar.url, { target, headers: authorizationOf(caller) });
        assertProblem(response, status);
        assert.equal(seenSince(before), undefined);
      });
    }
  });

  describe('invalid paths', () => {
    const cases: [string, string][] = [
      ['an encoded slash in lower case', '/public%2fadmin'],
      ['an encoded slash in upper case', '/public/..%2F..%2Fadmin/x'],
      ['an encoded slash on an admin path', '/admin%2Fx'],
      ['dot-dot above the root', '/../admin/x'],
      ['dot-dot above the root after a segment', '/public/../../admin/x'],
      ['an encoded dot-dot', '/public/%2e%2e/admin/x'],
      ['a backslash', '/public\\..\\admin\\x'],
      ['a backslash inside a segment', '/public/a\\b'],
      ['an encoded backslash', '/public/..%5Cadmin'],
    ];
    for (const [name, target] of cases) {
      it(`refuses ${name} with 400 problem+json, never forwarded (${target})`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(sidecar.url, { target, headers: [['Authorization', ADMIN]] });
        assertProblem(response, 400);
        assert.equal(seenSince(before), undefined);
      });
    }

    // Servlet containers read /admin;x=1 as /admin and /public/..;/admin as /admin; others do not.
    const pathParameters: [string, string][] = [
      ['a path parameter', '/public/a%20b/%C3%A9t%C3%A9;v=1'],
      ['a path parameter on an admin path', '/admin;x=1/x'],
      ['a path parameter after dot-dot', '/public/..;/admin/x'],
    ];
    for (const [name, target] of pathParameters) {
      it(`refuses ${name} with 400 problem+json for reason path_parameter, never forwarded (${target})`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(sidecar.url, { target, headers: [['Authorization', ADMIN]] });
        assertProblem(response, 400);
        assert.equal(seenSince(before), undefined);
        const reqId = response.headers['x-request-id'];
        assert.ok(reqId !== undefined, response.raw);
        const line = await waitForRequestLine(sidecar.logs, reqId);
        assert.equal(line.reason, 'path_parameter');
      });
    }
  });

  describe('absolute-form request targets', () => {
    it('decides http://other/admin/x by its path: 403 for a user, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        target: 'http://other.example/admin/x',
        headers: [['Authorization', USER]],
      });
      assertProblem(response, 403);
      assert.equal(seenSince(before), undefined);
    });

    it('decides http://other/admin/x by its path: 401 without a token, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, { target: 'http://other.example/admin/x' });
      assertProblem(response, 401);
      assert.equal(seenSince(before), undefined);
    });

    it('decides http://other//admin/x by its canonical path, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        target: 'http://other.example//admin/x',
        headers: [['Authorization', USER]],
      });
      assertProblem(response, 403);
      assert.equal(seenSince(before), undefined);
    });

    it('forwards http://other/admin/x?q=1 for an admin as /admin/x?q=1', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        target: 'http://other.example/admin/x?q=1',
        headers: [['Authorization', ADMIN]],
      });
      assert.equal(response.status, 200, response.raw);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.url, '/admin/x?q=1');
    });
  });

  describe("the sidecar's own endpoints", () => {
    const targets = ['//auth/me', '/./auth/me', '/public/../auth/me', 'http://other.example//auth/me'];
    for (const target of targets) {
      it(`answers ${target} itself as /auth/me, never forwarded`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(sidecar.url, { target });
        // /auth/me without a token: the sidecar's 401, where the public catch-all would have given 200.
        assertProblem(response, 401);
        assert.equal(seenSince(before), undefined);
      });
    }

    it('answers //auth/login itself, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        method: 'POST',
        target: '//auth/login',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify({ username: 'nobody', password: 'wrong-password' }),
      });
      assertProblem(response, 401);
      assert.equal(seenSince(before), undefined);
    });
  });

  describe('protocol upgrades', () => {
    const handshake: [string, string][] = [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Version', '13'],
    ];
    const upgrade = (target: string, authorization?: string) =>
      rawRequest(sidecar.url, {
        target,
        headers: [
          ...handshake,
          ...(authorization === undefined ? [] : ([['Authorization', authorization]] as [string, string][])),
        ],
      });

    it('forwards an upgrade the rules allow, with its Upgrade and Connection fields and the identity', async () => {
      const before = upstream.requests.length;
      await upgrade('/admin/socket', ADMIN);
      const forwarded = seenSince(before);
      assert.equal(forwarded?.url, '/admin/socket');
      assert.equal(forwarded?.headers.upgrade, 'websocket');
      assert.equal(forwarded?.headers.connection, 'Upgrade');
      assert.equal(forwarded?.headers['x-user'], 'root');
    });

    it('refuses an upgrade the rules deny before any upgrade, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await upgrade('/admin/socket');
      assert.equal(response.status, 401, response.raw);
      assert.equal(seenSince(before), undefined);
    });

    it('refuses an upgrade to another protocol than WebSocket with 501, never forwarded', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        target: '/public/socket',
        headers: [
          ['Connection', 'Upgrade'],
          ['Upgrade', 'h2c'],
        ],
      });
      assert.equal(response.status, 501, response.raw);
      assert.equal(seenSince(before), undefined);
    });
  });

  describe('hop-by-hop headers', () => {
    it('drops the fields listed in Connection and the standard hop-by-hop fields', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        target: '/public/hop',
        headers: [
          ['Connection', 'close, X-Hop-Secret, X-Other-Hop'],
          ['X-Hop-Secret', 'hop-1'],
          ['X-Other-Hop', 'hop-2'],
          ['Keep-Alive', 'timeout=5'],
          ['Proxy-Authorization', 'Basic aG9wOmhvcA=='],
          ['TE', 'trailers'],
          ['Trailer', 'X-Checksum'],
          ['X-End-To-End', 'kept'],
        ],
      });
      assert.equal(response.status, 200, response.raw);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      for (const name of [
        'x-hop-secret',
        'x-other-hop',
        'keep-alive',
        'proxy-authorization',
        'te',
        'trailer',
      ]) {
        assert.equal(forwarded.headers[name], undefined, `${name} was forwarded`);
      }
      assert.equal(forwarded.headers['x-end-to-end'], 'kept');
    });

    const connections = ['X-User', 'x-user, X-User-Id, X-User-Roles', 'close, X-User'];
    for (const connection of connections) {
      it(`keeps the identity headers when the client sends Connection: ${connection}`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(sidecar.url, {
          target: '/api/me',
          headers: [
            ['Authorization', USER],
            ['Connection', connection],
          ],
        });
        assert.equal(response.status, 200, response.raw);
        const forwarded = seenSince(before);
        assert.ok(forwarded);
        assert.equal(forwarded.headers['x-user'], 'alice');
        assert.equal(forwarded.headers['x-user-id'], alice.id);
        assert.equal(forwarded.headers['x-user-roles'], 'user');
      });
    }

    it('drops the fields the upstream lists in its Connection header (response direction)', async () => {
      upstream.behave((_req, res) => {
        res.writeHead(200, {
          Connection: 'keep-alive, X-Backend-Hop',
          'X-Backend-Hop': 'backend-secret',
          'X-Backend-End-To-End': 'kept',
          'Content-Length': '2',
        });
        res.end('ok');
      });
      try {
        const response = await rawRequest(sidecar.url, { target: '/public/hop-response' });
        assert.equal(response.status, 200, response.raw);
        assert.equal(response.body, 'ok');
        assert.equal(response.headers['x-backend-end-to-end'], 'kept');
        assert.equal(response.headers['x-backend-hop'], undefined, response.raw);
      } finally {
        upstream.behave(echoRecorded);
      }
    });

    it('keeps the identity headers on a public path when Connection lists them and X-User is forged', async () => {
      const before = upstream.requests.length;
      const response = await rawRequest(sidecar.url, {
        target: '/public/page',
        headers: [
          ['Authorization', USER],
          ['Connection', 'close, X-User'],
          ['X-User', 'forged-by-client'],
        ],
      });
      assert.equal(response.status, 200, response.raw);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-user'], 'alice');
      assert.equal(forwarded.rawHeaders.includes('forged-by-client'), false);
    });
  });

  describe('X-Request-Id', () => {
    const kept = ['abc-123', 'req.2024:07_x-Y', 'a', 'x'.repeat(128)];
    for (const id of kept) {
      it(`keeps a well-formed id (${id.length} chars), forwards it and returns it`, async () => {
        const before = upstream.requests.length;
        const response = await request(sidecar.url).get('/public/id').set('X-Request-Id', id);
        assert.equal(response.status, 200);
        assert.equal(response.headers['x-request-id'], id);
        const forwarded = seenSince(before);
        assert.ok(forwarded);
        assert.equal(forwarded.headers['x-request-id'], id);
      });
    }

    const replaced: [string, string][] = [
      ['one of 129 characters', 'x'.repeat(129)],
      ['one with a space', 'abc def'],
      ['one with a slash', 'abc/def'],
      ['one with a quote', 'abc"def'],
      ['one with a non-ASCII character', 'abc\u00e9'],
      ['an empty one', ''],
    ];
    for (const [name, id] of replaced) {
      it(`replaces ${name} and forwards and returns the replacement`, async () => {
        const before = upstream.requests.length;
        const response = await rawRequest(sidecar.url, {
          target: '/public/id',
          headers: [['X-Request-Id', id]],
        });
        assert.equal(response.status, 200, response.raw);
        const returned = response.headers['x-request-id'];
        assert.ok(returned !== undefined);
        assert.notEqual(returned, id);
        assert.match(returned, REQUEST_ID);
        const forwarded = seenSince(before);
        assert.ok(forwarded);
        assert.equal(forwarded.headers['x-request-id'], returned);
      });
    }

    it('generates one when none is sent, forwards it and returns it', async () => {
      const before = upstream.requests.length;
      const response = await request(sidecar.url).get('/public/id');
      assert.equal(response.status, 200);
      const returned = response.headers['x-request-id'];
      assert.ok(returned !== undefined);
      assert.match(returned, REQUEST_ID);
      const forwarded = seenSince(before);
      assert.ok(forwarded);
      assert.equal(forwarded.headers['x-request-id'], returned);
    });

    it('generates a different one for each request', async () => {
      const first = await request(sidecar.url).get('/public/id');
      const second = await request(sidecar.url).get('/public/id');
      assert.notEqual(first.headers['x-request-id'], second.headers['x-request-id']);
    });

    it('returns the id on a denial too', async () => {
      const before = upstream.requests.length;
      const response = await request(sidecar.url).get('/admin/x').set('X-Request-Id', 'deny-42');
      assertProblem(response, 401);
      assert.equal(response.headers['x-request-id'], 'deny-42');
      assert.equal(seenSince(before), undefined);
    });
  });

  describe('upstream failures', () => {
    it('answers 502 when the upstream resets the connection, then keeps serving', async () => {
      upstream.behave((req) => req.socket.destroy());
      try {
        const response = await request(sidecar.url).get('/public/reset');
        assertProblem(response, 502);
      } finally {
        upstream.behave(echoRecorded);
      }
      const next = await request(sidecar.url).get('/public/after-reset');
      assert.equal(next.status, 200);
      assert.equal((next.body as RecordedRequest).url, '/public/after-reset');
    });

    it('answers 502 when the upstream resets a POST, then keeps serving', async () => {
      upstream.behave((req) => req.socket.destroy());
      try {
        const response = await request(sidecar.url)
          .post('/api/reset')
          .set('Authorization', USER)
          .set('Content-Type', 'application/json')
          .send({ a: 1 });
        assertProblem(response, 502);
      } finally {
        upstream.behave(echoRecorded);
      }
      const next = await request(sidecar.url).get('/api/after-reset').set('Authorization', USER);
      assert.equal(next.status, 200);
    });

    it('stops the download from the backend when the client hangs up mid-answer', async () => {
      let backendSawHangUp!: () => void;
      const hungUp = new Promise<void>((resolve) => (backendSawHangUp = resolve));
      upstream.behave((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
        res.write(randomBytes(1024));
        // Never ends on its own: only the sidecar closing this exchange ends it.
        res.once('close', () => {
          if (!res.writableEnded) backendSawHangUp();
        });
      });
      try {
        await new Promise<void>((resolve, reject) => {
          const client = httpGet(`${sidecar.url}/public/endless`, (response) => {
            response.once('data', () => {
              client.destroy();
              resolve();
            });
          });
          client.once('error', (err: NodeJS.ErrnoException) => {
            if (err.code !== 'ECONNRESET') reject(err);
          });
        });
        await hungUp;
      } finally {
        upstream.behave(echoRecorded);
      }
      const next = await request(sidecar.url).get('/public/after-hang-up');
      assert.equal(next.status, 200);
    });

    describe('with nothing listening', () => {
      let port: number;
      let refused: TestSidecar;
      let revived: Server | undefined;

      let refusedUser: string;

      before(async () => {
        port = await freePort();
        refused = await startSidecar({ upstreamUrl: `http://127.0.0.1:${port}`, config: { rules: RULES } });
        refusedUser = `Bearer ${(await seedUser(refused, 'alice', ['user'])).token}`;
      });

      after(async () => {
        await refused.stop({ removeData: true });
        if (revived) {
          revived.closeAllConnections();
          await new Promise<void>((resolve) => revived?.close(() => resolve()));
        }
      });

      it('answers 502 problem+json, then keeps serving once the upstream is back', async () => {
        const response = await request(refused.url).get('/public/refused');
        assertProblem(response, 502);
        const again = await request(refused.url).get('/api/refused').set('Authorization', refusedUser);
        assertProblem(again, 502);

        const server = createServer((_req, res) => res.end('back'));
        revived = server;
        await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
        const next = await request(refused.url).get('/public/after-refused');
        assert.equal(next.status, 200);
        assert.equal(next.text, 'back');
      });
    });

    describe('with an upstream that never answers', () => {
      let slow: TestSidecar;

      before(async () => {
        slow = await startSidecar({
          upstreamUrl: upstream.url,
          config: { rules: RULES, upstream: { url: upstream.url, timeout: '200ms' } },
        });
      });

      after(async () => {
        await slow.stop({ removeData: true });
      });

      it('answers 504 problem+json, then keeps serving', async () => {
        const before = upstream.requests.length;
        upstream.behave(() => undefined);
        try {
          const response = await request(slow.url).get('/public/silent');
          assertProblem(response, 504);
          assert.equal(upstream.requests.length, before + 1);
        } finally {
          upstream.behave(echoRecorded);
        }
        const next = await request(slow.url).get('/public/after-silence');
        assert.equal(next.status, 200);
        assert.equal((next.body as RecordedRequest).url, '/public/after-silence');
      });
    });
  });
});
