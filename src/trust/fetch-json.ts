/**
 * One bounded GET of a provider's JSON document (its OpenID configuration or its JWKS): a time
 * limit over the whole exchange, a size limit on the body, no redirects, and failures as values
 * with stable reason ids rather than exceptions, since every caller logs them and carries on.
 */

/** Why a fetch gave nothing usable; logged as `reason`. */
export type FetchFailure =
  'timeout' | 'network' | 'redirect' | 'http_status' | 'too_large' | 'not_json' | 'closed';

export type FetchJsonResult =
  | { readonly ok: true; readonly body: Record<string, unknown>; readonly cacheControl: string | undefined }
  | { readonly ok: false; readonly reason: FetchFailure; readonly status?: number };

export interface FetchJsonOptions {
  /** For the whole exchange, headers and body. */
  readonly timeoutMs: number;
  readonly maxBytes: number;
  /** Aborts the fetch when the owner closes; the result is then `closed`. */
  readonly signal: AbortSignal;
}

/**
 * GETs `url` and parses its body as a JSON object. Never rejects. Redirects are refused: the
 * config names the document's exact URL, and following a redirect would let whoever controls it
 * choose where the keys come from.
 */
export async function fetchJson(url: string, options: FetchJsonOptions): Promise<FetchJsonResult> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = AbortSignal.any([timeout, options.signal]);
  const failure = (reason: FetchFailure, status?: number): FetchJsonResult => ({
    ok: false,
    reason: options.signal.aborted ? 'closed' : timeout.aborted ? 'timeout' : reason,
    ...(status === undefined ? {} : { status }),
  });

  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'manual', headers: { accept: 'application/json' } });
  } catch {
    return failure('network');
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    return failure('redirect', response.status);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    return failure('http_status', response.status);
  }
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    return failure('too_large');
  }

  let bytes: Buffer | undefined;
  try {
    bytes = await readAtMost(response, options.maxBytes);
  } catch {
    return failure('network');
  }
  if (bytes === undefined) return failure('too_large');

  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    return failure('not_json');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return failure('not_json');
  return {
    ok: true,
    body: body as Record<string, unknown>,
    cacheControl: response.headers.get('cache-control') ?? undefined,
  };
}

/** The body, or undefined as soon as it grows past `maxBytes` (the rest is not read). */
async function readAtMost(response: Response, maxBytes: number): Promise<Buffer | undefined> {
  if (response.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    // Typed by hand: the web stream types here leave the chunk as any.
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done || value === undefined) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Cache lifetimes outside these bounds are clamped: keys are neither refetched in a loop nor kept for days. */
export const MIN_KEYS_LIFETIME_MS = 5 * 60_000;
export const MAX_KEYS_LIFETIME_MS = 24 * 60 * 60_000;
/** When the response says nothing about caching. */
export const DEFAULT_KEYS_LIFETIME_MS = 60 * 60_000;

/**
 * How long a fetched JWKS is kept before it is refetched: `max-age` of Cache-Control (RFC 9111
 * §5.2.2.1) clamped to 5 minutes–24 hours; `no-store`/`no-cache` give the minimum, and an absent or
 * unreadable header the default of one hour.
 */
export function keysLifetimeMs(cacheControl: string | undefined): number {
  if (cacheControl === undefined) return DEFAULT_KEYS_LIFETIME_MS;
  const directives = cacheControl
    .toLowerCase()
    .split(',')
    .map((directive) => directive.trim());
  if (directives.includes('no-store') || directives.includes('no-cache')) return MIN_KEYS_LIFETIME_MS;
  for (const directive of directives) {
    const match = /^max-age\s*=\s*"?(\d{1,10})"?$/.exec(directive);
    if (match?.[1] !== undefined) {
      const ms = Number(match[1]) * 1000;
      return Math.min(MAX_KEYS_LIFETIME_MS, Math.max(MIN_KEYS_LIFETIME_MS, ms));
    }
  }
  return DEFAULT_KEYS_LIFETIME_MS;
}
