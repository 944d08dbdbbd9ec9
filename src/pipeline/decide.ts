import { ProblemError } from '../errors.js';
import type { Identity, TokenRejection } from '../identity.js';
import type { EndedSession, TicketClaims } from '../tokens/session-ticket.js';
import {
  authenticate,
  type Authentication,
  type CookieRejection,
  type Credentials,
  type VerifyAccessToken,
  type VerifySessionTicket,
} from './authenticate.js';
import { authorize } from './authorize.js';
import {
  canonicalizeTarget,
  refuseAmbiguousSpelling,
  type CanonicalTarget,
  type PathRejection,
} from '../http/canonical-path.js';
import type { CompiledRule, RuleRef, RuleSet } from './rules.js';

/** Stable reason ids for a denial; they appear in logs and decision output. */
export type DenyReason =
  | PathRejection
  | 'token_missing'
  | 'credentials_not_bearer'
  | TokenRejection
  | 'role_missing'
  | 'default_deny'
  /** TRACE or TRACK: refused for every path, never forwarded. */
  | 'method_refused'
  /** A shared store that cannot be reached, under `store.unavailable: fail-closed`. */
  | 'store_unavailable'
  /** The session cookie sent twice; neither is read. */
  | 'cookie_ambiguous'
  /** An unsafe request or an upgrade with the session cookie, from another origin. */
  | 'cross_origin';

/** What became of the session cookie a request carried, when it was read. */
export type CookieOutcome =
  | { readonly kind: 'valid'; readonly claims: TicketClaims }
  | {
      readonly kind: 'ended';
      readonly reason: CookieRejection;
      readonly ended?: EndedSession;
    };

export type Decision =
  | {
      readonly outcome: 'allow';
      readonly path: string;
      readonly query: string;
      readonly rule: RuleRef;
      /** Present when a valid token came along, even on a public rule. */
      readonly identity?: Identity;
      /** Let through while the store was away, its session not checked (serve-verified). */
      readonly sessionUnchecked?: true;
      readonly cookie?: CookieOutcome;
    }
  | {
      readonly outcome: 'deny';
      readonly reason: DenyReason;
      readonly error: ProblemError;
      readonly rule?: RuleRef;
      readonly path?: string;
      /** Who was refused, when a valid credential came along (a missing role). */
      readonly identity?: Identity;
      /** The roles the refusing rule asks for, one of which would have done. */
      readonly requiredRoles?: readonly string[];
      readonly cookie?: CookieOutcome;
    };

export interface DecisionInput {
  readonly method: string;
  /** The request-target exactly as received. */
  readonly target: string;
  readonly authorization: string | readonly string[] | undefined;
  /** The body may name another method (`_method` in a form POST): see `DecideOptions`. */
  readonly mayOverrideMethod?: boolean;
}

export interface DecideOptions {
  /**
   * The request may carry a method override the sidecar does not read (`_method` in a form body,
   * see method-override.ts): it is allowed only where every method would be, and refused by the
   * strictest rule that would refuse one.
   */
  readonly mayOverrideMethod?: boolean;
}

export interface Decider {
  decide(input: DecisionInput): Decision;
  /** The same decision for a target the caller has already canonicalized. */
  decideCanonical(
    target: CanonicalTarget,
    method: string,
    credentials: Credentials,
    options?: DecideOptions,
  ): Decision;
}

export interface DeciderDeps {
  readonly rules: RuleSet;
  readonly verifyAccessToken: VerifyAccessToken;
  /** The session cookie's check; absent when browser sign-in is off. */
  readonly verifySessionTicket?: VerifySessionTicket;
}

/**
 * Data in, Decision out: refused method → unambiguous path → match rule → authenticate →
 * authorize. Never touches a response.
 */
