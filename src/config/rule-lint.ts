/**
 * Static checks on the rule list, decided on the glob structure rather than on sample paths: a rule
 * no request can reach is a mistake (an error), a public rule that opens part of a later protected
 * rule may be one (a warning).
 */
import { METHODS } from 'node:http';
import type { Config, RuleConfig } from './schema.js';
import { canonicalGlob, refuseAmbiguousSpelling } from '../http/canonical-path.js';

/** One thing found about one rule; `index` is the rule the finding is reported at. */
export interface RuleFinding {
  readonly severity: 'error' | 'warning';
  readonly index: number;
  readonly message: string;
}

export interface GlobOptions {
  /** `match.caseInsensitive`: literals compare without regard to case. */
  readonly caseInsensitive?: boolean;
}

/**
 * What one path segment may be: a literal, `*` (any non-empty text) or anything (a segment under
 * `**`, which may be empty).
 */
type SegmentSet =
  { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'star' } | { readonly kind: 'any' };

/**
 * A set of paths, as segments after the leading `/` (`/` is one empty segment, `/a/` is `a` then an
 * empty one): exactly `segments.length` segments, or, when `open`, that many or more, every one past
 * the listed ones being anything.
 */
interface Shape {
  readonly segments: readonly SegmentSet[];
  readonly open: boolean;
}

const ANY: SegmentSet = { kind: 'any' };
const EMPTY: SegmentSet = { kind: 'literal', text: '' };

/**
 * The paths a glob matches, as a union of shapes whose lengths never coincide, the exact mirror of
 * `globToRegExp`: `^/$` for `/`; otherwise one set per segment, then either `(?:/.*)?` (a trailing
 * `**`: nothing more, or one or more segments of anything) or `/?` (an optional trailing slash).
 */
function shapesOf(glob: string): Shape[] {
  if (glob === '/') return [{ segments: [EMPTY], open: false }];
  const parts = glob.slice(1).split('/');
  const deep = parts[parts.length - 1] === '**';
  const segments = (deep ? parts.slice(0, -1) : parts).map((part): SegmentSet =>
    part === '*' ? { kind: 'star' } : { kind: 'literal', text: part },
  );
  if (!deep)
    return [
      { segments, open: false },
      { segments: [...segments, EMPTY], open: false },
    ];
  // A canonical path has at least one segment, so `/**` has no zero-segment shape.
  const deeper: Shape = { segments: [...segments, ANY], open: true };
  return segments.length === 0 ? [deeper] : [{ segments, open: false }, deeper];
}

function segmentAt(shape: Shape, index: number): SegmentSet | undefined {
  return shape.segments[index] ?? (shape.open ? ANY : undefined);
}

function sameLiteral(a: string, b: string, options: GlobOptions): boolean {
  return options.caseInsensitive ? a.toLowerCase() === b.toLowerCase() : a === b;
}

/** Every segment `inner` allows, `outer` allows. */
function segmentCovers(outer: SegmentSet, inner: SegmentSet, options: GlobOptions): boolean {
  switch (outer.kind) {
    case 'any':
      return true;
    case 'star':
      return inner.kind === 'star' || (inner.kind === 'literal' && inner.text !== '');
    case 'literal':
      return inner.kind === 'literal' && sameLiteral(outer.text, inner.text, options);
  }
}

/** One segment both allow, or undefined when there is none. */
function commonSegment(a: SegmentSet, b: SegmentSet, options: GlobOptions): string | undefined {
  if (a.kind === 'literal' && b.kind === 'literal')
    return sameLiteral(a.text, b.text, options) ? a.text : undefined;
  const literal = a.kind === 'literal' ? a : b.kind === 'literal' ? b : undefined;
  if (literal === undefined) return 'x';
  const other = literal === a ? b : a;
  return other.kind === 'star' && literal.text === '' ? undefined : literal.text;
}

function shapeCovers(outer: Shape, inner: Shape, options: GlobOptions): boolean {
  const outerLength = outer.segments.length;
  const innerLength = inner.segments.length;
  if (
    inner.open
      ? !outer.open || outerLength > innerLength
      : outer.open
        ? innerLength < outerLength
        : innerLength !== outerLength
  )
    return false;
  for (let index = 0; index < innerLength; index++) {
    const outerSegment = segmentAt(outer, index);
    const innerSegment = inner.segments[index];
    if (!outerSegment || !innerSegment || !segmentCovers(outerSegment, innerSegment, options)) return false;
  }
  return true;
}

