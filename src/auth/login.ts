import type { RequestHandler } from 'express';
import { ProblemError } from '../errors.js';
import { auditRequest } from './audit-request.js';
import { authenticateWith } from './authenticate-with.js';
import { clientIp } from './client-ip.js';
import type { AuthContext } from './deps.js';
import { countLoginAttempt } from './login-attempt.js';
import { loginBody, parseBody } from './schemas.js';
import { sendTokens, startSession } from './session.js';
import { normalizeUsername } from './username.js';

/** POST /auth/login {username, password} through passport-local → 200 with tokens. */
export function createLoginHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const body = parseBody(loginBody, req.body);
    const ip = clientIp(req);
    const usernameKey = normalizeUsername(body.username) ?? body.username.slice(0, 64).toLowerCase();
    const attempt = await countLoginAttempt(deps.limiters, ip, usernameKey);
    const { user } = await authenticateWith(deps.passport, 'local', req, res).catch(async (err: unknown) => {
      await attempt.giveBack();
      throw err;
    });
    if (!user) {
      auditRequest(deps, req, {
        event: 'auth.login.failure',
        username: usernameKey,
        reason: 'invalid_credentials',
      });
      // The same answer whether the user is unknown, disabled or the password wrong.
      throw new ProblemError('invalid_credentials', 'The username or password is wrong.');
    }
    await attempt.succeeded();
    auditRequest(deps, req, { event: 'auth.login.success', userId: user.id, username: user.username });
    const { response } = await startSession(deps, user);
    sendTokens(res, 200, response);
  };
}
