/**
 * One canonical path per request: the rules are matched on it and the backend receives it, so the
 * two can never disagree about which resource was asked for.
 *
 * The canonical form spells every octet one way, so that a rule matches every spelling a backend
 * reads as the same path (nginx, Go, Spring and Django route on the decoded path): a character
 * allowed raw in a path segment (RFC 3986 §3.3 pchar: unreserved, sub-delims, `:` and `@`) is raw,
 * however it was sent (`%3A` is `:`); every other octet is a %-escape in upper-case hex (a raw `[`
 * becomes `%5B`, `ü` is `%C3%BC`). `%3B` stays encoded (a raw `;` is a path parameter), and so do
 * `%25`, `%3F` and `%23`. Rule globs are put in the same form by `canonicalGlob`.
 */

import { hasMethodOverrideParameter } from './method-override.js';

export type PathRejection =
  | 'not_origin_form'
  | 'forbidden_character'
  | 'invalid_percent_encoding'
  | 'encoded_delimiter'
  | 'path_parameter'
  | 'invalid_utf8'
  | 'above_root'
  /** `%25` before two hex digits: a backend that decodes twice reads another path. */
  | 'double_encoding'
  /** Characters that NFKC normalization turns into others (`．．`, `／`, `ａ`). */
  | 'not_nfkc'
  /** A `_method` query parameter (see method-override.ts); not a path problem, but as ambiguous. */
  | 'method_override';

export type CanonicalTarget =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly reason: PathRejection; readonly detail: string };

const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const HEX_PAIR = /^[0-9A-Fa-f]{2}$/;

/** How an ASCII octet is spelled in the canonical path. */
const REFUSED = 0;
/** Raw: a pchar (RFC 3986 §3.3) other than `;`, or `/`. */
const RAW = 1;
/** Printable, but not allowed raw in a path: written as a %-escape. */
const ESCAPED = 2;
const PERCENT = 3;
const ASCII_CLASS = buildAsciiClasses();

function buildAsciiClasses(): Uint8Array {
  const classes = new Uint8Array(128);
  for (let code = 0x21; code < 0x7f; code++) classes[code] = ESCAPED;
  for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@/")
    classes[char.charCodeAt(0)] = RAW;
  // A raw backslash is a separator on Windows backends; `#` starts a fragment no client sends.
  classes[0x5c] = REFUSED;
  classes[0x23] = REFUSED;
  classes[0x25] = PERCENT;
  return classes;
}

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
  if (hasMethodOverrideParameter(query)) {
    return reject(
      'method_override',
      'The query holds a _method parameter, which some backends take for the request method; send that method instead.',
    );
  }

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
 * Puts every octet of the path in its one spelling (see the top of this file). Encoded `/`, `\`,
 * `.` and control characters are refused: a backend would decode them into delimiters the rules
 * never saw. Paths already canonical, as nearly all are, are returned as they are, unchanged.
 */
function normalizePercentEncoding(rawPath: string): Decoded {
  let index = 0;
  for (; index < rawPath.length; index++) {
    const code = rawPath.charCodeAt(index);
    if (code >= 0x80 || ASCII_CLASS[code] !== RAW) break;
  }
  if (index === rawPath.length) return { ok: true, path: rawPath };

  let path = rawPath.slice(0, index);
  let nonAscii = false;
  for (; index < rawPath.length; index++) {
    const code = rawPath.charCodeAt(index);
    const kind = code < 0x80 ? ASCII_CLASS[code] : REFUSED;
    if (kind === RAW) {
      path += rawPath.charAt(index);
      continue;
    }
    if (kind === ESCAPED) {
      path += percentEscape(code);
      continue;
    }
    if (kind !== PERCENT) {
      return reject(
        'forbidden_character',
        'The path holds a control character, space, backslash or non-ASCII byte.',
      );
    }
    const hex = rawPath.slice(index + 1, index + 3);
    if (!HEX_PAIR.test(hex)) return reject('invalid_percent_encoding', 'The path holds an invalid %-escape.');
    const octet = parseInt(hex, 16);
    if (octet < 0x20 || octet === 0x7f || octet === 0x2f || octet === 0x5c || octet === 0x2e) {
      return reject('encoded_delimiter', 'The path holds an encoded "/", "\\", "." or control character.');
    }
    if (octet >= 0x80) nonAscii = true;
    // `;` stays encoded: raw, it would be a path parameter.
    path += octet < 0x80 && ASCII_CLASS[octet] === RAW ? String.fromCharCode(octet) : percentEscape(octet);
    index += 2;
  }
  if (nonAscii) {
    try {
      decodeURIComponent(path);
    } catch {
      return reject('invalid_utf8', 'The path is not valid UTF-8 once decoded.');
    }
  }
  return { ok: true, path };
}

function percentEscape(octet: number): string {
  return `%${octet < 0x10 ? '0' : ''}${octet.toString(16).toUpperCase()}`;
}

/**
 * A rule glob in the canonical form requests are compared in: non-ASCII characters as the
 * %-escapes of their UTF-8 octets (no Unicode normalization: paths are compared octet for octet,
 * as backends route them), then every octet spelled as in `canonicalizeTarget`. A glob the schema
 * refused is returned as it is.
 */
export function canonicalGlob(glob: string): string {
  let ascii = '';
  for (const char of glob) ascii += char.charCodeAt(0) < 0x80 ? char : encodeURIComponent(char);
  const normalized = normalizePercentEncoding(ascii);
  return normalized.ok ? normalized.path : glob;
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

/** The spellings `refuseAmbiguousSpelling` lets through, from config's `match` section. */
export interface PathSpelling {
  /** `match.allowEncodedPercent`: allow `%25` before two hex digits. */
  readonly allowEncodedPercent?: boolean;
  /** `match.allowNonNfkcPaths`: allow paths NFKC normalization would change. */
  readonly allowNonNfkcPaths?: boolean;
}

const DOUBLE_ENCODED = /%25[0-9A-Fa-f]{2}/;
/** In a canonical path, an escape of an octet above 0x7F (escapes are upper-case there). */
const NON_ASCII_ESCAPE = /%[89A-F]/;
const DOUBLE_ENCODING = reject(
  'double_encoding',
  'The path holds an encoded "%" before two hex digits, which a backend that decodes twice reads as another path.',
);
const NOT_NFKC = reject(
  'not_nfkc',
  'The path holds characters that Unicode normalization (NFKC) turns into others, such as fullwidth "．" or "／".',
);

/**
 * Refuses a canonical path that a backend could still read as another one: `%25` before two hex
 * digits (decoded twice, `%252e` is `.`), and characters NFKC folds into others (a backend that
 * normalizes Unicode reads `／ａdmin` as `/admin`). In a canonical path every `%` starts an
 * escape, so a path without one, as nearly all are, is checked with that one test.
 */
export function refuseAmbiguousSpelling(
  path: string,
  allowed: PathSpelling,
): Extract<CanonicalTarget, { ok: false }> | undefined {
  if (!path.includes('%')) return undefined;
  if (allowed.allowEncodedPercent !== true && DOUBLE_ENCODED.test(path)) return DOUBLE_ENCODING;
  if (allowed.allowNonNfkcPaths !== true && NON_ASCII_ESCAPE.test(path)) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return reject('invalid_utf8', 'The path is not valid UTF-8 once decoded.');
    }
    if (decoded !== decoded.normalize('NFKC')) return NOT_NFKC;
  }
  return undefined;
}

function reject(reason: PathRejection, detail: string): Extract<CanonicalTarget, { ok: false }> {
  return { ok: false, reason, detail };
}
