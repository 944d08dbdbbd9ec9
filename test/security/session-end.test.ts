/**
 * Ending a session ends every access token issued in it. After a login (A1, R1) and a refresh
 * (A2, R2), a logout with A2 and R2, or a replay of R1, must leave no access token of that session
 * working: not A1 (issued before the refresh), not on the proxy, not on /auth/me, and not on a
 * WebSocket opened with it, which closes at its next recheck. Another session of the same user is
 * left alone. Each runs on lowdb and on Redis.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { assertNothingForwarded, assertRefused } from '../helpers/attack.js';
import { login, register, type Session } from '../helpers/auth-client.js';
import { uniqueUsername } from '../helpers/contract.js';
import { redisSkipReason, startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { assertForwarded, assertInvalidToken, getWith, postJson } from '../helpers/session-client.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { connect, startEchoUpstream, type EchoUpstream } from '../helpers/websocket.js';

const PASSWORD = 'correct-horse-1';

for (const driver of ['lowdb', 'redis'] as const) {
  describe(
    `ending a session ends all of its access tokens (${driver})`,
    {
      skip: driver === 'redis' ? redisSkipReason : undefined,
    },
    () => {
      let redis: TestRedis | undefined;
      let upstream: TestUpstream;
      let sockets: EchoUpstream;
      let sidecar: TestSidecar;
      /** A second sidecar, in front of the WebSocket backend. */
      let wsSidecar: TestSidecar;

      before(async () => {
        upstream = await startUpstream();
        sockets = await startEchoUpstream();
        if (driver === 'redis') redis = await startRedisServer();
        const store = redis ? { driver: 'redis', url: redis.url, keyPrefix: 'ending:' } : undefined;
        sidecar = await startSidecar({ upstreamUrl: upstream.url, ...(store ? { config: { store } } : {}) });
        wsSidecar = await startSidecar({
          upstreamUrl: sockets.url,
          config: { ...(store ? { store } : {}), websocket: { recheck: '50ms' } },
        });
      });

      after(async () => {
        await wsSidecar?.stop({ removeData: true });
        await sidecar?.stop({ removeData: true });
        await upstream?.close();
        await sockets?.close();
        await redis?.cleanup();
      });

      /** A1 and R1 from a login, then A2 and R2 from a refresh; A1 still works before the attack. */
      async function loginAndRefresh(
        on = sidecar,
      ): Promise<{ first: Session; second: Session; username: string }> {
        const username = uniqueUsername(`ending-${driver}`);
        await register(on.url, username, PASSWORD);
        const first = await login(on.url, username, PASSWORD);
        const refreshed = await postJson(on.url, '/auth/refresh', { refreshToken: first.refreshToken });
        assert.equal(refreshed.status, 200, refreshed.text);
        const second = refreshed.body as Session;
        if (on === sidecar) await assertForwarded(sidecar.url, upstream, '/api/items', first.accessToken);
        return { first, second, username };
      }

      /** The proxy refuses `token` (401, never forwarded) and so does /auth/me. */
      async function assertEnded(token: string): Promise<void> {
        const seen = upstream.requests.length;
        assertInvalidToken(await getWith(sidecar.url, '/api/items', token));
        assertNothingForwarded(upstream, seen);
        assertInvalidToken(await getWith(sidecar.url, '/auth/me', token));
      }

      it('a logout with A2 and R2 ends A1 as well: 401 on the proxy, never forwarded, and 401 on /auth/me', async () => {
        const { first, second } = await loginAndRefresh();
        const logout = await postJson(
          sidecar.url,
          '/auth/logout',
          { refreshToken: second.refreshToken },
          second.accessToken,
        );
        assert.equal(logout.status, 204, logout.text);
        await assertEnded(first.accessToken);
        await assertEnded(second.accessToken);
      });

      it('a logout with A2 alone (no refresh token) ends the session: A1 gets 401 and R2 no longer refreshes', async () => {
        const { first, second } = await loginAndRefresh();
        await postJson(sidecar.url, '/auth/logout', {}, second.accessToken).expect(204);
        await assertEnded(first.accessToken);
        assertRefused(
          await postJson(sidecar.url, '/auth/refresh', { refreshToken: second.refreshToken }),
          401,
          'invalid_refresh_token',
        );
      });

      // A safety net, not a timing assertion: without it a socket that never closes hangs the run.
      it(
        'a WebSocket opened with A1 closes at its next recheck once the session is logged out with A2',
        { timeout: 15_000 },
        async (t) => {
          const { first, second } = await loginAndRefresh(wsSidecar);
          const wsUrl = `${wsSidecar.url.replace('http:', 'ws:')}/api/chat`;
          const socket = await connect(wsUrl, { Authorization: `Bearer ${first.accessToken}` });
          assert.ok(socket instanceof WebSocket, `refused with ${typeof socket === 'number' ? socket : '?'}`);
          // A socket left open by a failure would hold the sidecar's shutdown, and the run, for ever.
          t.after(() => socket.terminate());
          const upstreamClosed = sockets.nextClose();
          const closed = once(socket, 'close');
          await postJson(
            wsSidecar.url,
            '/auth/logout',
            { refreshToken: second.refreshToken },
            second.accessToken,
          ).expect(204);
          await closed;
          await upstreamClosed;
          assert.ok(
            wsSidecar.logs.entries.some(
              (line) => line.event === 'websocket.closed' && line.reason === 'token_revoked',
            ),
            'closed because the token was revoked',
          );
          assert.equal(await connect(wsUrl, { Authorization: `Bearer ${first.accessToken}` }), 401);
        },
      );

      it('a replay of R1 after the refresh ends the session: A1 and A2 get 401 on the proxy, never forwarded', async () => {
        const { first, second } = await loginAndRefresh();
        await assertForwarded(sidecar.url, upstream, '/api/items', second.accessToken);
        assertRefused(
          await postJson(sidecar.url, '/auth/refresh', { refreshToken: first.refreshToken }),
          401,
          'invalid_refresh_token',
        );
        await assertEnded(first.accessToken);
        await assertEnded(second.accessToken);
      });

      it('another session of the same user keeps working after one is logged out (not an attack)', async () => {
        const { second, username } = await loginAndRefresh();
        const other = await login(sidecar.url, username, PASSWORD);
        await postJson(sidecar.url, '/auth/logout', {}, second.accessToken).expect(204);
        await assertForwarded(sidecar.url, upstream, '/api/items', other.accessToken);
        const refreshed = await postJson(sidecar.url, '/auth/refresh', { refreshToken: other.refreshToken });
        assert.equal(refreshed.status, 200, refreshed.text);
      });
    },
  );
}
