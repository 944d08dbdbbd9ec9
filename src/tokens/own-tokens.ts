/**
 * Signing and verifying the sidecar's own tokens, access tokens and session tickets alike: the
 * keys in force, then the registered claims every one of them carries (`iss`, `aud`, `exp`,
 * `nbf`, `iat`, RFC 7519 §4.1) under the configured leeway. What each kind of token claims
 * beyond those is its own module's business.
 */
import type { TokenRejection } from '../identity.js';
import { signCompact, verifyCompact, type JwsRefusal, type ProtectedHeader } from './jws.js';
import type { TokenKeys } from './token-keys.js';

/** Larger tokens are refused before any parsing work. */
export const MAX_OWN_TOKEN_LENGTH = 8192;

export interface OwnTokenSettings {
  readonly keys: TokenKeys;
  readonly issuer: string;
  readonly audience: string;
  readonly leewayMs: number;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now: () => number;
}

export interface OwnTokenCheck {
  /** The JOSE `typ` (RFC 8725 §3.11): each kind of token is refused where another is expected. */
  readonly accepts: (typ: string | undefined) => boolean;
  /** false: `exp` is the caller's to judge (a session ticket tells idle from too old). */
  readonly checkExpiry: boolean;
}

export type OwnTokenVerdict =
  | { readonly ok: true; readonly header: ProtectedHeader; readonly payload: Record<string, unknown> }
  | { readonly ok: false; readonly reason: TokenRejection };

export interface OwnTokens extends OwnTokenSettings {
  sign(payload: Readonly<Record<string, unknown>>, typ?: string): string;
  verify(token: string, check: OwnTokenCheck): OwnTokenVerdict;
}

const REFUSALS: Record<JwsRefusal, OwnTokenVerdict> = {
  malformed: Object.freeze({ ok: false, reason: 'token_malformed' }),
  too_large: Object.freeze({ ok: false, reason: 'token_too_large' }),
  invalid: Object.freeze({ ok: false, reason: 'token_invalid' }),
};
const INVALID = REFUSALS.invalid;
const EXPIRED: OwnTokenVerdict = Object.freeze({ ok: false, reason: 'token_expired' });
const NOT_YET_VALID: OwnTokenVerdict = Object.freeze({ ok: false, reason: 'token_not_yet_valid' });

export function createOwnTokens(settings: OwnTokenSettings): OwnTokens {
  const { keys, issuer, audience, now } = settings;
  // Whole seconds, as the claims are.
  const leeway = Math.floor(settings.leewayMs / 1000);

  return {
    ...settings,

    sign(payload, typ) {
      return signCompact(typ === undefined ? {} : { typ }, payload, keys.signing);
    },

    verify(token, check) {
      const verified = verifyCompact(token, keys.resolve, { maxLength: MAX_OWN_TOKEN_LENGTH });
      if (!verified.ok) return REFUSALS[verified.reason];
      const { header, payload } = verified;
      if (!check.accepts(header.typ)) return INVALID;
      if (payload.iss !== issuer || !isForAudience(payload.aud, audience)) return INVALID;
      const { exp, nbf, iat } = payload;
      if (typeof exp !== 'number' || !isOptionalNumber(nbf) || !isOptionalNumber(iat)) return INVALID;
      const clock = Math.floor(now() / 1000);
      if (check.checkExpiry && clock >= exp + leeway) return EXPIRED;
      if (typeof nbf === 'number' && nbf > clock + leeway) return NOT_YET_VALID;
      // A token from the future was not issued here.
      if (typeof iat === 'number' && iat > clock + leeway) return NOT_YET_VALID;
      return verified;
    },
  };
}

function isForAudience(aud: unknown, audience: string): boolean {
  return aud === audience || (Array.isArray(aud) && aud.includes(audience));
}

function isOptionalNumber(value: unknown): boolean {
  return value === undefined || (typeof value === 'number' && Number.isFinite(value));
}
