import type { AttemptLimiter, AuthLimiters } from './rate-limits.js';

/** Attempts counted against several limits at once, given back together. */
export interface CountedAttempts {
  /** Nothing was judged (the bcrypt queue was full, the store failed): every count is given back. */
  giveBack(): Promise<void>;
}

/** One login attempt, counted against the client and the username before any password check. */
export interface LoginAttempt extends CountedAttempts {
  /**
   * The right password: the username starts afresh and the client gets its login attempt back.
   * The password-check meters keep theirs: a success costs bcrypt work like a failure.
   */
  succeeded(): Promise<void>;
}

/**
 * Counts one attempt on each limit in order; when one refuses (429), the ones already counted are
 * given back, so a refused attempt costs nothing anywhere.
 */
export async function countAttempts(
  steps: readonly (readonly [AttemptLimiter, string])[],
): Promise<CountedAttempts> {
  const counted: (readonly [AttemptLimiter, string])[] = [];
  const giveBack = async () => {
    await Promise.all(counted.map(([limiter, key]) => limiter.refund(key)));
  };
  try {
    for (const step of steps) {
      await step[0].consume(step[1]);
      counted.push(step);
    }
  } catch (err) {
    await giveBack();
    throw err;
  }
  return { giveBack };
}

/**
 * Counts a login: per client and per username (failures only, in the end), and on the
 * password-check meters per client and per username (whatever the outcome). Refuses with 429 when
 * any of them is used up.
 */
export async function countLoginAttempt(
  limiters: Pick<
    AuthLimiters,
    'loginPerIp' | 'loginPerUsername' | 'passwordChecksPerClient' | 'passwordChecksPerUser'
  >,
  client: string,
  usernameKey: string,
): Promise<LoginAttempt> {
  const { loginPerIp, loginPerUsername } = limiters;
  const counted = await countAttempts([
    [loginPerIp, client],
    [loginPerUsername, usernameKey],
    [limiters.passwordChecksPerClient, client],
    [limiters.passwordChecksPerUser, usernameKey],
  ]);
  return {
    giveBack: () => counted.giveBack(),
    succeeded: async () => {
      await Promise.all([loginPerIp.refund(client), loginPerUsername.reset(usernameKey)]);
    },
  };
}
