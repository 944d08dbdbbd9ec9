import type { IncomingMessage } from 'node:http';
import { removeHopByHop } from '../http/hop-by-hop.js';
import type { Decision } from './decide.js';

/** Lower-cased names of the identity headers the backend reads. */
export interface IdentityHeaderNames {
  readonly user: string;
  readonly id: string;
  readonly roles: string;
}

/**
 * Prepares an allowed request for the backend: the canonical path, no hop-by-hop fields, no
 * bearer token unless `forwardBearerToken`, the identity headers and the sidecar's own
 * X-Forwarded-* view of the connection. Client-sent forwarding headers reach here only from a
 * trusted hop; the sidecar then appends to them.
 */
export function mutateForUpstream(
  req: IncomingMessage,
  decision: Extract<Decision, { outcome: 'allow' }>,
  names: IdentityHeaderNames,
  peerTrusted: boolean,
  forwardBearerToken = false,
): void {
  req.url = decision.path + decision.query;
  const headers = req.headers;
  // Before the identity headers are set, so a client cannot list one in Connection to make a hop
  // drop what the sidecar sets below.
  removeHopByHop(headers);
  if (!forwardBearerToken && headers.authorization !== undefined && carriesBearer(req.rawHeaders)) {
    delete headers.authorization;
  }

  const { identity } = decision;
  if (identity) {
    headers[names.user] = identity.username;
    headers[names.id] = identity.id;
    headers[names.roles] = identity.roles.join(',');
  }
  const peer = req.socket.remoteAddress ?? '';
  const sent = peerTrusted ? headers['x-forwarded-for'] : undefined;
  const chain = Array.isArray(sent) ? sent.join(', ') : sent;
  headers['x-forwarded-for'] = chain ? `${chain}, ${peer}` : peer;
  headers['x-forwarded-proto'] ??= 'http';
  if (headers.host !== undefined) headers['x-forwarded-host'] ??= headers.host;
}

/**
 * Whether any Authorization field uses the Bearer scheme (RFC 6750 §2.1; the scheme is
 * case-insensitive). The sidecar owns that scheme in front of the backend: a valid token became
 * the identity headers, and one that did not verify (expired, revoked, forged) is of no use to the
 * backend but still a credential its logs would keep. Other schemes (Basic, Digest, …), which the
 * sidecar never reads, are the backend's and pass unchanged where a public rule lets them through.
 */
function carriesBearer(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.length !== 13 || raw[i]?.toLowerCase() !== 'authorization') continue;
    if (/^\s*bearer(\s|$)/i.test(raw[i + 1] ?? '')) return true;
  }
  return false;
}
