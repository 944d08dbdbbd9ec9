/**
 * Metering password checks: a successful login was never counted, so a client with a few
 * self-registered accounts logging in to them in a loop kept the bcrypt queue full and everyone
 * else's login was answered 503. Password checks (logins, registrations, password changes) are
 * metered per client and per user whatever their outcome, and the bcrypt queue serves clients in
 * turn, holding at most `passwords.queuePerClient` checks of any one client.
 *
 * Clients are told apart by X-Forwarded-For through a trusted proxy (the test's own address).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertRefused } from '../helpers/attack.js';
import { JSON_HEADERS } from '../helpers/auth-client.js';
import { assertTokenResponse, uniqueUsername } from '../helpers/contract.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

const PASSWORD = 'correct-horse-1';
const ATTACKER = '198.51.100.7';
const BYSTANDER = '203.0.113.9';

function as(client: string, baseUrl: string, path: string, body: unknown): request.Test {
  return request(baseUrl)
    .post(path)
    .set(JSON_HEADERS)
    .set('X-Forwarded-For', client)
    .send(body as object);
}

describe('one client logging in to its own accounts in a loop (passwords.workers: 1, queue: 8, queuePerClient: 2)', () => {
  let sidecar: TestSidecar;
  const accounts: string[] = [];

  before(async () => {
    sidecar = await startSidecar({
      config: {
        trustProxy: ['127.0.0.1'],
        passwords: { bcryptCost: 10, minLength: 8, workers: 1, queue: 8, queuePerClient: 2 },
        limits: {
          login: { perUsername: 100_000, perIp: 100_000 },
          register: { perIp: 100_000 },
          // Metering out of the way: this is about the queue.
          passwordChecks: { perClient: 100_000, perUser: 100_000 },
        },
      },
    });
    for (let i = 0; i < 14; i++) {
      const username = uniqueUsername('own');
      assertTokenResponse(
        await as(ATTACKER, sidecar.url, '/auth/register', { username, password: PASSWORD }),
        201,
      );
      accounts.push(username);
    }
    await as(BYSTANDER, sidecar.url, '/auth/register', { username: 'bystander', password: PASSWORD }).expect(
      201,
    );
  });

  after(() => sidecar.stop({ removeData: true }));

  it('does not make another client’s login answer 503: the bystander’s 5 logins all get 200, while the looping client is held to its share with 429 and Retry-After', async () => {
    let running = true;
    const attackerStatuses: number[] = [];
    const loop = async (offset: number) => {
      for (let i = offset; running; i++) {
        const username = accounts[i % accounts.length] as string;
        const response = await as(ATTACKER, sidecar.url, '/auth/login', { username, password: PASSWORD });
        attackerStatuses.push(response.status);
        if (response.status === 429) assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/);
      }
    };
    const loops = Array.from({ length: 20 }, (_, offset) => loop(offset));
    const bystander: number[] = [];
    try {
      // Let the loops fill whatever they can before the bystander arrives.
      while (attackerStatuses.length < 40) await new Promise((resolve) => setImmediate(resolve));
      for (let i = 0; i < 5; i++) {
        const response = await as(BYSTANDER, sidecar.url, '/auth/login', {
          username: 'bystander',
          password: PASSWORD,
        });
        bystander.push(response.status);
      }
    } finally {
      running = false;
      await Promise.all(loops);
    }
    assert.deepEqual(bystander, [200, 200, 200, 200, 200], `the bystander got ${bystander.join(',')}`);
    assert.ok(attackerStatuses.includes(200), 'the looping client still logs in');
    assert.ok(attackerStatuses.includes(429), 'the looping client is held to its share');
    assert.ok(!attackerStatuses.includes(503), 'the queue itself never filled');
  });
});

describe('metering password checks whatever their outcome (limits.passwordChecks: perClient 5, perUser 3)', () => {
  let sidecar: TestSidecar;

  before(async () => {
    sidecar = await startSidecar({
      config: {
        trustProxy: ['127.0.0.1'],
        limits: {
          login: { perUsername: 100_000, perIp: 100_000 },
          register: { perIp: 100_000 },
          passwordChecks: { perClient: 5, perUser: 3 },
        },
      },
    });
  });

  after(() => sidecar.stop({ removeData: true }));

  it('a registration and four successful logins use a client’s 5 checks: the next login gets 429 though the password is right, the next registration too, and another client still logs in', async () => {
    const client = '192.0.2.10';
    const first = uniqueUsername('metered');
    const second = uniqueUsername('metered');
    await as(client, sidecar.url, '/auth/register', { username: first, password: PASSWORD }).expect(201);
    await as('192.0.2.11', sidecar.url, '/auth/register', { username: second, password: PASSWORD }).expect(
      201,
    );
    for (const username of [first, first, second, second]) {
      assertTokenResponse(
        await as(client, sidecar.url, '/auth/login', { username, password: PASSWORD }),
        200,
      );
    }
    const refused = await as(client, sidecar.url, '/auth/login', { username: first, password: PASSWORD });
    assertRefused(refused, 429, 'too_many_requests');
    assert.equal(await sidecar.deps.limiters.passwordChecksPerClient.used(client), 6);
    assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/);
    const username = uniqueUsername('metered');
    assertRefused(
      await as(client, sidecar.url, '/auth/register', { username, password: PASSWORD }),
      429,
      'too_many_requests',
    );
    assert.equal(await sidecar.deps.store.users.findByUsername(username), undefined, 'no account was made');
    assertTokenResponse(
      await as('192.0.2.12', sidecar.url, '/auth/login', { username: first, password: PASSWORD }),
      200,
    );
  });

  it('three successful logins to one account from three clients use its 3 checks: the 4th gets 429 from a fourth client', async () => {
    const username = uniqueUsername('popular');
    await as('192.0.2.20', sidecar.url, '/auth/register', { username, password: PASSWORD }).expect(201);
    for (const client of ['192.0.2.21', '192.0.2.22', '192.0.2.23']) {
      assertTokenResponse(
        await as(client, sidecar.url, '/auth/login', { username, password: PASSWORD }),
        200,
      );
    }
    assertRefused(
      await as('192.0.2.24', sidecar.url, '/auth/login', { username, password: PASSWORD }),
      429,
      'too_many_requests',
    );
    assert.equal(await sidecar.deps.limiters.passwordChecksPerUser.used(username), 4);
  });
});
