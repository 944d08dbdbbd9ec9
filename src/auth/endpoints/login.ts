import type { Request, RequestHandler, Response } from 'express';
import { ProblemError } from '../../errors.js';
import type { UserRecord } from '../../store/types.js';
import { auditRequest } from './audit-request.js';
import { clientKey } from './client-ip.js';
import { authenticateWith } from './authenticate-with.js';
import type { AuthContext } from './deps.js';
import { countLoginAttempt } from './login-attempt.js';
import { loginBody, parseBody } from '../schemas/requests.js';
import { sendTokens, startSession } from './token-response.js';
import { normalizeUsername, usernameKeyOf } from './username.js';

/**
 * POST /auth/login {username, password} through passport-local → 200 with tokens. The credentials
 * are those of the parsed JSON body: an empty field, or a credential in the URL, is 400 first.
 */
export function createLoginHandler(deps: AuthContext): RequestHandler {
  return async (req, res) => {
    refuseCredentialsInUrl(req.originalUrl);
    const body = parseBody(loginBody, req.body);
    const { user, client } = await checkPassword(deps, req, res, body);
    // The session starts from the record read before the password check.
    const { response } = await startSession(deps, user);
    await rehashIfNeeded(deps, user, body.password, client);
    sendTokens(res, 200, response);
  };
}

/**
 * The password check of a login, through passport-local, whichever form the credentials came in
 * (the JSON body, the sign-in form): counted against the brute-force limits, audited, and refused
 * with one answer for an unknown user, a disabled one and a wrong password. Returns the user record
 * read before the check, which the session must start from.
 */
export async function checkPassword(
  deps: AuthContext,
  req: Request,
  res: Response,
  body: { readonly username: string },
): Promise<{ user: UserRecord; client: string }> {
  const client = clientKey(req, deps.config.limits.ipv6Prefix);
  const username = normalizeUsername(body.username);
  const attempt = await countLoginAttempt(deps.limiters, client, usernameKeyOf(body.username));
  const { user } = await authenticateWith(deps.passport, 'local', req, res).catch(async (err: unknown) => {
    await attempt.giveBack();
    throw err;
  });
  if (!user) {
    // The raw field is logged only when it is a valid username: it may hold a password typed there.
    auditRequest(
      deps,
      req,
      username === undefined
        ? { event: 'auth.login.failure', username: null, reason: 'invalid_username' }
        : { event: 'auth.login.failure', username, reason: 'invalid_credentials' },
    );
    // The same answer whether the user is unknown, disabled or the password wrong.
    throw new ProblemError('invalid_credentials', 'The username or password is wrong.');
  }
  await attempt.succeeded();
  auditRequest(deps, req, { event: 'auth.login.success', userId: user.id, username: user.username });
  return { user, client };
}

/**
 * A login whose URL carries a `username` or `password` parameter is refused (400) whatever its
 * body: credentials in a URL end up in the logs and histories of whatever it passes through, and
 * passport-local would read one from there for a field the body lacks.
 */
export function refuseCredentialsInUrl(url: string): void {
  const query = url.indexOf('?');
  if (query === -1) return;
  for (const name of new URLSearchParams(url.slice(query + 1)).keys()) {
    const lower = name.toLowerCase();
    if (lower === 'username' || lower === 'password') {
      throw new ProblemError(
        'invalid_request',
        'The username and password belong in the JSON body, never in the URL.',
      );
    }
  }
}

/**
 * A hash of another cost than `passwords.bcryptCost` (the cost was changed since) is replaced by one
 * at the configured cost, only if it is still the stored one: a password changed meanwhile wins. A
 * rehash that cannot run now (queue full, store away) is left for the next login.
 */
export async function rehashIfNeeded(
  deps: AuthContext,
  user: UserRecord,
  password: string,
  client: string,
): Promise<void> {
  if (!deps.passwords.needsRehash(user.passwordHash)) return;
  try {
    const next = await deps.passwords.hash(password, client);
    if (await deps.store.users.replacePasswordHash(user.id, user.passwordHash, next)) {
      deps.passwords.noteStored(user.passwordHash, next);
    }
  } catch (err) {
    deps.logger.warn(
      {
        event: 'auth.rehash.deferred',
        userId: user.id,
        reason: err instanceof Error ? err.message : 'unknown',
      },
      'password rehash deferred to the next login',
    );
  }
}
