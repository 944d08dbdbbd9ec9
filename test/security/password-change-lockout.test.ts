/**
 * Locking the owner out of changing the password: password changes were counted in the login bucket
 * of the username, which anyone can fill with five wrong logins, so an attacker holding a stolen
 * refresh token could keep the owner from changing the password that would end it. Password
 * changes are counted per user id in a bucket of their own (the caller holds a valid token).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import request from 'supertest';
import { assertRefused } from '../helpers/attack.js';
import { JSON_HEADERS, register, type Session } from '../helpers/auth-client.js';
import { uniqueUsername } from '../helpers/contract.js';
import { postJson } from '../helpers/session-client.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

const PASSWORD = 'correct-horse-1';

function wrongLogin(baseUrl: string, username: string, i: number): request.Test {
  return request(baseUrl)
    .post('/auth/login')
    .set(JSON_HEADERS)
    .send({ username, password: `attacker-guess-${i}` });
}

describe('password changes have a bucket of their own (limits.login.perUsername: 5, limits.passwordChange.perUser: 3)', () => {
  let sidecar: TestSidecar;

  before(async () => {
    sidecar = await startSidecar({
      config: {
        limits: {
          login: { perUsername: 5, perIp: 100_000 },
          register: { perIp: 100_000 },
          passwordChange: { perUser: 3 },
          passwordChecks: { perClient: 100_000, perUser: 100_000 },
        },
      },
    });
  });

  after(() => sidecar.stop({ removeData: true }));

  it('five wrong logins by an attacker (the 6th is 429) do not stop the owner from changing the password: 204, and the new password is stored', async () => {
    const username = uniqueUsername('owner');
    const owner: Session = await register(sidecar.url, username, PASSWORD);
    for (let i = 0; i < 5; i++) {
      assertRefused(await wrongLogin(sidecar.url, username, i), 401, 'invalid_credentials');
    }
    assertRefused(await wrongLogin(sidecar.url, username, 5), 429, 'too_many_requests');

    const newPassword = 'brand-new-horse-2';
    const response = await postJson(
      sidecar.url,
      '/auth/password',
      { currentPassword: PASSWORD, newPassword },
      owner.accessToken,
    );
    assert.equal(response.status, 204, response.text);
    const stored = await sidecar.deps.store.users.findById(owner.user.id);
    assert.ok(
      stored && (await bcrypt.compare(newPassword, stored.passwordHash)),
      'the new password is stored',
    );
    assert.equal(await sidecar.deps.limiters.passwordChangePerUser.used(owner.user.id), 0);
  });

  it('wrong current passwords are limited per user id: 3 are refused with 403, then even the right one gets 429 with Retry-After, and the login bucket is untouched', async () => {
    const username = uniqueUsername('guessed');
    const owner = await register(sidecar.url, username, PASSWORD);
    const change = (currentPassword: string) =>
      postJson(
        sidecar.url,
        '/auth/password',
        { currentPassword, newPassword: 'another-horse-3' },
        owner.accessToken,
      );
    for (let i = 0; i < 3; i++) assertRefused(await change(`wrong-current-${i}`), 403, 'wrong_password');
    const refused = await change(PASSWORD);
    assertRefused(refused, 429, 'too_many_requests');
    assert.match(String(refused.headers['retry-after']), /^[1-9]\d*$/);
    assert.equal(await sidecar.deps.limiters.loginPerUsername.used(username), 0);
    const stored = await sidecar.deps.store.users.findById(owner.user.id);
    assert.ok(stored && (await bcrypt.compare(PASSWORD, stored.passwordHash)), 'the password is unchanged');
  });
});
