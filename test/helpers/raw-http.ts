import { connect } from 'node:net';

/** A response as read off the wire, for requests a well-behaved client would not send. */
export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; a repeated field's values are joined with `, `. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The whole response head and body, as received. */
  readonly raw: string;
}

export interface RawRequest {
  readonly method?: string;
  /** Sent byte for byte: `//admin`, `http://other/x`, `/a\b` and the like. */
  readonly target: string;
  /** Sent in this order and spelling. `Host` is added when absent; `Connection: close` too. */
  readonly headers?: readonly (readonly [string, string])[];
  readonly body?: string | Buffer;
}

/** Gives up on a response that never completes, so a broken proxy fails a test instead of hanging it. */
const GIVE_UP_MS = 10_000;

/** Writes one HTTP/1.1 request on a fresh TCP connection and reads one response. */
export function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const headers = [...(request.headers ?? [])];
  const has = (name: string) => headers.some(([key]) => key.toLowerCase() === name);
  if (!has('host')) headers.unshift(['Host', url.host]);
  if (!has('connection')) headers.push(['Connection', 'close']);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  if (body !== undefined && !has('content-length') && !has('transfer-encoding')) {
    headers.push(['Content-Length', String(body.length)]);
  }
  const head =
    `${request.method ?? 'GET'} ${request.target} HTTP/1.1\r\n` +
    headers.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
    '\r\n';

  return new Promise<RawResponse>((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) {
        reject(error);
        return;
      }
      try {
        resolve(parse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    socket.setTimeout(GIVE_UP_MS, () => finish(new Error(`no complete response to ${request.target}`)));
    socket.on('connect', () => {
      socket.write(head);
      if (body !== undefined) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (isComplete(Buffer.concat(chunks))) finish();
    });
    socket.on('end', () => finish());
    socket.on('error', (err) => (chunks.length > 0 ? finish() : finish(err)));
  });
}

function isComplete(data: Buffer): boolean {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(data.subarray(0, end).toString('latin1'));
  return length !== null && data.length - (end + 4) >= Number(length[1]);
}

function parse(data: Buffer): RawResponse {
  const raw = data.toString('utf8');
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`incomplete response: ${JSON.stringify(raw)}`);
  const [statusLine = '', ...fieldLines] = raw.slice(0, end).split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!status) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of fieldLines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(status[1]), headers, body: raw.slice(end + 4), raw };
}
