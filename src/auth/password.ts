import type { RequestHandler } from 'express';
import { ProblemError } from '../errors.js';
import { auditRequest } from './audit-request.js';
import type { AuthContext } from './deps.js';
import { findPasswordProblem } from './passwords.js';
import { requireCaller } from './require-caller.js';
import { parseBody, passwordChangeBody } from './schemas.js';

/**
 * POST /auth/password {currentPassword, newPassword} with Bearer → 204. Every refresh and access
 * token of the user issued before stops working: whoever had them must log in again.
 */
export function createPasswordChangeHandler(deps: AuthContext): RequestHandler {
  const { loginPerUsername } = deps.limiters;
  return async (req, res) => {
    const { user } = await requireCaller(deps, req, res);
    const body = parseBody(passwordChangeBody, req.body);
    // A stolen access token must not become an oracle for guessing the password.
    await loginPerUsername.consume(user.username);
    const matches = await deps.passwords
      .verify(body.currentPassword, user.passwordHash)
      .catch(async (err: unknown) => {
        await loginPerUsername.refund(user.username);
        throw err;
      });
    if (!matches) {
      auditRequest(deps, req, { event: 'auth.password.failure', userId: user.id });
      throw new ProblemError('wrong_password', 'The current password is wrong.');
    }
    await loginPerUsername.reset(user.username);
    const problem = findPasswordProblem(body.newPassword, deps.config.passwords);
    if (problem) throw new ProblemError('invalid_request', `newPassword: ${problem}`);

    const passwordHash = await deps.passwords.hash(body.newPassword);
    await deps.store.users.update(user.id, { passwordHash }, { endSessions: true });
    auditRequest(deps, req, { event: 'auth.password.change', userId: user.id });
    res.status(204).end();
  };
}
