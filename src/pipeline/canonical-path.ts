/**
 * One canonical path per request: the rules are matched on it and the backend receives it, so the
 * two can never disagree about which resource was asked for.
 */

export type PathRejection =
  | 'not_origin_form'
  | 'forbidden_character'
  | 'invalid_percent_encoding'
  | 'encoded_delimiter'
  | 'path_parameter'
  | 'invalid_utf8'
  | 'above_root';

export type CanonicalTarget =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly reason: PathRejection; readonly detail: string };

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
/** RFC 3986 §2.3 unreserved, minus `.` which is refused encoded (it would hide a dot segment). */
const DECODABLE = /^[A-Za-z0-9\-_~]$/;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

/**
 * Splits a request-target into canonical path and raw query. Origin-form and absolute-form are
 * accepted; of the latter only the path is used, never the host it names.
 */
export function canonicalizeTarget(requestTarget: string): CanonicalTarget {
  let target = requestTarget;
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute) {
    const afterAuthority = target.slice(absolute[0].length).search(/[/?]/);
    target = afterAuthority === -1 ? '/' : target.slice(absolute[0].length + afterAuthority);
    if (target.startsWith('?')) target = `/${target}`;
  }
  if (!target.startsWith('/')) return reject('not_origin_form', 'The request target must be a path.');

  const queryStart = target.indexOf('?');
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const query = queryStart === -1 ? '' : target.slice(queryStart);
  if (hasForbiddenCharacter(query))
    return reject('forbidden_character', 'The query holds a forbidden character.');

  // Servlet containers strip `;params` from each segment before routing (`/admin;x=1` is /admin,
  // `/public/..;/admin` is /admin), other servers do not: no single path would be right for both.
  if (rawPath.includes(';')) return reject('path_parameter', 'The path holds a ";" path parameter.');
  const decoded = normalizePercentEncoding(rawPath);
  if (!decoded.ok) return decoded;
  const resolved = resolveSegments(decoded.path);
  if (resolved === undefined) return reject('above_root', 'The path climbs above the root with "..".');
  return { ok: true, path: resolved, query };
}

/** Printable ASCII only, and no backslash: anything else means different things to different servers. */
function hasForbiddenCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code >= 0x7f || code === 0x5c || code === 0x23) return true;
  }
  return false;
}

type Decoded = { readonly ok: true; readonly path: string } | Extract<CanonicalTarget, { ok: false }>;

/**
 * RFC 3986 §6.2.2: decode percent-encoded unreserved characters, upper-case the hex of the rest.
 * Encoded `/`, `\`, `.` and control characters are refused: a backend would decode them into
 * delimiters the rules never saw.
 */
function normalizePercentEncoding(rawPath: string): Decoded {
  if (hasForbiddenCharacter(rawPath)) {
    return reject(
      'forbidden_character',
      'The path holds a control character, space, backslash or non-ASCII byte.',
    );
  }
  if (!rawPath.includes('%')) return { ok: true, path: rawPath };

  let path = '';
  for (let i = 0; i < rawPath.length; i++) {
    const char = rawPath.charAt(i);
    if (char !== '%') {
      path += char;
      continue;
    }
    const hex = rawPath.slice(i + 1, i + 3);
    if (!HEX_PAIR.test(hex)) return reject('invalid_percent_encoding', 'The path holds an invalid %-escape.');
    const code = parseInt(hex, 16);
    const decoded = String.fromCharCode(code);
    if (code < 0x20 || code === 0x7f || decoded === '/' || decoded === '\\' || decoded === '.') {
      return reject('encoded_delimiter', 'The path holds an encoded "/", "\\", "." or control character.');
    }
    path += DECODABLE.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  try {
    decodeURIComponent(path);
  } catch {
    return reject('invalid_utf8', 'The path is not valid UTF-8 once decoded.');
  }
  return { ok: true, path };
}

/**
 * Collapses repeated slashes and removes `.` and `..` segments (RFC 3986 §5.2.4); undefined when
 * `..` would climb above the root. A trailing slash is kept, since backends may tell them apart.
 */
function resolveSegments(path: string): string | undefined {
  if (!path.includes('//') && !/\/\.\.?(\/|$)/.test(path)) return path;
  const segments = path.split('/');
  const output: string[] = [];
  for (const segment of segments.slice(1)) {
    if (segment === '..') {
      if (output.length === 0) return undefined;
      output.pop();
    } else if (segment !== '.' && segment !== '') {
      output.push(segment);
    }
  }
  const last = segments[segments.length - 1];
  const trailingSlash = output.length > 0 && (last === '' || last === '.' || last === '..');
  return `/${output.join('/')}${trailingSlash ? '/' : ''}`;
}

function reject(reason: PathRejection, detail: string): Extract<CanonicalTarget, { ok: false }> {
  return { ok: false, reason, detail };
}
