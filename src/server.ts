import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { createFrontDoor } from './front/front-door.js';
import { MAX_REQUEST_HEADERS } from './http/header-limit.js';
import type { Deps } from './deps.js';
import { ProblemError } from './errors.js';
import { createMetricsHandler } from './http/metrics-endpoint.js';
import { rawProblemResponse, sendProblem } from './http/problem.js';

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
  const frontDoor = createFrontDoor(deps, () => {
    if (stopping) return 'shutting_down';
    return deps.store.isReady() || deps.storeOutage.staysReady() ? undefined : 'store_unavailable';
  });
  const server = createServer({ requireHostHeader: true }, frontDoor.handleRequest);
  server.maxHeadersCount = MAX_REQUEST_HEADERS + 1;
  server.on('upgrade', frontDoor.handleUpgrade);
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Node could not parse the request, or it did not arrive whole within headersTimeout or
    // requestTimeout; answer with a problem body rather than its bare default, unless a
    // response is already under way on this connection (as Node's own handler checks).
    if (!socket.writable || err.code === 'ECONNRESET' || responseUnderWay(socket)) {
      socket.destroy();
      return;
    }
    socket.end(rawProblemResponse(clientErrorProblem(err)));
  });

  await listen(server, options.port, options.host);
  const metricsServer = await startMetricsServer(deps, options.host).catch((err: unknown) => {
    server.close();
    throw err;
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
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      frontDoor.close();
      await deps.close();
    },
  };
}

function clientErrorProblem(err: NodeJS.ErrnoException): ProblemError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new ProblemError('header_fields_too_large', 'The request headers are too large.');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new ProblemError('request_timeout', 'The request did not arrive in time.');
    default:
      return new ProblemError('invalid_request', 'The request is not valid HTTP/1.1.');
  }
}

/** Node keeps the response being written on a connection as `_httpMessage`. */
function responseUnderWay(socket: Duplex): boolean {
  return (socket as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage?.headersSent === true;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** /metrics on a port of its own (`metrics.port`), kept off the public port; nothing else there. */
async function startMetricsServer(deps: Deps, host: string): Promise<Server | undefined> {
  const { enabled, port } = deps.config.metrics;
  if (!enabled || port === undefined) return undefined;
  const serveMetrics = createMetricsHandler(deps.metrics);
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] === '/metrics') serveMetrics(req, res);
    else sendProblem(res, new ProblemError('not_found', 'Only /metrics is served on this port.'));
  });
  await listen(server, port, host);
  return server;
}
