const USERNAME = /^[a-z0-9._-]{3,64}$/;

/**
 * NFKC then lower case, so that `Alice`, `ALICE` and the full-width `Ａｌｉｃｅ` are one account.
 * Undefined when the result is not 3–64 characters of `[a-z0-9._-]`.
 */
export function normalizeUsername(input: string): string | undefined {
  const normalized = input.normalize('NFKC').toLowerCase();
  return USERNAME.test(normalized) ? normalized : undefined;
}

/**
 * The one key every login with an invalid username is counted under. No account can have it (`~` is
 * not allowed in a username), and the field, which may hold a password typed in the wrong box,
 * never becomes a counter key (a Redis key name) or a log field.
 */
export const INVALID_USERNAME_KEY = '~invalid';

/** The key a login is counted under per username: the normalized name, or the invalid-name key. */
export function usernameKeyOf(input: string): string {
  return normalizeUsername(input) ?? INVALID_USERNAME_KEY;
}
