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
    const ending = () => ({ now: Date.now(), refuseAccessUntil: Date.now() + HOUR });
    /** A family's id and the hash of its current token. */
    interface Family {
      readonly familyId: string;
      tokenHash: string;
    }
    /** Starts a family for `user` as read now, its token valid for an hour; it must start. */
    const startFamily = async (user: UserRecord, maxFamilies = 50): Promise<Family> => {
      const family = { familyId: randomUUID(), tokenHash: hash() };
      const started = await store.refreshTokens.startFamily({
        userId: user.id,
        expectedTokenVersion: user.tokenVersion,
        familyId: family.familyId,
        token: { tokenHash: family.tokenHash, expiresAt: Date.now() + HOUR },
        maxFamilies,
        ...ending(),
      });
      assert.ok(started.started);
      return family;
    };
    /** Presents `tokenHash` of `family` now for `next`, valid for an hour. */
    const rotate = (family: Family, tokenHash = family.tokenHash, next = hash()) =>
      store.refreshTokens.rotate(
        { familyId: family.familyId, tokenHash },
        { tokenHash: next, expiresAt: Date.now() + HOUR },
        ending(),
      );
    /** Rotates `family` to its next token; must succeed. */
    const rotateOk = async (family: Family): Promise<void> => {
      const next = hash();
      const result = await rotate(family, family.tokenHash, next);
      assert.equal(result.outcome, 'rotated');
      family.tokenHash = next;
    };

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
        assert.equal(user.sessionVersion, 0);
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
        const family = await startFamily(user);
        assert.equal(await store.users.replacePasswordHash(user.id, 'stale-hash', 'rehashed'), false);
        assert.equal(await store.users.replacePasswordHash(user.id, 'hash', 'rehashed'), true);
        const stored = await store.users.findById(user.id);
        assert.equal(stored?.passwordHash, 'rehashed');
        assert.deepEqual(stored?.roles, []);
        assert.equal(stored?.tokenVersion, 0);
        assert.deepEqual(store.sessions.sessionStateOf(user.id), { disabled: false, tokenVersion: 0 });
        await rotateOk(family);
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

      it('deletes a user with their sessions, and frees the username', async () => {
        const user = await createUser();
        const family = await startFamily(user);
        assert.equal(await store.users.delete(user.id), true);
        assert.equal(await store.users.findById(user.id), undefined);
        assert.equal(store.sessions.sessionStateOf(user.id), undefined);
        assert.equal(await store.refreshTokens.ownerOf(family.familyId), undefined);
        const rotation = await rotate(family);
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

    describe('sessions (refresh-token families)', () => {
      it('rotates a live token once: of ten concurrent rotations exactly one wins, with the user read in the same step', async () => {
        const user = await createUser(['user', 'analyst']);
        const family = await startFamily(user);
        assert.equal(await store.refreshTokens.ownerOf(family.familyId), user.id);
        const results = await Promise.all(Array.from({ length: 10 }, () => rotate(family)));
        const rotated = results.filter((result) => result.outcome === 'rotated');
        assert.equal(rotated.length, 1);
        assert.deepEqual(rotated[0], { outcome: 'rotated', user, familyId: family.familyId });
      });

      it('ends the whole family by one flag when a token of it that is not the current one comes back', async () => {
        const user = await createUser();
        const family = await startFamily(user);
        const first = family.tokenHash;
        await rotateOk(family);
        await rotateOk(family);
        assert.deepEqual(await rotate(family, first), {
          outcome: 'reused',
          userId: user.id,
          familyId: family.familyId,
        });
        assert.deepEqual(await rotate(family), { outcome: 'rejected', reason: 'revoked' });
        assert.equal(await store.refreshTokens.ownerOf(family.familyId), undefined);
        assert.equal(store.sessions.isRevoked(family.familyId), true, 'its access tokens are refused');
      });

      it('refuses an unknown family and an expired token', async () => {
        assert.deepEqual(await rotate({ familyId: randomUUID(), tokenHash: hash() }), {
          outcome: 'rejected',
          reason: 'unknown',
        });
        const user = await createUser();
        const family = await startFamily(user);
        const rotation = await store.refreshTokens.rotate(
          family,
          { tokenHash: hash(), expiresAt: Date.now() + 2 * HOUR },
          { now: Date.now() + HOUR, refuseAccessUntil: Date.now() + 2 * HOUR },
        );
        assert.deepEqual(rotation, { outcome: 'rejected', reason: 'expired' });
      });

      it('revokes a family only for its own user, and refuses its access tokens in the session view', async () => {
        const owner = await createUser();
        const other = await createUser();
        const family = await startFamily(owner);
        assert.equal(await store.refreshTokens.revokeFamily(family.familyId, other.id, ending()), false);
        assert.equal(store.sessions.isRevoked(family.familyId), false);
        assert.equal(await store.refreshTokens.revokeFamily(family.familyId, owner.id, ending()), true);
        assert.equal(store.sessions.isRevoked(family.familyId), true);
        assert.deepEqual(await rotate(family), { outcome: 'rejected', reason: 'revoked' });
      });

      it('ends every family of a user whose sessions are ended, and a re-enabled user gets none back', async () => {
        const user = await createUser();
        const families = [await startFamily(user), await startFamily(user)];
        await store.users.update(user.id, { passwordHash: 'new-hash' }, { endSessions: true });
        for (const family of families)
          assert.deepEqual(await rotate(family), { outcome: 'rejected', reason: 'revoked' });
        const again = (await store.users.findById(user.id))!;
        const disabledLater = await startFamily(again);
        await store.users.update(user.id, { disabled: true }, { endSessions: true });
        await store.users.update(user.id, { disabled: false }, { endSessions: false });
        assert.deepEqual(await rotate(disabledLater), { outcome: 'rejected', reason: 'revoked' });
      });

      it('keeps the families of a user whose roles change, and rotates them with the new roles', async () => {
        const user = await createUser(['user']);
        const family = await startFamily(user);
        await store.users.update(user.id, { roles: ['user', 'admin'] }, { endSessions: false });
        const result = await rotate(family);
        assert.ok(result.outcome === 'rotated');
        assert.deepEqual(result.user.roles, ['user', 'admin']);
        assert.equal(result.user.tokenVersion, 1);
      });

      it('starts a family only while the user is still as read before the password check', async () => {
        const user = await createUser();
        const start = (expectedTokenVersion: number) =>
          store.refreshTokens.startFamily({
            userId: user.id,
            expectedTokenVersion,
            familyId: randomUUID(),
            token: { tokenHash: hash(), expiresAt: Date.now() + HOUR },
            maxFamilies: 50,
            ...ending(),
          });
        await store.users.update(user.id, { passwordHash: 'changed' }, { endSessions: true });
        assert.deepEqual(await start(0), { started: false }, 'a password change since');
        const current = await start(1);
        assert.ok(current.started);
        assert.equal(current.user.passwordHash, 'changed');
        await store.users.update(user.id, { disabled: true }, { endSessions: true });
        await store.users.update(user.id, { disabled: false }, { endSessions: false });
        assert.deepEqual(await start(1), { started: false }, 'disabled and enabled again since');
        assert.ok((await start(3)).started);
        await store.users.update(user.id, { disabled: true }, { endSessions: true });
        assert.deepEqual(await start(4), { started: false }, 'disabled now');
        await store.users.delete(user.id);
        assert.deepEqual(await start(4), { started: false }, 'deleted');
      });

      it('ends the oldest families of a user past the cap, and refuses their access tokens', async () => {
        const user = await createUser();
        const families = [];
        for (let index = 0; index < 3; index++) families.push(await startFamily(user, 3));
        const fourth = await startFamily(user, 3);
        assert.deepEqual(await rotate(families[0]!), { outcome: 'rejected', reason: 'revoked' });
        assert.equal(store.sessions.isRevoked(families[0]!.familyId), true);
        for (const family of [families[1]!, families[2]!, fourth]) await rotateOk(family);
      });

      it('still recognizes the first token of a family as a replay after 50 rotations', async () => {
        const user = await createUser();
        const family = await startFamily(user);
        const first = family.tokenHash;
        for (let index = 0; index < 50; index++) await rotateOk(family);
        assert.equal((await rotate(family, first)).outcome, 'reused', 'the first token is still a replay');
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
