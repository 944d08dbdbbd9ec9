import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/** Gives up on a request line that never arrives, so a test fails instead of hanging. */
const GIVE_UP_MS = 10_000;

export interface BodyBlindUpstream {
  readonly url: string;
  /** Every request line read, in arrival order: `GET /admin/secret HTTP/1.1`. */
  readonly requestLines: readonly string[];
  /** Resolves once a request line starting with `prefix` has been read. */
  arrived(prefix: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * A backend that, like a number of servers and caches, reads no body on GET or HEAD: whatever
 * follows the head of such a request is read as the next request on the connection. Behind a
 * proxy that passes a GET body on, a request hidden in that body runs without any check.
 */
export async function startBodyBlindUpstream(): Promise<BodyBlindUpstream> {
  const requestLines: string[] = [];
  const waiters: { prefix: string; resolve: () => void }[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd === -1) return;
        const [requestLine = '', ...fields] = buffered.subarray(0, headEnd).toString('latin1').split('\r\n');
        const method = requestLine.split(' ')[0];
        const length = fields
          .map((field) => /^content-length:\s*(\d+)\s*$/i.exec(field)?.[1])
          .find((value) => value !== undefined);
        const bodyBytes = method === 'GET' || method === 'HEAD' ? 0 : Number(length ?? '0');
        if (buffered.length < headEnd + 4 + bodyBytes) return;
        buffered = buffered.subarray(headEnd + 4 + bodyBytes);
        requestLines.push(requestLine);
        for (const waiter of waiters.filter((w) => requestLine.startsWith(w.prefix))) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requestLines,
    arrived(prefix) {
      if (requestLines.some((line) => line.startsWith(prefix))) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no request line starting with ${prefix}; saw ${JSON.stringify(requestLines)}`));
        }, GIVE_UP_MS);
        waiters.push({
          prefix,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
