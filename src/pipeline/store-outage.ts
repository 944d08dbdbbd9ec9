import { ProblemError } from '../errors.js';
import type { Decider, Decision } from './decide.js';

/** `store.unavailable`: what becomes of a valid token's request while the shared store is away. */
export type OutagePolicy = 'fail-closed' | 'serve-verified';

const STORE_UNAVAILABLE = new ProblemError(
  'store_unavailable',
  'The session store is unreachable, so revocations cannot be checked; try again shortly.',
  { headers: { 'Retry-After': '1' } },
);

export interface StoreOutage {
  /** True while sessions cannot be checked and the policy refuses them (fail-closed). */
  refusesSessions(): boolean;
  /**
   * True when the sidecar stays ready while the store is away (serve-verified): every replica
   * loses the same Redis at once, and a Service whose pods are all not ready serves nothing.
   */
  staysReady(): boolean;
  /**
   * The decision's last stage. While the store is away, a request that a valid token would let
   * through has a session nobody can check (a revocation made on another replica is unseen):
   * fail-closed refuses it with 503; serve-verified lets it through marked `sessionUnchecked`.
   * Denials, and requests without a token, stay as they are.
   */
  apply(decision: Decision): Decision;
}

/** For a shared store: what `policy` makes of a request while `isStoreReady()` is false. */
export function createStoreOutage(isStoreReady: () => boolean, policy: OutagePolicy): StoreOutage {
  return {
    refusesSessions: () => policy === 'fail-closed' && !isStoreReady(),
    staysReady: () => policy === 'serve-verified',
    apply(decision) {
      if (decision.outcome !== 'allow' || !decision.identity || isStoreReady()) return decision;
      if (policy === 'serve-verified') return { ...decision, sessionUnchecked: true };
      const { rule, path } = decision;
      return { outcome: 'deny', reason: 'store_unavailable', error: STORE_UNAVAILABLE, rule, path };
    },
  };
}

/**
 * The embedded store is never away while the process runs: its sessions are in memory, so they
 * are checked even when its file cannot be written (which readiness reports).
 */
export const NO_STORE_OUTAGE: StoreOutage = {
  refusesSessions: () => false,
  staysReady: () => false,
  apply: (decision) => decision,
};

/** A decider whose every decision, whoever asks (proxy, upgrade, forward-auth), passes `outage`. */
export function withStoreOutage(decider: Decider, outage: StoreOutage): Decider {
  return {
    decide: (input) => outage.apply(decider.decide(input)),
    decideCanonical: (...args) => outage.apply(decider.decideCanonical(...args)),
  };
}
