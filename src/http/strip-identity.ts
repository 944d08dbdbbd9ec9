import type { IncomingHttpHeaders } from 'node:http';

/**
 * Headers a client may never set: the forwarding headers the sidecar writes itself, overrides of
 * the method or path that some frameworks honour (and that would turn an allowed request into
 * another one behind the rules' back), and X-Real-IP.
 */
const ALWAYS_STRIPPED = [
  'forwarded',
  'x-real-ip',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
];

/**
 * Other spellings of the scheme, and the original path as other proxies pass it on: backends build
 * links and decisions from them, and no hop in front of the sidecar is believed on them.
 */
const PROXY_CLAIMS = ['x-url-scheme', 'front-end-https', 'x-envoy-original-path', 'x-original-path'];

/**
 * Kept only when they come from a trusted hop (`trustProxy`), which the sidecar then appends to.
 * Every other `X-Forwarded-*` (`-Prefix`, `-Uri`, `-Path`, `-Server`, `-Ssl`, `-Scheme`, …) is
 * removed from every request, trusted hop or not: a prefix or path the rules never saw would let
 * a backend build links to, or decide on, another resource than the one that was allowed.
 */
const FORWARDED_BY_PROXIES = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port'];

const FORWARDED_PREFIX = 'x-forwarded-';

export type HeaderStripper = (headers: IncomingHttpHeaders, peerTrusted: boolean) => void;

/**
 * Builds the stage that removes what a client may not claim. Names are compared the way CGI, PHP
 * and Python servers fold them (any case, `_` for `-`), so `X_User` is stripped like `X-User`.
 * Per header: one fold, one Set lookup and, for `x-forwarded-*` names, one more.
 */
export function createHeaderStripper(identityHeaders: readonly string[]): HeaderStripper {
  const always = new Set([...identityHeaders, ...ALWAYS_STRIPPED, ...PROXY_CLAIMS].map(foldHeaderName));
  const trustedForwarded = new Set(FORWARDED_BY_PROXIES);
  return (headers, peerTrusted) => {
    for (const name in headers) {
      const folded = foldHeaderName(name);
      if (
        always.has(folded) ||
        (folded.startsWith(FORWARDED_PREFIX) && !(peerTrusted && trustedForwarded.has(folded)))
      ) {
        delete headers[name];
      }
    }
  };
}

function foldHeaderName(name: string): string {
  // Node hands over lower-cased names already; most have no `_`, and those are returned as they are.
  const lower = name.toLowerCase();
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}
