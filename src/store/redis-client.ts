import { Redis, type RedisOptions } from 'ioredis';

/** Backoff of reconnection attempts: 100 ms more each time, at most 2 s. */
const redisRetryDelay = (attempt: number): number => Math.min(attempt * 100, 2000);

/**
 * Every connection fails fast during an outage (no offline queue, no retries per request) and
 * never resends a command whose answer was lost: a resent rotation would look like a replay.
 * A server that accepts connections but stops answering (hung, or a path that drops packets
 * without a reset) counts as down: a connection that waits on an answer for `socketTimeout` is
 * dropped and opened again, failing the commands it carried.
 */
const REDIS_CONNECTION_OPTIONS: RedisOptions = {
  retryStrategy: redisRetryDelay,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
  connectTimeout: 2000,
  socketTimeout: 2000,
};

export function createRedisClient(url: string): Redis {
  return new Redis(url, REDIS_CONNECTION_OPTIONS);
}

/**
 * A client that is ready for commands; rejects when the server does not answer within `timeoutMs`,
 * with the last connection error (refused, NOAUTH, ...) in the message.
 */
export async function connectRedisClient(url: string, timeoutMs = 5000): Promise<Redis> {
  const client = createRedisClient(url);
  let lastError: Error | undefined;
  const noteError = (err: Error) => (lastError = err);
  client.on('error', noteError);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.disconnect();
      const reason = lastError ? `: ${lastError.message}` : '';
      reject(new Error(`Redis did not answer within ${timeoutMs} ms${reason}`));
    }, timeoutMs);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  // The listener stays: without one ioredis prints every reconnection error to stderr. Outages
  // are reported by the store's own connections to the same server.
  return client;
}

/**
 * Defines each Lua script of `scripts` on `client` (all take their keys from ARGV, numberOfKeys 0)
 * and returns one way to run them: a name and its ARGV in, the script's reply out.
 */
export function defineScripts<Name extends string>(
  client: Redis,
  scripts: Readonly<Record<Name, string>>,
): (name: Name, ...args: (string | number)[]) => Promise<unknown> {
  for (const [name, lua] of Object.entries<string>(scripts))
    client.defineCommand(name, { numberOfKeys: 0, lua });
  const commands = client as unknown as Record<Name, (...args: (string | number)[]) => Promise<unknown>>;
  return (name, ...args) => commands[name].call(client, ...args);
}
