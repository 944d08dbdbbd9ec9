import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../config/schema.js';
import { ProblemError } from '../../errors.js';

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
  /** Attempts counted for the key in its current window (0 when none). */
  used(key: string): Promise<number>;
}

export interface AuthLimiters {
  readonly loginPerUsername: AttemptLimiter;
  readonly loginPerIp: AttemptLimiter;
  readonly registerPerIp: AttemptLimiter;
  /** Wrong current passwords on POST /auth/password, per user id: a bucket no login can fill. */
  readonly passwordChangePerUser: AttemptLimiter;
  /** Password checks per client key, successes included: never refunded for a right password. */
  readonly passwordChecksPerClient: AttemptLimiter;
  /** Password checks per username (or user id), successes included. */
  readonly passwordChecksPerUser: AttemptLimiter;
  /** Refreshes per session (refresh-token family id). */
  readonly refreshPerSession: AttemptLimiter;
  /** Refreshes per user id, all of the user's sessions together. */
  readonly refreshPerUser: AttemptLimiter;
}

/** Where attempts are counted: in this process, or in Redis, shared by every replica. */
export interface SharedCounters {
  readonly client: Redis;
  readonly keyPrefix: string;
}

export function createAuthLimiters(limits: Config['limits'], shared?: SharedCounters): AuthLimiters {
  const limiter = (name: string, points: number, windowMs: number) =>
    createAttemptLimiter(name, points, windowMs, shared);
  return {
    loginPerUsername: limiter('login:user', limits.login.perUsername, limits.login.window),
    loginPerIp: limiter('login:ip', limits.login.perIp, limits.login.window),
    registerPerIp: limiter('register:ip', limits.register.perIp, limits.register.window),
    passwordChangePerUser: limiter(
      'password:user',
      limits.passwordChange.perUser,
      limits.passwordChange.window,
    ),
    passwordChecksPerClient: limiter(
      'checks:client',
      limits.passwordChecks.perClient,
      limits.passwordChecks.window,
    ),
    passwordChecksPerUser: limiter(
      'checks:user',
      limits.passwordChecks.perUser,
      limits.passwordChecks.window,
    ),
    refreshPerSession: limiter('refresh:session', limits.refresh.perSession, limits.refresh.window),
    refreshPerUser: limiter('refresh:user', limits.refresh.perUser, limits.refresh.window),
  };
}

function createAttemptLimiter(
  name: string,
  points: number,
  windowMs: number,
  shared: SharedCounters | undefined,
): AttemptLimiter {
  const duration = Math.ceil(windowMs / 1000);
  const limiter = shared
    ? new RateLimiterRedis({
        storeClient: shared.client,
        keyPrefix: `${shared.keyPrefix}limit:${name}`,
        points,
        duration,
        rejectIfRedisNotReady: true,
      })
    : new RateLimiterMemory({ keyPrefix: name, points, duration });
  return {
    async consume(key) {
      try {
        await limiter.consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) throw tooManyRequests(err.msBeforeNext);
        throw countersUnavailable(err);
      }
    },
    async refund(key) {
      await limiter.reward(key, 1).catch((err: unknown) => {
        throw countersUnavailable(err);
      });
    },
    async reset(key) {
      await limiter.delete(key);
    },
    async used(key) {
      const state = await limiter.get(key).catch((err: unknown) => {
        throw countersUnavailable(err);
      });
      return state?.consumedPoints ?? 0;
    },
  };
}

function tooManyRequests(msBeforeNext: number): ProblemError {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return new ProblemError('too_many_requests', `Too many attempts; try again in ${seconds} s.`, {
    headers: { 'Retry-After': String(seconds) },
  });
}

/** Shared counters that cannot be reached: the attempt can be neither counted nor let through. */
function countersUnavailable(cause: unknown): ProblemError {
  return new ProblemError('store_unavailable', 'The attempt counters are unreachable; try again shortly.', {
    headers: { 'Retry-After': '1' },
    cause,
  });
}
