import { parseArgs } from 'node:util';
import { DEFAULT_REDIS_KEY_PREFIX } from '../config/schema.js';
import { packageVersion } from '../runtime.js';
import { checkConfig } from './check-config.js';
import { explain } from './explain.js';
import { keysGenerate } from './keys-generate.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { serve } from './serve.js';
import { storeMigrate } from './store-migrate.js';
import { testConfig } from './test-config.js';
import { USAGE } from './usage.js';
import { userAdd } from './user-add.js';

/** Parses argv and runs one command; resolves to the process exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        username: { type: 'string' },
        role: { type: 'string', multiple: true },
        'password-stdin': { type: 'boolean' },
        anonymous: { type: 'boolean' },
        json: { type: 'boolean' },
        from: { type: 'string' },
        to: { type: 'string' },
        'key-prefix': { type: 'string' },
        type: { type: 'string' },
        kid: { type: 'string' },
        out: { type: 'string' },
        bits: { type: 'string' },
      },
    });
  } catch (err) {
    writeLine(io.stderr, `auth-sidecar: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (values.version) {
    writeLine(io.stdout, packageVersion());
    return EXIT.ok;
  }

  // `explain` takes METHOD and PATH after it; every other command is its words alone.
  if (positionals[0] === 'explain') {
    return explain(
      {
        config: values.config,
        args: positionals.slice(1),
        roles: values.role ?? [],
        anonymous: values.anonymous ?? false,
        json: values.json ?? false,
      },
      io,
    );
  }
  const command = positionals.join(' ') || 'serve';
  switch (command) {
    case 'serve':
      return serve({ config: values.config }, io);
    case 'check-config':
      return checkConfig({ config: values.config }, io);
    case 'test-config':
      return testConfig({ config: values.config }, io);
    case 'user add':
      return userAdd(
        {
          config: values.config,
          username: values.username,
          roles: values.role ?? [],
          passwordStdin: values['password-stdin'] ?? false,
        },
        io,
      );
    case 'store migrate':
      return storeMigrate(
        { from: values.from, to: values.to, keyPrefix: values['key-prefix'] ?? DEFAULT_REDIS_KEY_PREFIX },
        io,
      );
    case 'keys generate':
      return keysGenerate({ type: values.type, kid: values.kid, out: values.out, bits: values.bits }, io);
    default:
      writeLine(io.stderr, `auth-sidecar: unknown command "${command}"\n\n${USAGE}`);
      return EXIT.usage;
  }
}
