/**
 * `explain METHOD PATH`: which canonical path, which rule and which outcome the proxy would give a
 * request, decided by the proxy's own `decide()` for a user with the given roles, or anonymously.
 */
import type { LoadedConfig } from '../config/load.js';
import { METHOD_TOKEN, normalizeMethod, type RuleConfig } from '../config/schema.js';
import type { Decision } from '../pipeline/decide.js';
import { decideAs, type PolicyRequest } from '../pipeline/policy-tests.js';
import { compileRules } from '../pipeline/rules.js';
import { invalidRoleOption } from './role-option.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { loadCommandConfig } from './report-config-error.js';

export interface ExplainOptions {
  readonly config?: string;
  /** The words after `explain`: METHOD and PATH. */
  readonly args: readonly string[];
  readonly roles: readonly string[];
  readonly anonymous: boolean;
  readonly json: boolean;
}

/** The explanation as data: what `--json` prints, and what the text is made from. */
export interface Explanation {
  readonly request: { readonly method: string; readonly target: string };
  /** The roles the request was decided with; null: anonymous (no Authorization). */
  readonly as: { readonly roles: readonly string[] } | null;
  readonly path:
    | { readonly ok: true; readonly canonical: string; readonly query: string }
    | { readonly ok: false; readonly reason: string; readonly detail: string };
  /** The rule that decided; null when the path was refused before any rule. */
  readonly rule: {
    readonly id: string;
    readonly index: number | null;
    readonly file: string;
    readonly line: number | null;
    readonly text: string;
  } | null;
  readonly outcome:
    | {
        readonly decision: 'forward';
        /** The identity headers the backend would receive; empty for an anonymous request. */
        readonly headers: Readonly<Record<string, string>>;
        readonly reason: string;
      }
    | {
        readonly decision: 'deny';
        readonly status: number;
        readonly code: string;
        readonly reason: string;
        readonly detail: string;
      };
}

export async function explain(options: ExplainOptions, io: CliIo): Promise<number> {
  const [method, target, ...extra] = options.args;
  if (method === undefined || target === undefined || extra.length > 0) {
    writeLine(io.stderr, 'auth-sidecar: explain needs METHOD and PATH, such as: explain GET /admin/users');
    return EXIT.usage;
  }
  if (!METHOD_TOKEN.test(method)) {
    writeLine(io.stderr, `auth-sidecar: explain: ${method} is not an HTTP method token (RFC 9110 §9.1)`);
    return EXIT.usage;
  }
  if (options.anonymous && options.roles.length > 0) {
    writeLine(io.stderr, 'auth-sidecar: explain takes --role or --anonymous, not both');
    return EXIT.usage;
  }
  const roleProblem = invalidRoleOption(options.roles);
  if (roleProblem !== undefined) {
    writeLine(io.stderr, roleProblem);
    return EXIT.usage;
  }
  const loaded = await loadCommandConfig(options.config, io);
  if (typeof loaded === 'number') return loaded;
  const request: PolicyRequest = {
    method: normalizeMethod(method),
    target,
    ...(options.roles.length > 0 && { roles: options.roles }),
  };
  const explanation = explainRequest(loaded, request);
  if (options.json) writeLine(io.stdout, JSON.stringify(explanation, null, 2));
  else io.stdout.write(formatExplanation(explanation));
  return EXIT.ok;
}

/** Decides `request` with the loaded rules and describes every step. */
export function explainRequest(
  loaded: Pick<LoadedConfig, 'file' | 'config' | 'ruleLines'>,
  request: PolicyRequest,
): Explanation {
  const { config } = loaded;
  const decision = decideAs(compileRules(config, loaded.ruleLines), request);
  return {
    request: { method: request.method, target: request.target },
    as: request.roles === undefined ? null : { roles: [...request.roles] },
    path: pathOf(decision),
    rule: ruleOf(loaded, decision),
    outcome: outcomeOf(config.identity, decision),
  };
}

function pathOf(decision: Decision): Explanation['path'] {
  if (decision.outcome === 'allow') return { ok: true, canonical: decision.path, query: decision.query };
  if (decision.path !== undefined) return { ok: true, canonical: decision.path, query: '' };
  return { ok: false, reason: decision.reason, detail: decision.error.detail };
}

function ruleOf(
  loaded: Pick<LoadedConfig, 'file' | 'config' | 'ruleLines'>,
  decision: Decision,
): Explanation['rule'] {
  const { rule } = decision;
  if (rule === undefined) return null;
  const config = rule.index === undefined ? undefined : loaded.config.rules[rule.index];
  return {
    id: rule.id,
    index: rule.index ?? null,
    file: loaded.file,
    line: rule.line ?? null,
    text: config ? ruleAsYamlFlow(config) : `{ default: ${loaded.config.default} }`,
  };
}

function outcomeOf(names: LoadedConfig['config']['identity'], decision: Decision): Explanation['outcome'] {
  if (decision.outcome === 'deny') {
    const { error } = decision;
    return {
      decision: 'deny',
      status: error.status,
      code: error.code,
      reason: decision.reason,
      detail: error.detail,
    };
  }
  const { identity } = decision;
  return {
    decision: 'forward',
    headers: identity
      ? {
          [names.userHeader]: identity.username,
          [names.idHeader]: identity.id,
          [names.rolesHeader]: identity.roles.join(','),
        }
      : {},
    reason: identity ? 'allowed' : 'public',
  };
}

/** A rule as it could be written in the file: `{ path: /admin/**, roles: [admin] }`. */
export function ruleAsYamlFlow(rule: RuleConfig): string {
  const parts = [`path: ${rule.path}`];
  if (rule.methods) parts.push(`methods: [${rule.methods.join(', ')}]`);
  if (rule.public) parts.push('public: true');
  if (rule.authenticated) parts.push('authenticated: true');
  if (rule.roles) parts.push(`roles: [${rule.roles.join(', ')}]`);
  return `{ ${parts.join(', ')} }`;
}

/** The human-readable explanation, one fact per line. */
export function formatExplanation(explanation: Explanation): string {
  const { request, path, rule, outcome } = explanation;
  const who = explanation.as ? `as [${explanation.as.roles.join(', ')}]` : 'anonymous';
  const lines = [`request: ${request.method} ${request.target} (${who})`];
  lines.push(
    path.ok ? `path:    ${path.canonical}${path.query}` : `path:    refused (${path.reason}): ${path.detail}`,
  );
  if (rule === null) lines.push('rule:    none (the path is refused before any rule is matched)');
  else {
    const where = rule.line === null ? rule.file : `${rule.file}:${rule.line}`;
    lines.push(`rule:    ${rule.id} at ${where} ${rule.text}`);
  }
  if (outcome.decision === 'forward') {
    const headers = Object.entries(outcome.headers).map(([name, value]) => `${name}: ${value}`);
    lines.push(
      headers.length > 0
        ? `outcome: forward with ${headers.join(', ')}`
        : 'outcome: forward without identity headers (public rule, no token)',
    );
  } else {
    lines.push(`outcome: ${outcome.status} ${outcome.code} (${outcome.reason}): ${outcome.detail}`);
  }
  return `${lines.join('\n')}\n`;
}
