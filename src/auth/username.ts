const USERNAME = /^[a-z0-9._-]{3,64}$/;

/**
 * NFKC then lower case, so that `Alice`, `ALICE` and the full-width `Ａｌｉｃｅ` are one account.
 * Undefined when the result is not 3–64 characters of `[a-z0-9._-]`.
 */
export function normalizeUsername(input: string): string | undefined {
  const normalized = input.normalize('NFKC').toLowerCase();
  return USERNAME.test(normalized) ? normalized : undefined;
}
