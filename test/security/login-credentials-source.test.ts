/**
 * Where login reads credentials from: the parsed JSON body only. passport-local fell back to the
 * query string for a field that was empty in the body, so an attacker could send
 * `{"username":"","password":""}` with the real credentials in the URL: the attempt was counted and
 * logged under the empty username, the attacker's own successful login in the URL reset that
 * count, and the per-username limit of the victim was never met.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertRefused } from '../helpers/attack.js';
import { JSON_HEADERS, register } from '../helpers/auth-client.js';
import { assertTokenResponse, uniqueUsername } from '../helpers/contract.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

const PASSWORD = 'correct-horse-1';
const ATTACKER_PASSWORD = 'attacker-own-1';
const EMPTY = { username: '', password: '' };

/** A login whose body is `body` and whose URL carries `query`. */
function loginWith(baseUrl: string, body: unknown, query?: { username: string; password: string }) {
  const target = query ? `/auth/login?${new URLSearchParams(query).toString()}` : '/auth/login';
  return request(baseUrl).post(target).set(JSON_HEADERS).send(JSON.stringify(body));
}

describe('credentials in the query string (limits.login.perUsername: 5)', () => {
  let sidecar: TestSidecar;
  let victim: string;
  let attacker: string;

  before(async () => {
    sidecar = await startSidecar({
      config: {
        limits: {
          login: { perUsername: 5, perIp: 100_000 },
          register: { perIp: 100_000 },
          passwordChecks: { perClient: 100_000, perUser: 100_000 },
        },
      },
    });
    victim = uniqueUsername('victim');
    attacker = uniqueUsername('attacker');
    await register(sidecar.url, victim, PASSWORD);
    await register(sidecar.url, attacker, ATTACKER_PASSWORD);
  });

  after(() => sidecar.stop({ removeData: true }));

  const failuresLogged = () =>
    sidecar.logs.entries.filter((entry) => entry.event === 'auth.login.failure').length;

  it('an empty body with the real credentials in the URL is refused with 400, issues no tokens, and counts nothing under the empty username', async () => {
    const response = await loginWith(sidecar.url, EMPTY, { username: victim, password: PASSWORD });
    const problem = assertRefused(response, 400, 'invalid_request');
    assert.match(String(problem.detail), /never in the URL/);
    assert.equal((response.body as { accessToken?: string }).accessToken, undefined);
    assert.equal(await sidecar.deps.limiters.loginPerUsername.used(''), 0);
    assert.equal(await sidecar.deps.limiters.loginPerIp.used('127.0.0.1'), 0);
  });

  it('13 wrong guesses in the URL, the attacker’s own login in the URL after every third, then the right password in the URL: all 17 are refused (400), none is checked, logged or counted', async () => {
    const failuresBefore = failuresLogged();
    const statuses: number[] = [];
    for (let i = 0; i < 13; i++) {
      statuses.push(
        (await loginWith(sidecar.url, EMPTY, { username: victim, password: `guess-${i}-x` })).status,
      );
      if (i % 4 === 3) {
        const own = { username: attacker, password: ATTACKER_PASSWORD };
        statuses.push((await loginWith(sidecar.url, EMPTY, own)).status);
      }
    }
    const last = await loginWith(sidecar.url, EMPTY, { username: victim, password: PASSWORD });
    statuses.push(last.status);
    assert.deepEqual(
      statuses,
      statuses.map(() => 400),
      statuses.join(','),
    );
    assertRefused(last, 400, 'invalid_request');
    assert.equal(failuresLogged(), failuresBefore, 'no login failure was logged');
    assert.equal(await sidecar.deps.limiters.loginPerUsername.used(''), 0);
    assert.equal(await sidecar.deps.limiters.loginPerUsername.used(victim), 0);
    assert.ok(!sidecar.logs.text.includes(PASSWORD), 'the password in the URL is not in the log');
  });

  it('once 5 wrong guesses in the body have used the victim’s budget, the right password is refused in the body (429) and behind an empty body in the URL (400), and the count stays with the victim', async () => {
    const target = uniqueUsername('victim');
    await register(sidecar.url, target, PASSWORD);
    for (let i = 0; i < 5; i++) {
      assertRefused(
        await loginWith(sidecar.url, { username: target, password: `guess-${i}-x` }),
        401,
        'invalid_credentials',
      );
    }
    assertRefused(
      await loginWith(sidecar.url, { username: target, password: PASSWORD }),
      429,
      'too_many_requests',
    );
    const viaUrl = await loginWith(sidecar.url, EMPTY, { username: target, password: PASSWORD });
    assertRefused(viaUrl, 400, 'invalid_request');
    const withUsernameOnly = await loginWith(
      sidecar.url,
      { username: target, password: '' },
      { username: target, password: PASSWORD },
    );
    assertRefused(withUsernameOnly, 400, 'invalid_request');
    // The refused attempt is counted too (rate-limiter-flexible counts a consume past the limit).
    assert.equal(await sidecar.deps.limiters.loginPerUsername.used(target), 6);
    assert.equal(await sidecar.deps.limiters.loginPerUsername.used(''), 0);
  });

  it('the right credentials in the body are refused too (400, no tokens) when the URL also carries a password', async () => {
    const response = await loginWith(
      sidecar.url,
      { username: attacker, password: ATTACKER_PASSWORD },
      { username: attacker, password: ATTACKER_PASSWORD },
    );
    assertRefused(response, 400, 'invalid_request');
    assert.equal((response.body as { accessToken?: string }).accessToken, undefined);
  });

  it('the same credentials in the body log in (200): only where they are read changed', async () => {
    assertTokenResponse(
      await loginWith(sidecar.url, { username: attacker, password: ATTACKER_PASSWORD }),
      200,
    );
  });

  const emptyFields: readonly [string, unknown][] = [
    ['an empty username', { username: '', password: PASSWORD }],
    ['an empty password', { username: 'someone', password: '' }],
    ['both empty', EMPTY],
  ];
  for (const [name, body] of emptyFields) {
    it(`a body with ${name} is refused with 400 problem+json`, async () => {
      assertRefused(await loginWith(sidecar.url, body), 400, 'invalid_request');
    });
  }
});
