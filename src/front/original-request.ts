/**
 * The original request as the proxy in front reports it to forward-auth, read from the one pair of
 * headers `forwardAuth.headers` names.
 */
import type { IncomingMessage } from 'node:http';
import { ProblemError } from '../errors.js';

/**
 * Which pair of headers carries the original request (`forwardAuth.headers`): nginx's
 * auth_request is configured with X-Original-Method/-URI; Traefik and Caddy send
 * X-Forwarded-Method/-Uri themselves.
 */
export type OriginalHeaderPair = 'original' | 'forwarded';

const PAIRS: Readonly<Record<OriginalHeaderPair, { readonly method: string; readonly uri: string }>> = {
  original: { method: 'X-Original-Method', uri: 'X-Original-URI' },
  forwarded: { method: 'X-Forwarded-Method', uri: 'X-Forwarded-Uri' },
};

/** RFC 9110 §9.1: a method is a token. */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The original request as the proxy in front reports it, or why its report cannot be believed.
 * Read before the header stripping, which removes some of these headers from every request.
 */
export type OriginalRequest =
  | { readonly ok: true; readonly method: string; readonly uri: string }
  | { readonly ok: false; readonly error: ProblemError };

/**
 * Reads the configured pair, and only it. A proxy passes the client's own headers on to the
 * question, so any header of the other pair, or a repeated one, may be the client's: the request
 * is refused rather than one spelling chosen over another.
 */
export function originalRequestOf(req: IncomingMessage, pair: OriginalHeaderPair): OriginalRequest {
  const names = PAIRS[pair];
  const other = PAIRS[pair === 'original' ? 'forwarded' : 'original'];
  const counts = countHeaders(req.rawHeaders, [names.method, names.uri, other.method, other.uri]);
  const refuse = (detail: string): OriginalRequest => ({
    ok: false,
    error: new ProblemError('invalid_request', detail),
  });
  const stray = [other.method, other.uri].filter((name) => (counts.get(name.toLowerCase()) ?? 0) > 0);
  if (stray.length > 0) {
    return refuse(
      `${stray.join(' and ')} must not come with a forward-auth question: only ${names.method} and ${names.uri} are read (forwardAuth.headers: ${pair}); the proxy in front must clear the other pair.`,
    );
  }
  for (const name of [names.method, names.uri]) {
    const count = counts.get(name.toLowerCase()) ?? 0;
    if (count === 0) return refuse(`${name} is required (forwardAuth.headers: ${pair}).`);
    if (count > 1) return refuse(`${name} must be sent once.`);
  }
  const method = req.headers[names.method.toLowerCase()];
  const uri = req.headers[names.uri.toLowerCase()];
  if (typeof method !== 'string' || !METHOD_TOKEN.test(method)) {
    return refuse(`${names.method} must be an HTTP method.`);
  }
  if (typeof uri !== 'string' || uri === '') return refuse(`${names.uri} must not be empty.`);
  return { ok: true, method: method.toUpperCase(), uri };
}

/** How often each of `names` occurs in the raw header list, keyed by lower-cased name. */
function countHeaders(raw: readonly string[], names: readonly string[]): Map<string, number> {
  const wanted = new Set(names.map((name) => name.toLowerCase()));
  const counts = new Map<string, number>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]?.toLowerCase();
    if (name !== undefined && wanted.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}
