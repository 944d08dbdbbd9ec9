/**
 * A browser session's life as a test follows it: a cookie jar that keeps the session cookie the
 * way a browser does (replaced by every Set-Cookie, cleared by `Max-Age=0`), the audit events of a
 * session, and the count of the commands a Redis server ran.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import request from 'supertest';
import { NAVIGATION, SAME_ORIGIN_FETCH, setCookies } from './browser-client.js';

/** The cookie's name with `browser.cookie.secure: false`, as these tests run it over plain http. */
export const SESSION_COOKIE = 'auth-sidecar';

/** One Set-Cookie field of the session cookie, read. */
export interface SessionSetCookie {
  /** The ticket, or '' when the field clears the cookie. */
  readonly value: string;
  /** Seconds; undefined when the field has no Max-Age. */
  readonly maxAge: number | undefined;
  readonly field: string;
}

/** Reads a Set-Cookie field of the session cookie; undefined when it names another cookie. */
export function parseSessionSetCookie(field: string, name = SESSION_COOKIE): SessionSetCookie | undefined {
  const [pair = '', ...attributes] = field.split(';');
  if (!pair.startsWith(`${name}=`)) return undefined;
  const maxAge = attributes
    .map((attribute) => /^\s*max-age=(-?\d+)\s*$/i.exec(attribute)?.[1])
    .find((seconds) => seconds !== undefined);
  return {
    value: pair.slice(name.length + 1),
    maxAge: maxAge === undefined ? undefined : Number(maxAge),
    field,
  };
}

/** The session cookie's Set-Cookie fields of a response. */
export function sessionSetCookies(response: request.Response, name = SESSION_COOKIE): SessionSetCookie[] {
  return setCookies(response)
    .map((field) => parseSessionSetCookie(field, name))
    .filter((parsed) => parsed !== undefined);
}

/** Asserts that `response` clears the session cookie (an empty value with `Max-Age=0`). */
export function assertClearsCookie(response: request.Response, name = SESSION_COOKIE): void {
  const fields = sessionSetCookies(response, name);
  assert.equal(fields.length, 1, `one Set-Cookie for ${name}: ${JSON.stringify(setCookies(response))}`);
  assert.equal(fields[0]?.value, '', `it clears the cookie: ${fields[0]?.field}`);
  assert.equal(fields[0]?.maxAge, 0, `with Max-Age=0: ${fields[0]?.field}`);
}

/** The session cookie as one browser holds it. */
export class SessionJar {
  /** The ticket the browser sends, or undefined when it holds none. */
  value: string | undefined;
  /** Every Set-Cookie field of the session cookie this jar took, in order. */
  readonly received: SessionSetCookie[] = [];

  constructor(
    value?: string,
    readonly name = SESSION_COOKIE,
  ) {
    this.value = value;
  }

  /** The Cookie header a browser would send, or none. */
  get headers(): Record<string, string> {
    return this.value === undefined ? {} : { Cookie: `${this.name}=${this.value}` };
  }

  /** Keeps what the response sets, as a browser does; returns the fields it took. */
  take(response: request.Response): SessionSetCookie[] {
    const fields = sessionSetCookies(response, this.name);
    for (const field of fields) {
      this.received.push(field);
      this.value = field.value === '' || field.maxAge === 0 ? undefined : field.value;
    }
    return fields;
  }
}

/** How a page asks: a navigation (typing the address, following a link) or its own `fetch()`. */
export type RequestMode = 'navigate' | 'fetch';

/** A GET of `path` as a browser holding `jar` sends it; the jar takes what the response sets. */
export async function browserGet(
  baseUrl: string,
  path: string,
  jar: SessionJar,
  mode: RequestMode = 'fetch',
): Promise<request.Response> {
  const response = await request(baseUrl)
    .get(path)
    .set(mode === 'navigate' ? NAVIGATION : SAME_ORIGIN_FETCH)
    .set(jar.headers);
  jar.take(response);
  return response;
}

