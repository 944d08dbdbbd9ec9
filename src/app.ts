/**
 * The request dispatch in one place: the sidecar's own endpoints go to the express app; every
 * other path goes through the pipeline (decide → mutate) to the proxy, without express.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createAuthApp } from './auth/router.js';
import type { Deps } from './deps.js';
import { ProblemError } from './errors.js';
import { authorizationOf } from './http/authorization.js';
import { hasUnexpectedBody } from './http/bodiless-methods.js';
import { hasTooManyHeaders, TOO_MANY_HEADERS } from './http/header-limit.js';
import {
  createForwardAuthHandler,
  FORWARD_AUTH_PATH,
  originalRequestOf,
  type OriginalRequest,
} from './http/forward-auth.js';
import type { ReadinessCheck } from './http/health.js';
import { createMetricsHandler } from './http/metrics-endpoint.js';
import { createPeerWatch } from './http/peer-watch.js';
import { sendProblem } from './http/problem.js';
import { createRequestClientKey } from './http/request-client.js';
import { beginRequest, requestContext, type RequestContext } from './http/request-context.js';
import { createHeaderStripper } from './http/strip-identity.js';
import { canonicalizeTarget } from './pipeline/canonical-path.js';
import { MAY_OVERRIDE, type Decision } from './pipeline/decide.js';
import { mayCarryMethodOverride } from './pipeline/method-override.js';
import { deniedEvent } from './log/audit.js';
import { withoutRedaction } from './log/logger.js';
import { decisionLabelOf } from './metrics/metrics.js';
import { mutateForUpstream } from './pipeline/mutate.js';
import { reportUncheckedSession } from './pipeline/store-outage.js';
import { createForwarder } from './proxy/forward.js';
import { createUpgradeHandler } from './upgrade.js';
import { ExchangeLimitError, upstreamErrorCode, upstreamProblem } from './proxy/upstream-errors.js';

export interface App {
  readonly handleRequest: RequestListener;
  readonly handleUpgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  /** Releases the sockets kept open to the backend. */
  close(): void;
}

/** Paths the sidecar answers itself; they are never forwarded. */
export function isOwnPath(path: string): boolean {
  return path === '/healthz' || path === '/readyz' || path === '/auth' || path.startsWith('/auth/');
}