/** Segments of a path in both shapes, or undefined when they share none. */
function commonPath(a: Shape, b: Shape, options: GlobOptions): string[] | undefined {
  const aLength = a.segments.length;
  const bLength = b.segments.length;
  if (!a.open && !b.open && aLength !== bLength) return undefined;
  if (!a.open && b.open && aLength < bLength) return undefined;
  if (a.open && !b.open && bLength < aLength) return undefined;
  const path: string[] = [];
  for (let index = 0; index < Math.max(aLength, bLength); index++) {
    const aSegment = segmentAt(a, index);
    const bSegment = segmentAt(b, index);
    if (!aSegment || !bSegment) return undefined;
    const common = commonSegment(aSegment, bSegment, options);
    if (common === undefined) return undefined;
    path.push(common);
  }
  return path;
}

/**
 * True when every canonical path `b` matches, `a` matches too. Exact: the shapes of one glob have
 * distinct lengths, so each shape of `b` must fit inside the one shape of `a` of its length(s).
 */
export function globCovers(a: string, b: string, options: GlobOptions = {}): boolean {
  const outer = shapesOf(a);
  return shapesOf(b).every((inner) => outer.some((shape) => shapeCovers(shape, inner, options)));
}

/** A path both globs match (as specific as the more specific glob), or undefined when none exists. */
export function overlapExample(a: string, b: string, options: GlobOptions = {}): string | undefined {
  for (const aShape of shapesOf(a)) {
    for (const bShape of shapesOf(b)) {
      const path = commonPath(aShape, bShape, options);
      if (path) return `/${path.join('/')}`;
    }
  }
  return undefined;
}

/** True when some canonical path matches both globs. */
export function globsOverlap(a: string, b: string, options: GlobOptions = {}): boolean {
  return overlapExample(a, b, options) !== undefined;
}

/** The methods a rule applies to, HEAD added wherever GET is; undefined means every method. */
function methodsOf(rule: RuleConfig): ReadonlySet<string> | undefined {
  if (rule.methods === undefined) return undefined;
  const methods = new Set<string>(rule.methods);
  // RFC 9110 §9.3.2: HEAD is allowed wherever GET is, as `compileRules` does.
  if (methods.has('GET')) methods.add('HEAD');
  return methods;
}

function methodsCommon(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined) {
  if (a === undefined) return b ?? 'all';
  if (b === undefined) return a;
  return new Set([...a].filter((method) => b.has(method)));
}

function describeMethods(methods: ReadonlySet<string> | 'all'): string {
  return methods === 'all' ? 'every method' : [...methods].join(', ');
}

function sameSet(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.size === b.size && [...a].every((item) => b.has(item));
}

function accessKey(rule: RuleConfig): string {
  if (rule.public) return 'public';
  if (rule.authenticated) return 'authenticated';
  return `roles:${[...new Set(rule.roles)].sort().join(',')}`;
}

function isProtected(rule: RuleConfig): boolean {
  return rule.authenticated === true || rule.roles !== undefined;
}

/**
 * Methods worth naming, in this order: those of RFC 9110 and PATCH, then the rest Node's parser
 * accepts (WebDAV, PURGE, QUERY, ...). Any other token is covered by "every other method".
 */
const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'];
const KNOWN_METHODS: readonly string[] = [
  ...STANDARD_METHODS,
  ...[...METHODS].filter((method) => !STANDARD_METHODS.includes(method)).sort(),
];

/**
 * Checks the rules in order: duplicates and rules that earlier rules wholly shadow are errors; a
 * public rule that overlaps a later protected one is a warning. `ruleLines` only names lines in the
 * messages.
 */
