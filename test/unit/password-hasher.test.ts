import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bcryptCostOf,
  createPasswordHasher,
  STORED_COSTS_REFRESH_MS,
  type BcryptEngine,
} from '../../src/auth/passwords/password-hasher.js';

/** A bcrypt-shaped hash of `cost` (53 characters of salt and digest after the cost). */
function hashOf(cost: number, fill = 'a'): string {
  return `$2b$${String(cost).padStart(2, '0')}$${fill.repeat(53)}`;
}

/** An engine that records the costs it hashed and the hashes it compared against. */
function recordingEngine() {
  const hashed: number[] = [];
  const compared: string[] = [];
  const engine: BcryptEngine = {
    hash: (_password, cost) => {
      hashed.push(cost);
      return Promise.resolve(hashOf(cost, 'd'));
    },
    compare: (_password, hash) => {
      compared.push(hash);
      return Promise.resolve(false);
    },
  };
  return { engine, hashed, compared };
}

describe('createPasswordHasher', () => {
  it('reads the cost of a bcrypt hash, and nothing from other strings', () => {
    assert.equal(bcryptCostOf(hashOf(12)), 12);
    assert.equal(bcryptCostOf('$2a$04$' + 'x'.repeat(53)), 4);
    assert.equal(bcryptCostOf('unusable'), undefined);
    assert.equal(bcryptCostOf('$2b$12$short'), undefined);
  });

  it('checks an unknown username against a dummy of the cost most stored hashes have, not the configured one', async () => {
    const { engine, compared } = recordingEngine();
    const hasher = createPasswordHasher({
      cost: 13,
      engine,
      storedHashes: () => Promise.resolve([hashOf(10), hashOf(10), hashOf(13), 'unusable']),
    });
    assert.equal(await hasher.verify('guess', undefined), false);
    assert.equal(bcryptCostOf(compared[0] ?? ''), 10);
    assert.equal(await hasher.dummyCost(), 10);
  });

  it('takes the higher cost on a tie, and the configured cost when nothing is stored', async () => {
    const tie = createPasswordHasher({
      cost: 12,
      engine: recordingEngine().engine,
      storedHashes: () => Promise.resolve([hashOf(10), hashOf(11)]),
    });
    assert.equal(await tie.dummyCost(), 11);
    const empty = createPasswordHasher({ cost: 12, engine: recordingEngine().engine });
    assert.equal(await empty.dummyCost(), 12);
  });

  it('follows the hashes it is told were stored, and counts the store again once the refresh time has passed', async () => {
    let now = 0;
    let stored = [hashOf(10), hashOf(10), hashOf(12)];
    const hasher = createPasswordHasher({
      cost: 12,
      engine: recordingEngine().engine,
      storedHashes: () => Promise.resolve(stored),
      now: () => now,
    });
    assert.equal(await hasher.dummyCost(), 10);
    hasher.noteStored(hashOf(10), hashOf(12));
    assert.equal(await hasher.dummyCost(), 12);
    stored = [hashOf(10), hashOf(10), hashOf(10)];
    now = STORED_COSTS_REFRESH_MS;
    await hasher.dummyCost();
    // The recount runs in the background; the next question sees it.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(await hasher.dummyCost(), 10);
  });

  it('wants a rehash only for a bcrypt hash of another cost', () => {
    const hasher = createPasswordHasher({ cost: 12, engine: recordingEngine().engine });
    assert.equal(hasher.needsRehash(hashOf(10)), true);
    assert.equal(hasher.needsRehash(hashOf(13)), true);
    assert.equal(hasher.needsRehash(hashOf(12)), false);
    assert.equal(hasher.needsRehash('unusable'), false);
  });
});
