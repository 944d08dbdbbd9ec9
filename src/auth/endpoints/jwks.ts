import type { RequestHandler } from 'express';
import { ProblemError } from '../../errors.js';
import type { TokenKeys } from '../../tokens/token-keys.js';

/** Verifiers may keep the keys this long; a key added second is published well before it signs. */
const JWKS_MAX_AGE_SECONDS = 300;

/**
 * GET /auth/jwks.json: the public keys of `tokens.keys` (RFC 7517 §5), read when asked so that a
 * reload publishes a changed list at once. With an HS256 secret there is nothing to publish.
 */
export function createJwksHandler(keys: TokenKeys): RequestHandler {
  return (_req, res, next) => {
    const { jwks } = keys;
    if (!jwks) {
      next(
        new ProblemError(
          'not_found',
          'No public keys: tokens are signed with a shared secret (configure tokens.keys to publish keys).',
        ),
      );
      return;
    }
    res
      .set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
      .type('application/json')
      .send(JSON.stringify(jwks));
  };
}