export function createApp(deps: Deps, notReadyReason: ReadinessCheck): App {
  const { logger, decider, identityHeaders, isTrustedProxy, audit, metrics } = deps;
  const serveMetrics = createMetricsHandler(metrics);
  const watchPeer = createPeerWatch(logger);
  const verifyForProxy = createForwardAuthHandler({ decider, identityHeaders, audit });
  // Only when asked for is /metrics one of the sidecar's paths on the public port.
  const metricsHere = deps.config.metrics.enabled && deps.config.metrics.onPublicPort;
  const countResponse = (status: number) => metrics.responded(status);
  const caseInsensitive = deps.config.match.caseInsensitive;
  const clientKey = createRequestClientKey(isTrustedProxy, deps.config.limits.ipv6Prefix);
  // Not ready while every backend connection is in use, so that a load balancer sends elsewhere.
  const authApp = createAuthApp(
    deps,
    () => notReadyReason() ?? (forward.saturated() ? 'upstream_saturated' : undefined),
  );
  // The request line holds only ids, names and numbers set below: no secret to redact.
  const requestLog = withoutRedaction(logger);
  const stripHeaders = createHeaderStripper(Object.values(identityHeaders));
  const forward = createForwarder({
    target: deps.config.upstream.url,
    timeoutMs: deps.config.upstream.timeout,
    limits: {
      maxConnections: deps.config.upstream.maxConnections,
      queueTimeoutMs: deps.config.upstream.queueTimeout,
      perClient: deps.config.limits.proxy.perClient,
      bodyTimeoutMs: deps.config.limits.proxy.bodyTimeout,
      bodyMinRate: deps.config.limits.proxy.bodyMinRate,
      sendTimeoutMs: deps.config.limits.proxy.sendTimeout,
    },
    onUpstreamResponse: metrics.upstreamResponded,
    onError(err, req, res) {
      const reqId = req.headers['x-request-id'];
      if (err instanceof ExchangeLimitError) {
        // A limit the sidecar applied, not a backend failure: the request line says which.
        const context = requestContext(req);
        if (context) context.reason = err.reason;
        metrics.proxyRefused(err.reason);
      } else {
        logger.warn({ reqId, code: upstreamErrorCode(err) }, 'upstream request failed');
      }
      sendProblem(res, upstreamProblem(err), typeof reqId === 'string' ? reqId : undefined);
    },
    onUpgradeError(err, req) {
      const reqId = req.headers['x-request-id'];
      if (err instanceof ExchangeLimitError) metrics.proxyRefused(err.reason);
      else logger.warn({ reqId, code: upstreamErrorCode(err) }, 'upstream request failed');
    },
  });
  metrics.watchUpstreamPool(() => forward.usage());

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const context = beginRequest(req, res, requestLog, countResponse);
    if (hasTooManyHeaders(req)) {
      context.reason = 'too_many_headers';
      sendProblem(res, TOO_MANY_HEADERS, context.id);
      return;
    }
    if (hasUnexpectedBody(req)) {
      context.reason = 'unexpected_body';
      sendProblem(
        res,
        new ProblemError('invalid_request', `A ${req.method} request must not carry a body.`),
        context.id,
      );
      return;
    }
    const peerTrusted = isTrustedProxy(req.socket.remoteAddress ?? '', 0);
    const target = canonicalizeTarget(req.url ?? '/');
    const matchPath = target.ok ? (caseInsensitive ? target.path.toLowerCase() : target.path) : undefined;
    watchPeer(req.socket.remoteAddress ?? '', peerTrusted, matchPath);
    // Forward-auth's input is in headers the stripping removes; only its own path reads them first.
    const original =
      matchPath === FORWARD_AUTH_PATH ? originalRequestOf(req, deps.config.forwardAuth.headers) : undefined;
    stripHeaders(req.headers, peerTrusted);
    if (target.ok && serveOwnPath(req, res, context, target, matchPath ?? target.path, original)) return;
    const method = req.method ?? 'GET';
    const override = mayCarryMethodOverride(method, req.headers) ? MAY_OVERRIDE : undefined;
    const decision = decider.decideCanonical(target, method, authorizationOf(req), override);
    record(context, decision);
    if (decision.outcome === 'deny') {
      audit(deniedEvent(decision, context.id, req.method));
      sendProblem(res, decision.error, context.id);
      return;
    }
    // Read before mutate appends the peer to X-Forwarded-For.
    const client = clientKey(req, peerTrusted);
    mutateForUpstream(req, decision, identityHeaders, peerTrusted, deps.config.identity.forwardBearerToken);
    const refusal = forward(req, res, client);
    if (refusal) {
      context.reason = 'client_busy';
      metrics.proxyRefused('client_busy');
      sendProblem(res, refusal, context.id);
    }
  }

  /**
   * The sidecar's own paths: forward-auth, /auth and health to express, /metrics when
   * `metrics.onPublicPort`. True when the request was one of them.
   */
  function serveOwnPath(
    req: IncomingMessage,
    res: ServerResponse,
    context: RequestContext,
    { path, query }: { readonly path: string; readonly query: string },
    matchPath: string,
    original: OriginalRequest | undefined,
  ): boolean {
    // Read only on forward-auth's own path.
    if (original) {
      context.path = FORWARD_AUTH_PATH;
      const decision = verifyForProxy(req, res, original, context);
      if (decision) record(context, decision);
      return true;
    }
    if (isOwnPath(matchPath)) {
      context.path = path;
      req.url = path + query;
      authApp(req, res);
      return true;
    }
    if (metricsHere && matchPath === '/metrics') {
      context.path = path;
      serveMetrics(req, res, context.id);
      return true;
    }
    return false;
  }

  /** What the request line, the metrics and (for an unchecked session) the log keep of a decision. */
  function record(context: RequestContext, decision: Decision): void {
    context.decision = decision.outcome;
    context.rule = decision.rule?.id;
    metrics.requestDecided(decision.rule?.id ?? 'none', decisionLabelOf(decision));
    reportUncheckedSession(decision, context.id, logger, metrics);
    if (decision.path !== undefined) context.path = decision.path;
    if (decision.outcome === 'allow') {
      context.userId = decision.identity?.id;
    } else {
      context.reason = decision.reason;
    }
  }

  const handleUpgrade = createUpgradeHandler({
    deps,
    stripHeaders,
    forwardUpgrade: forward.upgrade,
    clientKey,
    isOwnPath,
  });

  return { handleRequest, handleUpgrade, close: () => forward.close() };
}