export function lintRules(
  config: Pick<Config, 'rules'> & { readonly match?: Config['match'] },
  ruleLines: readonly (number | undefined)[] = [],
): RuleFinding[] {
  const options: GlobOptions = { caseInsensitive: config.match?.caseInsensitive ?? false };
  // Compared in the form requests are matched in; named in messages as written.
  const rules = config.rules.map((rule) => ({ ...rule, path: canonicalGlob(rule.path) }));
  const written = (index: number) => config.rules[index]?.path ?? '';
  const methods = rules.map(methodsOf);
  const name = (index: number) => {
    const line = ruleLines[index];
    return line === undefined ? `rules[${index}]` : `rules[${index}] (line ${line})`;
  };
  const findings: RuleFinding[] = [];

  rules.forEach((rule, index) => {
    const earlier = rules.slice(0, index);
    const duplicate = earlier.findIndex(
      (other, otherIndex) =>
        sameLiteral(other.path, rule.path, options) &&
        sameSet(methods[otherIndex], methods[index]) &&
        accessKey(other) === accessKey(rule),
    );
    if (duplicate !== -1) {
      findings.push({ severity: 'error', index, message: `duplicate of ${name(duplicate)}; remove one` });
      return;
    }

    const shadowing = findShadowing(rules, methods, index, options);
    if (shadowing) {
      findings.push({
        severity: 'error',
        index,
        message:
          `never matches: ${shadowing.map(name).join(' and ')} ` +
          `${shadowing.length === 1 ? 'comes' : 'come'} first and ${shadowing.length === 1 ? 'matches' : 'match'} ` +
          `every request this rule matches (first match wins); ` +
          `move it above ${shadowing.length === 1 ? 'that rule' : 'them'} or remove it`,
      });
      return;
    }

    if (!isProtected(rule)) return;
    earlier.forEach((other, otherIndex) => {
      if (!other.public) return;
      const common = methodsCommon(methods[otherIndex], methods[index]);
      if (common !== 'all' && common.size === 0) return;
      const example = overlapExample(other.path, rule.path, options);
      if (example === undefined) return;
      findings.push({
        severity: 'warning',
        index,
        message:
          `the earlier public rule ${name(otherIndex)} ${written(otherIndex)} overlaps this protected rule ${written(index)}: ` +
          `e.g. ${example} (${describeMethods(common)}) is public, not protected`,
      });
    });
  });
  findings.push(...findMethodFallThrough(rules, methods, name, written, options));
  findings.push(...findUnnormalizedGlobs(config.rules));
  findings.push(...findRefusedSpellings(config.rules, config.match));
  return findings;
}

/**
 * Globs whose every path the front door refuses before any rule is asked: `%25` before two hex
 * digits (unless `match.allowEncodedPercent`), characters NFKC folds into others (unless
 * `match.allowNonNfkcPaths`). Such a rule matches no request; most likely the switch was meant.
 */
function findRefusedSpellings(
  rules: readonly RuleConfig[],
  match: Config['match'] | undefined,
): RuleFinding[] {
  const findings: RuleFinding[] = [];
  rules.forEach((rule, index) => {
    const refusal = refuseAmbiguousSpelling(canonicalGlob(rule.path), match ?? {});
    if (refusal?.reason !== 'double_encoding' && refusal?.reason !== 'not_nfkc') return;
    // A glob not in NFC has its own warning, which says how to write it.
    if (refusal.reason === 'not_nfkc' && rule.path.normalize('NFC') !== rule.path) return;
    const key =
      refusal.reason === 'double_encoding' ? 'match.allowEncodedPercent' : 'match.allowNonNfkcPaths';
    findings.push({
      severity: 'warning',
      index,
      message:
        `${rule.path} matches no request: every path it names is refused with 400 (${refusal.reason}) ` +
        `before the rules are asked; set ${key}: true if the backend serves such paths, or remove the rule`,
    });
  });
  return findings;
}

/**
 * A protected rule limited to some methods, followed by a public rule for every method on paths it
 * shares: every method the first does not list is public there, WebDAV's MOVE and PROPFIND and a
 * cache's PURGE included. One warning per such pair, at the protected rule, naming the methods that
 * fall through; those that a method-limited rule in between catches on all its paths are left out.
 * A later rule that is protected, if less so (`authenticated` after `roles`), is not reported: that
 * is how "reads for analysts, the rest for any user" is written.
 */
function findMethodFallThrough(
  rules: readonly RuleConfig[],
  methods: readonly (ReadonlySet<string> | undefined)[],
  name: (index: number) => string,
  written: (index: number) => string,
  options: GlobOptions,
): RuleFinding[] {
  const findings: RuleFinding[] = [];
  rules.forEach((rule, index) => {
    const limited = methods[index];
    if (!isProtected(rule) || limited === undefined) return;
    const caught = new Set(limited);
    for (let later = index + 1; later < rules.length; later++) {
      const laterRule = rules[later];
      if (laterRule === undefined) return;
      const example = overlapExample(rule.path, laterRule.path, options);
      if (example === undefined) continue;
      const covers = globCovers(laterRule.path, rule.path, options);
      const laterMethods = methods[later];
      if (laterMethods !== undefined) {
        // It takes these methods first, on every path of the protected rule when its glob covers it.
        if (covers) for (const method of laterMethods) caught.add(method);
        continue;
      }
      if (laterRule.public) {
        const falling = KNOWN_METHODS.filter((method) => !caught.has(method));
        findings.push({
          severity: 'warning',
          index,
          message:
            `only ${[...limited].join(', ')} ${limited.size === 1 ? 'is' : 'are'} protected here: ` +
            `${falling.join(', ')} and every other method reach ${covers ? written(index) : example} as public ` +
            `through the later rule ${name(later)} ${written(later)}; list them in methods, or put a rule ` +
            `for every method between the two`,
        });
      }
      // A rule for every method on all these paths ends the fall-through, public or not.
      if (covers) return;
    }
  });
  return findings;
}

