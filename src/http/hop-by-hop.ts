import type { IncomingHttpHeaders } from 'node:http';

/**
 * RFC 9110 §7.6.1: fields meant for one connection only, never passed on by a proxy. `expect` is
 * here too: the sidecar has already answered it.
 */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'expect',
];

/** Framing is Node's business on each side; removing these would corrupt the message. */
const FRAMING = new Set(['transfer-encoding', 'content-length']);

/** Removes hop-by-hop fields and every field the sender listed in `Connection`. */
export function removeHopByHop(headers: IncomingHttpHeaders): void {
  const connection = headers.connection;
  if (connection !== undefined) {
    for (const listed of connection.split(',')) {
      const name = listed.trim().toLowerCase();
      if (name !== '' && !FRAMING.has(name)) delete headers[name];
    }
  }
  // Deleting only what is there keeps the headers object on V8's fast path for later readers.
  for (const name of HOP_BY_HOP) if (headers[name] !== undefined) delete headers[name];
}
