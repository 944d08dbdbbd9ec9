import { ProblemError } from '../errors.js';

/** Raised by the sidecar itself when the backend stays silent past `upstream.timeout`. */
export class UpstreamTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`upstream sent nothing for ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

/** A failed upstream exchange as the client sees it: 504 for a timeout, 502 for anything else. */
export function upstreamProblem(err: unknown): ProblemError {
  if (err instanceof UpstreamTimeoutError) {
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
  if (err instanceof UpstreamTimeoutError) return 'ETIMEDOUT';
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
