import type { Request } from 'express';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { authorizationOf } from '../../http/authorization.js';
import { MAX_ACCESS_TOKEN_LENGTH } from '../../tokens/access-token.js';
import { parseBearer } from '../../tokens/bearer.js';
import { clientKey } from './client-ip.js';
import { checkCredentials } from './credentials.js';
import type { AuthDeps } from './deps.js';

/**
 * A passport instance of its own (not the global singleton) with the two strategies the auth
 * endpoints use: `local` for login and `bearer` for endpoints that need the caller.
 */
export function createPassport(deps: AuthDeps): passport.Authenticator {
  const instance = new passport.Authenticator();

  // passport-local reads a field from the query string when the body lacks it: the login handler
  // runs it only after refusing (400) an empty body field and any credential in the URL, so the
  // fields it reads are those of the parsed JSON body.
  instance.use(
    'local',
    new LocalStrategy(
      { usernameField: 'username', passwordField: 'password', session: false, passReqToCallback: true },
      (req, username, password, done) => {
        const client = clientKey(req, deps.config.limits.ipv6Prefix);
        checkCredentials(deps, { username, password }, client).then(
          (user) => done(null, user ?? false),
          done,
        );
      },
    ),
  );

  // The token and the session behind it, by the very check the proxy runs, so that /auth and the
  // proxy can never disagree about a token, whatever key signed it.
  const bearer: passport.Strategy = {
    name: 'bearer',
    authenticate(this: passport.StrategyCreated<passport.Strategy>, req: Request) {
      const token = bearerTokenOf(req);
      const verdict = token === null ? undefined : deps.verifySession(token);
      if (!verdict?.valid) return this.fail();
      deps.store.users.findById(verdict.identity.id).then(
        (user) => (user ? this.success(user, verdict) : this.fail()),
        (err: unknown) => this.error(err instanceof Error ? err : new Error('user lookup failed')),
      );
    },
  };
  instance.use('bearer', bearer);
  return instance;
}

function bearerTokenOf(req: Request): string | null {
  const credentials = parseBearer(authorizationOf(req));
  return credentials.kind === 'token' && credentials.token.length <= MAX_ACCESS_TOKEN_LENGTH
    ? credentials.token
    : null;
}