/** A GET with the session cookie `ticket`, sent as a page's `fetch()`; nothing is kept. */
export function getWithCookie(
  baseUrl: string,
  path: string,
  ticket: string,
  mode: RequestMode = 'fetch',
): request.Test {
  return request(baseUrl)
    .get(path)
    .set(mode === 'navigate' ? NAVIGATION : SAME_ORIGIN_FETCH)
    .set('Cookie', `${SESSION_COOKIE}=${ticket}`);
}

/** A log line, parsed. */
export type LogEntry = Record<string, unknown>;

/** Parses the JSON lines of a process's stdout (non-JSON lines are left out). */
export function jsonLines(text: string): LogEntry[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogEntry);
}

/** The session ids of the `auth.session.start` events in `entries`, in order. */
export function startedSessionIds(entries: readonly LogEntry[]): string[] {
  return entries
    .filter((entry) => entry.event === 'auth.session.start')
    .map((entry) => String(entry.sessionId));
}

/** The `auth.session.end` events of session `sessionId`. */
export function sessionEnds(entries: readonly LogEntry[], sessionId: string): LogEntry[] {
  return entries.filter((entry) => entry.event === 'auth.session.end' && entry.sessionId === sessionId);
}

/** Asserts that no ticket of `tickets` (nor any part of one's signature) appears in `logText`. */
export function assertNoTicketLogged(logText: string, tickets: Iterable<string>): void {
  for (const ticket of tickets) {
    if (ticket === '') continue;
    const signature = ticket.slice(ticket.lastIndexOf('.') + 1);
    assert.ok(!logText.includes(ticket), 'a session ticket appears in the logs');
    assert.ok(!logText.includes(signature), "a session ticket's signature appears in the logs");
  }
}

/** How many times redis-server has run each command so far (`INFO commandstats`). */
export async function redisCommandCalls(port: number): Promise<Map<string, number>> {
  const info = await redisInfo(port, 'commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls.set(match[1] ?? '', Number(match[2]));
  }
  return calls;
}

/**
 * The commands run between two `redisCommandCalls` readings, by name, leaving out INFO (the
 * readings themselves) and PING (the client's keep-alive, on a timer of its own).
 */
export function commandsBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): Map<string, number> {
  const ran = new Map<string, number>();
  for (const [command, calls] of after) {
    if (command === 'info' || command === 'ping') continue;
    const delta = calls - (before.get(command) ?? 0);
    if (delta > 0) ran.set(command, delta);
  }
  return ran;
}

/**
 * Waits until redis-server has run no command but INFO and PING for `quietMs`: the store's own
 * background work (a connection's first resync, retried after a second when the two connections
 * came up out of order) is over, and what runs next is what the test sends.
 */
export async function redisQuiet(port: number, quietMs = 300, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let before = await redisCommandCalls(port);
  for (;;) {
    await delay(quietMs);
    const after = await redisCommandCalls(port);
    if (commandsBetween(before, after).size === 0) return;
    if (Date.now() > deadline) assert.fail(`redis-server never quiet for ${quietMs} ms`);
    before = after;
  }
}

/** The sum of a `commandsBetween` result. */
export function totalCommands(ran: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const calls of ran.values()) total += calls;
  return total;
}

/** Sends `INFO section` on a connection of its own and returns the bulk reply as text. */
function redisInfo(port: number, section: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.setTimeout(2000, () => socket.destroy(new Error(`redis INFO ${section}: no reply`)));
    socket.once('connect', () => socket.write(`INFO ${section}\r\n`));
    socket.on('data', (chunk: string) => {
      reply += chunk;
      const header = /^\$(\d+)\r\n/.exec(reply);
      if (reply.startsWith('-')) socket.destroy(new Error(`redis INFO ${section}: ${reply.trim()}`));
      else if (header?.[1] && Buffer.byteLength(reply) >= header[0].length + Number(header[1])) {
        socket.end();
        resolve(reply.slice(header[0].length));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error(`redis INFO ${section}: connection closed`)));
  });
}
