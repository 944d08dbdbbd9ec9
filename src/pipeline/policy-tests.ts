/**
 * Deciding a request for a given identity, without a real token: what `explain` shows and what the
 * config's policy tests check. It runs the proxy's own `decide()`, so the two cannot disagree.
 */
import { normalizeMethod, type PolicyTestConfig } from '../config/schema.js';
import type { TokenVerdict } from '../identity.js';
import { createDecider, type Decision } from './decide.js';
import type { RuleSet } from './rules.js';

/** The one bearer token the synthetic verifier accepts; any other is refused as invalid. */
const SYNTHETIC_TOKEN = 'explain';

/** A request to decide; `roles` undefined is an anonymous request, with no Authorization. */
export interface PolicyRequest {
  readonly method: string;
  readonly target: string;
  readonly roles?: readonly string[];
}

/** What a client would see: the request forwarded, or refused with this status. */
export type PolicyOutcome = 'forward' | number;

/** Decides `request` with `rules` as the proxy would for a user holding `roles` (a valid token). */
export function decideAs(rules: RuleSet, request: PolicyRequest): Decision {
  const { roles } = request;
  const verdict: TokenVerdict | undefined =
    roles === undefined
      ? undefined
      : {
          valid: true,
          identity: { id: SYNTHETIC_TOKEN, username: SYNTHETIC_TOKEN, roles: [...roles] },
          tokenId: SYNTHETIC_TOKEN,
          tokenVersion: 0,
          expiresAt: Number.MAX_SAFE_INTEGER,
        };
  const decider = createDecider({
    rules,
    verifyAccessToken: (token) =>
      verdict !== undefined && token === SYNTHETIC_TOKEN
        ? verdict
        : { valid: false, reason: 'token_invalid' },
  });
  return decider.decide({
    method: normalizeMethod(request.method),
    target: request.target,
    authorization: roles === undefined ? undefined : `Bearer ${SYNTHETIC_TOKEN}`,
  });
}

export function outcomeOf(decision: Decision): PolicyOutcome {
  return decision.outcome === 'allow' ? 'forward' : decision.error.status;
}

export interface PolicyTestResult {
  /** 0-based index in `tests`. */
  readonly index: number;
  readonly test: PolicyTestConfig;
  readonly actual: PolicyOutcome;
  readonly decision: Decision;
  readonly passed: boolean;
}

/** Runs every policy test against `rules`; never throws for a failing test. */
export function runPolicyTests(
  rules: RuleSet,
  tests: readonly PolicyTestConfig[],
): readonly PolicyTestResult[] {
  return tests.map((test, index) => {
    const decision = decideAs(rules, {
      method: test.request.method,
      target: test.request.target,
      ...(test.as && { roles: test.as.roles }),
    });
    const actual = outcomeOf(decision);
    return { index, test, actual, decision, passed: actual === test.expect };
  });
}

/** `GET /admin/users as [user] → 403`; an anonymous request reads `as anonymous`. */
export function describePolicyTest(test: PolicyTestConfig): string {
  const who = test.as ? `as [${test.as.roles.join(', ')}]` : 'as anonymous';
  return `${test.request.method} ${test.request.target} ${who} → ${test.expect}`;
}

/** `expected 403, got forward (rules[1], line 14)`: what a failing test saw and which rule decided. */
export function describeMismatch(result: PolicyTestResult): string {
  return `expected ${result.test.expect}, got ${result.actual} (${describeDecider(result.decision)})`;
}

/** `rules[1], line 14`, `default`, or the reason the path was refused before any rule. */
function describeDecider(decision: Decision): string {
  const { rule } = decision;
  if (rule === undefined) return decision.outcome === 'deny' ? `path refused: ${decision.reason}` : 'no rule';
  return rule.line === undefined ? rule.id : `${rule.id}, line ${rule.line}`;
}

/** One line per failing test, for logs and start-up errors; empty when every test passed. */
export function policyFailures(results: readonly PolicyTestResult[]): string[] {
  return results
    .filter((result) => !result.passed)
    .map(
      (result) => `tests[${result.index}] ${describePolicyTest(result.test)}: ${describeMismatch(result)}`,
    );
}
