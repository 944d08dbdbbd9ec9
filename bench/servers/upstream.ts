/** The backend behind every proxy under test: it answers every request with the same ~100 bytes. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announcePort } from '../lib/rpc.js';

const BODY = Buffer.from(
  JSON.stringify({ ok: true, service: 'bench-upstream', note: 'a small JSON answer of about 100 bytes' }),
);

const server = createServer((req, res) => {
  // A POST body is read to the end before answering, as a real backend would.
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  });
});
// Proxies keep their sockets to the backend between rounds.
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => announcePort((server.address() as AddressInfo).port));
