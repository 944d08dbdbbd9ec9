import type { Request, RequestHandler } from 'express';
import type { UserRecord } from '../../store/types.js';
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
  return async (req, res) => {
    const { user } = await requireCaller(deps, req, res);
    const body = parseBody(passwordChangeBody, req.body);
    await changePassword(deps, req, user, body);
    res.status(204).end();
  };
}

/**
 * Changes the password of `user`, whichever form the change came in (the JSON body, the account
 * page): the current password checked and metered, the new one held to the policy, and every
 * session of the user ended in the same store step. Returns the record after the change.
 */
export async function changePassword(
  deps: AuthContext,
  req: Request,
  user: UserRecord,
  body: { readonly currentPassword: string; readonly newPassword: string },
): Promise<UserRecord> {
  const { passwordChangePerUser, passwordChecksPerClient, passwordChecksPerUser } = deps.limiters;
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
  const updated = await deps.store.users.update(user.id, { passwordHash }, { endSessions: true });
  if (!updated) throw new ProblemError('invalid_credentials', 'The user no longer exists.');
  deps.passwords.noteStored(user.passwordHash, passwordHash);
  auditRequest(deps, req, { event: 'auth.password.change', userId: user.id });
  return updated;
}
