import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openLowdbStore } from '../../src/store/lowdb-store.js';

describe('lowdb store file', () => {
  let dir: string;
  let path: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-store-'));
    path = join(dir, 'store.json');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes every user change, then a token-only write, so a reopened store sees them all', async () => {
    const store = await openLowdbStore({ path });
    const create = async (username: string) => {
      const result = await store.users.create({
        username,
        passwordHash: `hash-${username}`,
        roles: ['user'],
      });
      assert.ok(result.created);
      return result.user;
    };
    const [ann, bob, cy] = await Promise.all([create('ann'), create('bob'), create('cy')]);
    await store.users.update(ann.id, { roles: ['admin'] }, { endSessions: false });
    await store.users.delete(bob.id);
    // A write that changes no user reuses the users' serialized form; it must still be current.
    const started = await store.refreshTokens.startFamily({
      userId: cy.id,
      expectedTokenVersion: cy.tokenVersion,
      familyId: 'f1',
      token: { tokenHash: 'h1', expiresAt: Date.now() + 60_000 },
      maxFamilies: 50,
      now: Date.now(),
      refuseAccessUntil: Date.now() + 60_000,
    });
    assert.ok(started.started);
    await store.close();

    const onDisk = JSON.parse(await readFile(path, 'utf8')) as {
      users: { username: string; roles: string[] }[];
    };
    assert.deepEqual(
      onDisk.users.map(({ username, roles }) => ({ username, roles })),
      [
        { username: 'ann', roles: ['admin'] },
        { username: 'cy', roles: ['user'] },
      ],
    );

    const reopened = await openLowdbStore({ path });
    assert.deepEqual((await reopened.users.findByUsername('ann'))?.roles, ['admin']);
    assert.equal(await reopened.users.findByUsername('bob'), undefined);
    assert.equal((await reopened.users.findById(cy.id))?.username, 'cy');
    await reopened.close();
  });
});
