import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProblemError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendProblem } from './problem.js';

/** GET /metrics in the Prometheus text format. */
export function createMetricsHandler(metrics: Metrics) {
  return (req: IncomingMessage, res: ServerResponse, requestId?: string): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendProblem(res, new ProblemError('method_not_allowed', 'Use GET for /metrics.'), requestId);
      return;
    }
    metrics.render().then(
      ({ body, contentType }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => sendProblem(res, err, requestId),
    );
  };
}
