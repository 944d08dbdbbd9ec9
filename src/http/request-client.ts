import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import proxyAddr from 'proxy-addr';
import { clientKeyOf } from './client-key.js';
import type { ProxyTrust } from './proxy-trust.js';

/** The client key of a request, given whether its peer is a trusted proxy. */
export type RequestClientKey = (req: IncomingMessage, peerTrusted: boolean) => string;

/**
 * Keys a request's client the way the rate limits do: the address express reports as `req.ip`
 * (the peer, or through trusted hops the X-Forwarded-For address), normalized by
 * {@link clientKeyOf}. A peer that is not a trusted proxy is the client for the whole connection,
 * so its key is worked out once per connection.
 */
export function createRequestClientKey(trust: ProxyTrust, ipv6PrefixLength: number): RequestClientKey {
  const byConnection = new WeakMap<Socket, string>();
  return (req, peerTrusted) => {
    if (peerTrusted) return clientKeyOf(proxyAddr(req, trust), ipv6PrefixLength);
    let key = byConnection.get(req.socket);
    if (key === undefined) {
      key = clientKeyOf(req.socket.remoteAddress ?? '', ipv6PrefixLength);
      byConnection.set(req.socket, key);
    }
    return key;
  };
}
