import { ConfigError } from '../config/config-error.js';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { StoreOpenError } from '../store/errors.js';
import { EXIT, writeLine, type CliIo } from './io.js';

/** Prints a start-up error a user can act on and returns its exit code; rethrows anything else. */
export function reportStartupError(err: unknown, io: CliIo): number {
  if (err instanceof ConfigError) {
    writeLine(
      io.stderr,
      `auth-sidecar: invalid configuration (${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}):`,
    );
    writeLine(io.stderr, err.message);
    return EXIT.usage;
  }
  if (err instanceof StoreOpenError) {
    writeLine(io.stderr, `auth-sidecar: cannot open the store: ${err.message}`);
    return EXIT.failure;
  }
  throw err;
}

/**
 * The config a command other than `serve` works with (no JWT_SECRET needed), or, when it cannot be
 * loaded, the exit code after the reason has been printed.
 */
export async function loadCommandConfig(path: string | undefined, io: CliIo): Promise<LoadedConfig | number> {
  try {
    return await loadConfig({ path, env: io.env, requireSecret: false });
  } catch (err) {
    return reportStartupError(err, io);
  }
}
