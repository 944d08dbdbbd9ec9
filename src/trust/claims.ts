/**
 * Reading values out of the verified claims of a trusted provider's token: a dotted path, the
 * roles it names, and the text a claim may carry in an HTTP header. Every function here takes
 * data from a token and so never throws on it, whatever its shape.
 */
import { ROLE_NAME } from '../config/schema.js';

/**
 * Path segments that name the prototype machinery rather than data. JSON.parse makes an own
 * `__proto__` member of `{"__proto__": …}`, so an own-property check alone would not keep them out.
 */
const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Separators of a roles string: `scope` (RFC 6749 §3.3) uses spaces, some providers use commas. */
const ROLE_SEPARATORS = /[\s,]+/;

/**
 * What a header value may hold: visible US-ASCII and space (RFC 9110 §5.5). Control characters
 * would split or smuggle headers, and node's setHeader throws on characters above U+00FF while it
 * sends U+0080–U+00FF as Latin-1 bytes a UTF-8 backend misreads, so non-ASCII text is refused too.
 */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/**
 * The value at a dotted path such as `realm_access.roles`, or undefined when any step is missing,
 * is not a plain object, or names a prototype key. Only own properties are read.
 */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  let current: unknown = claims;
  for (const segment of path.split('.')) {
    if (!isPlainObject(current) || PROTOTYPE_KEYS.has(segment) || !Object.hasOwn(current, segment)) {
      return undefined;
    }
    current = current[segment];
  }
  return current;
}

/**
 * The sidecar roles a claim value grants: an array of strings, or one string of names separated by
 * spaces or commas; anything else grants none. Each name goes through `roleMap` (own entries
 * only); a name without an entry passes as it is, or is dropped when `mapOnly`. Names that are not
 * valid role names (`ROLE_NAME`) are dropped, duplicates are kept once, first occurrence first.
 */
export function rolesFrom(
  value: unknown,
  roleMap: Readonly<Record<string, string>>,
  mapOnly: boolean,
): readonly string[] {
  const roles = new Set<string>();
  for (const name of roleNamesIn(value)) {
    const role = Object.hasOwn(roleMap, name) ? roleMap[name] : mapOnly ? undefined : name;
    if (role !== undefined && ROLE_NAME.test(role)) roles.add(role);
  }
  return [...roles];
}

/**
 * The text of a claim value for an HTTP header: a string as it is, a number or boolean as JSON
 * writes it, an array of those joined with commas (an empty array gives ''). Objects, nested
 * arrays, null and text outside visible ASCII and space (see {@link HEADER_SAFE}) give undefined:
 * no header rather than a wrong or dangerous one. An element containing a comma is passed as it
 * is, so a backend splitting on commas sees it as two values.
 */
export function headerValueOf(value: unknown): string | undefined {
  if (Array.isArray(value)) {
    const parts: string[] = [];
    for (const element of value) {
      const part = scalarText(element);
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return parts.join(',');
  }
  return scalarText(value);
}

function scalarText(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'boolean') text = String(value);
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else return undefined;
  return HEADER_SAFE.test(text) ? text : undefined;
}

function roleNamesIn(value: unknown): readonly string[] {
  if (typeof value === 'string') return value.split(ROLE_SEPARATORS).filter((name) => name !== '');
  if (Array.isArray(value)) return value.filter((name): name is string => typeof name === 'string');
  return [];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
