import type { Request } from 'express';

/** The client address rate limits count by: express's `req.ip`, which honours `trustProxy`. */
export function clientIp(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
