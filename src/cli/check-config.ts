import { formatConfigProblem } from '../config/config-error.js';
import type { LoadedConfig } from '../config/load.js';
import { findUnheldRoles } from '../config/rule-lint.js';
import { StoreOpenError } from '../store/errors.js';
import { readLowdbSnapshot } from '../store/lowdb-store.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { loadCommandConfig } from './report-config-error.js';

/**
 * Validates the config file (and the env overrides) without starting anything. Rule lint errors
 * fail like any other problem; lint warnings, and roles that nobody in the store holds, are printed
 * to stdout as `warning: file:line rules[i]: message`.
 */
export async function checkConfig(options: { readonly config?: string }, io: CliIo): Promise<number> {
  const loaded = await loadCommandConfig(options.config, io);
  if (typeof loaded === 'number') return EXIT.failure;
  for (const warning of [...(loaded.warnings ?? []), ...(await roleWarnings(loaded))]) {
    writeLine(io.stdout, `warning: ${warning}`);
  }
  writeLine(
    io.stdout,
    `${loaded.file}: ok (${loaded.config.rules.length} rules, default ${loaded.config.default})`,
  );
  return EXIT.ok;
}

/**
 * Rule roles no stored user holds and registration does not grant. The store file is read as JSON,
 * never opened, so that checking a config cannot create or change it. Without a store file (a first
 * start, or a config checked away from its data) there is nothing to compare with: no warning.
 */
async function roleWarnings(loaded: LoadedConfig): Promise<string[]> {
  // A shared store is not read by check-config: it must not need the database to check a file.
  if (loaded.config.store.driver !== 'lowdb') return [];
  const storePath = loaded.config.store.path;
  const held = await readHeldRoles(storePath);
  if (held === undefined) return [];
  if (typeof held === 'string') return [`${storePath}: roles not checked: ${held}`];
  return findUnheldRoles(loaded.config, held).map((finding) => {
    const line = loaded.ruleLines[finding.index];
    return formatConfigProblem({
      source: loaded.file,
      ...(line === undefined ? {} : { line }),
      key: `rules[${finding.index}]`,
      message: `${finding.message} (${storePath})`,
    });
  });
}

/** Every role of every user in the store file, undefined without one, or why it could not be read. */
async function readHeldRoles(storePath: string): Promise<ReadonlySet<string> | string | undefined> {
  try {
    const { users } = await readLowdbSnapshot(storePath);
    return new Set(users.flatMap((user) => user.roles));
  } catch (err) {
    if (!(err instanceof StoreOpenError)) throw err;
    if ((err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    return err.reason;
  }
}
