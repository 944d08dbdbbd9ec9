import type { RequestHandler } from 'express';

/** GET /healthz: 200 while the process serves. */
export const liveness: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

/** GET /readyz: 200 when the sidecar can take traffic (store open, not shutting down), else 503. */
export function createReadiness(isReady: () => boolean): RequestHandler {
  return (_req, res) => {
    const ready = isReady();
    res
      .status(ready ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json({ status: ready ? 'ready' : 'not_ready' });
  };
}
