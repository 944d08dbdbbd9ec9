import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export const REDIS_SERVER_BIN = '/usr/bin/redis-server';

/** Why the Redis tests cannot run here, or undefined when they can. */
export const redisSkipReason: string | undefined = existsSync(REDIS_SERVER_BIN)
  ? undefined
  : `${REDIS_SERVER_BIN} is not installed`;

export interface TestRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, no save), keeping the port for start(). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (nothing is saved). */
  start(): Promise<void>;
  /** Freezes the server (SIGSTOP): it keeps its connections and data but answers nothing. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** True between start() and stop(). */
  running(): boolean;
  /** Stops it and removes its folder. */
  cleanup(): Promise<void>;
}

/** A private redis-server on a free port of 127.0.0.1; never the machine's shared instance. */
export async function startRedisServer(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const args = [
      '--save',
      '',
      '--appendonly',
      'no',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
    ];
    child = spawn(REDIS_SERVER_BIN, args, { stdio: 'ignore' });
    const deadline = Date.now() + 5000;
    while (!(await answersPing(port))) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer PING`);
      }
      await delay(20);
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGCONT');
    running.kill('SIGTERM');
    await exited;
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    stop,
    start,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    running: () => child !== undefined && child.exitCode === null,
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
