/** The baseline: a bare reverse proxy (node:http + httpxy) that checks nothing. */
import { Agent, createServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyServer } from 'httpxy';
import { announcePort } from '../lib/rpc.js';

const upstreamUrl = process.argv[2];
if (upstreamUrl === undefined) throw new Error('usage: baseline-proxy.js <upstream url>');

const proxy = createProxyServer({
  target: upstreamUrl,
  agent: new Agent({ keepAlive: true, maxSockets: 64 }),
});
proxy.on('error', (_err, _req, res) => {
  if (res instanceof ServerResponse && !res.headersSent) res.writeHead(502).end();
});

const server = createServer((req, res) => {
  // Failures are answered by the 'error' listener above; the promise only repeats them.
  proxy.web(req, res).catch(() => undefined);
});
server.listen(0, '127.0.0.1', () => announcePort((server.address() as AddressInfo).port));
