/**
 * Telling known usernames from unknown ones by timing after `passwords.bcryptCost` is raised: the
 * stored hashes keep the cost they were made with, while the dummy hash an unknown username is
 * checked against had the new cost, so unknown usernames answered several times slower. The dummy
 * now has the cost most stored hashes have, and a successful login rehashes the password at the
 * configured cost (a compare-and-set on the stored hash), so the two move together.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import request from 'supertest';
import { JSON_HEADERS, register } from '../helpers/auth-client.js';
import { assertTokenResponse, uniqueUsername } from '../helpers/contract.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

const PASSWORD = 'correct-horse-1';
const OLD_COST = 10;
const NEW_COST = 13;

const limits = {
  login: { perUsername: 100_000, perIp: 100_000 },
  register: { perIp: 100_000 },
  passwordChecks: { perClient: 100_000, perUser: 100_000 },
};

function costOf(hash: string | undefined): number {
  return Number(/^\$2[abxy]?\$(\d{2})\$/.exec(hash ?? '')?.[1]);
}

async function timedLogin(baseUrl: string, username: string, password: string): Promise<number> {
  const started = performance.now();
  const response = await request(baseUrl).post('/auth/login').set(JSON_HEADERS).send({ username, password });
  assert.equal(response.status, 401, response.text);
  return performance.now() - started;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

describe(`usernames after raising passwords.bcryptCost from ${OLD_COST} to ${NEW_COST}`, () => {
  let sidecar: TestSidecar;
  const users: string[] = [];

  before(async () => {
    const first = await startSidecar({
      config: { passwords: { bcryptCost: OLD_COST, minLength: 8 }, limits },
    });
    for (let i = 0; i < 3; i++) {
      const username = uniqueUsername('known');
      await register(first.url, username, PASSWORD);
      users.push(username);
    }
    await first.stop();
    sidecar = await startSidecar({
      dataDir: first.dataDir,
      config: { passwords: { bcryptCost: NEW_COST, minLength: 8 }, limits },
    });
  });

  after(() => sidecar.stop({ removeData: true }));

  it(`checks an unknown username against a dummy hash of the stored hashes’ cost (${OLD_COST}), not the configured one`, async () => {
    const stored = await sidecar.deps.store.users.findByUsername(users[0] as string);
    assert.equal(costOf(stored?.passwordHash), OLD_COST);
    assert.equal(await sidecar.deps.passwords.dummyCost(), OLD_COST);
  });

  it('answers an unknown username about as fast as a known one with a wrong password (medians of 5, within a factor of 2)', async (t) => {
    // The dummy hash is made once; leave that out of the measurement.
    await timedLogin(sidecar.url, uniqueUsername('nobody'), 'wrong-password-1');
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push(await timedLogin(sidecar.url, users[1] as string, `wrong-password-${i}`));
      unknown.push(await timedLogin(sidecar.url, uniqueUsername('nobody'), `wrong-password-${i}`));
    }
    const ratio = median(unknown) / median(known);
    const measured = `unknown ${median(unknown).toFixed(0)} ms vs known ${median(known).toFixed(0)} ms (×${ratio.toFixed(1)})`;
    t.diagnostic(measured);
    assert.ok(ratio < 2, measured);
  });

  it(`rehashes the password at cost ${NEW_COST} on the next successful login; a wrong password changes nothing`, async () => {
    const username = users[2] as string;
    const before = await sidecar.deps.store.users.findByUsername(username);
    await timedLogin(sidecar.url, username, 'wrong-password-x');
    assert.equal(
      (await sidecar.deps.store.users.findByUsername(username))?.passwordHash,
      before?.passwordHash,
    );
    const response = await request(sidecar.url)
      .post('/auth/login')
      .set(JSON_HEADERS)
      .send({ username, password: PASSWORD });
    assertTokenResponse(response, 200);
    const after = await sidecar.deps.store.users.findByUsername(username);
    assert.equal(costOf(after?.passwordHash), NEW_COST);
    assert.equal(after?.tokenVersion, before?.tokenVersion, 'no session ended');
  });

  it(`moves the dummy to cost ${NEW_COST} once most stored hashes have it, and the rehashed password still logs in`, async () => {
    assert.equal(await sidecar.deps.passwords.dummyCost(), OLD_COST, 'one of three rehashed');
    assertTokenResponse(
      await request(sidecar.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username: users[1], password: PASSWORD }),
      200,
    );
    assert.equal(await sidecar.deps.passwords.dummyCost(), NEW_COST, 'two of three rehashed');
    assertTokenResponse(
      await request(sidecar.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username: users[2], password: PASSWORD }),
      200,
    );
  });
});
