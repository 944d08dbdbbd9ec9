import type { Request, Response } from 'express';
import type passport from 'passport';
import type { UserRecord } from '../../store/types.js';

export interface StrategyOutcome {
  /** The user the strategy found; absent when it failed. */
  readonly user?: UserRecord;
  /** What the strategy passed along with its outcome (the token's claims, for `bearer`). */
  readonly info: unknown;
}

/** Runs a passport strategy without sessions; resolves to its outcome, rejects on its errors. */
export function authenticateWith(
  instance: passport.Authenticator,
  strategy: 'local' | 'bearer',
  req: Request,
  res: Response,
): Promise<StrategyOutcome> {
  return new Promise((resolve, reject) => {
    const callback = (err: unknown, user: unknown, info: unknown) => {
      if (err) reject(err instanceof Error ? err : new Error('passport strategy failed', { cause: err }));
      else resolve(user ? { user: user as UserRecord, info } : { info });
    };
    const middleware = instance.authenticate(strategy, { session: false }, callback) as (
      req: Request,
      res: Response,
      next: (err?: unknown) => void,
    ) => void;
    middleware(req, res, reject);
  });
}
