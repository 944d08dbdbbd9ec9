import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../config/schema.js';
import { ProblemError } from '../errors.js';

/**
 * Counts attempts per key within a window; a key that has used them all is refused with 429.
 * An attempt is counted before the work it guards starts, so concurrent guesses cannot all pass
 * a check made before any of them is recorded; an attempt that turns out legitimate is refunded.
 */
export interface AttemptLimiter {
  /** Counts an attempt; refuses (429) when it is one too many. */
  consume(key: string): Promise<void>;
  /** Gives back one counted attempt (it succeeded, or another limit refused it). */
  refund(key: string): Promise<void>;
  /** Forgets the key's attempts (a successful login). */
  reset(key: string): Promise<void>;
}

export interface AuthLimiters {
  readonly loginPerUsername: AttemptLimiter;
  readonly loginPerIp: AttemptLimiter;
  readonly registerPerIp: AttemptLimiter;
}

export function createAuthLimiters(limits: Config['limits']): AuthLimiters {
  return {
    loginPerUsername: createAttemptLimiter('login:user', limits.login.perUsername, limits.login.window),
    loginPerIp: createAttemptLimiter('login:ip', limits.login.perIp, limits.login.window),
    registerPerIp: createAttemptLimiter('register:ip', limits.register.perIp, limits.register.window),
  };
}

function createAttemptLimiter(keyPrefix: string, points: number, windowMs: number): AttemptLimiter {
  const limiter = new RateLimiterMemory({ keyPrefix, points, duration: Math.ceil(windowMs / 1000) });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) throw tooManyRequests(err.msBeforeNext);
        throw err;
      }
    },
    async refund(key) {
      await limiter.reward(key, 1);
    },
    async reset(key) {
      await limiter.delete(key);
    },
  };
}

function tooManyRequests(msBeforeNext: number): ProblemError {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new ProblemError('too_many_requests', `Too many attempts; try again in ${seconds} s.`, {
    headers: { 'Retry-After': String(seconds) },
  });
}
