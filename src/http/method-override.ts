/**
 * Method overrides: Rack/Rails, Laravel, Symfony and Express's method-override serve a POST that
 * carries `_method=GET` as a GET, so the rules would decide one method and the backend run another.
 * A `_method` query parameter is refused (400); a form POST, whose body may carry one that the
 * sidecar does not read (it streams bodies), is decided as every method it could name. The
 * override headers (`X-HTTP-Method-Override` and friends) are stripped before anything reads them.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** A cheap first look: a query that holds neither `method` nor a %-escape has no override. */
const HINT = /method|%/i;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;

/**
 * True when a query (`?a=1&b=2`, as received) names `_method` in any spelling a framework reads as
 * that name: any case, %-encoded (`%5Fmethod`), `+` or `.` for `_` (PHP folds ` ` and `.` in names
 * to `_`), with `[...]` after it (`_method[]`), `;` as separator (older Rack).
 */
export function hasMethodOverrideParameter(query: string): boolean {
  if (query.length < 2 || !HINT.test(query)) return false;
  for (const pair of query.slice(1).split(/[&;]/)) {
    const equals = pair.indexOf('=');
    if (isOverrideName(equals === -1 ? pair : pair.slice(0, equals))) return true;
  }
  return false;
}

function isOverrideName(raw: string): boolean {
  // Decoded octet by octet, so that a broken escape elsewhere in the name cannot hide it.
  const decoded = raw
    .replaceAll('+', ' ')
    .replace(ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const name = cutAt(cutAt(decoded, '['), '\0').trim().toLowerCase().replace(/[ .]/g, '_');
  return name === '_method';
}

function cutAt(text: string, char: string): string {
  const index = text.indexOf(char);
  return index === -1 ? text : text.slice(0, index);
}

/** The media types whose bodies frameworks parse for `_method`. */
const FORM_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data']);

/**
 * True when a request may carry `_method` in its body: a POST (the only method the frameworks
 * override) with a form body, or with a body and no Content-Type (Rack parses that as a form).
 */
export function mayCarryMethodOverride(method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== 'POST') return false;
  const type = headers['content-type'];
  if (type === undefined) {
    const length = headers['content-length'];
    return headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  }
  const media = (type.split(';')[0] ?? '').trim().toLowerCase();
  return FORM_TYPES.has(media);
}
