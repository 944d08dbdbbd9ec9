/**
 * WebSocket upgrades, the way in that relays a connection: admitted and decided like every request,
 * a denial answered before any upgrade, and an allowed connection closed once its token or session
 * no longer holds.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Deps } from '../deps.js';
import { ProblemError } from '../errors.js';
import { authorizationOf } from '../http/authorization.js';
import { canonicalizeTarget } from '../http/canonical-path.js';
import { rawProblemResponse } from '../http/problem.js';
import { takeQueryToken } from '../http/query-token.js';
import type { FinishRequest } from '../http/request-context.js';
import type { Forwarder } from '../proxy/forward.js';
import { parseBearer } from '../tokens/bearer.js';
import type { Admission, Admitted } from './admission.js';

/** Answers an upgrade on its socket, without upgrading, and closes it. */
export function refuseUpgrade(
  socket: Socket,
  admitted: Pick<Admitted, 'context'>,
  finish: FinishRequest,
  error: ProblemError,
): void {
  finish(error.status);
  socket.end(rawProblemResponse(error, admitted.context.id));
}

export function createUpgrade(deps: Deps, admission: Admission, forward: Forwarder) {
  const { logger, metrics, storeOutage } = deps;
  const { queryToken, recheck: recheckMs } = deps.config.websocket;

  return (
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    admitted: Admitted,
    finish: FinishRequest,
  ): void => {
    const { context } = admitted;
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuseUpgrade(
        socket,
        admitted,
        finish,
        new ProblemError('upgrade_refused', 'Only WebSocket upgrades are supported.'),
      );
      return;
    }
    // Browsers cannot set a WebSocket's headers: its token may come as `access_token`, which is
    // neither forwarded nor logged.
    const taken = queryToken ? takeQueryToken(req.url ?? '/') : undefined;
    const target = taken && taken.tokens.length > 0 ? canonicalizeTarget(taken.target) : admitted.target;
    const authorization = withQueryTokens(authorizationOf(req), taken?.tokens ?? []);
    const decision = admission.decide(req, admitted, {
      target,
      method: req.method ?? 'GET',
      authorization,
      via: 'upgrade',
    });
    if (decision.outcome === 'deny') {
      refuseUpgrade(socket, admitted, finish, decision.error);
      return;
    }

    const upgrade = req.headers.upgrade;
    const client = admission.prepareForUpstream(req, admitted, decision);
    // Hop-by-hop removal took these; an upgrade is the one exchange that must pass them on.
    req.headers.connection = 'Upgrade';
    req.headers.upgrade = upgrade;
    const refusal = forward.upgrade(req, socket, head, client);
    if (refusal) {
      context.reason = 'client_busy';
      metrics.proxyRefused('client_busy');
      refuseUpgrade(socket, admitted, finish, refusal);
      return;
    }
    finish(101);

    const credentials = parseBearer(authorization);
    const session = decision.cookie?.kind === 'valid' ? decision.cookie.claims : undefined;
    const whyEnded =
      credentials.kind === 'token'
        ? () => {
            const verdict = deps.verifySession(credentials.token);
            return verdict.valid ? undefined : verdict.reason;
          }
        : session && deps.browser
          ? deps.browser.whyEnded.bind(undefined, session)
          : undefined;
    if (decision.identity && whyEnded) {
      closeWhenSessionEnds(
        socket,
        () => (storeOutage.refusesSessions() ? 'store_unavailable' : whyEnded()),
        recheckMs,
        (reason) =>
          logger.info(
            { reqId: context.id, event: 'websocket.closed', reason, userId: decision.identity?.id },
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
