/**
 * Finds, reads, parses and validates the config file, applies environment overrides and reads the
 * signing secret. The only module that reads `process.env`.
 */
import { KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { lintRules } from './rule-lint.js';
import { ConfigError, formatConfigProblem, type ConfigProblem } from './config-error.js';
import { formatPath, locateLine } from './locate.js';
import { configSchema, type Config } from './schema.js';
import { KeyFileError, loadKeyRing, type KeyRing } from '../tokens/key-files.js';

export const DEFAULT_CONFIG_PATH = 'config/auth-sidecar.yaml';
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output. */
export const MIN_SECRET_BYTES = 32;

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadedConfig {
  /** The file the config was read from, as given. */
  readonly file: string;
  readonly config: Config;
  /** 1-based line of each rule in the file, by rule index. */
  readonly ruleLines: readonly (number | undefined)[];
  /**
   * The HS256 signing secret, when `tokens.keys` is absent; absent too when `requireSecret` was
   * false.
   */
  readonly jwtSecret?: Buffer;
  /** The keys of `tokens.keys`, read from their files. */
  readonly keyRing?: KeyRing;
  /**
   * Rule lint warnings (a public rule that opens part of a later protected one), formatted
   * `file:line rules[i]: message`; lint errors are thrown as problems instead.
   */
  readonly warnings?: readonly string[];
}

export interface LoadOptions {
  /** `--config PATH`; falls back to env AUTH_SIDECAR_CONFIG, then the default path. */
  readonly path?: string;
  readonly env?: Env;
  /** `check-config` validates a file without the runtime secret. Default true. */
  readonly requireSecret?: boolean;
}

export function resolveConfigPath(cliPath: string | undefined, env: Env = process.env): string {
  return cliPath ?? nonEmpty(env.AUTH_SIDECAR_CONFIG) ?? DEFAULT_CONFIG_PATH;
}

/** Loads the configuration or throws a ConfigError that lists every problem found. */
export async function loadConfig(options: LoadOptions = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const file = resolveConfigPath(options.path, env);
  const text = await readConfigText(file);
  const parsed = parseYaml(file, text);
  const problems: ConfigProblem[] = [];

  const result = configSchema.safeParse(parsed.data ?? {}, { reportInput: true });
  if (!result.success)
    problems.push(...result.error.issues.flatMap((issue) => describeIssue(file, parsed, issue)));

  const ruleLines = result.success
    ? result.data.rules.map((_, index) => locateLine(parsed.doc, parsed.lines, ['rules', index]))
    : [];
  const warnings: string[] = [];
  if (result.success) {
    // Only rules the schema accepted can be linted; start-up and reload both stop on a lint error.
    for (const finding of lintRules(result.data, ruleLines)) {
      const line = ruleLines[finding.index];
      const problem: ConfigProblem = {
        source: file,
        ...(line === undefined ? {} : { line }),
        key: `rules[${finding.index}]`,
        message: finding.message,
      };
      if (finding.severity === 'error') problems.push(problem);
      else warnings.push(formatConfigProblem(problem));
    }
  }

  const overrides = readEnvOverrides(env, problems);
  const keyEntries = result.success ? result.data.tokens.keys : undefined;
  const keyRing = keyEntries ? await readKeyRing(file, parsed, keyEntries, problems) : undefined;
  const needsSecret = options.requireSecret !== false && !(result.success && keyEntries);
  const jwtSecret = needsSecret ? readSecret(env, problems) : undefined;
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);

  const config = applyOverrides(result.data, overrides);
  warnings.push(...(keyRing?.warnings.map((warning) => `${file}: ${warning}`) ?? []));
  return deepFreeze({
    file,
    config,
    ruleLines,
    ...(jwtSecret ? { jwtSecret } : {}),
    ...(keyRing ? { keyRing } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  });
}

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError([{ source: file, message: `cannot read the config file: ${reason}` }]);
  }
}

interface ParsedYaml {
  readonly doc: ReturnType<typeof parseDocument>;
  readonly lines: LineCounter;
  readonly data: unknown;
}

function parseYaml(file: string, text: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => ({
        source: file,
        line: lines.linePos(error.pos[0]).line,
        message: `invalid YAML: ${error.message.split('\n')[0] ?? error.code}`,
      })),
    );
  }
  return { doc, lines, data: doc.toJS({ maxAliasCount: 100 }) as unknown };
}

