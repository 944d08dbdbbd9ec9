/**
 * A private redis-server for the Redis-store sidecar: the tests' helper, on a free port of
 * 127.0.0.1 with nothing saved to disk. Never the machine's shared instance.
 */
import { connect } from 'node:net';
import { redisSkipReason, startRedisServer, type TestRedis } from '../../test/helpers/redis-server.js';
import { registerStop } from '../lib/children.js';

export interface BenchRedis {
  readonly url: string;
  readonly port: number;
  /** Stops redis-server and removes its folder. */
  stop(): Promise<void>;
}

/** The server, or why there is none (redis-server not installed). */
export async function startBenchRedis(): Promise<BenchRedis | { readonly skipped: string }> {
  if (redisSkipReason !== undefined) return { skipped: redisSkipReason };
  let server: TestRedis | undefined;
  const starting = startRedisServer().then((started) => (server = started));
  // Stopped with the bench's children, even when a signal arrives while it starts...
  const unregister = registerStop(async () => {
    await (await starting.catch(() => undefined))?.cleanup();
  });
  // ...and SIGTERMed on any exit: stop() sends the signal synchronously.
  const onExit = (): void => void server?.stop();
  process.once('exit', onExit);
  const { url, port } = await starting;
  return {
    url,
    port,
    async stop() {
      unregister();
      process.off('exit', onExit);
      await server?.cleanup();
    },
  };
}

/** `total_commands_processed` from INFO stats: how many commands the server has run so far. */
export async function redisCommandsProcessed(port: number): Promise<number> {
  const info = await redisCommand(port, 'INFO stats');
  const match = /^total_commands_processed:(\d+)/m.exec(info);
  if (!match?.[1]) throw new Error('INFO stats has no total_commands_processed');
  return Number(match[1]);
}

/** Sends one inline command and returns the bulk-string reply as text. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(2000, () => socket.destroy(new Error(`redis ${command}: no reply`)));
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const header = /^\$(\d+)\r\n/.exec(reply);
      if (reply.startsWith('-')) socket.destroy(new Error(`redis ${command}: ${reply.trim()}`));
      else if (header?.[1] && Buffer.byteLength(reply) >= header[0].length + Number(header[1])) {
        socket.end();
        resolve(reply.slice(header[0].length));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`redis ${command}: connection closed`)));
  });
}
