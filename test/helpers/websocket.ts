/** A WebSocket echo server as the backend, and a client that reports refusals by status. */
import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface EchoUpstream {
  readonly url: string;
  /** The upgrade requests that reached it: path and headers. */
  readonly upgrades: { url: string; headers: IncomingHttpHeaders }[];
  /** Resolves when a connection that was open closes. */
  nextClose(): Promise<void>;
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const upgrades: EchoUpstream['upgrades'] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const closes: (() => void)[] = [];
  server.on('connection', (socket, req: IncomingMessage) => {
    upgrades.push({ url: req.url ?? '', headers: req.headers });
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('close', () => closes.shift()?.());
  });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    upgrades,
    nextClose: () => new Promise((resolve) => closes.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}

/** Opens a WebSocket; resolves with it once open, or with the HTTP status of the refusal. */
export function connect(url: string, headers: Record<string, string> = {}): Promise<WebSocket | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_req, response) => {
      resolve(response.statusCode ?? 0);
      response.resume();
      socket.terminate();
    });
    socket.once('error', reject);
  });
}
