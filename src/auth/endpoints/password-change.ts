import type { RequestHandler } from 'express';
import { ProblemError } from '../../errors.js';
import { auditRequest } from './audit-request.js';
import { clientKey } from './client-ip.js';
import type { AuthContext } from './deps.js';
import { countAttempts } from './login-attempt.js';
import { findPasswordProblem } from '../passwords/password-hasher.js';
import { requireCaller } from './require-caller.js';
import { parseBody, passwordChangeBody } from '../schemas/requests.js';

/**
 * POST /auth/password {currentPassword, newPassword} with Bearer → 204. Every refresh and access
 * token of the user issued before stops working: whoever had them must log in again.
 */
export function createPasswordChangeHandler(deps: AuthContext): RequestHandler {
  const { passwordChangePerUser, passwordChecksPerClient, passwordChecksPerUser } = deps.limiters;
  return async (req, res) => {
    const { user } = await requireCaller(deps, req, res);
    const body = parseBody(passwordChangeBody, req.body);
    const client = clientKey(req, deps.config.limits.ipv6Prefix);
    // A stolen access token must not become an oracle for guessing the password. The caller is
    // known, so wrong current passwords are counted per user id, in a bucket of their own: failed
    // logins, which anyone can send, never lock the owner out of changing the password.
    const attempt = await countAttempts([
      [passwordChangePerUser, user.id],
      [passwordChecksPerClient, client],
      [passwordChecksPerUser, user.username],
    ]);
    const matches = await deps.passwords
      .verify(body.currentPassword, user.passwordHash, client)
      .catch(async (err: unknown) => {
        await attempt.giveBack();
        throw err;
      });
    if (!matches) {
      auditRequest(deps, req, { event: 'auth.password.failure', userId: user.id });
      throw new ProblemError('wrong_password', 'The current password is wrong.');
    }
    await passwordChangePerUser.reset(user.id);
    const problem = findPasswordProblem(body.newPassword, deps.config.passwords);
    if (problem) throw new ProblemError('invalid_request', `newPassword: ${problem}`);

    const passwordHash = await deps.passwords.hash(body.newPassword, client);
    await deps.store.users.update(user.id, { passwordHash }, { endSessions: true });
    deps.passwords.noteStored(user.passwordHash, passwordHash);
    auditRequest(deps, req, { event: 'auth.password.change', userId: user.id });
    res.status(204).end();
  };
}