function describeIssue(file: string, parsed: ParsedYaml, issue: z.core.$ZodIssue): ConfigProblem[] {
  const locate = (path: readonly PropertyKey[]) => ({
    source: file,
    line: locateLine(parsed.doc, parsed.lines, path),
    key: formatPath(path),
  });
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      ...locate([...issue.path, key]),
      message: 'unknown key (check its spelling; unknown keys are refused)',
    }));
  }
  return [{ ...locate(issue.path), message: readableMessage(issue) }];
}

function readableMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
    return issue.input === undefined ? 'required' : `expected ${withArticle(issue.expected)}`;
  }
  return issue.message;
}

function withArticle(noun: string): string {
  return /^[aeiou]/.test(noun) ? `an ${noun}` : `a ${noun}`;
}

interface EnvOverrides {
  readonly port?: number;
  readonly upstreamUrl?: string;
  /** May carry the Redis password, which the config file cannot. */
  readonly redisUrl?: string;
}

function readEnvOverrides(env: Env, problems: ConfigProblem[]): EnvOverrides {
  const overrides: { port?: number; upstreamUrl?: string; redisUrl?: string } = {};
  const port = nonEmpty(env.PORT);
  if (port !== undefined) {
    const value = Number(port);
    if (/^\d+$/.test(port) && value <= 65535) overrides.port = value;
    else problems.push({ source: 'env PORT', message: 'expected a port number from 0 to 65535' });
  }
  const upstreamUrl = nonEmpty(env.UPSTREAM_URL);
  if (upstreamUrl !== undefined) {
    if (isHttpUrl(upstreamUrl)) overrides.upstreamUrl = upstreamUrl;
    else problems.push({ source: 'env UPSTREAM_URL', message: 'expected an http:// or https:// URL' });
  }
  const redisUrl = nonEmpty(env.REDIS_URL);
  if (redisUrl !== undefined) {
    // The value is never echoed: it may hold a password.
    if (hasProtocol(redisUrl, ['redis:', 'rediss:'])) overrides.redisUrl = redisUrl;
    else problems.push({ source: 'env REDIS_URL', message: 'expected a redis:// or rediss:// URL' });
  }
  return overrides;
}

function isHttpUrl(text: string): boolean {
  return hasProtocol(text, ['http:', 'https:']);
}

function hasProtocol(text: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

async function readKeyRing(
  file: string,
  parsed: ParsedYaml,
  entries: readonly { kid: string; file: string }[],
  problems: ConfigProblem[],
): Promise<KeyRing | undefined> {
  try {
    return await loadKeyRing(entries, dirname(file));
  } catch (err) {
    if (!(err instanceof KeyFileError)) throw err;
    for (const problem of err.problems) {
      const path = ['tokens', 'keys', problem.index, problem.field];
      problems.push({
        source: file,
        line: locateLine(parsed.doc, parsed.lines, path),
        key: formatPath(path),
        message: problem.message,
      });
    }
    return undefined;
  }
}

function readSecret(env: Env, problems: ConfigProblem[]): Buffer | undefined {
  const secret = env.JWT_SECRET;
  const advice = `set it to a random value of at least ${MIN_SECRET_BYTES} bytes, e.g. \`openssl rand -base64 48\``;
  if (secret === undefined || secret === '') {
    problems.push({ source: 'env JWT_SECRET', message: `missing; ${advice}` });
    return undefined;
  }
  const bytes = Buffer.from(secret, 'utf8');
  if (bytes.length < MIN_SECRET_BYTES) {
    problems.push({ source: 'env JWT_SECRET', message: `too short (${bytes.length} bytes); ${advice}` });
    return undefined;
  }
  return bytes;
}

function applyOverrides(config: Config, overrides: EnvOverrides): Config {
  return {
    ...config,
    listen: { ...config.listen, port: overrides.port ?? config.listen.port },
    upstream: { ...config.upstream, url: overrides.upstreamUrl ?? config.upstream.url },
    // REDIS_URL only concerns the redis driver: a lowdb config keeps its store untouched.
    store:
      config.store.driver === 'redis' && overrides.redisUrl !== undefined
        ? { ...config.store, url: overrides.redisUrl }
        : config.store,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function deepFreeze<T>(value: T): T {
  // Key objects and maps are left as they are: freezing cannot reach their contents anyway.
  if (
    typeof value === 'object' &&
    value !== null &&
    !Buffer.isBuffer(value) &&
    !(value instanceof KeyObject) &&
    !(value instanceof Map) &&
    !Object.isFrozen(value)
  ) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
