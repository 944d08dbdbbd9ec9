import type { RequestHandler } from 'express';
import { ProblemError } from '../errors.js';
import { auditRequest } from './audit-request.js';
import { clientIp } from './client-ip.js';
import type { AuthContext } from './deps.js';
import { findPasswordProblem } from './passwords.js';
import { parseBody, registerBody } from './schemas.js';
import { sendTokens, startSession } from './session.js';
import { normalizeUsername } from './username.js';

/** POST /auth/register {username, password, email?} → 201 with tokens. */
export function createRegisterHandler(deps: AuthContext): RequestHandler {
  const { registration, passwords: policy } = deps.config;
  return async (req, res) => {
    if (!registration.enabled) throw new ProblemError('registration_disabled', 'Registration is disabled.');
    await deps.limiters.registerPerIp.consume(clientIp(req));
    const body = parseBody(registerBody, req.body);
    const username = normalizeUsername(body.username);
    if (username === undefined) {
      throw new ProblemError(
        'invalid_request',
        'username: expected 3 to 64 characters of a-z, 0-9, ".", "_" or "-"',
      );
    }
    const passwordProblem = findPasswordProblem(body.password, policy);
    if (passwordProblem) throw new ProblemError('invalid_request', passwordProblem);
    // Registration says whether a name is taken anyway; checking first spares a bcrypt hash.
    if (await deps.store.users.findByUsername(username)) throw usernameTaken();

    const passwordHash = await deps.passwords.hash(body.password).catch(async (err: unknown) => {
      await deps.limiters.registerPerIp.refund(clientIp(req));
      throw err;
    });
    const result = await deps.store.users.create({
      username,
      passwordHash,
      roles: registration.defaultRoles,
      ...(body.email === undefined ? {} : { email: body.email }),
    });
    if (!result.created) throw usernameTaken();

    const { user } = result;
    auditRequest(deps, req, {
      event: 'auth.register',
      userId: user.id,
      username: user.username,
    });
    const { response } = await startSession(deps, user);
    sendTokens(res, 201, response);
  };
}

function usernameTaken(): ProblemError {
  return new ProblemError('username_taken', 'That username is taken.');
}
