import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Response } from 'supertest';
import type { LogCapture } from './log-capture.js';

export interface TokenResponseBody {
  readonly user: { readonly id: string; readonly username: string; readonly roles: string[] };
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: string;
  readonly expiresIn: number;
}

/** Asserts a token response (register, login, refresh) and returns its body. */
export function assertTokenResponse(response: Response, status: number): TokenResponseBody {
  assert.equal(response.status, status, `expected ${status}, got ${response.status}: ${response.text}`);
  assert.match(String(response.headers['content-type']), /^application\/json\b/);
  assert.match(String(response.headers['cache-control']), /(^|,\s*)no-store(\s*,|$)/);
  const body = response.body as TokenResponseBody;
  assert.deepEqual(Object.keys(body).sort(), [
    'accessToken',
    'expiresIn',
    'refreshToken',
    'tokenType',
    'user',
  ]);
  assert.deepEqual(Object.keys(body.user).sort(), ['id', 'roles', 'username']);
  assert.equal(typeof body.user.id, 'string');
  assert.notEqual(body.user.id, '');
  assert.ok(Array.isArray(body.user.roles), 'user.roles is an array');
  assert.equal(body.tokenType, 'Bearer');
  assert.equal(typeof body.accessToken, 'string');
  assert.equal(typeof body.refreshToken, 'string');
  assert.ok(Number.isInteger(body.expiresIn), 'expiresIn is an integer');
  return body;
}

/** A clock for the sidecar's `now` option that only moves when a test moves it. */
export interface TestClock {
  readonly now: () => number;
  advance(ms: number): void;
}

export function createTestClock(start = Date.now()): TestClock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
  };
}

/** A username no other test in the run uses. */
let nameCounter = 0;
export function uniqueUsername(prefix: string): string {
  nameCounter += 1;
  return `${prefix}-${process.pid}-${nameCounter}`;
}

/** Runs `task` over `items` with at most `limit` in flight; results keep the order of `items`. */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, () => worker()));
  return results;
}

/**
 * Waits until the captured log holds an entry matching `predicate`, yielding to the event loop
 * between looks (the request line is written when the response closes, which may be just after the
 * client has the answer). Gives up after `giveUpMs`; this bounds a hang, it asserts no timing.
 */
export async function waitForLogEntry(
  logs: LogCapture,
  predicate: (entry: Record<string, unknown>) => boolean,
  giveUpMs = 5_000,
): Promise<Record<string, unknown>> {
  const giveUpAt = Date.now() + giveUpMs;
  let scanned = 0;
  for (;;) {
    for (; scanned < logs.lines.length; scanned++) {
      const entry = JSON.parse(logs.lines[scanned] as string) as Record<string, unknown>;
      if (predicate(entry)) return entry;
    }
    if (Date.now() > giveUpAt) assert.fail('no log entry matched before giving up');
    await nextTurn();
  }
}

/** Waits for the request line of the request whose response carried `reqId`. */
export function waitForRequestLine(logs: LogCapture, reqId: string): Promise<Record<string, unknown>> {
  return waitForLogEntry(logs, (entry) => entry.msg === 'request' && entry.reqId === reqId);
}
