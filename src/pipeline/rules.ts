import type { Config, RuleConfig } from '../config/schema.js';
import { canonicalGlob, type PathSpelling } from '../http/canonical-path.js';

/** What a rule (or the default) demands of a request. */
export type Access =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'roles'; readonly roles: ReadonlySet<string> }
  | { readonly kind: 'deny' };

/** How logs, decisions and tools name the rule that decided: `rules[2]` or `default`. */
export interface RuleRef {
  readonly id: string;
  /** Index in `rules`; absent for the default. */
  readonly index?: number;
  readonly line?: number;
  readonly path?: string;
  /** `signIn: false`: a browser refused here gets the 401, not the sign-in page. */
  readonly signIn?: false;
}

export interface CompiledRule {
  readonly ref: RuleRef;
  readonly access: Access;
  /** Undefined when the rule applies to every method. */
  readonly methods?: ReadonlySet<string>;
  readonly pattern: RegExp;
}

export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  readonly fallback: CompiledRule;
  /**
   * Every method some rule names (HEAD with GET), then `''`, which no rule names: matching with
   * each in turn meets every rule a request to a path could meet, whatever its method.
   */
  readonly methodsToTry: readonly string[];
  /** The path spellings `match` allows that are refused by default (see `refuseAmbiguousSpelling`). */
  readonly spelling: PathSpelling;
  /** The first rule matching path and method, else the default. */
  match(path: string, method: string): CompiledRule;
}

/** Compiles rules once at load; matching is then one regex test per candidate rule. */
export function compileRules(
  config: Pick<Config, 'rules' | 'default'> & { readonly match?: Config['match'] },
  ruleLines: readonly (number | undefined)[] = [],
): RuleSet {
  const caseInsensitive = config.match?.caseInsensitive ?? false;
  const rules = config.rules.map((rule, index) =>
    compileRule(rule, index, ruleLines[index], caseInsensitive),
  );
  const fallback: CompiledRule = {
    ref: { id: 'default' },
    access: config.default === 'authenticated' ? { kind: 'authenticated' } : { kind: 'deny' },
    pattern: /^/,
  };
  const named = new Set(rules.flatMap((rule) => [...(rule.methods ?? [])]));
  return {
    rules,
    fallback,
    methodsToTry: [...named, ''],
    spelling: {
      allowEncodedPercent: config.match?.allowEncodedPercent ?? false,
      allowNonNfkcPaths: config.match?.allowNonNfkcPaths ?? false,
    },
    match(path, method) {
      for (const rule of rules) {
        if ((rule.methods === undefined || rule.methods.has(method)) && rule.pattern.test(path)) return rule;
      }
      return fallback;
    },
  };
}

function compileRule(
  rule: RuleConfig,
  index: number,
  line: number | undefined,
  caseInsensitive: boolean,
): CompiledRule {
  const methods = rule.methods === undefined ? undefined : new Set<string>(rule.methods);
  // RFC 9110 §9.3.2: HEAD is GET without the body, so it is allowed wherever GET is.
  if (methods?.has('GET')) methods.add('HEAD');
  return {
    ref: {
      id: `rules[${index}]`,
      index,
      path: rule.path,
      ...(line === undefined ? {} : { line }),
      ...(rule.signIn === false ? { signIn: false } : {}),
    },
    access: accessOf(rule),
    ...(methods === undefined ? {} : { methods }),
    pattern: globToRegExp(canonicalGlob(rule.path), caseInsensitive),
  };
}

function accessOf(rule: RuleConfig): Access {
  if (rule.public) return { kind: 'public' };
  if (rule.authenticated) return { kind: 'authenticated' };
  if (rule.roles) return { kind: 'roles', roles: new Set(rule.roles) };
  throw new TypeError(`rule for ${rule.path} has no access mode; the schema should have refused it`);
}

/**
 * `*` is exactly one non-empty segment; a trailing `**` is any depth, including none, so `/api/**`
 * matches `/api`, `/api/` and `/api/a/b`. A trailing slash on the request path matches the same
 * rule as without it: otherwise `/admin/x/` could slip past `/admin/*` to a later, weaker rule.
 */
export function globToRegExp(glob: string, caseInsensitive = false): RegExp {
  const flags = caseInsensitive ? 'i' : '';
  if (glob === '/') return new RegExp('^/$', flags);
  const segments = glob.slice(1).split('/');
  let source = '';
  for (const segment of segments) {
    if (segment === '**') source += '(?:/.*)?';
    else if (segment === '*') source += '/[^/]+';
    else source += `/${escapeRegExp(segment)}`;
  }
  if (!source.endsWith('(?:/.*)?')) source += '/?';
  return new RegExp(`^${source}$`, flags);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
