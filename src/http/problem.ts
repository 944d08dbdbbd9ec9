import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { ProblemError, toProblem } from '../errors.js';
import { StoreError } from '../store/errors.js';

/**
 * The one place a store error becomes the problem a client sees: a store knows nothing of HTTP.
 * Anything else is returned as it is, for `toProblem()`.
 */
export function asProblem(err: unknown): unknown {
  if (!(err instanceof StoreError)) return err;
  switch (err.code) {
    case 'store_unavailable':
      return new ProblemError('store_unavailable', 'The store is unavailable; try again shortly.', {
        headers: { 'Retry-After': '1' },
        cause: err,
      });
    case 'store_open_failed':
      return err;
  }
}

/** The one place a problem becomes a response. Returns the status sent, or undefined if too late. */
export function sendProblem(res: ServerResponse, err: unknown, requestId?: string): number | undefined {
  if (res.headersSent) {
    res.destroy();
    return undefined;
  }
  const problem = toProblem(asProblem(err), requestId);
  const body = JSON.stringify(problem.body);
  res.statusCode = problem.status;
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(body);
  return problem.status;
}

/**
 * The same problem as raw HTTP/1.1 bytes, for sockets that have no ServerResponse (a refused
 * upgrade, a request Node could not parse). The connection is closed after it.
 */
export function rawProblemResponse(err: unknown, requestId?: string): string {
  const problem = toProblem(asProblem(err), requestId);
  const body = JSON.stringify(problem.body);
  const fields = { ...problem.headers, ...(requestId === undefined ? {} : { 'X-Request-Id': requestId }) };
  const headers = Object.entries(fields).map(([name, value]) => `${name}: ${value}\r\n`);
  return (
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? 'Error'}\r\n${headers.join('')}` +
    `Content-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
    `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`
  );
}
