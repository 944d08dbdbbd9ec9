import { request, type Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface JsonResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  /** From sending the request to the end of the response, in milliseconds. */
  readonly ms: number;
}

export interface JsonRequest {
  readonly method?: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /** false for a fresh connection per request. */
  readonly agent?: Agent | false;
}

/** One HTTP exchange; the body is parsed as JSON when it is JSON. */
export function sendJson(url: string, options: JsonRequest = {}): Promise<JsonResponse> {
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  return exchange(
    url,
    options,
    payload === undefined ? undefined : { type: 'application/json', text: payload },
  );
}

/** A POST of an HTML form (application/x-www-form-urlencoded), as a browser submits one. */
export function sendForm(
  url: string,
  fields: Readonly<Record<string, string>>,
  options: Omit<JsonRequest, 'body'> = {},
): Promise<JsonResponse> {
  const text = new URLSearchParams(fields).toString();
  return exchange(url, options, { type: 'application/x-www-form-urlencoded', text });
}

function exchange(
  url: string,
  options: Omit<JsonRequest, 'body'>,
  payload: { readonly type: string; readonly text: string } | undefined,
): Promise<JsonResponse> {
  return new Promise<JsonResponse>((resolve, reject) => {
    const started = process.hrtime.bigint();
    const req = request(
      url,
      {
        method: options.method ?? (payload === undefined ? 'GET' : 'POST'),
        agent: options.agent ?? false,
        headers: {
          ...(payload === undefined
            ? {}
            : { 'content-type': payload.type, 'content-length': Buffer.byteLength(payload.text) }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parseJson(text), ms });
        });
      },
    );
    req.on('error', reject);
    req.end(payload?.text);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export interface PollOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Polling stops with an error once this says the server process is gone. */
  readonly isAlive?: () => boolean;
}

/**
 * Polls `url` on a fresh connection every `intervalMs` until it answers 200; resolves with the
 * time of that answer (process.hrtime.bigint()).
 */
export async function pollUntilOk(url: string, options: PollOptions = {}): Promise<bigint> {
  const { timeoutMs = 15_000, intervalMs = 2, isAlive = () => true } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await sendJson(url);
      if (response.status === 200) return process.hrtime.bigint();
    } catch {
      // Not listening yet.
    }
    if (!isAlive()) throw new Error(`${url}: the process exited before it was ready`);
    if (Date.now() > deadline) throw new Error(`${url}: not ready after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
