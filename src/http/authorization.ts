import type { IncomingMessage } from 'node:http';

/**
 * The Authorization header, or all of them when a client sent it twice: Node keeps the first, a
 * backend may read the last, so a repeated header must be refused, not resolved.
 */
export function authorizationOf(req: IncomingMessage): string | readonly string[] | undefined {
  const first = req.headers.authorization;
  if (first === undefined) return undefined;
  let count = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.length === 13 && raw[i]?.toLowerCase() === 'authorization') count++;
  }
  return count > 1 ? (req.headersDistinct.authorization ?? first) : first;
}
