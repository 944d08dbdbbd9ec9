import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { TokenVerdict } from '../../src/identity.js';
import { createAccessTokens } from '../../src/tokens/access-token.js';
import { secretKeys } from '../../src/tokens/token-keys.js';
import { withVerifiedTokenCache } from '../../src/tokens/verified-token-cache.js';

const TTL_MS = 60_000;
const LEEWAY_MS = 30_000;
const START = Date.UTC(2026, 0, 1);

/** A token service with its own random secret on the given clock. */
function tokenService(now: () => number) {
  return createAccessTokens({
    keys: secretKeys(randomBytes(32)),
    issuer: 'auth-sidecar',
    audience: 'upstream',
    ttlMs: TTL_MS,
    leewayMs: LEEWAY_MS,
    now,
  });
}

/** A real token service on a clock the test moves, with its verify calls counted. */
function setup(maxEntries = 100) {
  const clock = { now: START };
  const now = () => clock.now;
  const tokens = tokenService(now);
  const calls = { count: 0 };
  const countedVerify = (token: string): TokenVerdict => {
    calls.count += 1;
    return tokens.verify(token);
  };
  const verify = withVerifiedTokenCache(countedVerify, { maxEntries, leewayMs: LEEWAY_MS, now });
  const issue = (username = 'alice') =>
    tokens.issue({ id: `id-${username}`, username, roles: ['user'], tokenVersion: 0 }).token;
  return { clock, calls, verify, issue, other: tokenService(now) };
}

describe('verified token cache', () => {
  it('checks a token once and answers the same verdict from memory after that', () => {
    const { calls, verify, issue } = setup();
    const token = issue();
    const first = verify(token);
    const second = verify(token);
    assert.equal(first.valid, true);
    assert.deepEqual(second, first);
    assert.equal(calls.count, 1);
  });

  it('never remembers a refusal, so bad tokens are checked every time and evict nothing', () => {
    const { calls, verify, other } = setup();
    const forged = other.issue({ id: 'x', username: 'mallory', roles: ['admin'], tokenVersion: 0 }).token;
    assert.equal(verify(forged).valid, false);
    assert.equal(verify(forged).valid, false);
    assert.equal(calls.count, 2);
  });

  it('stops answering from memory when the token expires, leeway included, exactly as the verifier does', () => {
    const { clock, verify, issue } = setup();
    const token = issue();
    assert.equal(verify(token).valid, true);
    clock.now = START + TTL_MS + LEEWAY_MS - 1;
    assert.equal(verify(token).valid, true, 'still inside the leeway');
    clock.now = START + TTL_MS + LEEWAY_MS;
    const verdict = verify(token);
    assert.equal(verdict.valid, false);
    assert.equal(verdict.valid === false && verdict.reason, 'token_expired');
  });

  it('keeps at most maxEntries tokens, forgetting the least recently used', () => {
    const { calls, verify, issue } = setup(2);
    const [a, b, c] = [issue('alice'), issue('bob'), issue('carol')];
    verify(a);
    verify(b);
    verify(a);
    verify(c); // evicts b, the least recently used
    calls.count = 0;
    verify(a);
    verify(c);
    assert.equal(calls.count, 0, 'a and c are remembered');
    verify(b);
    assert.equal(calls.count, 1, 'b was forgotten');
  });

  it('is off with maxEntries 0: every call verifies', () => {
    const { calls, verify, issue } = setup(0);
    const token = issue();
    verify(token);
    verify(token);
    assert.equal(calls.count, 2);
  });
});
