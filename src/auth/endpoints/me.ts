import type { RequestHandler } from 'express';
import type { AuthContext } from './deps.js';
import { requireCaller } from './require-caller.js';
import { publicUser } from './token-response.js';

/** GET /auth/me → 200 {id, username, roles}. */
export function createMeHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const { user } = await requireCaller(deps, req, res);
    res.set('Cache-Control', 'no-store').json(publicUser(user));
  };
}
