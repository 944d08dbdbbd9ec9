import { text } from 'node:stream/consumers';
import {
  createPasswordHasher,
  findPasswordProblem,
  inlineBcrypt,
} from '../auth/passwords/password-hasher.js';
import { normalizeUsername } from '../auth/endpoints/username.js';
import { openStore } from '../store/open-store.js';
import { invalidRoleOption } from './role-option.js';
import { EXIT, writeLine, type CliIo } from './io.js';
import { loadCommandConfig, reportStartupError } from './report-config-error.js';

export interface UserAddOptions {
  readonly config?: string;
  readonly username?: string;
  readonly roles: readonly string[];
  readonly passwordStdin: boolean;
}

/** `user add`: creates a user directly in the store, for the first admin and for scripts. */
export async function userAdd(options: UserAddOptions, io: CliIo): Promise<number> {
  if (options.username === undefined || !options.passwordStdin || options.roles.length === 0) {
    writeLine(io.stderr, 'auth-sidecar: user add needs --username, at least one --role and --password-stdin');
    return EXIT.usage;
  }
  const username = normalizeUsername(options.username);
  if (username === undefined) {
    writeLine(
      io.stderr,
      'auth-sidecar: --username: expected 3 to 64 characters of a-z, 0-9, ".", "_" or "-"',
    );
    return EXIT.usage;
  }
  const roleProblem = invalidRoleOption(options.roles);
  if (roleProblem !== undefined) {
    writeLine(io.stderr, roleProblem);
    return EXIT.usage;
  }

  const loaded = await loadCommandConfig(options.config, io);
  if (typeof loaded === 'number') return loaded;
  const password = (await text(io.stdin)).replace(/\r?\n$/, '');
  const passwordProblem = findPasswordProblem(password, loaded.config.passwords);
  if (passwordProblem) {
    writeLine(io.stderr, `auth-sidecar: ${passwordProblem}`);
    return EXIT.usage;
  }

  let store;
  try {
    store = await openStore(loaded.config.store);
  } catch (err) {
    return reportStartupError(err, io);
  }
  try {
    const hasher = createPasswordHasher({ cost: loaded.config.passwords.bcryptCost, engine: inlineBcrypt });
    const passwordHash = await hasher.hash(password);
    const result = await store.users.create({ username, passwordHash, roles: [...new Set(options.roles)] });
    if (!result.created) {
      writeLine(io.stderr, `auth-sidecar: user ${username} already exists`);
      return EXIT.failure;
    }
    writeLine(
      io.stdout,
      `created user ${result.user.username} (id ${result.user.id}) with roles ${result.user.roles.join(', ')}`,
    );
    return EXIT.ok;
  } finally {
    await store.close();
  }
}
