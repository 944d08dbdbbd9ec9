import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { createApp, MAX_REQUEST_HEADERS } from './app.js';
import type { Deps } from './deps.js';
import { ProblemError } from './errors.js';
import { rawProblemResponse } from './http/problem.js';

export interface RunningServer {
  readonly server: Server;
  /** `http://host:port` as bound (port 0 resolves to the real port). */
  readonly url: string;
  readonly port: number;
  /**
   * Graceful stop: readiness off at once; after `delayMs` no new connections; requests in flight
   * get `graceMs` to finish; then the store and the bcrypt threads are closed.
   */
  close(options?: CloseOptions): Promise<void>;
}

export interface CloseOptions {
  readonly delayMs?: number;
  readonly graceMs?: number;
}

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
}

export async function startServer(deps: Deps, options: ServerOptions): Promise<RunningServer> {
  let stopping = false;
  const app = createApp(deps, () => !stopping && deps.store.isReady());
  const server = createServer({ requireHostHeader: true }, app.handleRequest);
  server.maxHeadersCount = MAX_REQUEST_HEADERS + 1;
  server.on('upgrade', app.handleUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Node could not parse the request; answer with a problem body rather than its bare default.
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const problem =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? new ProblemError('header_fields_too_large', 'The request headers are too large.')
        : new ProblemError('invalid_request', 'The request is not valid HTTP/1.1.');
    socket.end(rawProblemResponse(problem));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    server,
    url: `http://${host}:${address.port}`,
    port: address.port,
    async close({ delayMs = 0, graceMs = 20_000 } = {}) {
      stopping = true;
      if (delayMs > 0) await delay(delayMs);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(grace);
      app.close();
      await deps.close();
    },
  };
}
