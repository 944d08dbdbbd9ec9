import type { IncomingMessage } from 'node:http';

/**
 * Methods whose requests carry no content (RFC 9110 §9.3.1, §9.3.2, §9.3.8). Many backends never
 * read a body on them, so bytes sent as one would be parsed there as the next request, which the
 * sidecar never decided on.
 */
const BODILESS_METHODS = new Set(['GET', 'HEAD', 'TRACE']);

/** True when a GET, HEAD or TRACE request declares content: a chunked body or a non-zero length. */
export function hasUnexpectedBody(req: IncomingMessage): boolean {
  if (!BODILESS_METHODS.has(req.method ?? '')) return false;
  const { 'content-length': length, 'transfer-encoding': transferEncoding } = req.headers;
  return transferEncoding !== undefined || (length !== undefined && length !== '0');
}
