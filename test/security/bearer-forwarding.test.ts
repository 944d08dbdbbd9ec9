/**
 * Bearer tokens kept away from the backend: a backend that logs request headers would keep every
 * client's token, replayable against the sidecar until it expires. By default the sidecar removes
 * an `Authorization: Bearer …` from what it forwards, proxied requests and WebSocket upgrades
 * alike, whether the token verified (the identity headers say who it is) or not (expired, forged:
 * of no use to the backend). Other schemes, which the sidecar never reads, are the backend's and
 * pass where a public rule lets them through. `identity.forwardBearerToken: true` passes the token
 * on for backends that verify it themselves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { mintToken } from '../helpers/tokens.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { connect, startEchoUpstream, type EchoUpstream } from '../helpers/websocket.js';

type Field = readonly [string, string];

interface Case {
  readonly name: string;
  readonly target: string;
  readonly authorization: (user: SeededUser) => string;
  /** Whether the backend sees the Authorization field by default. */
  readonly reachesBackend: boolean;
  /** The username the backend is told, if any. */
  readonly identity?: string;
}

const BASIC = `Basic ${Buffer.from('backend-user:backend-password').toString('base64')}`;

const CASES: readonly Case[] = [
  {
    name: 'a user’s valid token on an authenticated path',
    target: '/api/items',
    authorization: (user) => `Bearer ${user.token}`,
    reachesBackend: false,
    identity: 'bearer-user',
  },
  {
    name: 'a user’s valid token on a public path',
    target: '/public/page',
    authorization: (user) => `Bearer ${user.token}`,
    reachesBackend: false,
    identity: 'bearer-user',
  },
  {
    name: 'the scheme in another case (bEaReR)',
    target: '/api/items',
    authorization: (user) => `bEaReR ${user.token}`,
    reachesBackend: false,
    identity: 'bearer-user',
  },
  {
    name: 'an expired token on a public path, forwarded anonymously',
    target: '/public/page',
    authorization: () => `Bearer ${mintToken({ expiresIn: -3600 })}`,
    reachesBackend: false,
  },
  {
    name: 'a Basic credential meant for the backend on a public path',
    target: '/public/page',
    authorization: () => BASIC,
    reachesBackend: true,
  },
];

describe('the bearer token and the backend', () => {
  let upstream: TestUpstream;
  let echo: EchoUpstream;
  let sidecar: TestSidecar;
  let wsSidecar: TestSidecar;
  let user: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    echo = await startEchoUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url });
    user = await seedUser(sidecar, 'bearer-user', ['user']);
    wsSidecar = await startSidecar({
      upstreamUrl: echo.url,
      config: { rules: [{ path: '/ws/**', authenticated: true }] },
    });
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await wsSidecar.stop({ removeData: true });
    await upstream.close();
    await echo.close();
  });

  for (const testCase of CASES) {
    const verb = testCase.reachesBackend ? 'passes unchanged' : 'never reaches the backend';
    it(`${testCase.name}: the Authorization field ${verb}`, async () => {
      const before = upstream.requests.length;
      const authorization = testCase.authorization(user);
      const headers: Field[] = [['Authorization', authorization]];
      const response = await rawRequest(sidecar.url, { target: testCase.target, headers });
      assert.equal(response.status, 200, response.raw);
      const seen = onlyForwardedSince(upstream, before);
      assert.equal(seen.headers.authorization, testCase.reachesBackend ? authorization : undefined);
      if (!testCase.reachesBackend) {
        const token = authorization.slice('Bearer '.length);
        assert.ok(!JSON.stringify(seen.rawHeaders).includes(token), 'the token is nowhere in its headers');
      }
      assert.equal(seen.headers['x-user'], testCase.identity);
    });
  }

  it('a WebSocket upgrade with a valid token: the backend’s upgrade request has no Authorization', async () => {
    const wsUser = await seedUser(wsSidecar, 'ws-bearer-user', ['user']);
    const before = echo.upgrades.length;
    const socket = await connect(`${wsSidecar.url.replace('http', 'ws')}/ws/feed`, {
      Authorization: `Bearer ${wsUser.token}`,
    });
    if (typeof socket === 'number') assert.fail(`the upgrade was refused with ${socket}`);
    socket.terminate();
    const upgrade = echo.upgrades[before];
    assert.ok(upgrade, 'the backend saw the upgrade');
    assert.equal(upgrade.headers.authorization, undefined);
    assert.equal(upgrade.headers['x-user'], 'ws-bearer-user');
  });

  it('with identity.forwardBearerToken: true, a valid token reaches the backend for it to verify', async () => {
    const passing = await startSidecar({
      upstreamUrl: upstream.url,
      config: { identity: { forwardBearerToken: true } },
    });
    after(() => passing.stop({ removeData: true }));
    const passingUser = await seedUser(passing, 'bearer-user', ['user']);
    const before = upstream.requests.length;
    const authorization = `Bearer ${passingUser.token}`;
    const response = await rawRequest(passing.url, {
      target: '/api/items',
      headers: [['Authorization', authorization]],
    });
    assert.equal(response.status, 200, response.raw);
    const seen = onlyForwardedSince(upstream, before);
    assert.equal(seen.headers.authorization, authorization);
    assert.equal(seen.headers['x-user'], 'bearer-user');
  });
});
