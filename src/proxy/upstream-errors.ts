import { ProblemError } from '../errors.js';

/** Raised by the sidecar itself when the backend stays silent past `upstream.timeout`. */
export class UpstreamTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`upstream sent nothing for ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

/** Why the sidecar itself ended an exchange to protect its backend connections; a log reason id. */
export type ExchangeLimitReason = 'queue_timeout' | 'body_too_slow' | 'response_stalled';

/**
 * An exchange the sidecar ended because it held or awaited a backend connection past a limit:
 * the client's doing (a body too slow, a response not read) or a pool that stayed full.
 */
export class ExchangeLimitError extends Error {
  readonly reason: ExchangeLimitReason;

  constructor(reason: ExchangeLimitReason, message: string) {
    super(message);
    this.name = 'ExchangeLimitError';
    this.reason = reason;
  }
}

/** How long a refused client should wait before trying again, in seconds. */
const RETRY_AFTER_SECONDS = '1';

/** The answer to a client that already has `limits.proxy.perClient` exchanges under way. */
export function clientBusyProblem(): ProblemError {
  return new ProblemError(
    'too_many_requests',
    'Too many requests from this client are under way; try again when one has finished.',
    { headers: { 'Retry-After': RETRY_AFTER_SECONDS } },
  );
}

/**
 * A failed exchange as the client sees it: 504 when the backend timed out, 503 when no backend
 * connection came free in time, 408 (and the connection closed, since the rest of the body will
 * not be read) when the client sent too slowly, 502 for anything else.
 */
export function upstreamProblem(err: unknown): ProblemError {
  if (err instanceof ExchangeLimitError) {
    switch (err.reason) {
      case 'queue_timeout':
        return new ProblemError(
          'server_busy',
          'Every connection to the upstream service stayed busy; try again shortly.',
          { headers: { 'Retry-After': RETRY_AFTER_SECONDS }, cause: err },
        );
      case 'body_too_slow':
        return new ProblemError('request_timeout', 'The request body arrived too slowly.', {
          headers: { Connection: 'close' },
          cause: err,
        });
      case 'response_stalled':
        return new ProblemError('request_timeout', 'The client stopped reading the response.', {
          headers: { Connection: 'close' },
          cause: err,
        });
    }
  }
  if (err instanceof UpstreamTimeoutError || isUpgradeTimeout(err)) {
    return new ProblemError('upstream_timeout', 'The upstream service did not answer in time.', {
      cause: err,
    });
  }
  return new ProblemError('upstream_unavailable', 'The upstream service could not be reached.', {
    cause: err,
  });
}

/** The system error code (ECONNREFUSED, ECONNRESET, …) for logs; never a message with request data. */
export function upstreamErrorCode(err: unknown): string {
  if (err instanceof UpstreamTimeoutError || isUpgradeTimeout(err)) return 'ETIMEDOUT';
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

/** httpxy's own deadline for the backend's answer to an upgrade (`upgradeTimeout`). */
function isUpgradeTimeout(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ERR_UPSTREAM_UPGRADE_TIMEOUT';
}
