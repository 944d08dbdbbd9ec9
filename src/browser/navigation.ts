/**
 * Whether a refused request is a person's browser opening a page, to be sent to the sign-in page,
 * rather than a script or an API client, which must get the 401 it can act on. Fetch Metadata
 * says so when the browser sends it; otherwise only an Accept that asks for HTML before anything
 * else does (curl, fetch() and most clients send `*\/*`).
 */
import type { IncomingHttpHeaders } from 'node:http';

export function isBrowserNavigation(method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const mode = headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  if (headers['x-requested-with'] !== undefined) return false;
  return prefersHtml(headers.accept);
}

/** True when `accept` lists text/html (not refused with q=0) before any wildcard range. */
function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  for (const range of accept.split(',')) {
    const [type = '', ...parameters] = range.split(';').map((part) => part.trim().toLowerCase());
    if (parameters.some((parameter) => /^q=0(\.0{0,3})?$/.test(parameter))) continue;
    if (type === 'text/html') return true;
    if (type.includes('*')) return false;
  }
  return false;
}
