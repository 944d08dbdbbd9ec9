import { Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import { removeHopByHop } from '../http/hop-by-hop.js';
import { UpstreamTimeoutError } from './upstream-errors.js';

export interface ForwarderOptions {
  readonly target: string;
  readonly timeoutMs: number;
  /** Called once when the exchange fails; the response may already be under way. */
  readonly onError: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
  /** Upper bound on open sockets to the backend. */
  readonly maxSockets?: number;
  /** Told how long the backend took to send its response head, in seconds (for metrics). */
  readonly onUpstreamResponse?: (seconds: number) => void;
}

export interface Forwarder {
  (req: IncomingMessage, res: ServerResponse): void;
  /** Passes an allowed protocol upgrade (WebSocket) on, then relays both ways. */
  readonly upgrade: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  /** Closes idle keep-alive sockets to the backend. */
  close(): void;
}

/**
 * Streams a request to the backend and the answer back, through http-proxy-middleware over a
 * keep-alive agent. `req.url` and the headers must already be what the backend should see.
 */
export function createForwarder(options: ForwarderOptions): Forwarder {
  const target = new URL(options.target);
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 256, maxFreeSockets: 64 };
  const agent = target.protocol === 'https:' ? new HttpsAgent(agentOptions) : new Agent(agentOptions);

  // The default plugins log every exchange (building a URL per response even when logging is off)
  // and map `on` to events; this one plugin does only what the sidecar needs.
  const forwardedAt = new WeakMap<IncomingMessage, number>();
  const sidecarEvents: Plugin<IncomingMessage, ServerResponse> = (proxyServer) => {
    proxyServer.on('proxyReq', (proxyReq, req) => {
      forwardedAt.set(req, performance.now());
      // An idle timer: it fires when the backend neither reads nor answers for timeoutMs.
      proxyReq.setTimeout(options.timeoutMs, () =>
        proxyReq.destroy(new UpstreamTimeoutError(options.timeoutMs)),
      );
    });
    proxyServer.on('proxyRes', (proxyRes, req, res) => {
      const startedAt = forwardedAt.get(req);
      if (startedAt !== undefined) options.onUpstreamResponse?.((performance.now() - startedAt) / 1000);
      removeHopByHop(proxyRes.headers);
      // The client's connection is not the backend's: keep-alive is what the client asked for.
      proxyRes.headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
    });
    proxyServer.on('proxyReqWs', (proxyReq, _req, socket) => {
      // The relay ends the backend's side only when the client's errors; a client socket that
      // closes (or that the session check closes) must take the backend's connection with it.
      proxyReq.once('upgrade', (_res, backendSocket: Socket) => {
        socket.once('close', () => backendSocket.destroy());
      });
    });
    proxyServer.on('error', (err, req, res) => {
      if (req && isServerResponse(res)) options.onError(err, req, res);
      // An upgrade has no response object: the client's socket is all there is to close.
      else if (res && !isServerResponse(res)) res.destroy();
    });
  };

  const proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
    target: options.target,
    agent,
    changeOrigin: false,
    xfwd: false,
    ejectPlugins: true,
    plugins: [sidecarEvents],
  });

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    // http-proxy-middleware already reported a failure through on.error; its promise only repeats it.
    proxy(req, res, () => undefined).catch(() => undefined);
  };
  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    proxy.upgrade(req, socket, head);
  };
  return Object.assign(forward, { upgrade, close: () => agent.destroy() });
}

function isServerResponse(res: unknown): res is ServerResponse {
  return typeof (res as ServerResponse | undefined)?.writeHead === 'function';
}
