/**
 * The browser session's cookie value: a signed ticket, like an access token but of its own type
 * (RFC 8725 §3.11), so that neither is ever taken for the other. It names the session (`sid`, a
 * session of the store like any login's) and slides: each ticket expires after the idle timeout,
 * and a request that arrives on a ticket older than a renewal interval gets a new one, until the
 * session's maximum age. Renewing reads nothing and writes nothing: the session behind a ticket is
 * checked in memory on every request, as a bearer token's is.
 */
import type { AccessClaims, Identity, TokenRejection } from '../identity.js';
import type { AccessTokens } from './access-token.js';
import type { OwnTokenCheck } from './own-tokens.js';

/** The JOSE `typ` of a session ticket; access tokens carry the default `JWT`. */
export const SESSION_TICKET_TYPE = 'session+jwt';

/** Renew at most this often, however short the idle timeout (one signature per interval per browser). */
const MAX_RENEW_INTERVAL_MS = 60_000;

export interface SessionTicketOptions {
  readonly idleTimeoutMs: number;
  readonly maxAgeMs: number;
  readonly now: () => number;
}

/** A session as a ticket names it. */
export interface TicketSubject extends Identity {
  readonly tokenVersion: number;
  readonly sessionId: string;
  /** When the session began (sign-in), ms since the epoch: it ends maxAge after. */
  readonly authTime: number;
}

export interface TicketClaims extends AccessClaims {
  readonly sessionId: string;
  /** Ms since the epoch. */
  readonly issuedAt: number;
  readonly authTime: number;
}

/**
 * Why the session of a ticket that is ours is over: no request for the idle timeout, the maximum
 * age reached, or ended in the store (sign-out, password change, disabling, a role change).
 */
export type SessionEndReason = 'idle' | 'expired' | 'revoked';

/** A session found over, for the audit: which one, whose, and why. */
export interface EndedSession {
  readonly why: SessionEndReason;
  readonly sessionId: string;
  readonly userId: string;
}

export type TicketVerdict =
  | ({ readonly valid: true } & TicketClaims)
  | {
      readonly valid: false;
      readonly reason: TokenRejection;
      /** Set when the ticket is ours but its session is over. */
      readonly ended?: EndedSession;
    };

export interface SessionTickets {
  /** A ticket for `subject`, valid for the idle timeout or until the maximum age, whichever is sooner. */
  issue(subject: TicketSubject): { readonly ticket: string; readonly expiresAt: number };
  verify(ticket: string): TicketVerdict;
  /** True when a request on this ticket should carry a renewed one back. */
  isDueForRenewal(claims: TicketClaims): boolean;
}

/** Expiry is judged by the caller, to tell an idle session from one past its maximum age. */
const TICKET_CHECK: OwnTokenCheck = { accepts: (typ) => typ === SESSION_TICKET_TYPE, checkExpiry: false };

export function createSessionTickets(
  accessTokens: AccessTokens,
  options: SessionTicketOptions,
): SessionTickets {
  const { own } = accessTokens;
  const { idleTimeoutMs, maxAgeMs, now } = options;
  const leewayMs = Math.floor(own.leewayMs / 1000) * 1000;
  const renewAfterMs = Math.min(MAX_RENEW_INTERVAL_MS, Math.floor(idleTimeoutMs / 10));

  return {
    issue(subject) {
      const issuedAt = now();
      const expiresAt = Math.min(issuedAt + idleTimeoutMs, subject.authTime + maxAgeMs);
      const claims = {
        sub: subject.id,
        username: subject.username,
        roles: [...subject.roles],
        ver: subject.tokenVersion,
        sid: subject.sessionId,
        auth_time: Math.floor(subject.authTime / 1000),
        iss: own.issuer,
        aud: own.audience,
        iat: Math.floor(issuedAt / 1000),
        // Whole seconds, rounded down: a ticket never outlives its session.
        exp: Math.floor(expiresAt / 1000),
      };
      const ticket = own.sign(claims, SESSION_TICKET_TYPE);
      return { ticket, expiresAt: claims.exp * 1000 };
    },

    verify(ticket) {
      const verified = own.verify(ticket, TICKET_CHECK);
      // A cookie that is not a ticket at all is refused as one that is not ours.
      if (!verified.ok) {
        return {
          valid: false,
          reason: verified.reason === 'token_malformed' ? 'token_invalid' : verified.reason,
        };
      }
      const clock = now();
      const claims = ticketClaimsOf(verified.payload);
      if (!claims) return { valid: false, reason: 'token_invalid' };
      if (clock >= claims.expiresAt + leewayMs) {
        const why: SessionEndReason = clock >= claims.authTime + maxAgeMs ? 'expired' : 'idle';
        return {
          valid: false,
          reason: 'token_expired',
          ended: { why, sessionId: claims.sessionId, userId: claims.identity.id },
        };
      }
      return { valid: true, ...claims };
    },

    isDueForRenewal(claims) {
      // Nothing to gain once the maximum age, not the idle timeout, bounds the ticket.
      if (claims.expiresAt >= claims.authTime + maxAgeMs - 1000) return false;
      return now() - claims.issuedAt >= renewAfterMs;
    },
  };
}

function ticketClaimsOf(payload: Record<string, unknown>): TicketClaims | undefined {
  const { sub, username, roles, ver, sid, iat, exp, auth_time: authTime } = payload;
  if (typeof sub !== 'string' || sub === '' || typeof username !== 'string') return undefined;
  if (typeof ver !== 'number' || !Number.isInteger(ver)) return undefined;
  if (typeof sid !== 'string' || sid === '') return undefined;
  if (typeof iat !== 'number' || typeof exp !== 'number' || typeof authTime !== 'number') return undefined;
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) return undefined;
  return {
    identity: { id: sub, username, roles },
    // A ticket is revoked with its session: the session id serves as its token id.
    tokenId: sid,
    tokenVersion: ver,
    sessionId: sid,
    expiresAt: exp * 1000,
    issuedAt: iat * 1000,
    authTime: authTime * 1000,
  };
}
