import { connect } from 'node:net';
import type { RawResponse } from './raw-http.js';

/** Everything one connection carried back for bytes written on it as they are. */
export interface WireExchange {
  /** Every complete response, in order (a `100 Continue` counts as one). */
  readonly responses: readonly RawResponse[];
  /** True when the server ended the connection; false when the wanted number of responses came first. */
  readonly closedByServer: boolean;
  /** All bytes received, as latin1. */
  readonly raw: string;
}

export interface WireOptions {
  /**
   * Stop reading once this many complete responses have arrived. Without it the exchange ends
   * only when the server closes the connection, so the bytes must make it close (a final
   * `Connection: close` request, or a request the server refuses).
   */
  readonly responses?: number;
}

/** Gives up on a connection that neither closes nor answers, so a test fails instead of hanging. */
const GIVE_UP_MS = 10_000;

/**
 * Writes `bytes` on a fresh TCP connection exactly as given (pipelined requests, conflicting
 * framing, bare control bytes) and collects every response the server sends back on it.
 */
export function sendBytes(
  baseUrl: string,
  bytes: string | Buffer,
  options: WireOptions = {},
): Promise<WireExchange> {
  const url = new URL(baseUrl);
  const payload = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  return new Promise<WireExchange>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByServer: boolean, error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const data = Buffer.concat(chunks);
      if (error) reject(error);
      else resolve({ responses: parseResponses(data), closedByServer, raw: data.toString('latin1') });
    };
    socket.setTimeout(GIVE_UP_MS, () => {
      const seen = JSON.stringify(Buffer.concat(chunks).toString('latin1').slice(0, 500));
      finish(false, new Error(`the connection neither closed nor answered in full; received ${seen}`));
    });
    socket.on('connect', () => socket.write(payload));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const wanted = options.responses;
      if (wanted !== undefined && parseResponses(Buffer.concat(chunks)).length >= wanted) finish(false);
    });
    socket.on('end', () => finish(true));
    // A server that resets after answering has still answered; a reset before any byte is an error.
    socket.on('error', (err) => (chunks.length > 0 ? finish(true) : finish(false, err)));
  });
}

/** The complete HTTP/1.x responses at the start of `data`; an incomplete last one is left out. */
export function parseResponses(data: Buffer): RawResponse[] {
  const responses: RawResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return responses;
    const [statusLine = '', ...fieldLines] = data.subarray(at, headEnd).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!status) return responses;
    const headers: Record<string, string> = {};
    for (const line of fieldLines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const body = readBody(data, headEnd + 4, headers);
    if (body === undefined) return responses;
    responses.push({
      status: Number(status[1]),
      headers,
      body: body.text,
      raw: data.subarray(at, body.end).toString('latin1'),
    });
    at = body.end;
  }
}

function readBody(
  data: Buffer,
  start: number,
  headers: Readonly<Record<string, string>>,
): { text: string; end: number } | undefined {
  if (!/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) {
    const length = Number(headers['content-length'] ?? '0');
    if (data.length < start + length) return undefined;
    return { text: data.subarray(start, start + length).toString('utf8'), end: start + length };
  }
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) return undefined;
    const size = parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) {
      const trailerEnd = data.indexOf('\r\n\r\n', lineEnd - 2);
      if (trailerEnd === -1) return undefined;
      return { text: Buffer.concat(parts).toString('utf8'), end: trailerEnd + 4 };
    }
    if (data.length < lineEnd + 2 + size + 2) return undefined;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
