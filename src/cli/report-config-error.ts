import { ConfigError } from '../config/config-error.js';
import { StoreOpenError } from '../store/lowdb-store.js';
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
