import type { Request } from 'express';
import passport from 'passport';
import { Strategy as JwtStrategy } from 'passport-jwt';
import { Strategy as LocalStrategy } from 'passport-local';
import { authorizationOf } from '../../http/authorization.js';
import type { UserRecord } from '../../store/types.js';
import { MAX_ACCESS_TOKEN_LENGTH } from '../../tokens/access-token.js';
import { parseBearer } from '../../tokens/bearer.js';
import { clientKey } from './client-ip.js';
import { checkCredentials } from './credentials.js';
import type { AuthDeps } from './deps.js';

/**
 * A passport instance of its own (not the global singleton) with the two strategies the auth
 * endpoints use: `local` for login and `jwt` for endpoints that need the caller.
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

  const { key, options } = deps.accessTokens.verification;
  instance.use(
    'jwt',
    new JwtStrategy(
      {
        jwtFromRequest: bearerTokenOf,
        // passport-jwt hands the key to jsonwebtoken, which accepts the KeyObject made once.
        secretOrKeyProvider: (_req, _token, done) => done(null, key as unknown as Buffer),
        algorithms: options.algorithms,
        issuer: options.issuer as string,
        audience: options.audience as string,
        jsonWebTokenOptions: { clockTolerance: options.clockTolerance },
        passReqToCallback: true,
      },
      (
        req: Request,
        _payload: unknown,
        done: (err: unknown, user?: UserRecord | false, info?: unknown) => void,
      ) => {
        // passport-jwt has checked the signature; the session check is the proxy's own, run again here
        // so that /auth and the proxy can never disagree about a token.
        const token = bearerTokenOf(req);
        const verdict = token === null ? undefined : deps.verifySession(token);
        if (!verdict?.valid) return done(null, false);
        deps.store.users
          .findById(verdict.identity.id)
          .then((user) => done(null, user ?? false, verdict), done);
      },
    ),
  );
  return instance;
}

function bearerTokenOf(req: Request): string | null {
  const credentials = parseBearer(authorizationOf(req));
  return credentials.kind === 'token' && credentials.token.length <= MAX_ACCESS_TOKEN_LENGTH
    ? credentials.token
    : null;
}
