import { loadConfig } from '../config/load.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { reportStartupError } from './report-config-error.js';

/** Validates the config file (and the env overrides) without starting anything. */
export async function checkConfig(options: { readonly config?: string }, io: CliIo): Promise<number> {
  try {
    const loaded = await loadConfig({ path: options.config, env: io.env, requireSecret: false });
    writeLine(
      io.stdout,
      `${loaded.file}: ok (${loaded.config.rules.length} rules, default ${loaded.config.default})`,
    );
    return EXIT.ok;
  } catch (err) {
    reportStartupError(err, io);
    return EXIT.failure;
  }
}
