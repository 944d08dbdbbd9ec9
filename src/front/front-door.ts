/**
 * The front door: every request and every upgrade passes the one admission, then goes its way:
 * the sidecar's own endpoints to the express app, forward-auth's question, /metrics when served
 * here, and every other path through `decide()` to the backend, without express.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createAuthApp } from '../auth/endpoints/router.js';
import type { Deps } from '../deps.js';
import { ProblemError } from '../errors.js';
import type { ReadinessCheck } from '../http/health.js';
import { createMetricsHandler } from '../http/metrics-endpoint.js';
import { isOwnPath } from '../http/own-paths.js';
import { sendProblem } from '../http/problem.js';
import { beginRequest, beginUpgrade, requestContext } from '../http/request-context.js';
import { withoutRedaction } from '../log/logger.js';
import { createForwarder } from '../proxy/forward.js';
import { ExchangeLimitError, upstreamErrorCode, upstreamProblem } from '../proxy/upstream-errors.js';
import { createAdmission } from './admission.js';
import { createBrowserAnswers } from './browser-answers.js';
import { createForwardAuth } from './forward-auth.js';
import { createProxyRequest } from './proxy-request.js';
import { createUpgrade, refuseUpgrade } from './upgrade.js';

export interface FrontDoor {
  readonly handleRequest: RequestListener;
  readonly handleUpgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  /** Releases the sockets kept open to the backend. */
  close(): void;
}

const OWN_PATH_UPGRADE = new ProblemError('not_found', 'The sidecar’s own paths take no upgrades.');

export function createFrontDoor(deps: Deps, notReadyReason: ReadinessCheck): FrontDoor {
  const { logger, metrics } = deps;
  // The request line holds only ids, names and numbers: no secret to redact.
  const requestLog = withoutRedaction(logger);
  const countResponse = (status: number) => metrics.responded(status);
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
    ...(deps.browser && { isReservedCookie: deps.browser.cookie.isOwn }),
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

  const admission = createAdmission(deps);
  const answers = createBrowserAnswers(deps.browser, deps.config.browser.title, deps.now);
  const proxyRequest = createProxyRequest(admission, forward, metrics, answers);
  const relayUpgrade = createUpgrade(deps, admission, forward);
  const answerForwardAuth = createForwardAuth(admission, deps.identityHeaders);
  // Not ready while every backend connection is in use, so that a load balancer sends elsewhere.
  const authApp = createAuthApp(
    deps,
    () => notReadyReason() ?? (forward.saturated() ? 'upstream_saturated' : undefined),
  );
  const serveMetrics = createMetricsHandler(metrics);
  // Only when asked for is /metrics one of the sidecar's paths on the public port.
  const metricsHere = deps.config.metrics.enabled && deps.config.metrics.onPublicPort;

  function handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const context = beginRequest(req, res, requestLog, countResponse);
    const admitted = admission.admit(req, context);
    if (admitted instanceof ProblemError) {
      sendProblem(res, admitted, context.id);
      return;
    }
    const { target, matchPath, original } = admitted;
    if (original) {
      answerForwardAuth(req, res, admitted, original);
    } else if (target.ok && matchPath !== undefined && isOwnPath(matchPath)) {
      context.path = target.path;
      req.url = target.path + target.query;
      authApp(req, res);
    } else if (target.ok && metricsHere && matchPath === '/metrics') {
      context.path = target.path;
      serveMetrics(req, res, context.id);
    } else {
      proxyRequest(req, res, admitted);
    }
  }

  function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const { context, finish } = beginUpgrade(req, requestLog, countResponse);
    const admitted = admission.admit(req, context);
    if (admitted instanceof ProblemError) {
      refuseUpgrade(socket, { context }, finish, admitted);
      return;
    }
    const { target, matchPath } = admitted;
    if (target.ok && matchPath !== undefined && isOwnPath(matchPath)) {
      context.path = target.path;
      context.decision = 'deny';
      refuseUpgrade(socket, admitted, finish, OWN_PATH_UPGRADE);
      return;
    }
    relayUpgrade(req, socket, head, admitted, finish);
  }

  return { handleRequest, handleUpgrade, close: () => forward.close() };
}
