/**
 * A store file written before sessions were records of their own (version 1: one record per
 * refresh token, used ones included) still opens: its users log in as before, its revocations
 * still hold, and its refresh tokens are refused, so their holders log in again. The next write
 * saves the file in the current form; `store migrate` reads either form.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import { assertRefused } from '../helpers/attack.js';
import { login } from '../helpers/auth-client.js';
import { postJson } from '../helpers/session-client.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { readLowdbSnapshot } from '../../src/store/lowdb-store.js';
import { hashRefreshToken } from '../../src/tokens/refresh-token.js';

const HOUR = 3_600_000;
const PASSWORD = 'correct-horse-1';

describe('a store file of the format before sessions (version 1)', () => {
  let dir: string;
  let sidecar: TestSidecar;
  const userId = randomUUID();
  const oldRefreshToken = 'A'.repeat(43);
  const revokedTokenId = randomUUID();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-legacy-'));
    const now = Date.now();
    const family = randomUUID();
    await writeFile(
      join(dir, 'store.json'),
      JSON.stringify({
        version: 1,
        users: [
          {
            id: userId,
            username: 'olga',
            passwordHash: await bcrypt.hash(PASSWORD, 10),
            roles: ['user'],
            createdAt: new Date(now - HOUR).toISOString(),
            disabled: false,
            tokenVersion: 2,
          },
        ],
        refreshTokens: [
          {
            tokenHash: hashRefreshToken('used-one'),
            userId,
            familyId: family,
            issuedAt: now - HOUR,
            expiresAt: now + HOUR,
            usedAt: now - 60_000,
          },
          {
            tokenHash: hashRefreshToken(oldRefreshToken),
            userId,
            familyId: family,
            issuedAt: now - 60_000,
            expiresAt: now + HOUR,
          },
        ],
        revokedAccessTokens: [{ tokenId: revokedTokenId, expiresAt: now + HOUR }],
      }),
    );
    sidecar = await startSidecar({ dataDir: dir });
  });

  after(async () => {
    await sidecar?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reads as users, no sessions and the revocations, for store migrate too', async () => {
    const snapshot = await readLowdbSnapshot(join(dir, 'store.json'));
    assert.deepEqual(
      snapshot.users.map(({ username, tokenVersion, sessionVersion }) => ({
        username,
        tokenVersion,
        sessionVersion,
      })),
      [{ username: 'olga', tokenVersion: 2, sessionVersion: 0 }],
    );
    assert.deepEqual(snapshot.families, []);
    assert.deepEqual(
      snapshot.revokedAccessTokens.map((entry) => entry.tokenId),
      [revokedTokenId],
    );
  });

  it('opens: its user logs in, its revocation still holds, and its refresh token is refused', async () => {
    assert.equal(sidecar.deps.store.sessions.isRevoked(revokedTokenId), true);
    assertRefused(
      await postJson(sidecar.url, '/auth/refresh', { refreshToken: oldRefreshToken }),
      401,
      'invalid_refresh_token',
    );
    const session = await login(sidecar.url, 'olga', PASSWORD);
    assert.equal(session.user.id, userId);
  });

  it('is saved in the current form by the next write', async () => {
    const file = JSON.parse(await readFile(join(dir, 'store.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(file.version, 2);
    assert.equal(file.refreshTokens, undefined);
    assert.equal((file.families as unknown[]).length, 1, 'the session of the login just made');
  });
});
