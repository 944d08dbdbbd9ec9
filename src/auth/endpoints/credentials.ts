import type { UserRecord } from '../../store/types.js';
import type { AuthDeps } from './deps.js';
import { normalizeUsername } from './username.js';

/**
 * The user whose password matches, as read before the password was checked; undefined for an
 * unknown or disabled user or a wrong password. An unknown user costs the same bcrypt work as a
 * wrong password. The credentials come from the parsed JSON body only, never from the query string.
 */
export async function checkCredentials(
  deps: AuthDeps,
  credentials: { readonly username: string; readonly password: string },
  client: string,
): Promise<UserRecord | undefined> {
  const normalized = normalizeUsername(credentials.username);
  const user = normalized === undefined ? undefined : await deps.store.users.findByUsername(normalized);
  const matches = await deps.passwords.verify(credentials.password, user?.passwordHash, client);
  return matches && !user?.disabled ? user : undefined;
}
