/**
 * A store file as the sidecar writes it (src/store/lowdb-store.ts, version 2), filled with users
 * directly: creating 10,000 users through the API would mean 10,000 bcrypt hashes.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

export interface SeededUser {
  readonly username: string;
  readonly role: string;
  readonly passwordHash: string;
}

/** Writes `count` users, `seeded` among them; they all share its password hash. */
export async function writeStoreWithUsers(path: string, count: number, seeded: SeededUser): Promise<void> {
  const createdAt = new Date().toISOString();
  const user = (username: string, roles: string[]) => ({
    id: randomUUID(),
    username,
    passwordHash: seeded.passwordHash,
    roles,
    createdAt,
    disabled: false,
    tokenVersion: 0,
    sessionVersion: 0,
  });
  const users = Array.from({ length: count - 1 }, (_, index) =>
    user(`user-${String(index + 1).padStart(5, '0')}`, ['user']),
  );
  users.splice(Math.floor(users.length / 2), 0, user(seeded.username, [seeded.role]));
  await writeFile(path, JSON.stringify({ version: 2, users, families: [], revokedAccessTokens: [] }));
}
