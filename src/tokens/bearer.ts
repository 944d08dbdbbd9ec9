/** What an Authorization header holds, as far as the Bearer scheme (RFC 6750 §2.1) is concerned. */
export type BearerCredentials =
  | { readonly kind: 'none' }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'malformed' };

/** RFC 6750 §2.1 b64token. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Reads `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). Several Authorization
 * headers, two tokens or another scheme are malformed.
 */
export function parseBearer(header: string | readonly string[] | undefined): BearerCredentials {
  if (typeof header !== 'string') return header === undefined ? { kind: 'none' } : { kind: 'malformed' };
  if (header === '') return { kind: 'none' };
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') return { kind: 'malformed' };
  const token = header.slice(space + 1).trim();
  return B64TOKEN.test(token) ? { kind: 'token', token } : { kind: 'malformed' };
}