/**
 * Globs spelled otherwise than the canonical form they are compared in (`/v1/jobs%3Apurge` is
 * `/v1/jobs:purge`, `/a[1]` is `/a%5B1%5D`): they match the same requests, but say so less plainly.
 * Non-ASCII written raw is the plain spelling and is not reported; a glob not in Unicode NFC is,
 * since paths are compared octet for octet and clients send composed characters.
 */
function findUnnormalizedGlobs(rules: readonly RuleConfig[]): RuleFinding[] {
  const findings: RuleFinding[] = [];
  rules.forEach((rule, index) => {
    const canonical = canonicalGlob(rule.path);
    const rawNonAscii = [...rule.path].map((char) =>
      char.charCodeAt(0) < 0x80 ? char : encodeURIComponent(char),
    );
    if (canonical !== rawNonAscii.join('')) {
      const plain = decodeNonAscii(canonical);
      findings.push({
        severity: 'warning',
        index,
        message: `${rule.path} is compared as ${plain}, the one spelling requests are matched in; write it so`,
      });
    }
    if (rule.path.normalize('NFC') !== rule.path) {
      findings.push({
        severity: 'warning',
        index,
        message:
          `${rule.path} is not in Unicode NFC: paths are compared octet for octet, and clients send ` +
          `composed characters; write ${rule.path.normalize('NFC')}`,
      });
    }
  });
  return findings;
}

/** The canonical glob with its UTF-8 escapes shown as the characters they spell, for messages. */
function decodeNonAscii(glob: string): string {
  return glob.replace(/(?:%[89A-F][0-9A-F])+/g, (escapes) => {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return escapes;
    }
  });
}

/**
 * The earlier rules that together match every request rule `index` matches, or undefined: those
 * whose glob covers its glob, when their methods add up to its methods.
 */
function findShadowing(
  rules: readonly RuleConfig[],
  methods: readonly (ReadonlySet<string> | undefined)[],
  index: number,
  options: GlobOptions,
): number[] | undefined {
  const rule = rules[index];
  if (rule === undefined) return undefined;
  const target = methods[index];
  const covering: number[] = [];
  const seen = new Set<string>();
  for (let other = 0; other < index; other++) {
    const otherRule = rules[other];
    if (otherRule === undefined || !globCovers(otherRule.path, rule.path, options)) continue;
    const otherMethods = methods[other];
    if (otherMethods === undefined) return [other];
    if (target === undefined) continue;
    const adds = [...otherMethods].filter((method) => target.has(method) && !seen.has(method));
    if (adds.length === 0) continue;
    covering.push(other);
    for (const method of adds) seen.add(method);
    if ([...target].every((method) => seen.has(method))) {
      const single = covering.find((candidate) => {
        const candidateMethods = methods[candidate];
        return candidateMethods !== undefined && [...target].every((method) => candidateMethods.has(method));
      });
      return single === undefined ? covering : [single];
    }
  }
  return undefined;
}

/**
 * Roles rules require that no user in the store holds and registration does not grant: nobody
 * could pass those rules yet. One warning per rule and role.
 */
export function findUnheldRoles(
  config: Pick<Config, 'rules' | 'registration'>,
  heldRoles: ReadonlySet<string>,
): RuleFinding[] {
  const granted = new Set(config.registration.defaultRoles);
  const findings: RuleFinding[] = [];
  config.rules.forEach((rule, index) => {
    for (const role of new Set(rule.roles ?? [])) {
      if (heldRoles.has(role) || granted.has(role)) continue;
      findings.push({
        severity: 'warning',
        index,
        message: `role ${role} is held by no user in the store and not granted by registration.defaultRoles`,
      });
    }
  });
  return findings;
}
