import type { Request } from 'express';
import { clientKeyOf } from '../../http/client-key.js';

/**
 * The key per-client limits count by: express's `req.ip` (which honours `trustProxy`), normalized by
 * {@link clientKeyOf}, so that every spelling of one address, an IPv4 client and its IPv4-mapped
 * IPv6 form, an `ip:port` and every address of one IPv6 prefix (`limits.ipv6Prefix`) share a budget.
 */
export function clientKey(req: Request, ipv6PrefixLength: number): string {
  return clientKeyOf(req.ip ?? req.socket.remoteAddress ?? '', ipv6PrefixLength);
}
