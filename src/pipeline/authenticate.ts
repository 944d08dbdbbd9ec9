import type { CookieTicket } from '../browser/session-cookie.js';
import type { Identity, TokenRejection, TokenVerdict } from '../identity.js';
import { parseBearer } from '../tokens/bearer.js';
import type { EndedSession, TicketClaims, TicketVerdict } from '../tokens/session-ticket.js';

/** The credentials a request carries, as the front door read them. */
export interface Credentials {
  readonly authorization: string | readonly string[] | undefined;
  /** The session cookie; absent where the cookie is not read (forward-auth, browser sign-in off). */
  readonly cookie?: CookieTicket;
}

/** Why a session cookie did not authenticate: its ticket refused, or the cookie sent twice. */
export type CookieRejection = TokenRejection | 'cookie_ambiguous';

/** Who the request says it is. Authentication never decides; authorize does. */
export type Authentication =
  | { readonly kind: 'anonymous' }
  /** `session` is set when the session cookie, not a bearer token, said so. */
  | { readonly kind: 'identified'; readonly identity: Identity; readonly session?: TicketClaims }
  | { readonly kind: 'rejected'; readonly reason: TokenRejection | 'credentials_not_bearer' }
  | {
      readonly kind: 'cookie_rejected';
      readonly reason: CookieRejection;
      readonly ended?: EndedSession;
    };

export type VerifyAccessToken = (token: string) => TokenVerdict;
export type VerifySessionTicket = (ticket: string) => TicketVerdict;

/**
 * Authorization decides when a request carries it, whatever it holds; only without it is the
 * session cookie read. A request never has two identities.
 */
export function authenticate(
  credentials: Credentials,
  verify: VerifyAccessToken,
  verifyTicket: VerifySessionTicket | undefined,
): Authentication {
  const bearer = parseBearer(credentials.authorization);
  switch (bearer.kind) {
    case 'none':
      return credentials.cookie && verifyTicket ? fromCookie(credentials.cookie, verifyTicket) : ANONYMOUS;
    case 'malformed':
      return { kind: 'rejected', reason: 'credentials_not_bearer' };
    case 'token': {
      const verdict = verify(bearer.token);
      return verdict.valid
        ? { kind: 'identified', identity: verdict.identity }
        : { kind: 'rejected', reason: verdict.reason };
    }
  }
}

const ANONYMOUS: Authentication = { kind: 'anonymous' };

function fromCookie(cookie: CookieTicket, verifyTicket: VerifySessionTicket): Authentication {
  switch (cookie.kind) {
    case 'none':
      return ANONYMOUS;
    case 'ambiguous':
      return { kind: 'cookie_rejected', reason: 'cookie_ambiguous' };
    case 'ticket': {
      const verdict = verifyTicket(cookie.ticket);
      if (verdict.valid) return { kind: 'identified', identity: verdict.identity, session: verdict };
      return {
        kind: 'cookie_rejected',
        reason: verdict.reason,
        ...(verdict.ended === undefined ? {} : { ended: verdict.ended }),
      };
    }
  }
}
