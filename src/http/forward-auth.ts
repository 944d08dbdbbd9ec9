import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ProblemError } from '../errors.js';
import { deniedEvent, type Audit } from '../log/audit.js';
import { canonicalizeTarget } from '../pipeline/canonical-path.js';
import type { Decider, Decision } from '../pipeline/decide.js';
import type { IdentityHeaderNames } from '../pipeline/mutate.js';
import { authorizationOf } from './authorization.js';
import { sendProblem } from './problem.js';
import type { RequestContext } from './request-context.js';

export const FORWARD_AUTH_PATH = '/auth/verify';

/**
 * The original request as a proxy in front reports it: Traefik, Caddy and Envoy send
 * X-Forwarded-Method/-Uri; nginx's auth_request is usually configured with X-Original-*. Read
 * before the header stripping, which removes these from every request.
 */
export interface OriginalRequest {
  readonly method: string | undefined;
  readonly uri: string | undefined;
}

export function originalRequestOf(headers: IncomingHttpHeaders): OriginalRequest {
  return {
    method: single(headers['x-forwarded-method']) ?? single(headers['x-original-method']),
    uri: single(headers['x-forwarded-uri']) ?? single(headers['x-original-uri']),
  };
}

export interface ForwardAuthDeps {
  readonly decider: Decider;
  readonly identityHeaders: IdentityHeaderNames;
  readonly audit: Audit;
}

/**
 * GET /auth/verify: the same canonical path and the same `decide()` as the proxy, answered
 * instead of forwarded: 200 with the identity headers, or the very problem the proxy would send.
 */
export function createForwardAuthHandler(deps: ForwardAuthDeps) {
  return (
    req: IncomingMessage,
    res: ServerResponse,
    original: OriginalRequest,
    context: RequestContext,
  ): Decision | undefined => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendProblem(
        res,
        new ProblemError('method_not_allowed', `Use GET for ${FORWARD_AUTH_PATH}.`),
        context.id,
      );
      return undefined;
    }
    if (original.uri === undefined) {
      sendProblem(
        res,
        new ProblemError('invalid_request', 'X-Forwarded-Uri (or X-Original-URI) is required.'),
        context.id,
      );
      return undefined;
    }
    const method = (original.method ?? 'GET').toUpperCase();
    const decision = deps.decider.decideCanonical(
      canonicalizeTarget(original.uri),
      method,
      authorizationOf(req),
    );
    if (decision.outcome === 'deny') {
      deps.audit(deniedEvent(decision, context.id, method));
      sendProblem(res, decision.error, context.id);
      return decision;
    }
    const { identity } = decision;
    if (identity) {
      const names = deps.identityHeaders;
      res.setHeader(names.user, identity.username);
      res.setHeader(names.id, identity.id);
      res.setHeader(names.roles, identity.roles.join(','));
    }
    res.setHeader('Cache-Control', 'no-store');
    res.statusCode = 200;
    res.end();
    return decision;
  };
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