export function createDecider({ rules, verifyAccessToken, verifySessionTicket }: DeciderDeps): Decider {
  function decideCanonical(
    target: CanonicalTarget,
    method: string,
    credentials: Credentials,
    options?: DecideOptions,
  ): Decision {
    if (isTraceMethod(method)) return { outcome: 'deny', reason: 'method_refused', error: TRACE_REFUSED };
    if (!target.ok) return pathDenial(target);
    const ambiguous = refuseAmbiguousSpelling(target.path, rules.spelling);
    if (ambiguous) return pathDenial(ambiguous);
    const authentication = authenticate(credentials, verifyAccessToken, verifySessionTicket);
    const identity = authentication.kind === 'identified' ? authentication.identity : undefined;
    const cookie = cookieOutcomeOf(authentication);
    const rule = rules.match(target.path, method);
    const overriding = options?.mayOverrideMethod
      ? strictestRefusal(target.path, authentication, rule)
      : undefined;
    if (overriding) {
      const { refusing, verdict } = overriding;
      return verdict === 'unauthenticated'
        ? {
            outcome: 'deny',
            path: target.path,
            rule: refusing.ref,
            ...unauthenticated(authentication),
            ...(cookie && { cookie }),
          }
        : {
            outcome: 'deny',
            path: target.path,
            rule: refusing.ref,
            reason: refusing.access.kind === 'deny' ? 'default_deny' : 'role_missing',
            error: FORBIDDEN_FOR_OVERRIDE,
            ...(identity && { identity }),
            ...(cookie && { cookie }),
          };
    }
    switch (authorize(rule.access, authentication).kind) {
      case 'allow':
        return {
          outcome: 'allow',
          path: target.path,
          query: target.query,
          rule: rule.ref,
          ...(identity && { identity }),
          ...(cookie && { cookie }),
        };
      case 'unauthenticated':
        return {
          outcome: 'deny',
          path: target.path,
          rule: rule.ref,
          ...unauthenticated(authentication),
          ...(cookie && { cookie }),
        };
      case 'forbidden':
        return {
          outcome: 'deny',
          path: target.path,
          rule: rule.ref,
          reason: rule.access.kind === 'deny' ? 'default_deny' : 'role_missing',
          error: FORBIDDEN,
          ...(identity && { identity }),
          ...(rule.access.kind === 'roles' && { requiredRoles: [...rule.access.roles] }),
          ...(cookie && { cookie }),
        };
    }
  }

  /**
   * For a request that may name any method: the first rule, over every method some rule names and
   * one that none does, that refuses it while the request's own rule (`own`) allows it. Undefined
   * when its own rule refuses it too (that refusal is the answer) or when every one allows it.
   */
  function strictestRefusal(
    path: string,
    authentication: Authentication,
    own: CompiledRule,
  ): { refusing: CompiledRule; verdict: 'unauthenticated' | 'forbidden' } | undefined {
    if (authorize(own.access, authentication).kind !== 'allow') return undefined;
    let forbidden: CompiledRule | undefined;
    for (const method of rules.methodsToTry) {
      const rule = rules.match(path, method);
      if (rule === own) continue;
      const verdict = authorize(rule.access, authentication).kind;
      // A missing token is the first thing to say: with one, the answer may be yes.
      if (verdict === 'unauthenticated') return { refusing: rule, verdict };
      if (verdict === 'forbidden') forbidden ??= rule;
    }
    return forbidden && { refusing: forbidden, verdict: 'forbidden' };
  }

  return {
    decideCanonical,
    decide: (input) =>
      decideCanonical(
        canonicalizeTarget(input.target),
        input.method,
        { authorization: input.authorization },
        input.mayOverrideMethod ? MAY_OVERRIDE : undefined,
      ),
  };
}

/**
 * The denials, made once: a ProblemError captures a stack trace when built, which a stream of
 * refused requests would otherwise pay for on every one. They are never changed after this.
 */
/** Options for a request whose body may name another method. */
export const MAY_OVERRIDE: DecideOptions = Object.freeze({ mayOverrideMethod: true });

