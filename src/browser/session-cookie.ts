/**
 * The session cookie on the wire: its name, reading it from a request, removing it before the
 * backend sees the request, and the Set-Cookie fields that set or clear it. The cookie is the
 * sidecar's alone: it never reaches the backend, and the backend can never set it.
 */
import type { BrowserConfig } from '../config/schema.js';

/** What a request's Cookie header holds of the session cookie. */
export type CookieTicket =
  | { readonly kind: 'none' }
  | { readonly kind: 'ticket'; readonly ticket: string }
  /** The cookie twice (another one set for a parent domain or path beside ours): neither is read. */
  | { readonly kind: 'ambiguous' };

export interface SessionCookie {
  /** The name sent: `__Host-<name>` with `secure`, `<name>` without. */
  readonly name: string;
  read(header: string | undefined): CookieTicket;
  /** The Cookie header without any spelling of the session cookie; undefined when nothing is left. */
  strip(header: string): string | undefined;
  /** True when a Set-Cookie field (from the backend) would set a cookie of the sidecar's name. */
  readonly isOwn: (setCookie: string) => boolean;
  /** Sets the cookie to `ticket` until `expiresAt` (ms since the epoch). */
  serialize(ticket: string, expiresAt: number, now: number): string;
  /** Clears the cookie in the browser. */
  readonly cleared: string;
}

const NONE: CookieTicket = { kind: 'none' };
const AMBIGUOUS: CookieTicket = { kind: 'ambiguous' };

export function createSessionCookie(config: BrowserConfig['cookie']): SessionCookie {
  const name = config.secure ? `__Host-${config.name}` : config.name;
  // Both spellings, whatever the config: a cookie of either name may carry a ticket.
  const spellings = new Set([config.name.toLowerCase(), `__host-${config.name.toLowerCase()}`]);
  const attributes = `Path=/; HttpOnly; SameSite=${config.sameSite === 'strict' ? 'Strict' : 'Lax'}${
    config.secure ? '; Secure' : ''
  }`;
  const isOurs = (cookieName: string) => spellings.has(cookieName.trim().toLowerCase());

  return {
    name,
    read(header) {
      if (header === undefined || !header.includes(name)) return NONE;
      let found: string | undefined;
      for (const pair of header.split(';')) {
        const equals = pair.indexOf('=');
        if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
        if (found !== undefined) return AMBIGUOUS;
        found = pair.slice(equals + 1).trim();
      }
      return found === undefined || found === '' ? NONE : { kind: 'ticket', ticket: found };
    },
    strip(header) {
      const kept = header.split(';').filter((pair) => {
        const equals = pair.indexOf('=');
        return !isOurs(equals === -1 ? pair : pair.slice(0, equals));
      });
      const joined = kept
        .map((pair) => pair.trim())
        .filter((pair) => pair !== '')
        .join('; ');
      return joined === '' ? undefined : joined;
    },
    isOwn(setCookie) {
      const equals = setCookie.indexOf('=');
      return equals !== -1 && isOurs(setCookie.slice(0, equals));
    },
    serialize(ticket, expiresAt, now) {
      const maxAge = Math.max(0, Math.floor((expiresAt - now) / 1000));
      return `${name}=${ticket}; Max-Age=${maxAge}; ${attributes}`;
    },
    cleared: `${name}=; Max-Age=0; ${attributes}`,
  };
}
