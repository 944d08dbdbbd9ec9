import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request exactly as it reached the upstream. */
export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  /** Header names and values in the order and case they arrived. */
  readonly rawHeaders: readonly string[];
  readonly bodyBytes: number;
  readonly bodySha256: string;
}

/** Answers a recorded request; the default replies 200 with the recorded request as JSON. */
export type UpstreamBehavior = (req: IncomingMessage, res: ServerResponse, recorded: RecordedRequest) => void;

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  /** Every request that reached the upstream, in arrival order. */
  readonly requests: RecordedRequest[];
  /** Replaces how the next requests are answered. */
  behave(behavior: UpstreamBehavior): void;
  close(): Promise<void>;
}

export const echoRecorded: UpstreamBehavior = (_req, res, recorded) => {
  const body = JSON.stringify(recorded);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
};

/** A real HTTP server on 127.0.0.1 that records what reaches it. */
export async function startUpstream(initial: UpstreamBehavior = echoRecorded): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  let behavior = initial;
  const server: Server = createServer((req, res) => {
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyBytes,
        bodySha256: hash.digest('hex'),
      };
      requests.push(recorded);
      behavior(req, res, recorded);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    behave: (next) => (behavior = next),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
