import type { AuthLimiters } from './rate-limits.js';

/** One login attempt, counted against the client IP and the username before any password check. */
export interface LoginAttempt {
  /** Nothing was judged (the bcrypt queue was full, the store failed): the attempt was not a guess. */
  giveBack(): Promise<void>;
  /** The right password: the username starts afresh and the IP gets its attempt back. */
  succeeded(): Promise<void>;
}

/** Counts the attempt, or refuses it with 429 when either limit is used up. */
export async function countLoginAttempt(
  limiters: Pick<AuthLimiters, 'loginPerIp' | 'loginPerUsername'>,
  ip: string,
  usernameKey: string,
): Promise<LoginAttempt> {
  const { loginPerIp, loginPerUsername } = limiters;
  await loginPerIp.consume(ip);
  try {
    await loginPerUsername.consume(usernameKey);
  } catch (err) {
    await loginPerIp.refund(ip);
    throw err;
  }
  return {
    giveBack: async () => {
      await Promise.all([loginPerIp.refund(ip), loginPerUsername.refund(usernameKey)]);
    },
    succeeded: async () => {
      await Promise.all([loginPerIp.refund(ip), loginPerUsername.reset(usernameKey)]);
    },
  };
}
