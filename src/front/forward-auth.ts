/**
 * Forward-auth, the way in for a proxy in front (nginx auth_request, Traefik ForwardAuth, Caddy
 * forward_auth): GET /auth/verify asks about the original request the proxy names, which passes
 * the same admission and `decide()` as a proxied one; answered instead of forwarded.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProblemError } from '../errors.js';
import { authorizationOf } from '../http/authorization.js';
import { canonicalizeTarget } from '../http/canonical-path.js';
import { FORWARD_AUTH_PATH } from '../http/own-paths.js';
import { sendProblem } from '../http/problem.js';
import type { IdentityHeaderNames } from '../pipeline/mutate.js';
import type { Admission, Admitted } from './admission.js';
import type { OriginalRequest } from './original-request.js';

/**
 * Answers 200 with the identity headers for the proxy to pass on, or the very problem the proxy
 * would have sent for the original request.
 */
export function createForwardAuth(admission: Admission, names: IdentityHeaderNames) {
  return (req: IncomingMessage, res: ServerResponse, admitted: Admitted, original: OriginalRequest): void => {
    const { context } = admitted;
    context.path = FORWARD_AUTH_PATH;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendProblem(
        res,
        new ProblemError('method_not_allowed', `Use GET for ${FORWARD_AUTH_PATH}.`),
        context.id,
      );
      return;
    }
    if (!original.ok) {
      context.reason = 'invalid_original_request';
      sendProblem(res, original.error, context.id);
      return;
    }
    // The proxy passes the original request's Content-Type along with the question (not its body),
    // so a form POST is decided as every method its body could name, as the proxy would.
    const decision = admission.decide(req, admitted, {
      target: canonicalizeTarget(original.uri),
      method: original.method,
      authorization: authorizationOf(req),
      via: 'forward-auth',
    });
    if (decision.outcome === 'deny') {
      sendProblem(res, decision.error, context.id);
      return;
    }
    const { identity } = decision;
    if (identity) {
      res.setHeader(names.user, identity.username);
      res.setHeader(names.id, identity.id);
      res.setHeader(names.roles, identity.roles.join(','));
    }
    res.setHeader('Cache-Control', 'no-store');
    res.statusCode = 200;
    res.end();
  };
}
