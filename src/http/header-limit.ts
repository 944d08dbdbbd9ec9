import type { IncomingMessage } from 'node:http';
import { ProblemError } from '../errors.js';

/**
 * Node keeps at most `maxHeadersCount` headers and drops the rest without a word, which has been
 * used to hide headers from a proxy; the server keeps one more than this, and more is refused.
 */
export const MAX_REQUEST_HEADERS = 100;

export const TOO_MANY_HEADERS = new ProblemError(
  'header_fields_too_large',
  'The request has too many headers.',
);

export function hasTooManyHeaders(req: IncomingMessage): boolean {
  return req.rawHeaders.length > MAX_REQUEST_HEADERS * 2;
}
