import { StoreOpenError } from '../store/errors.js';
import { readLowdbSnapshot } from '../store/lowdb-store.js';
import { importIntoRedis, type ImportCounts } from '../store/redis-import.js';
import { redactedUrl } from '../store/redis-store.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export interface StoreMigrateOptions {
  readonly from?: string;
  readonly to?: string;
  readonly keyPrefix: string;
}

/**
 * `store migrate --from lowdb:PATH --to redis://HOST:PORT/DB`: copies users, live sessions
 * (refresh-token families) and access-token revocations from a lowdb file into Redis, and prints
 * what it copied.
 */
export async function storeMigrate(options: StoreMigrateOptions, io: CliIo): Promise<number> {
  const path = options.from?.startsWith('lowdb:') ? options.from.slice('lowdb:'.length) : undefined;
  if (!path) {
    writeLine(io.stderr, 'auth-sidecar: store migrate needs --from lowdb:PATH (the store file to copy)');
    return EXIT.usage;
  }
  const target = redisTarget(options.to, io.env.REDIS_URL);
  if ('problem' in target) {
    writeLine(io.stderr, `auth-sidecar: ${target.problem}`);
    return EXIT.usage;
  }

  let snapshot;
  try {
    snapshot = await readLowdbSnapshot(path);
  } catch (err) {
    if (!(err instanceof StoreOpenError)) throw err;
    writeLine(io.stderr, `auth-sidecar: ${err.message}`);
    return EXIT.failure;
  }
  const where = `${redactedUrl(target.url)} (key prefix ${options.keyPrefix})`;
  let report;
  try {
    report = await importIntoRedis(snapshot, { url: target.url, keyPrefix: options.keyPrefix });
  } catch (err) {
    writeLine(io.stderr, `auth-sidecar: copying into ${where} stopped: ${(err as Error).message}`);
    writeLine(io.stderr, 'auth-sidecar: what was copied stays; run the same command again to finish');
    return EXIT.failure;
  }

  writeLine(io.stdout, `copied lowdb:${path} into ${where}`);
  writeLine(io.stdout, `users: ${counts(report.users)}`);
  writeLine(
    io.stdout,
    `sessions: ${counts(report.families)} (${report.endedFamilies} ended or expired left behind)`,
  );
  writeLine(io.stdout, `access-token revocations: ${counts(report.revocations)}`);
  for (const user of report.conflicts) {
    writeLine(
      io.stderr,
      `auth-sidecar: user ${user.username} (id ${user.id}) not copied: the name belongs to another user in Redis`,
    );
  }
  return report.conflicts.length === 0 ? EXIT.ok : EXIT.failure;
}

function counts({ copied, updated, current }: ImportCounts): string {
  return `${copied} copied, ${updated} updated, ${current} already current`;
}

/**
 * The Redis URL to copy into. A password is refused on the command line, where other users of
 * the machine can read it; it comes from env REDIS_URL, as for `serve`: alone, or lending its
 * credentials to a --to that names the same server.
 */
function redisTarget(
  to: string | undefined,
  envUrl: string | undefined,
): { url: string } | { problem: string } {
  const given = to ?? envUrl;
  if (given === undefined || given === '') {
    return { problem: 'store migrate needs --to redis://HOST:PORT/DB, or env REDIS_URL' };
  }
  const url = parseRedisUrl(given);
  if (!url)
    return {
      problem: `${to === undefined ? 'env REDIS_URL' : '--to'}: expected a redis:// or rediss:// URL`,
    };
  if (to === undefined) return { url: given };
  if (url.password !== '') {
    return {
      problem: '--to: a password cannot be given on the command line; pass the whole URL in env REDIS_URL',
    };
  }
  const fromEnv = envUrl === undefined ? undefined : parseRedisUrl(envUrl);
  if (fromEnv && fromEnv.host === url.host && url.username === '') {
    url.username = fromEnv.username;
    url.password = fromEnv.password;
  }
  return { url: url.toString() };
}

function parseRedisUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'redis:' || url.protocol === 'rediss:' ? url : undefined;
  } catch {
    return undefined;
  }
}
