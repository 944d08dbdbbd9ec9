import type { RequestHandler } from 'express';

/**
 * Why the sidecar should not be sent traffic now: it is stopping, its store is unavailable, or
 * every connection to the backend is in use (`upstream.maxConnections`).
 */
export type NotReadyReason = 'shutting_down' | 'store_unavailable' | 'upstream_saturated';

/** The reason the sidecar is not ready, or undefined when it is. */
export type ReadinessCheck = () => NotReadyReason | undefined;

/** GET /healthz: 200 while the process serves. */
export const liveness: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

/** GET /readyz: 200 when the sidecar can take traffic, else 503 with the reason. */
export function createReadiness(notReadyReason: ReadinessCheck): RequestHandler {
  return (_req, res) => {
    const reason = notReadyReason();
    res
      .status(reason === undefined ? 200 : 503)
      .set('Cache-Control', 'no-store')
      .json(reason === undefined ? { status: 'ready' } : { status: 'not_ready', reason });
  };
}
