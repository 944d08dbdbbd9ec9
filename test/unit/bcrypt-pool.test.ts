import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { createBcryptPool, type BcryptPool } from '../../src/auth/passwords/bcrypt-pool.js';
import { ProblemError } from '../../src/errors.js';

const HASH = bcrypt.hashSync('password-1', 6);

function codeOf(err: unknown): string | undefined {
  return err instanceof ProblemError ? err.code : undefined;
}

describe('createBcryptPool (one thread, a queue of 4, a share of 3 per client)', () => {
  let pool: BcryptPool;

  before(() => {
    pool = createBcryptPool({ threads: 1, maxQueue: 4, maxPerClient: 3 });
  });

  after(() => pool.close());

  it('serves waiting clients in turn: a check that arrives behind three of another client’s is served before the third of them', async () => {
    const finished: string[] = [];
    const check = (client: string, label: string) =>
      pool.compare('password-1', HASH, client).then((matches) => {
        assert.equal(matches, true);
        finished.push(label);
      });
    await Promise.all([check('a', 'a1'), check('a', 'a2'), check('a', 'a3'), check('b', 'b1')]);
    assert.deepEqual(finished, ['a1', 'a2', 'b1', 'a3']);
  });

  it('refuses a client’s check past its share with 429 too_many_requests, while another client is still queued', async () => {
    const held = [1, 2, 3].map(() => pool.compare('password-1', HASH, 'greedy'));
    await assert.rejects(
      pool.compare('password-1', HASH, 'greedy'),
      (err) => codeOf(err) === 'too_many_requests',
    );
    assert.equal(await pool.compare('password-1', HASH, 'other'), true);
    await Promise.all(held);
  });

  it('refuses a check with 503 server_busy once the queue itself is full', async () => {
    const held = ['c', 'd', 'e', 'f', 'g'].map((client) => pool.compare('password-1', HASH, client));
    await assert.rejects(pool.compare('password-1', HASH, 'h'), (err) => codeOf(err) === 'server_busy');
    await Promise.all(held);
  });

  it('refuses options that are not whole numbers of at least 1', () => {
    assert.throws(() => createBcryptPool({ threads: 1, maxQueue: 4, maxPerClient: 0 }), TypeError);
  });
});
