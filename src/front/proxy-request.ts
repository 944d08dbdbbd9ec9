/** A proxied request, the way in for every path that is not the sidecar's own: admitted, then forwarded. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorizationOf } from '../http/authorization.js';
import { sendProblem } from '../http/problem.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Forwarder } from '../proxy/forward.js';
import type { Admission, Admitted } from './admission.js';

export function createProxyRequest(admission: Admission, forward: Forwarder, metrics: Metrics) {
  return (req: IncomingMessage, res: ServerResponse, admitted: Admitted): void => {
    const method = req.method ?? 'GET';
    const decision = admission.decide(req, admitted, {
      target: admitted.target,
      method,
      authorization: authorizationOf(req),
    });
    if (decision.outcome === 'deny') {
      sendProblem(res, decision.error, admitted.context.id);
      return;
    }
    const client = admission.prepareForUpstream(req, admitted, decision);
    const refusal = forward(req, res, client);
    if (refusal) {
      admitted.context.reason = 'client_busy';
      metrics.proxyRefused('client_busy');
      sendProblem(res, refusal, admitted.context.id);
    }
  };
}
