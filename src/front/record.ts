/**
 * What the sidecar keeps of a decision, whichever way the request came in: the request line's
 * fields, the metrics, the warning for a session let through unchecked, a denial's audit event.
 */
import { LRUCache } from 'lru-cache';
import type { RequestContext } from '../http/request-context.js';
import type { Audit } from '../log/audit.js';
import type { Logger } from '../log/logger.js';
import type { DecisionLabel, Metrics } from '../metrics/metrics.js';
import type { Decision } from '../pipeline/decide.js';

/** Records `decision` for the request of `context`; `method` is the one the rules were asked about. */
export type RecordDecision = (context: RequestContext, decision: Decision, method: string) => void;

export function createDecisionRecorder(deps: {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly audit: Audit;
}): RecordDecision {
  const { logger, metrics, audit } = deps;
  // A browser may send a dead cookie on many requests at once before it is cleared: told once.
  const endedSessions = new LRUCache<string, true>({ max: 10_000 });
  return (context, decision, method) => {
    const ended = decision.cookie?.kind === 'ended' ? decision.cookie.ended : undefined;
    if (ended && !endedSessions.has(ended.sessionId)) {
      endedSessions.set(ended.sessionId, true);
      audit({
        event: 'auth.session.end',
        reqId: context.id,
        reason: ended.why,
        userId: ended.userId,
        sessionId: ended.sessionId,
      });
    }
    context.decision = decision.outcome;
    context.rule = decision.rule?.id;
    if (decision.path !== undefined) context.path = decision.path;
    metrics.requestDecided(decision.rule?.id ?? 'none', decisionLabelOf(decision));
    if (decision.outcome === 'allow') {
      context.userId = decision.identity?.id;
      if (decision.sessionUnchecked) {
        // serve-verified: the store was away, so a revocation made on another replica is unseen.
        logger.warn(
          { reqId: context.id, event: 'store.unavailable.served', userId: decision.identity?.id },
          'forwarded without a session check',
        );
        metrics.servedUnchecked();
      }
      return;
    }
    context.reason = decision.reason;
    audit({
      event: 'auth.denied',
      reqId: context.id,
      rule: decision.rule?.id,
      reason: decision.reason,
      method,
      path: decision.path,
      ...(decision.identity && { userId: decision.identity.id }),
    });
  };
}

/** How a decision is named in the metrics. */
export function decisionLabelOf(decision: Decision): DecisionLabel {
  if (decision.outcome === 'allow') return 'allowed';
  switch (decision.error.code) {
    case 'forbidden':
      return 'forbidden';
    case 'unauthenticated':
    case 'invalid_token':
      return 'unauthenticated';
    case 'store_unavailable':
      return 'unavailable';
    default:
      return 'invalid_request';
  }
}
