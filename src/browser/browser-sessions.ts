/** What browser sign-in needs, made once: the cookie, its tickets, and the check of both. */
import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/schema.js';
import type { SessionGuard, TokenRejection } from '../identity.js';
import type { AccessTokens } from '../tokens/access-token.js';
import {
  createSessionTickets,
  type SessionTickets,
  type TicketClaims,
  type TicketVerdict,
} from '../tokens/session-ticket.js';
import { withVerifiedTokenCache } from '../tokens/verified-token-cache.js';
import { isCrossOrigin } from './cross-origin.js';
import { createSessionCookie, type SessionCookie } from './session-cookie.js';

export interface BrowserSessions {
  readonly cookie: SessionCookie;
  readonly tickets: SessionTickets;
  /**
   * The ticket and the session behind it, from memory, as a bearer token and its session are
   * checked: no store round trip on the proxied path, whichever store.
   */
  readonly verify: (ticket: string) => TicketVerdict;
  /**
   * Why the session of an open WebSocket that the cookie let in is over, if it is: ended in the
   * store or past its maximum age. Not the ticket's idle expiry: the open connection is activity.
   */
  readonly whyEnded: (claims: TicketClaims) => TokenRejection | undefined;
  /** Forgets every ticket verified so far (the keys changed). */
  forgetVerified(): void;
  /** True when the request came from another origin than its own and not a trusted one (cross-origin.ts). */
  readonly isCrossOrigin: (req: IncomingMessage) => boolean;
}

export function createBrowserSessions(
  config: Config,
  accessTokens: AccessTokens,
  guard: SessionGuard,
  options: { readonly now: () => number; readonly onCacheLookup?: (hit: boolean) => void },
): BrowserSessions {
  const { session } = config.browser;
  const tickets = createSessionTickets(accessTokens, {
    idleTimeoutMs: session.idleTimeout,
    maxAgeMs: session.maxAge,
    now: options.now,
  });
  // A browser sends the same ticket for a minute at a time: its signature is checked once.
  const verifyTicket = withVerifiedTokenCache((ticket) => tickets.verify(ticket), {
    maxEntries: config.tokens.cacheSize,
    leewayMs: config.tokens.leeway,
    now: options.now,
    ...(options.onCacheLookup && { onLookup: options.onCacheLookup }),
  });
  const trustedOrigins: ReadonlySet<string> = new Set(config.browser.trustedOrigins);
  return {
    cookie: createSessionCookie(config.browser.cookie),
    tickets,
    verify(ticket) {
      const verdict = verifyTicket(ticket);
      if (!verdict.valid) return verdict;
      const rejection = guard.check(verdict);
      if (rejection === undefined) return verdict;
      const ended = { why: 'revoked', sessionId: verdict.sessionId, userId: verdict.identity.id } as const;
      return { valid: false, reason: rejection, ended };
    },
    whyEnded(claims) {
      return (
        guard.check(claims) ??
        (options.now() >= claims.authTime + session.maxAge ? 'token_expired' : undefined)
      );
    },
    forgetVerified: () => verifyTicket.clear(),
    isCrossOrigin: (req) => isCrossOrigin(req, trustedOrigins),
  };
}
