import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { JSON_HEADERS, login, register } from '../helpers/auth-client.js';
import { assertTokenResponse, mapWithConcurrency, uniqueUsername } from '../helpers/contract.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

const USERS = 200;
const LOGIN_CONCURRENCY = 16;

interface StoreFileShape {
  readonly users: { readonly username: string; readonly passwordHash: string }[];
}

async function readStoreFile(path: string): Promise<{ text: string; json: StoreFileShape }> {
  const text = await readFile(path, 'utf8');
  return { text, json: JSON.parse(text) as StoreFileShape };
}

function passwordOf(username: string): string {
  return `pw-${username}`;
}

/** Every one of the concurrent password hashes may wait for a thread, rather than some getting 503. */
const ROOM_FOR_EVERY_LOGIN = { passwords: { bcryptCost: 10, minLength: 8, queue: USERS } };

describe('store durability', () => {
  describe('200 concurrent registrations and a restart', () => {
    let first: TestSidecar;
    let second: TestSidecar | undefined;
    let firstStopped = false;
    const usernames = Array.from({ length: USERS }, (_, index) => uniqueUsername(`bulk${index}`));

    before(async () => {
      first = await startSidecar({ config: ROOM_FOR_EVERY_LOGIN });
    });

    after(async () => {
      // Stopping a sidecar twice is harmless; the data folder goes with the last one stopped.
      if (!firstStopped || !second) await first.stop({ removeData: !second });
      if (second) await second.stop({ removeData: true });
    });

    it('accepts 200 concurrent registrations of distinct usernames while the store file stays valid JSON', async (t) => {
      let settled = false;
      const registrations = Promise.all(
        usernames.map((username) =>
          request(first.url)
            .post('/auth/register')
            .set(JSON_HEADERS)
            .send({ username, password: passwordOf(username) }),
        ),
      ).finally(() => (settled = true));

      // Read the file over and over while the writes happen: every read must parse, and the
      // number of users it holds never goes down.
      let reads = 0;
      let lastCount = 0;
      while (!settled) {
        const { json } = await readStoreFile(first.storePath);
        reads += 1;
        assert.ok(Array.isArray(json.users), 'the store file has a users array');
        assert.ok(json.users.length >= lastCount, `users went from ${lastCount} to ${json.users.length}`);
        lastCount = json.users.length;
      }
      assert.ok(reads > 0, 'the store file was read while the registrations ran');
      t.diagnostic(
        `${reads} reads of the store file while the registrations ran; last saw ${lastCount} users`,
      );

      const responses = await registrations;
      const statuses = responses.map((response) => response.status);
      assert.deepEqual(
        statuses.filter((status) => status !== 201),
        [],
        'every registration answered 201',
      );
      const ids = new Set(responses.map((response) => assertTokenResponse(response, 201).user.id));
      assert.equal(ids.size, USERS, 'every registration made its own user');

      const { json } = await readStoreFile(first.storePath);
      const stored = new Set(json.users.map((user) => user.username));
      for (const username of usernames) assert.ok(stored.has(username), `${username} is in the store file`);
    });

    it('lets all 200 users log in after the sidecar restarts on the same data folder', async () => {
      await first.stop();
      firstStopped = true;
      second = await startSidecar({ dataDir: first.dataDir, config: ROOM_FOR_EVERY_LOGIN });
      const started = second;

      const { json } = await readStoreFile(started.storePath);
      assert.equal(json.users.length, USERS);

      const failures = (
        await mapWithConcurrency(usernames, LOGIN_CONCURRENCY, async (username) => {
          const response = await request(started.url)
            .post('/auth/login')
            .set(JSON_HEADERS)
            .send({ username, password: passwordOf(username) });
          return response.status === 200 ? undefined : `${username}: ${response.status}`;
        })
      ).filter((failure) => failure !== undefined);
      assert.deepEqual(failures, []);
    });
  });

  describe('concurrent registrations of one username', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar();
    });

    after(async () => {
      await sidecar.stop({ removeData: true });
    });

    const registerAs = (username: string, password: string) =>
      request(sidecar.url).post('/auth/register').set(JSON_HEADERS).send({ username, password });

    it('answers two concurrent registrations of the same username with exactly one 201 and one 409', async () => {
      for (let round = 0; round < 5; round++) {
        const username = uniqueUsername('race');
        const responses = await Promise.all([
          registerAs(username, 'password-one-1'),
          registerAs(username, 'password-two-2'),
        ]);
        const statuses = responses.map((response) => response.status).sort();
        assert.deepEqual(statuses, [201, 409], `round ${round}: ${statuses.join(', ')}`);
      }
    });

    it('keeps only the winner when Dup and dup register at once: one account, with the winning password', async () => {
      const lower = uniqueUsername('dup');
      const mixed = lower.replace('dup', 'Dup');
      const [a, b] = await Promise.all([
        registerAs(mixed, 'password-aaa-1'),
        registerAs(lower, 'password-bbb-2'),
      ]);
      assert.deepEqual([a.status, b.status].sort(), [201, 409]);
      const [winnerPassword, loserPassword] =
        a.status === 201 ? ['password-aaa-1', 'password-bbb-2'] : ['password-bbb-2', 'password-aaa-1'];

      const { json } = await readStoreFile(sidecar.storePath);
      assert.equal(json.users.filter((user) => user.username === lower).length, 1);
      await login(sidecar.url, lower, winnerPassword);
      const losing = await request(sidecar.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username: lower, password: loserPassword });
      assert.equal(losing.status, 401);
    });
  });

  describe('secrets in the store file', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar();
    });

    after(async () => {
      await sidecar.stop({ removeData: true });
    });

    it('holds neither the plain password nor any refresh token, only hashes of them', async () => {
      const username = uniqueUsername('secret');
      const password = 'Plain-Password-Never-Stored-7';
      const registered = await register(sidecar.url, username, password);
      const loggedIn = await login(sidecar.url, username, password);
      const refreshed = assertTokenResponse(
        await request(sidecar.url)
          .post('/auth/refresh')
          .set(JSON_HEADERS)
          .send({ refreshToken: loggedIn.refreshToken }),
        200,
      );
      const refreshTokens = [registered.refreshToken, loggedIn.refreshToken, refreshed.refreshToken];

      const { text, json } = await readStoreFile(sidecar.storePath);
      assert.ok(!text.includes(password), 'the plain password is not in the store file');
      for (const token of refreshTokens) {
        assert.ok(!text.includes(token), 'a refresh token is not in the store file');
        // Nor the same 256 bits in another common encoding.
        const raw = Buffer.from(token, 'base64url');
        assert.ok(!text.includes(raw.toString('hex')), 'a refresh token (hex) is not in the store file');
        assert.ok(
          !text.includes(raw.toString('base64')),
          'a refresh token (base64) is not in the store file',
        );
      }
      // The user is there, with a password hash that is not the password.
      const user = json.users.find((candidate) => candidate.username === username);
      assert.ok(user, 'the user is in the store file');
      assert.notEqual(user.passwordHash, password);
      assert.ok(user.passwordHash.length > 0);
    });
  });
});
