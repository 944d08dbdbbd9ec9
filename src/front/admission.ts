/**
 * The admission every way in passes (a proxied request, a WebSocket upgrade, a forward-auth
 * question), written once: the checks before any header is believed, the decision and its record,
 * and what an allowed request becomes for the backend. Each way in keeps only what is its own.
 */
import type { IncomingMessage } from 'node:http';
import type { Deps } from '../deps.js';
import { ProblemError } from '../errors.js';
import { hasUnexpectedBody } from '../http/bodiless-methods.js';
import { canonicalizeTarget, type CanonicalTarget } from '../http/canonical-path.js';
import { hasTooManyHeaders, TOO_MANY_HEADERS } from '../http/header-limit.js';
import { mayCarryMethodOverride } from '../http/method-override.js';
import { FORWARD_AUTH_PATH } from '../http/own-paths.js';
import { createPeerWatch } from '../http/peer-watch.js';
import { createRequestClientKey } from '../http/request-client.js';
import type { RequestContext } from '../http/request-context.js';
import { createHeaderStripper } from '../http/strip-identity.js';
import { isSafeMethod } from '../browser/cross-origin.js';
import { MAY_OVERRIDE, type Decision } from '../pipeline/decide.js';
import { mutateForUpstream } from '../pipeline/mutate.js';
import { originalRequestOf, type OriginalRequest } from './original-request.js';
import { createDecisionRecorder } from './record.js';

/** A request past the admission checks, with what they learned of it. */
export interface Admitted {
  readonly context: RequestContext;
  /** The peer is a `trustProxy` hop: its forwarding headers were kept. */
  readonly peerTrusted: boolean;
  /** The request's own target, in the canonical form the rules and the backend see. */
  readonly target: CanonicalTarget;
  /** The canonical path as the sidecar's own paths are compared (lower-cased when rules are). */
  readonly matchPath: string | undefined;
  /** On forward-auth's path only: the request the proxy in front asks about, read before stripping. */
  readonly original: OriginalRequest | undefined;
}

/** What a rule is asked about: the proxied request itself, or forward-auth's original request. */
export interface Question {
  readonly target: CanonicalTarget;
  readonly method: string;
  readonly authorization: string | readonly string[] | undefined;
  /**
   * Which way in asks. The session cookie is read on a proxied request and an upgrade; not on
   * forward-auth's question, whose Origin and Host are the proxy's in front, not the browser's.
   */
  readonly via: 'request' | 'upgrade' | 'forward-auth';
}

export interface Admission {
  /**
   * Request id and request line are the caller's (`beginRequest`/`beginUpgrade`); then header
   * limits, a declared body on a bodiless method, the trusted-peer check, the canonical target,
   * forward-auth's question and the stripping of every header a client may not claim. Returns the
   * refusal to send (its reason noted on the context) or the admitted request.
   */
  admit(req: IncomingMessage, context: RequestContext): Admitted | ProblemError;
  /**
   * `decide()` on `question`, with the session cookie when Authorization is absent and a form
   * body's possible method override, then the cross-site check of a cookie-authenticated unsafe
   * request or upgrade, and the record of it all: the request line's fields, the metrics, the
   * unchecked-session warning, a denial's audit event, a session found over.
   */
  decide(req: IncomingMessage, admitted: Admitted, question: Question): Decision;
  /**
   * Makes an allowed request what the backend should see (canonical path, identity headers, no
   * hop-by-hop fields, no session cookie) and returns the key its client is counted by; read before
   * the change, which appends the peer to X-Forwarded-For.
   */
  prepareForUpstream(
    req: IncomingMessage,
    admitted: Admitted,
    decision: Extract<Decision, { outcome: 'allow' }>,
  ): string;
}

export function createAdmission(deps: Deps): Admission {
  const { config, decider, identityHeaders, isTrustedProxy } = deps;
  const caseInsensitive = config.match.caseInsensitive;
  const forwardBearerToken = config.identity.forwardBearerToken;
  const originalPair = config.forwardAuth.headers;
  const stripHeaders = createHeaderStripper(Object.values(identityHeaders));
  const watchPeer = createPeerWatch(deps.logger);
  const clientKey = createRequestClientKey(isTrustedProxy, config.limits.ipv6Prefix);
  const record = createDecisionRecorder(deps);
  const browser = deps.browser;

  return {
    admit(req, context) {
      if (hasTooManyHeaders(req)) {
        context.reason = 'too_many_headers';
        return TOO_MANY_HEADERS;
      }
      if (hasUnexpectedBody(req)) {
        context.reason = 'unexpected_body';
        return new ProblemError('invalid_request', `A ${req.method} request must not carry a body.`);
      }
      const peer = req.socket.remoteAddress ?? '';
      const peerTrusted = isTrustedProxy(peer, 0);
      const target = canonicalizeTarget(req.url ?? '/');
      const matchPath = target.ok ? (caseInsensitive ? target.path.toLowerCase() : target.path) : undefined;
      watchPeer(peer, peerTrusted, matchPath);
      // Forward-auth's question is in headers the stripping removes: read first, on its path only.
      const original = matchPath === FORWARD_AUTH_PATH ? originalRequestOf(req, originalPair) : undefined;
      stripHeaders(req.headers, peerTrusted);
      return { context, peerTrusted, target, matchPath, original };
    },

    decide(req, admitted, { target, method, authorization, via }) {
      const override = mayCarryMethodOverride(method, req.headers) ? MAY_OVERRIDE : undefined;
      const cookie =
        browser && via !== 'forward-auth' && authorization === undefined
          ? browser.cookie.read(req.headers.cookie)
          : undefined;
      let decision = decider.decideCanonical(
        target,
        method,
        cookie ? { authorization, cookie } : { authorization },
        override,
      );
      if (
        browser &&
        decision.cookie?.kind === 'valid' &&
        (via === 'upgrade' || !isSafeMethod(method)) &&
        browser.isCrossOrigin(req)
      ) {
        decision = crossOriginDenial(decision);
      }
      record(admitted.context, decision, method);
      return decision;
    },

    prepareForUpstream(req, admitted, decision) {
      const client = clientKey(req, admitted.peerTrusted);
      mutateForUpstream(req, decision, identityHeaders, admitted.peerTrusted, forwardBearerToken);
      // Whatever the cookie held, the backend never sees it (nor its logs).
      const cookies = req.headers.cookie;
      if (browser && cookies !== undefined) {
        const others = browser.cookie.strip(cookies);
        if (others === undefined) delete req.headers.cookie;
        else req.headers.cookie = others;
      }
      return client;
    },
  };
}

const CROSS_ORIGIN = new ProblemError(
  'forbidden',
  'This request came from another site with your session cookie; it was not sent on.',
);

/** The refusal of a request the cookie let through, sent from another origin. */
function crossOriginDenial(decision: Decision): Decision {
  const { rule, path, identity, cookie } = decision;
  return {
    outcome: 'deny',
    reason: 'cross_origin',
    error: CROSS_ORIGIN,
    ...(rule && { rule }),
    ...(path !== undefined && { path }),
    ...(identity && { identity }),
    ...(cookie && { cookie }),
  };
}
