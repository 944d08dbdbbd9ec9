/**
 * Per-client budgets keyed by the raw address string: each address of one IPv6 /64, each spelling
 * of one address, an IPv4 client and its IPv4-mapped IPv6 form, and `ip:port` (as some load
 * balancers write X-Forwarded-For) each got a budget of their own. Addresses are parsed and
 * normalized, and IPv6 clients are keyed by their prefix (`limits.ipv6Prefix`, /64 by default).
 *
 * The addresses arrive in X-Forwarded-For through a trusted proxy (the test's own address).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertRefused } from '../helpers/attack.js';
import { JSON_HEADERS, register } from '../helpers/auth-client.js';
import { assertTokenResponse, uniqueUsername } from '../helpers/contract.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

const PASSWORD = 'correct-horse-1';

function loginFrom(baseUrl: string, forwardedFor: string, username: string, password: string): request.Test {
  return request(baseUrl)
    .post('/auth/login')
    .set(JSON_HEADERS)
    .set('X-Forwarded-For', forwardedFor)
    .send({ username, password });
}

function registerFrom(baseUrl: string, forwardedFor: string, username: string): request.Test {
  return request(baseUrl)
    .post('/auth/register')
    .set(JSON_HEADERS)
    .set('X-Forwarded-For', forwardedFor)
    .send({ username, password: PASSWORD });
}

describe('per-client budgets behind a trusted proxy (limits.login.perIp: 3, limits.register.perIp: 2)', () => {
  let sidecar: TestSidecar;
  let real: string;

  before(async () => {
    sidecar = await startSidecar({
      config: {
        trustProxy: ['127.0.0.1'],
        limits: {
          login: { perUsername: 100_000, perIp: 3 },
          register: { perIp: 2 },
          passwordChecks: { perClient: 100_000, perUser: 100_000 },
        },
      },
    });
    real = uniqueUsername('real');
    await register(sidecar.url, real, PASSWORD);
  });

  after(() => sidecar.stop({ removeData: true }));

  const sameClient: readonly [string, readonly string[], string][] = [
    [
      'three addresses of one IPv6 /64, spelled three ways',
      ['2001:db8:1:2::1', '2001:0DB8:0001:0002:0000:0000:0000:ffff', '[2001:db8:1:2:aaaa::7]:443'],
      '2001:db8:1:2:dead:beef:0:1',
    ],
    [
      'an IPv4 address, its IPv4-mapped IPv6 form and the address with a port',
      ['198.51.100.5', '::ffff:198.51.100.5', '198.51.100.5:51234'],
      '[::FFFF:c633:6405]:8080',
    ],
  ];
  for (const [what, spellings, next] of sameClient) {
    it(`counts ${what} as one client: after 3 failures the 4th login, from ${next}, gets 429 with the right password`, async () => {
      for (const address of spellings) {
        assertRefused(
          await loginFrom(sidecar.url, address, uniqueUsername('someone'), 'Summer2024!'),
          401,
          'invalid_credentials',
        );
      }
      const refused = await loginFrom(sidecar.url, next, real, PASSWORD);
      assertRefused(refused, 429, 'too_many_requests');
      assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/);
    });
  }

  it('counts the failures of one /64 under its prefix key, and nothing under the raw spellings', async () => {
    assert.equal(await sidecar.deps.limiters.loginPerIp.used('2001:db8:1:2::/64'), 4);
    assert.equal(await sidecar.deps.limiters.loginPerIp.used('198.51.100.5'), 4);
    assert.equal(await sidecar.deps.limiters.loginPerIp.used('2001:db8:1:2::1'), 0);
    assert.equal(await sidecar.deps.limiters.loginPerIp.used('::ffff:198.51.100.5'), 0);
  });

  it('gives the next /64 a budget of its own: a login from 2001:db8:1:3::1 gets 200', async () => {
    assertTokenResponse(await loginFrom(sidecar.url, '2001:db8:1:3::1', real, PASSWORD), 200);
  });

  it('counts registrations from two spellings of one address as one client: the third, from a third spelling, gets 429 and makes no account', async () => {
    for (const address of ['2001:db8:9::1', '2001:db8:9:0:ffff::2']) {
      assertTokenResponse(await registerFrom(sidecar.url, address, uniqueUsername('reg')), 201);
    }
    const username = uniqueUsername('reg');
    assertRefused(
      await registerFrom(sidecar.url, '[2001:DB8:9::3]:1234', username),
      429,
      'too_many_requests',
    );
    assert.equal(await sidecar.deps.store.users.findByUsername(username), undefined);
  });
});

describe('a longer IPv6 prefix (limits.ipv6Prefix: 128)', () => {
  let sidecar: TestSidecar;

  before(async () => {
    sidecar = await startSidecar({
      config: {
        trustProxy: ['127.0.0.1'],
        limits: {
          login: { perUsername: 100_000, perIp: 1 },
          register: { perIp: 100_000 },
          passwordChecks: { perClient: 100_000, perUser: 100_000 },
          ipv6Prefix: 128,
        },
      },
    });
  });

  after(() => sidecar.stop({ removeData: true }));

  it('keys each IPv6 address on its own, whatever its spelling', async () => {
    const guess = (address: string) => loginFrom(sidecar.url, address, uniqueUsername('x'), 'Summer2024!');
    assertRefused(await guess('2001:db8::1'), 401, 'invalid_credentials');
    assertRefused(await guess('2001:db8::2'), 401, 'invalid_credentials');
    assertRefused(await guess('2001:DB8:0:0:0:0:0:1'), 429, 'too_many_requests');
  });
});
