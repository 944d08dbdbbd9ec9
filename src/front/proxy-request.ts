/** A proxied request, the way in for every path that is not the sidecar's own: admitted, then forwarded. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorizationOf } from '../http/authorization.js';
import { sendProblem } from '../http/problem.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Forwarder } from '../proxy/forward.js';
import type { Admission, Admitted } from './admission.js';
import type { BrowserAnswers } from './browser-answers.js';

export function createProxyRequest(
  admission: Admission,
  forward: Forwarder,
  metrics: Metrics,
  answers: BrowserAnswers,
) {
  return (req: IncomingMessage, res: ServerResponse, admitted: Admitted): void => {
    const method = req.method ?? 'GET';
    const decision = admission.decide(req, admitted, {
      target: admitted.target,
      method,
      authorization: authorizationOf(req),
      via: 'request',
    });
    if (decision.outcome === 'deny') {
      answers.refuse(req, res, decision, admitted.context.id);
      return;
    }
    const setCookie = answers.cookieFor(decision);
    const client = admission.prepareForUpstream(req, admitted, decision);
    const refusal = forward(req, res, client, setCookie);
    if (refusal) {
      admitted.context.reason = 'client_busy';
      metrics.proxyRefused('client_busy');
      sendProblem(res, refusal, admitted.context.id);
    }
  };
}
