import type { Request, RequestHandler } from 'express';
import type { UserRecord } from '../../store/types.js';
import { ProblemError } from '../../errors.js';
import { auditRequest } from './audit-request.js';
import { clientKey } from './client-ip.js';
import type { AuthContext } from './deps.js';
import { countAttempts } from './login-attempt.js';
import { findPasswordProblem } from '../passwords/password-hasher.js';
import { parseBody, registerBody } from '../schemas/requests.js';
import { sendTokens, startSession } from './token-response.js';
import { normalizeUsername } from './username.js';

/** POST /auth/register {username, password, email?} → 201 with tokens. */
export function createRegisterHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    const user = await registerUser(deps, req, () => parseBody(registerBody, req.body));
    const { response } = await startSession(deps, user);
    sendTokens(res, 201, response);
  };
}

/**
 * Creates a user from a registration, whichever form it came in (the JSON body, the sign-up form):
 * registration open, the per-client limit, username and password policy, the name free, the hash
 * metered like a password check; audited. `readBody` is called once the limit has counted it.
 */
export async function registerUser(
  deps: AuthContext,
  req: Request,
  readBody: () => { readonly username: string; readonly password: string; readonly email?: string },
): Promise<UserRecord> {
  const { registration, passwords: policy } = deps.config;
  if (!registration.enabled) throw new ProblemError('registration_disabled', 'Registration is disabled.');
  const client = clientKey(req, deps.config.limits.ipv6Prefix);
  await deps.limiters.registerPerIp.consume(client);
  const body = readBody();
  const username = normalizeUsername(body.username);
  if (username === undefined) {
    throw new ProblemError('invalid_request', `username: ${USERNAME_POLICY}`);
  }
  const passwordProblem = findPasswordProblem(body.password, policy);
  if (passwordProblem) throw new ProblemError('invalid_request', passwordProblem);
  // Registration says whether a name is taken anyway; checking first spares a bcrypt hash.
  if (await deps.store.users.findByUsername(username)) throw usernameTaken();

  // Hashing is bcrypt work like a password check, metered per client the same way.
  const checked = await countAttempts([[deps.limiters.passwordChecksPerClient, client]]).catch(
    async (err: unknown) => {
      await deps.limiters.registerPerIp.refund(client);
      throw err;
    },
  );
  const passwordHash = await deps.passwords.hash(body.password, client).catch(async (err: unknown) => {
    await Promise.all([deps.limiters.registerPerIp.refund(client), checked.giveBack()]);
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
  deps.passwords.noteStored(undefined, passwordHash);
  auditRequest(deps, req, { event: 'auth.register', userId: user.id, username: user.username });
  return user;
}

/** What a username must be, as the API and the sign-up page say it. */
export const USERNAME_POLICY = 'expected 3 to 64 characters of a-z, 0-9, ".", "_" or "-"';

function usernameTaken(): ProblemError {
  return new ProblemError('username_taken', 'That username is taken.');
}