function pathDenial(refusal: Extract<CanonicalTarget, { ok: false }>): Decision {
  return {
    outcome: 'deny',
    reason: refusal.reason,
    error: new ProblemError(
      refusal.reason === 'method_override' ? 'invalid_request' : 'invalid_path',
      refusal.detail,
    ),
  };
}

/**
 * TRACE echoes the request back, credentials and cookies included (cross-site tracing); TRACK is
 * IIS's name for it. Methods are case-sensitive, but some backends are not.
 */
function isTraceMethod(method: string): boolean {
  return method.length === 5 && /^TRAC[EK]$/i.test(method);
}

const TRACE_REFUSED = new ProblemError(
  'method_not_allowed',
  'TRACE and TRACK are refused: they would echo the request, credentials included, back to the client.',
);
const FORBIDDEN = new ProblemError('forbidden', 'Your roles do not grant access to this path.');
const FORBIDDEN_FOR_OVERRIDE = new ProblemError(
  'forbidden',
  'A form POST may carry a _method override, so it is decided as every method it could name; your roles do not grant all of them on this path.',
);
const TOKEN_MISSING = new ProblemError('unauthenticated', 'This path requires a bearer token.', {
  headers: { 'WWW-Authenticate': 'Bearer' },
});
const SESSION_ENDED = new ProblemError('unauthenticated', 'The browser session has ended; sign in again.', {
  headers: { 'WWW-Authenticate': 'Bearer' },
});
const COOKIE_AMBIGUOUS = new ProblemError(
  'unauthenticated',
  'The session cookie came twice (one may have been set for a parent domain); neither was read. Sign in again.',
  { headers: { 'WWW-Authenticate': 'Bearer' } },
);
const invalidTokenErrors = new Map<TokenRejection | 'credentials_not_bearer', ProblemError>();

/** The session cookie's part in a decision; undefined when none was read. */
function cookieOutcomeOf(authentication: Authentication): CookieOutcome | undefined {
  if (authentication.kind === 'identified') {
    return authentication.session && { kind: 'valid', claims: authentication.session };
  }
  if (authentication.kind !== 'cookie_rejected') return undefined;
  const { reason, ended } = authentication;
  return { kind: 'ended', reason, ...(ended && { ended }) };
}

/**
 * RFC 6750 §3: no credentials get a bare challenge; bad ones get `error="invalid_token"`. A session
 * cookie that no longer holds is no token of the client's: it is told to sign in again.
 */
function unauthenticated(authentication: Authentication): { reason: DenyReason; error: ProblemError } {
  if (authentication.kind === 'cookie_rejected') {
    return {
      reason: authentication.reason,
      error: authentication.reason === 'cookie_ambiguous' ? COOKIE_AMBIGUOUS : SESSION_ENDED,
    };
  }
  if (authentication.kind !== 'rejected') return { reason: 'token_missing', error: TOKEN_MISSING };
  const { reason } = authentication;
  let error = invalidTokenErrors.get(reason);
  if (!error) {
    error = new ProblemError('invalid_token', describeRejection(reason), {
      headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
    });
    invalidTokenErrors.set(reason, error);
  }
  return { reason, error };
}

function describeRejection(reason: TokenRejection | 'credentials_not_bearer'): string {
  switch (reason) {
    case 'credentials_not_bearer':
      return 'The Authorization header does not hold a bearer token.';
    case 'token_expired':
      return 'The access token has expired.';
    case 'token_not_yet_valid':
      return 'The access token is not valid yet.';
    case 'token_too_large':
      return 'The access token is too large.';
    case 'token_malformed':
      return 'The access token is malformed.';
    case 'token_invalid':
      return 'The access token is not valid.';
    case 'token_revoked':
    case 'token_superseded':
    case 'user_disabled':
    case 'user_unknown':
      return 'The session of this access token has ended; log in again.';
  }
}
