/**
 * WebSocket upgrades through the same pipeline as every request: strip what a client may not
 * claim, canonical path, `decide()`, identity headers, forward. A denial is answered before any
 * upgrade; an allowed connection is closed once its token or session no longer holds.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Deps } from './deps.js';
import { ProblemError } from './errors.js';
import { authorizationOf } from './http/authorization.js';
import { hasTooManyHeaders, TOO_MANY_HEADERS } from './http/header-limit.js';
import { rawProblemResponse } from './http/problem.js';
import { takeQueryToken } from './http/query-token.js';
import { resolveRequestId } from './http/request-id.js';
import type { HeaderStripper } from './http/strip-identity.js';
import { canonicalizeTarget } from './pipeline/canonical-path.js';
import { deniedEvent } from './log/audit.js';
import { decisionLabelOf } from './metrics/metrics.js';
import { mutateForUpstream } from './pipeline/mutate.js';
import { reportUncheckedSession } from './pipeline/store-outage.js';
import { parseBearer } from './tokens/bearer.js';

export interface UpgradeHandlerOptions {
  readonly deps: Deps;
  readonly stripHeaders: HeaderStripper;
  /** Forwards the upgrade; returns the refusal when the client has too many exchanges under way. */
  readonly forwardUpgrade: (
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    client: string,
  ) => ProblemError | undefined;
  /** The key per-client limits count the request's client by. */
  readonly clientKey: (req: IncomingMessage, peerTrusted: boolean) => string;
  readonly isOwnPath: (path: string) => boolean;
}

export function createUpgradeHandler(options: UpgradeHandlerOptions) {
  const { deps, stripHeaders } = options;
  const { logger, decider, identityHeaders, isTrustedProxy, audit, metrics, storeOutage } = deps;
  const { queryToken, recheck: recheckMs } = deps.config.websocket;
  const caseInsensitive = deps.config.match.caseInsensitive;

  return (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    const reqId = resolveRequestId(req.headers['x-request-id']);
    req.headers['x-request-id'] = reqId;
    const logLine = (fields: Record<string, unknown>) =>
      logger.info({ reqId, method: req.method, upgrade: 'websocket', ...fields }, 'request');
    const refuse = (error: ProblemError, fields: Record<string, unknown>) => {
      logLine({ status: error.status, decision: 'deny', ...fields });
      metrics.responded(error.status);
      socket.end(rawProblemResponse(error, reqId));
    };

    if (hasTooManyHeaders(req)) {
      refuse(TOO_MANY_HEADERS, {});
      return;
    }
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuse(new ProblemError('upgrade_refused', 'Only WebSocket upgrades are supported.'), {});
      return;
    }
    const peerTrusted = isTrustedProxy(req.socket.remoteAddress ?? '', 0);
    stripHeaders(req.headers, peerTrusted);
    const taken = queryToken ? takeQueryToken(req.url ?? '/') : { target: req.url ?? '/', tokens: [] };
    const target = canonicalizeTarget(taken.target);
    if (target.ok && options.isOwnPath(caseInsensitive ? target.path.toLowerCase() : target.path)) {
      refuse(new ProblemError('not_found', 'The sidecar’s own paths take no upgrades.'), {
        path: target.path,
      });
      return;
    }
    const authorization = withQueryTokens(authorizationOf(req), taken.tokens);
    const decision = decider.decideCanonical(target, req.method ?? 'GET', authorization);
    metrics.requestDecided(decision.rule?.id ?? 'none', decisionLabelOf(decision));
    reportUncheckedSession(decision, reqId, logger, metrics);
    if (decision.outcome === 'deny') {
      audit(deniedEvent(decision, reqId, req.method));
      refuse(decision.error, { path: decision.path, rule: decision.rule?.id, reason: decision.reason });
      return;
    }

    const upgrade = req.headers.upgrade;
    // Read before mutate appends the peer to X-Forwarded-For.
    const client = options.clientKey(req, peerTrusted);
    mutateForUpstream(req, decision, identityHeaders, peerTrusted, deps.config.identity.forwardBearerToken);
    // Hop-by-hop removal took these; an upgrade is the one exchange that must pass them on.
    req.headers.connection = 'Upgrade';
    req.headers.upgrade = upgrade;
    const refusal = options.forwardUpgrade(req, socket, head, client);
    if (refusal) {
      metrics.proxyRefused('client_busy');
      refuse(refusal, {
        decision: 'allow',
        path: decision.path,
        rule: decision.rule.id,
        reason: 'client_busy',
      });
      return;
    }
    logLine({
      status: 101,
      decision: 'allow',
      path: decision.path,
      rule: decision.rule.id,
      userId: decision.identity?.id,
    });
    metrics.responded(101);

    const credentials = parseBearer(authorization);
    if (decision.identity && credentials.kind === 'token') {
      closeWhenSessionEnds(
        socket,
        () => {
          if (storeOutage.refusesSessions()) return 'store_unavailable';
          const verdict = deps.verifySession(credentials.token);
          return verdict.valid ? undefined : verdict.reason;
        },
        recheckMs,
        (reason) =>
          logger.info(
            { reqId, event: 'websocket.closed', reason, userId: decision.identity?.id },
            'session ended',
          ),
      );
    }
  };
}

/** The query's token stands in for a missing header; a second credential of any kind is ambiguous. */
function withQueryTokens(
  header: string | readonly string[] | undefined,
  tokens: readonly string[],
): string | readonly string[] | undefined {
  if (tokens.length === 0) return header;
  const fromQuery = tokens.map((token) => `Bearer ${token}`);
  if (header === undefined && fromQuery.length === 1) return fromQuery[0];
  return [...(header === undefined ? [] : [header].flat()), ...fromQuery];
}

/** Checks every `everyMs` why the session should end, if it should; closes the socket when so. */
function closeWhenSessionEnds(
  socket: Socket,
  endReason: () => string | undefined,
  everyMs: number,
  onClose: (reason: string) => void,
): void {
  const timer = setInterval(() => {
    const reason = endReason();
    if (reason === undefined) return;
    clearInterval(timer);
    onClose(reason);
    socket.destroy();
  }, everyMs);
  timer.unref();
  socket.once('close', () => clearInterval(timer));
}
