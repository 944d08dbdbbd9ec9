/**
 * Where sign-in sends the browser back: only a path of this origin. Anything else (another host
 * however spelled, a scheme, control characters, a path the front door would refuse, the sign-in
 * and sign-out pages themselves) becomes `/`, so that the sign-in page is never an open redirect.
 */
import { canonicalizeTarget } from '../http/canonical-path.js';

const FALLBACK = '/';
/** Pages that must not be returned to: a loop, or a sign-out by redirect. */
const NO_RETURN = /^\/auth\/sign-(in|up|out)(\/|$)/i;

/** The safe return path for `rd` as a client sent it; always a relative path starting with one `/`. */
export function safeReturnPath(rd: unknown): string {
  if (typeof rd !== 'string' || rd.length === 0 || rd.length > 2048) return FALLBACK;
  if (rd[0] !== '/' || rd[1] === '/') return FALLBACK;
  // Control characters, spaces and backslashes anywhere: browsers strip or rewrite them.
  if (hasControlSpaceOrBackslash(rd)) return FALLBACK;
  const target = canonicalizeTarget(rd);
  if (!target.ok) return FALLBACK;
  const path = target.path;
  // Encoded slashes or backslashes at the start decode to `//host` in some clients.
  if (/^\/(%2f|%5c)/i.test(rd) || path.startsWith('//')) return FALLBACK;
  if (NO_RETURN.test(path)) return FALLBACK;
  return path + target.query;
}

/** The sign-in page's address for a browser that wanted `pathAndQuery`. */
export function signInLocation(pathAndQuery: string): string {
  const back = safeReturnPath(pathAndQuery);
  return back === FALLBACK ? '/auth/sign-in' : `/auth/sign-in?rd=${encodeURIComponent(back)}`;
}

function hasControlSpaceOrBackslash(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}
