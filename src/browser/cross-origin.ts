/**
 * The cross-site check for requests the session cookie authenticates, on top of SameSite (which
 * leaves same-site origins, such as a sibling subdomain, and older browsers): an unsafe method or a
 * WebSocket upgrade is refused unless the browser says it came from this very origin, or from one
 * of `trustedOrigins`. A request with neither Fetch Metadata nor Origin was not sent by a browser
 * on another page's behalf, and passes.
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** RFC 9110 §9.2.1: the methods that change nothing. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method);
}

/**
 * True when the request came from another origin than its own and not from a trusted one. Its
 * forwarding headers are trusted here: the front door removed them unless a trusted hop sent them.
 */
export function isCrossOrigin(req: IncomingMessage, trustedOrigins: ReadonlySet<string>): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'none') return false;
  const origin = req.headers.origin;
  if (origin !== undefined && trustedOrigins.has(origin)) return false;
  // The browser's own word on the site wins over comparing Origin with what the request says of its host.
  if (site !== undefined) return true;
  return origin !== undefined && origin !== ownOrigin(req);
}

/** The origin the browser addressed: scheme and host as the first trusted hop saw them, else as received. */
function ownOrigin(req: IncomingMessage): string | undefined {
  const forwardedProto = firstValue(req.headers['x-forwarded-proto']);
  const scheme = forwardedProto ?? ((req.socket as Partial<TLSSocket>).encrypted ? 'https' : 'http');
  const host = firstValue(req.headers['x-forwarded-host']) ?? req.headers.host;
  if (host === undefined || (scheme !== 'http' && scheme !== 'https')) return undefined;
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const first = value?.split(',')[0]?.trim().toLowerCase();
  return first === '' ? undefined : first;
}
