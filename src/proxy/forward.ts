import { Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { createProxyMiddleware, type Plugin } from 'http-proxy-middleware';
import type { ProblemError } from '../errors.js';
import { removeHopByHop } from '../http/hop-by-hop.js';
import { rawProblemResponse } from '../http/problem.js';
import { createClientSlots, createUpstreamPool, type PoolUsage, type Waiter } from './admission.js';
import { watchBody, watchSend, type StopWatch } from './stall-watch.js';
import {
  clientBusyProblem,
  ExchangeLimitError,
  upstreamProblem,
  UpstreamTimeoutError,
} from './upstream-errors.js';

/** What one client may hold of the backend connections, and for how long. */
export interface ForwardLimits {
  /** Connections to the backend at most (`upstream.maxConnections`). */
  readonly maxConnections: number;
  /** How long an exchange may wait for a free connection before 503 (`upstream.queueTimeout`). */
  readonly queueTimeoutMs: number;
  /** Proxied requests and WebSockets one client may have under way (`limits.proxy.perClient`). */
  readonly perClient: number;
  /** The window a request body's rate is measured over (`limits.proxy.bodyTimeout`). */
  readonly bodyTimeoutMs: number;
  /** The slowest a request body may arrive, in bytes a second (`limits.proxy.bodyMinRate`). */
  readonly bodyMinRate: number;
  /** How long a client may take none of a response (`limits.proxy.sendTimeout`). */
  readonly sendTimeoutMs: number;
}

export interface ForwarderOptions {
  readonly target: string;
  readonly timeoutMs: number;
  readonly limits: ForwardLimits;
  /** Called once when the exchange fails; the response may already be under way. */
  readonly onError: (err: unknown, req: IncomingMessage, res: ServerResponse) => void;
  /** Told when an upgrade fails after it was let through; the client's socket is answered and closed. */
  readonly onUpgradeError?: (err: unknown, req: IncomingMessage) => void;
  /** Told how long the backend took to send its response head, in seconds (for metrics). */
  readonly onUpstreamResponse?: (seconds: number) => void;
  /** Set-Cookie fields of the backend's that are dropped: those of the sidecar's own cookie. */
  readonly isReservedCookie?: (setCookie: string) => boolean;
}

export interface Forwarder {
  /**
   * Streams the request to the backend once a connection is free; returns, without forwarding,
   * the refusal to send when `client` already has `perClient` exchanges under way. `setCookie`
   * is added to the backend's response (a renewed or cleared session cookie).
   */
  (req: IncomingMessage, res: ServerResponse, client: string, setCookie?: string): ProblemError | undefined;
  /**
   * Passes an allowed protocol upgrade (WebSocket) on, then relays both ways; an open WebSocket
   * counts against its client until it closes. Returns the refusal as the forwarder does.
   */
  readonly upgrade: (
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    client: string,
  ) => ProblemError | undefined;
  /** Backend connections in use and exchanges waiting for one. */
  usage(): PoolUsage;
  /** Every backend connection is in use. */
  saturated(): boolean;
  /** Closes idle keep-alive sockets to the backend. */
  close(): void;
}

/** An exchange from admission to its end: its place in the pool, and its watches. */
interface Exchange {
  /** The queue place, when it had to wait; undefined when a connection was free at once. */
  waiter: Waiter | undefined;
  /** Set once its backend connection (or queue place) was given back. */
  left: boolean;
  forwardedAt: number;
  stopBody: StopWatch | undefined;
  stopSend: StopWatch | undefined;
  /** A Set-Cookie field of the sidecar's for the response. */
  setCookie: string | undefined;
}

/** A response this small fits in the buffer before the client: it cannot stall a backend connection. */
const SMALL_RESPONSE_BYTES = 16 * 1024;

/**
 * Streams a request to the backend and the answer back, through http-proxy-middleware over a
 * keep-alive agent. `req.url` and the headers must already be what the backend should see.
 *
 * Every exchange takes one of `maxConnections` backend connections for as long as it holds one:
 * until its response has gone to the client (a request) or the backend switched protocols (an upgrade).
 * Past that number exchanges wait in line, each until its `queueTimeoutMs` deadline.
 */
export function createForwarder(options: ForwarderOptions): Forwarder {
  const { limits } = options;
  const target = new URL(options.target);
  const agentOptions = { keepAlive: true, maxSockets: limits.maxConnections, maxFreeSockets: 64 };
  const agent = target.protocol === 'https:' ? new HttpsAgent(agentOptions) : new Agent(agentOptions);
  const pool = createUpstreamPool(limits.maxConnections, limits.queueTimeoutMs);
  const clients = createClientSlots(limits.perClient);
  const exchanges = new WeakMap<IncomingMessage, Exchange>();

  // The default plugins log every exchange (building a URL per response even when logging is off)
  // and map `on` to events; this one plugin does only what the sidecar needs.
  const sidecarEvents: Plugin<IncomingMessage, ServerResponse> = (proxyServer) => {
    proxyServer.on('proxyReq', (proxyReq, req) => {
      const exchange = exchanges.get(req);
      if (exchange) {
        exchange.forwardedAt = performance.now();
        if (hasBody(req) && !req.complete) {
          exchange.stopBody = watchBody(req, limits.bodyTimeoutMs, limits.bodyMinRate, () =>
            proxyReq.destroy(bodyTooSlow()),
          );
        }
      }
      // An idle timer: it fires when the backend neither reads nor answers for timeoutMs.
      proxyReq.setTimeout(options.timeoutMs, () =>
        proxyReq.destroy(new UpstreamTimeoutError(options.timeoutMs)),
      );
    });
    proxyServer.on('proxyRes', (proxyRes, req, res) => {
      const exchange = exchanges.get(req);
      if (exchange) {
        options.onUpstreamResponse?.((performance.now() - exchange.forwardedAt) / 1000);
        if (!isSmall(proxyRes)) {
          exchange.stopSend = watchSend(proxyRes, limits.sendTimeoutMs, () =>
            options.onError(responseStalled(), req, res),
          );
        }
      }
      removeHopByHop(proxyRes.headers);
      setSidecarCookie(proxyRes, exchange?.setCookie);
      // The client's connection is not the backend's: keep-alive is what the client asked for.
      proxyRes.headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
    });
    proxyServer.on('proxyReqWs', (proxyReq: ClientRequest, req, socket) => {
      // The backend connection leaves the pool once the protocol switched, or the attempt ended.
      const exchange = exchanges.get(req);
      if (exchange) proxyReq.once('close', () => leave(exchange));
      // The relay ends the backend's side only when the client's errors; a client socket that
      // closes (or that the session check closes) must take the backend's connection with it.
      proxyReq.once('upgrade', (backendRes: IncomingMessage, backendSocket: Socket) => {
        // Before http-proxy writes the 101 to the client: its listener comes after this one.
        setSidecarCookie(backendRes, undefined);
        socket.once('close', () => backendSocket.destroy());
      });
      // Refused (no 101): the answer is relayed to the client, and the backend connection, never
      // reused, is closed once it ended or once the client went away, whichever comes first.
      proxyReq.once('response', (backendRes: IncomingMessage) => {
        if (backendRes.statusCode === 101) return;
        const close = () => proxyReq.destroy();
        backendRes.once('end', close);
        socket.once('close', close);
      });
    });
    proxyServer.on('error', (err, req, res) => {
      if (req && isServerResponse(res)) options.onError(err, req, res);
      // An upgrade has no response object: the client's socket is all there is to answer.
      else if (res) failUpgrade(err, req, res as Socket);
    });
  };

  const proxyOptions = {
    target: options.target,
    changeOrigin: false,
    xfwd: false,
    ejectPlugins: true,
    plugins: [sidecarEvents],
    // The backend's answer to an upgrade has the same deadline as any answer.
    upgradeTimeout: options.timeoutMs,
  };
  const proxy = createProxyMiddleware<IncomingMessage, ServerResponse>({ ...proxyOptions, agent });
  // An upgrade attempt gets a connection of its own that no other request ever reuses: a backend
  // that refuses with a non-101 may have handed the socket to its WebSocket code, which keeps it
  // open and never parses another request on it. (`agent: false`: a fresh, non-pooled connection.)
  const upgradeProxy = createProxyMiddleware<IncomingMessage, ServerResponse>({
    ...proxyOptions,
    agent: false,
  });

  /** The backend's Set-Cookie fields without the sidecar's cookie, and the sidecar's own, if any. */
  const setSidecarCookie = (backendRes: IncomingMessage, own: string | undefined) => {
    const isReserved = options.isReservedCookie;
    const fields = backendRes.headers['set-cookie'];
    const kept = fields && isReserved ? fields.filter((field) => !isReserved(field)) : fields;
    const all = own === undefined ? kept : [...(kept ?? []), own];
    if (all === fields) return;
    if (all === undefined || all.length === 0) delete backendRes.headers['set-cookie'];
    else backendRes.headers['set-cookie'] = all;
  };

  const leave = (exchange: Exchange) => {
    if (exchange.left) return;
    exchange.left = true;
    if (exchange.waiter) pool.leave(exchange.waiter);
    else pool.release();
  };
  const failUpgrade = (err: unknown, req: IncomingMessage | undefined, socket: Socket) => {
    if (req) options.onUpgradeError?.(err, req);
    // Nothing sent yet: the client learns why; once the backend's answer began, only closing is left.
    if (socket.writable && socket.bytesWritten === 0) {
      const reqId = req?.headers['x-request-id'];
      socket.end(rawProblemResponse(upstreamProblem(err), typeof reqId === 'string' ? reqId : undefined));
    } else {
      socket.destroy();
    }
  };

  /**
   * Starts one exchange of `client`, whose place is already taken: sends it at once or when a
   * backend connection comes free, and gives both back when `onEnd` says the exchange is over.
   */
  const begin = (
    req: IncomingMessage,
    client: string,
    onEnd: (release: () => void) => void,
    send: () => void,
    timedOut: () => void,
    setCookie?: string,
  ): void => {
    const exchange: Exchange = {
      waiter: undefined,
      left: false,
      forwardedAt: 0,
      stopBody: undefined,
      stopSend: undefined,
      setCookie,
    };
    exchanges.set(req, exchange);
    onEnd(() => {
      exchange.stopBody?.();
      exchange.stopSend?.();
      leave(exchange);
      clients.give(client);
    });
    if (pool.tryHold()) send();
    else exchange.waiter = pool.wait(send, timedOut);
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    client: string,
    setCookie?: string,
  ): ProblemError | undefined => {
    if (!clients.take(client)) return clientBusyProblem();
    // Node has answered 100 Continue already; passed on, the field would also make
    // http-proxy-middleware skip the proxyReq event, and with it the timers set there.
    if (req.headers.expect !== undefined) delete req.headers.expect;
    begin(
      req,
      client,
      // The backend connection is given back with the response: by then the backend's answer was
      // read whole (or the exchange abandoned, and the backend request with it). 'close' comes once.
      (release) => res.on('close', release),
      // http-proxy-middleware already reported a failure through on.error; its promise only repeats it.
      () => void proxy(req, res, () => undefined).catch(() => undefined),
      () => options.onError(queueTimeout(limits.queueTimeoutMs), req, res),
      setCookie,
    );
    return undefined;
  };

  const upgrade = (
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
    client: string,
  ): ProblemError | undefined => {
    if (!clients.take(client)) return clientBusyProblem();
    begin(
      req,
      client,
      (release) => socket.once('close', release),
      () => upgradeProxy.upgrade(req, socket, head),
      () => failUpgrade(queueTimeout(limits.queueTimeoutMs), req, socket),
    );
    return undefined;
  };

  return Object.assign(forward, {
    upgrade,
    usage: () => pool.usage(),
    saturated: () => pool.saturated(),
    close: () => agent.destroy(),
  });
}

function queueTimeout(ms: number): ExchangeLimitError {
  return new ExchangeLimitError('queue_timeout', `no upstream connection came free in ${ms} ms`);
}

function bodyTooSlow(): ExchangeLimitError {
  return new ExchangeLimitError('body_too_slow', 'the request body arrived below the minimum rate');
}

function responseStalled(): ExchangeLimitError {
  return new ExchangeLimitError('response_stalled', 'the client took none of the response');
}

/** A request that declares content: a chunked body or a non-zero length. */
function hasBody(req: IncomingMessage): boolean {
  const { 'content-length': length, 'transfer-encoding': transferEncoding } = req.headers;
  return transferEncoding !== undefined || (length !== undefined && length !== '0');
}

function isSmall(proxyRes: IncomingMessage): boolean {
  const length = proxyRes.headers['content-length'];
  return length !== undefined && Number(length) <= SMALL_RESPONSE_BYTES;
}

function isServerResponse(res: unknown): res is ServerResponse {
  return typeof (res as ServerResponse | undefined)?.writeHead === 'function';
}
