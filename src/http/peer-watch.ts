import type { Logger } from '../log/logger.js';

/** Requests looked at before the peers are judged; then the watch stops for good. */
export const PEER_SAMPLE = 100;
/** As many addresses as a load balancer or an ingress controller in front usually has. */
const FEW_PEERS = 2;
/** Probes come from the kubelet or the orchestrator, not through the proxy in front. */
const PROBE_PATHS = new Set(['/healthz', '/readyz']);

/**
 * Takes one request's peer address, whether `trustProxy` lists it, and its path, until the sample
 * is complete; a single flag test afterwards.
 */
export type PeerWatch = (peer: string, trusted: boolean, path: string | undefined) => void;

/**
 * Warns once when the first PEER_SAMPLE requests all came from one or two addresses, none of them
 * in `trustProxy`: that looks like a load balancer, an ingress or a local proxy in front whose
 * X-Forwarded-For is not believed, so every client shares that hop's per-IP rate limits (one
 * client's wrong logins lock everyone out). One log line, `trust_proxy.unlisted_proxy`; nothing
 * per request.
 */
export function createPeerWatch(logger: Logger): PeerWatch {
  const peers = new Set<string>();
  let seen = 0;
  let done = false;
  return (peer, trusted, path) => {
    if (done || (path !== undefined && PROBE_PATHS.has(path))) return;
    // A trusted hop passes the client's address on: there is no shared bucket to warn about.
    if (trusted) {
      done = true;
      return;
    }
    peers.add(peer);
    if (peers.size > FEW_PEERS) {
      done = true;
      return;
    }
    if (++seen < PEER_SAMPLE) return;
    done = true;
    logger.warn(
      { event: 'trust_proxy.unlisted_proxy', peers: [...peers], requests: seen },
      'every request came from one or two addresses that trustProxy does not list: if a load balancer, ingress or proxy is in front, list it in trustProxy, or all clients share its per-IP rate limits',
    );
  };
}
