import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { STYLESHEET } from './stylesheet.js';

/**
 * The Content-Security-Policy of every page: nothing but the one stylesheet, forms posted only to
 * this origin, never framed. No script and no inline style is allowed, so an escaping slip cannot run.
 */
export const PAGE_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The headers every page carries besides its type and length. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': PAGE_CSP,
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
});

const RESERVED = new Set(
  [...Object.keys(PAGE_HEADERS), 'Content-Type', 'Content-Length'].map((name) => name.toLowerCase()),
);

/**
 * Answers with a page: `status`, the page headers, `headers` besides them (Retry-After, Location), and
 * the body, left out for HEAD. Headers set on `res` before (Set-Cookie, X-Request-Id) are kept.
 * `headers` may not name a header this function sets: a page's security headers are not negotiable.
 */
export function sendPage(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Readonly<Record<string, string>> = {},
): void {
  for (const name of Object.keys(headers)) {
    if (RESERVED.has(name.toLowerCase())) throw new TypeError(`sendPage: ${name} is set by sendPage itself`);
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = status;
  for (const [name, value] of Object.entries({ ...PAGE_HEADERS, ...headers })) res.setHeader(name, value);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(html));
  res.end(isHead(res) ? undefined : html);
}

const STYLESHEET_ETAG = `"${createHash('sha256').update(STYLESHEET).digest('base64url').slice(0, 22)}"`;

/** The headers of the stylesheet, cached by browsers for an hour and revalidated by its ETag. */
export const STYLESHEET_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/css; charset=utf-8',
  'Cache-Control': 'public, max-age=3600',
  'Content-Security-Policy': PAGE_CSP,
  'X-Content-Type-Options': 'nosniff',
  ETag: STYLESHEET_ETAG,
});

/** Answers GET or HEAD /auth/assets/style.css: the stylesheet, or 304 when the browser has it already. */
export function sendStylesheet(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  for (const [name, value] of Object.entries(STYLESHEET_HEADERS)) res.setHeader(name, value);
  if (hasCurrentCopy(res)) {
    res.statusCode = 304;
    res.removeHeader('Content-Type');
    res.end();
    return;
  }
  res.statusCode = 200;
  res.setHeader('Content-Length', Buffer.byteLength(STYLESHEET));
  res.end(isHead(res) ? undefined : STYLESHEET);
}

function isHead(res: ServerResponse): boolean {
  return (res.req as ServerResponse['req'] | undefined)?.method === 'HEAD';
}

/** RFC 9110 §13.1.2: If-None-Match with a matching entity tag (weak comparison), or `*`. */
function hasCurrentCopy(res: ServerResponse): boolean {
  const header = (res.req as ServerResponse['req'] | undefined)?.headers['if-none-match'];
  if (header === undefined) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === '*' || tag === STYLESHEET_ETAG);
}
