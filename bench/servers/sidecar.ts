/** Starting the sidecar as operators do: its CLI, a config file, the secret in the environment. */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { exitError, exited, hasExited, startNode, stopChild, type NodeChild } from '../lib/children.js';
import { findFreePort } from '../lib/free-port.js';
import { pollUntilOk, sendForm, sendJson, type JsonResponse } from '../lib/http-client.js';
import { SCRIPTS } from '../paths.js';
import { retryAfterMs } from '../lib/retry-after.js';
import type { RunningServer } from './start-child-server.js';

export interface RunningSidecar extends RunningServer {
  /** When the process was spawned and when /readyz first answered 200 (process.hrtime.bigint()). */
  readonly spawnedAt: bigint;
  readonly readyAt: bigint;
}

export interface Session {
  readonly accessToken: string;
  readonly refreshToken: string;
}

/** A random HS256 secret as operators make one: `openssl rand -base64 48`. */
export function generateSecret(): string {
  return randomBytes(48).toString('base64');
}

export async function addUser(
  configPath: string,
  secret: string,
  user: { username: string; role: string; password: string },
  script: string = SCRIPTS.sidecar,
): Promise<void> {
  const child = startNode('sidecar user add', script, {
    args: [
      'user',
      'add',
      '--config',
      configPath,
      '--username',
      user.username,
      '--role',
      user.role,
      '--password-stdin',
    ],
    env: { ...process.env, JWT_SECRET: secret },
  });
  child.process.stdin?.end(`${user.password}\n`);
  const code = await exited(child);
  if (code !== 0) throw exitError(child, 'while adding the bench user');
}

/** How to run the sidecar process other than plainly with Node.js. */
export interface SidecarLaunch {
  /** A command Node.js runs under, such as valgrind (see children.ts). */
  readonly launcher?: readonly string[];
  /** Options for Node.js and V8, before the script. */
  readonly execArgv?: readonly string[];
  /** How long to wait for /readyz; 15 s unless given. */
  readonly readyTimeoutMs?: number;
  /** Between /readyz polls; 2 ms unless given. */
  readonly pollIntervalMs?: number;
  /** After SIGTERM, before SIGKILL; 3 s unless given. */
  readonly stopGraceMs?: number;
}

/** Starts `serve` of this build, or of the CLI `script` (an earlier build, see before-build.ts). */
export async function startSidecar(
  name: string,
  configPath: string,
  secret: string,
  script: string = SCRIPTS.sidecar,
  launch: SidecarLaunch = {},
): Promise<RunningSidecar> {
  const port = await findFreePort();
  const spawnedAt = process.hrtime.bigint();
  const child: NodeChild = startNode(name, script, {
    args: ['serve', '--config', configPath],
    env: { ...process.env, JWT_SECRET: secret, PORT: String(port) },
    launcher: launch.launcher,
    execArgv: launch.execArgv,
    stopGraceMs: launch.stopGraceMs,
  });
  child.process.stdin?.end();
  const url = `http://127.0.0.1:${port}`;
  try {
    const readyAt = await pollUntilOk(`${url}/readyz`, {
      isAlive: () => !hasExited(child),
      timeoutMs: launch.readyTimeoutMs,
      intervalMs: launch.pollIntervalMs,
    });
    return { name, url, child, spawnedAt, readyAt };
  } catch (err) {
    if (hasExited(child)) throw exitError(child, 'before /readyz answered 200');
    await stopChild(child);
    throw err;
  }
}

/** POST /auth/login, retrying while the sidecar is too busy hashing (503 with Retry-After). */
export async function login(
  sidecarUrl: string,
  credentials: { username: string; password: string },
): Promise<Session> {
  for (let attempt = 0; ; attempt++) {
    const response = await sendJson(`${sidecarUrl}/auth/login`, { body: credentials });
    if (response.status === 200) return response.body as Session;
    if (response.status !== 503 || attempt === 20) {
      throw new Error(`login answered ${response.status}: ${JSON.stringify(response.body)}`);
    }
    await sleep(retryAfterMs(response.headers['retry-after']));
  }
}

/**
 * Signs in through the sign-in form as a browser does (form POST with its own Origin, `rd=/`),
 * retrying while the sidecar is too busy hashing; returns the `name=value` pair of the session
 * cookie the 303 sets, which is what a browser then sends in its Cookie header.
 */
export async function browserSignIn(
  sidecarUrl: string,
  credentials: { username: string; password: string },
): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    const response = await sendForm(
      `${sidecarUrl}/auth/sign-in`,
      { username: credentials.username, password: credentials.password, rd: '/' },
      { headers: { origin: sidecarUrl } },
    );
    if (response.status === 303) return sessionCookieOf(response);
    if (response.status !== 503 || attempt === 20) {
      throw new Error(`sign-in answered ${response.status} (expected 303)`);
    }
    await sleep(retryAfterMs(response.headers['retry-after']));
  }
}

function sessionCookieOf(response: JsonResponse): string {
  const fields = response.headers['set-cookie'] ?? [];
  const pairs = (Array.isArray(fields) ? fields : [fields]).map((field) => field.split(';')[0]?.trim() ?? '');
  const [pair] = pairs;
  if (pairs.length !== 1 || pair === undefined || !/^[^=]+=./.test(pair)) {
    throw new Error(
      `sign-in answered 303 with ${pairs.length} Set-Cookie fields, expected the session cookie`,
    );
  }
  return pair;
}
