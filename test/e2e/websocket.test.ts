/**
 * WebSockets through the sidecar, against a real WebSocket echo upstream: upgrades are decided by
 * the same rules as every request, allowed ones carry the identity headers, denied ones are
 * answered before any upgrade, and an open connection ends with its session.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { WebSocket } from 'ws';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { connect, startEchoUpstream, type EchoUpstream } from '../helpers/websocket.js';

async function echo(socket: WebSocket, text: string): Promise<string> {
  const reply = once(socket, 'message');
  socket.send(text);
  const [data] = (await reply) as [Buffer];
  return data.toString();
}

describe('WebSockets', () => {
  let upstream: EchoUpstream;
  let sidecar: TestSidecar;
  let user: SeededUser;
  let admin: SeededUser;
  let wsUrl: string;

  before(async () => {
    upstream = await startEchoUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { websocket: { recheck: '100ms' } } });
    user = await seedUser(sidecar, 'ws-user', ['user']);
    admin = await seedUser(sidecar, 'ws-admin', ['admin']);
    wsUrl = sidecar.url.replace('http:', 'ws:');
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  it('relays an allowed WebSocket with the identity headers and the canonical path', async () => {
    const socket = await connect(`${wsUrl}/api//chat?room=1`, {
      Authorization: `Bearer ${user.token}`,
      'X-User': 'ws-admin',
    });
    assert.ok(socket instanceof WebSocket, `refused with ${typeof socket === 'number' ? socket : '?'}`);
    assert.equal(await echo(socket, 'hello'), 'hello');
    const seen = upstream.upgrades.at(-1);
    assert.equal(seen?.url, '/api/chat?room=1');
    assert.equal(seen?.headers['x-user'], 'ws-user');
    assert.equal(seen?.headers['x-user-roles'], 'user');
    socket.close();
  });

  it('answers 401 before any upgrade when the token is missing, and 403 for a missing role', async () => {
    const seen = upstream.upgrades.length;
    assert.equal(await connect(`${wsUrl}/api/chat`), 401);
    assert.equal(await connect(`${wsUrl}/admin/chat`, { Authorization: `Bearer ${user.token}` }), 403);
    assert.equal(upstream.upgrades.length, seen, 'nothing reached the upstream');
  });

  it('ignores an access_token query parameter unless websocket.queryToken is on', async () => {
    assert.equal(await connect(`${wsUrl}/api/chat?access_token=${user.token}`), 401);
  });

  it('closes an open WebSocket within websocket.recheck of a logout', async () => {
    const socket = await connect(`${wsUrl}/admin/chat`, { Authorization: `Bearer ${admin.token}` });
    assert.ok(socket instanceof WebSocket);
    const upstreamClosed = upstream.nextClose();
    const clientClosed = once(socket, 'close');
    await request(sidecar.url).post('/auth/logout').set('Authorization', `Bearer ${admin.token}`).expect(204);
    await clientClosed;
    await upstreamClosed;
    assert.ok(
      sidecar.logs.entries.some(
        (line) => line.event === 'websocket.closed' && line.reason === 'token_revoked',
      ),
    );
  });

  describe('with websocket.queryToken: true', () => {
    let browserSidecar: TestSidecar;
    let browser: SeededUser;

    before(async () => {
      browserSidecar = await startSidecar({
        upstreamUrl: upstream.url,
        config: { websocket: { queryToken: true } },
      });
      browser = await seedUser(browserSidecar, 'ws-browser', ['user']);
    });
    after(() => browserSidecar.stop({ removeData: true }));

    it('takes the token from access_token, removes it before forwarding and never logs it', async () => {
      const url = `${browserSidecar.url.replace('http:', 'ws:')}/api/chat?a=1&access_token=${browser.token}&b=2`;
      const socket = await connect(url);
      assert.ok(socket instanceof WebSocket, `refused with ${typeof socket === 'number' ? socket : '?'}`);
      const seen = upstream.upgrades.at(-1);
      assert.equal(seen?.url, '/api/chat?a=1&b=2');
      assert.equal(seen?.headers['x-user'], 'ws-browser');
      assert.ok(!browserSidecar.logs.text.includes(browser.token), 'the token is in the log');
      socket.close();
    });

    it('refuses a header token and a query token together as ambiguous', async () => {
      const url = `${browserSidecar.url.replace('http:', 'ws:')}/api/chat?access_token=${browser.token}`;
      assert.equal(await connect(url, { Authorization: `Bearer ${browser.token}` }), 401);
    });
  });

  describe('with limits.proxy.perClient: 2 and upstream.timeout: 200ms', () => {
    let limited: TestSidecar;
    let member: SeededUser;
    let limitedUrl: string;

    before(async () => {
      limited = await startSidecar({
        upstreamUrl: upstream.url,
        config: {
          upstream: { url: upstream.url, timeout: '200ms' },
          limits: { proxy: { perClient: 2 } },
        },
      });
      member = await seedUser(limited, 'ws-member', ['user']);
      limitedUrl = limited.url.replace('http:', 'ws:');
    });
    after(() => limited.stop({ removeData: true }));

    it('keeps an idle WebSocket open past upstream.timeout, and counts it against its client until it closes', async () => {
      const auth = { Authorization: `Bearer ${member.token}` };
      const first = await connect(`${limitedUrl}/api/chat`, auth);
      const second = await connect(`${limitedUrl}/api/chat`, auth);
      assert.ok(first instanceof WebSocket && second instanceof WebSocket);
      // Idle for twice the backend deadline: the deadline is for the backend's answer to the upgrade.
      await delay(400);
      assert.equal(await echo(first, 'still open'), 'still open');

      const seen = upstream.upgrades.length;
      assert.equal(await connect(`${limitedUrl}/api/chat`, auth), 429);
      assert.equal(upstream.upgrades.length, seen, 'the third never reached the upstream');

      const upstreamClosed = upstream.nextClose();
      first.close();
      await once(first, 'close');
      await upstreamClosed;
      const third = await connect(`${limitedUrl}/api/chat`, auth);
      assert.ok(third instanceof WebSocket, `refused with ${typeof third === 'number' ? third : '?'}`);
      assert.equal(await echo(third, 'in'), 'in');
      second.close();
      third.close();
    });
  });
});
