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

/** Kept only when they come from a trusted hop (`trustProxy`), which the sidecar then appends to. */
const FORWARDED_BY_PROXIES = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port'];

export type HeaderStripper = (headers: IncomingHttpHeaders, peerTrusted: boolean) => void;

/**
 * Builds the stage that removes what a client may not claim. Names are compared the way CGI, PHP
 * and Python servers fold them (any case, `_` for `-`), so `X_User` is stripped like `X-User`.
 */
export function createHeaderStripper(identityHeaders: readonly string[]): HeaderStripper {
  const always = new Set([...identityHeaders, ...ALWAYS_STRIPPED].map(foldHeaderName));
  const untrusted = new Set([...always, ...FORWARDED_BY_PROXIES.map(foldHeaderName)]);
  return (headers, peerTrusted) => {
    const forbidden = peerTrusted ? always : untrusted;
    for (const name in headers) {
      if (forbidden.has(foldHeaderName(name))) delete headers[name];
    }
  };
}

function foldHeaderName(name: string): string {
  // Node hands over lower-cased names already; most have no `_`, and those are returned as they are.
  const lower = name.toLowerCase();
  return lower.includes('_') ? lower.replaceAll('_', '-') : lower;
}
