import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the echo backend saw of one request. */
export interface EchoedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly bodyBytes: number;
}

/**
 * A small backend for the demo and the container example: it answers every request with a JSON
 * description of what reached it, identity headers included.
 */
export function createEchoBackend(): Server {
  return createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      const echoed: EchoedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        bodyBytes,
      };
      const body = JSON.stringify(echoed, null, 2);
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
}

export async function listenEchoBackend(
  port: number,
  host = '127.0.0.1',
): Promise<{ server: Server; url: string }> {
  const server = createEchoBackend();
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address() as AddressInfo;
  return { server, url: `http://${host}:${address.port}` };
}
