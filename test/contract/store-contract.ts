/**
 * The store's contract, written once and run against every driver: what the auth endpoints and the
 * proxy rely on, concurrency included. A driver's test file calls `describeStoreContract` with a
 * way to open a fresh, empty store.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Store, UserRecord } from '../../src/store/types.js';

export interface OpenedStore {
  readonly store: Store;
  /** Closes the store and removes what it left behind. */
  cleanup(): Promise<void>;
}

const HOUR = 3_600_000;

export function describeStoreContract(driver: string, openStore: () => Promise<OpenedStore>): void {
  describe(`store contract: ${driver}`, () => {
    let opened: OpenedStore;
    let store: Store;
    before(async () => {
      opened = await openStore();
      store = opened.store;
    });
    after(() => opened.cleanup());

    const newName = () => `u-${randomUUID().slice(0, 8)}`;
    const createUser = async (roles: readonly string[] = ['user']): Promise<UserRecord> => {
      const result = await store.users.create({ username: newName(), passwordHash: 'hash', roles });
      assert.ok(result.created);
      return result.user;
    };
    const hash = () => `h-${randomUUID()}`;
    /** Starts a family with `tokenHash`, valid for an hour from now. */
    const startFamily = (userId: string, tokenHash: string) =>
      store.refreshTokens.startFamily(userId, { tokenHash, expiresAt: Date.now() + HOUR }, Date.now());
    /** Exchanges `tokenHash` now for `next`, valid for an hour. */
    const rotate = (tokenHash: string, next = hash()) =>
      store.refreshTokens.rotate(tokenHash, { tokenHash: next, expiresAt: Date.now() + HOUR }, Date.now());

    it('is ready once open', () => {
      assert.equal(store.isReady(), true);
    });

    describe('users', () => {
      it('creates a user enabled, at token version 0, findable by id and by username', async () => {
        const user = await createUser(['user', 'analyst']);
        assert.equal(user.disabled, false);
        assert.equal(user.tokenVersion, 0);
        assert.deepEqual((await store.users.findById(user.id))?.roles, ['user', 'analyst']);
        assert.equal((await store.users.findByUsername(user.username))?.id, user.id);
        assert.deepEqual(store.sessions.sessionStateOf(user.id), { disabled: false, tokenVersion: 0 });
      });

      it('gives exactly one of ten concurrent creates of one username', async () => {
        const username = newName();
        const results = await Promise.all(
          Array.from({ length: 10 }, () =>
            store.users.create({ username, passwordHash: 'hash', roles: ['user'] }),
          ),
        );
        assert.equal(results.filter((result) => result.created).length, 1);
        assert.ok(results.every((result) => result.created || result.reason === 'username_taken'));
      });

      it('bumps the token version on every update, and the session view sees it at once', async () => {
        const user = await createUser();
        const updated = await store.users.update(user.id, { roles: ['admin'] }, { endSessions: false });
        assert.equal(updated?.tokenVersion, 1);
        assert.deepEqual(updated?.roles, ['admin']);
        await store.users.update(user.id, { disabled: true }, { endSessions: true });
        assert.deepEqual(store.sessions.sessionStateOf(user.id), { disabled: true, tokenVersion: 2 });
      });

      it('replaces a password hash only while it is still the expected one, keeping the sessions', async () => {
        const user = await createUser([]);
        const token = hash();
        await startFamily(user.id, token);
        assert.equal(await store.users.replacePasswordHash(user.id, 'stale-hash', 'rehashed'), false);
        assert.equal(await store.users.replacePasswordHash(user.id, 'hash', 'rehashed'), true);
        const stored = await store.users.findById(user.id);
        assert.equal(stored?.passwordHash, 'rehashed');
        assert.deepEqual(stored?.roles, []);
        assert.equal(stored?.tokenVersion, 0);
        assert.deepEqual(store.sessions.sessionStateOf(user.id), { disabled: false, tokenVersion: 0 });
        assert.equal((await rotate(token)).outcome, 'rotated');
        assert.equal(await store.users.replacePasswordHash(user.id, 'hash', 'again'), false);
        assert.equal(await store.users.replacePasswordHash('no-such-id', 'hash', 'again'), false);
      });

      it('answers undefined and false for a user that does not exist', async () => {
        assert.equal(
          await store.users.update('no-such-id', { disabled: true }, { endSessions: true }),
          undefined,
        );
        assert.equal(await store.users.delete('no-such-id'), false);
        assert.equal(store.sessions.sessionStateOf('no-such-id'), undefined);
      });

      it('deletes a user with their refresh tokens, and frees the username', async () => {
        const user = await createUser();
        const token = hash();
        await startFamily(user.id, token);
        assert.equal(await store.users.delete(user.id), true);
        assert.equal(await store.users.findById(user.id), undefined);
        assert.equal(store.sessions.sessionStateOf(user.id), undefined);
        const rotation = await rotate(token);
        assert.deepEqual(rotation, { outcome: 'rejected', reason: 'unknown' });
        const again = await store.users.create({ username: user.username, passwordHash: 'hash', roles: [] });
        assert.ok(again.created);
      });

      it('lists and counts the users', async () => {
        const user = await createUser();
        const listed = await store.users.list();
        assert.ok(listed.some((candidate) => candidate.id === user.id));
        assert.equal(await store.users.count(), listed.length);
      });
    });

    describe('refresh tokens', () => {
      it('rotates a live token once: of ten concurrent rotations exactly one wins', async () => {
        const user = await createUser();
        const first = hash();
        const { familyId } = await startFamily(user.id, first);
        const results = await Promise.all(Array.from({ length: 10 }, () => rotate(first)));
        const rotated = results.filter((result) => result.outcome === 'rotated');
        assert.equal(rotated.length, 1);
        assert.deepEqual(rotated[0], { outcome: 'rotated', userId: user.id, familyId });
      });

      it('revokes the whole family when a used token comes back', async () => {
        const user = await createUser();
        const first = hash();
        const second = hash();
        await startFamily(user.id, first);
        assert.equal((await rotate(first, second)).outcome, 'rotated');
        assert.equal((await rotate(first)).outcome, 'reused');
        assert.deepEqual(await rotate(second), { outcome: 'rejected', reason: 'revoked' });
      });

      it('refuses an expired token', async () => {
        const user = await createUser();
        const token = hash();
        const now = Date.now();
        await store.refreshTokens.startFamily(user.id, { tokenHash: token, expiresAt: now + HOUR }, now);
        const rotation = await store.refreshTokens.rotate(
          token,
          { tokenHash: hash(), expiresAt: now + 2 * HOUR },
          now + HOUR,
        );
        assert.equal(rotation.outcome, 'rejected');
      });

      it('revokes a family only for its own user', async () => {
        const owner = await createUser();
        const other = await createUser();
        const token = hash();
        await startFamily(owner.id, token);
        assert.equal(await store.refreshTokens.revokeFamilyOf(token, other.id, Date.now()), false);
        assert.equal(await store.refreshTokens.revokeFamilyOf(token, owner.id, Date.now()), true);
        const rotation = await rotate(token);
        assert.deepEqual(rotation, { outcome: 'rejected', reason: 'revoked' });
      });

      it('ends every family of a user whose sessions are ended', async () => {
        const user = await createUser();
        const token = hash();
        await startFamily(user.id, token);
        await store.users.update(user.id, { passwordHash: 'new-hash' }, { endSessions: true });
        const rotation = await rotate(token);
        assert.deepEqual(rotation, { outcome: 'rejected', reason: 'revoked' });
      });
    });

    describe('access-token revocations', () => {
      it('refuses a revoked token id in the session view at once', async () => {
        const tokenId = randomUUID();
        assert.equal(store.sessions.isRevoked(tokenId), false);
        await store.revokedAccessTokens.revoke(tokenId, Date.now() + HOUR);
        assert.equal(store.sessions.isRevoked(tokenId), true);
      });
    });
  });
}
