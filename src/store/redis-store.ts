import { randomUUID } from 'node:crypto';
import { StoreOpenError, StoreUnavailableError } from './errors.js';
import { createRedisClient, defineScripts } from './redis-client.js';
import { REDIS_SCRIPTS } from './redis-scripts.js';
import type { CreateUserResult, RotateResult, Store, UserRecord } from './types.js';

export interface RedisStoreOptions {
  /** redis:// or rediss://; may carry a password (it never appears in an error message). */
  readonly url: string;
  /** Prefix of every key and of the events channel. */
  readonly keyPrefix: string;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now?: () => number;
  /** How long opening may wait for Redis before start-up fails. Default 5000 ms. */
  readonly openTimeoutMs?: number;
  /** Told when the store becomes ready or unavailable, with the connection error if any. */
  readonly onReadyChange?: (ready: boolean, err?: Error) => void;
}

interface SessionState {
  readonly disabled: boolean;
  readonly tokenVersion: number;
}

/** A change as published on `<prefix>events`; every replica, the writer included, applies it. */
type StoreEvent =
  | { readonly type: 'user'; readonly id: string; readonly disabled: boolean; readonly tokenVersion: number }
  | { readonly type: 'user-deleted'; readonly id: string }
  | { readonly type: 'revoked'; readonly id: string; readonly expiresAt: number };

interface Mirror {
  readonly users: Map<string, SessionState>;
  readonly revoked: Map<string, number>;
}

const PRUNE_INTERVAL_MS = 60_000;
/**
 * How long a change that ends sessions waits for its own event to come back before it answers
 * anyway (the subscriber may be reconnecting; readiness covers that case).
 */
const ECHO_WAIT_MS = 250;
/**
 * An idle connection to a server that stopped answering would look healthy for ever; a PING on
 * each one this often lets the socket timeout notice, so readiness falls without traffic.
 */
const HEARTBEAT_INTERVAL_MS = 1000;

/**
 * The shared store: users, refresh tokens and revocations live in Redis, and every change is one
 * Lua script, atomic on the server. The synchronous session view is an in-memory mirror of each
 * user's {disabled, tokenVersion} and of the revoked access-token ids, loaded at open, kept current
 * by the change events every script publishes, and reloaded whole after any reconnection of the
 * subscriber (events sent while it was away are lost).
 *
 * During an outage commands fail at once with a `StoreUnavailableError` (503 with Retry-After) and
 * `isReady()` is false; in-flight commands are never resent, since a resent rotation would look
 * like a replay and revoke the family.
 */
export async function openRedisStore(options: RedisStoreOptions): Promise<Store> {
  const { keyPrefix: prefix } = options;
  const now = options.now ?? Date.now;
  const channel = `${prefix}events`;
  const where = redactedUrl(options.url);
  const command = createRedisClient(options.url);
  const subscriber = createRedisClient(options.url);
  const run = defineScripts(command, REDIS_SCRIPTS);

  let mirror: Mirror = { users: new Map(), revoked: new Map() };
  /** False from a subscriber disconnection until the mirror has been reloaded. */
  let mirrorFresh = false;
  /** Events received while a reload runs, applied again over the loaded snapshot. */
  let pending: StoreEvent[] | undefined;
  let syncing: Promise<void> | undefined;
  let syncAgain = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let lastError: Error | undefined;
  let wasReady = false;

  const isReady = () => !closed && mirrorFresh && command.status === 'ready' && subscriber.status === 'ready';

  function noteReadiness(): void {
    const ready = isReady();
    if (ready !== wasReady) {
      wasReady = ready;
      options.onReadyChange?.(
        ready,
        ready ? undefined : (lastError ?? new Error('connection to Redis closed')),
      );
      // The next outage reports its own cause, not this one's.
      lastError = undefined;
    }
  }

  function apply(target: Mirror, event: StoreEvent): void {
    switch (event.type) {
      case 'user': {
        // Versions only grow: an older state (from a snapshot read before the event) never wins.
        const known = target.users.get(event.id);
        if (!known || known.tokenVersion <= event.tokenVersion) {
          target.users.set(event.id, { disabled: event.disabled, tokenVersion: event.tokenVersion });
        }
        break;
      }
      case 'user-deleted':
        target.users.delete(event.id);
        break;
      case 'revoked':
        target.revoked.set(event.id, Math.max(event.expiresAt, target.revoked.get(event.id) ?? 0));
        break;
    }
  }

  function applyEverywhere(event: StoreEvent): void {
    apply(mirror, event);
    pending?.push(event);
  }

  async function loadMirror(): Promise<Mirror> {
    const loaded: Mirror = { users: new Map(), revoked: new Map() };
    let cursor = '0';
    do {
      const [next, entries] = await command.hscan(`${prefix}users`, cursor, 'COUNT', 1000);
      cursor = next;
      for (let index = 0; index + 1 < entries.length; index += 2) {
        const user = parseUser(entries[index + 1]!);
        loaded.users.set(user.id, { disabled: user.disabled, tokenVersion: user.tokenVersion });
      }
    } while (cursor !== '0');
    const match = `${escapeGlob(prefix)}revoked:*`;
    const revokedPrefixLength = `${prefix}revoked:`.length;
    do {
      const [next, keys] = await command.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      if (keys.length === 0) continue;
      const values = await command.mget(...keys);
      keys.forEach((key, index) => {
        const expiresAt = Number(values[index]);
        if (values[index] !== null && Number.isFinite(expiresAt))
          loaded.revoked.set(key.slice(revokedPrefixLength), expiresAt);
      });
    } while (cursor !== '0');
    return loaded;
  }

  /** Subscribes, then loads a snapshot: events from the subscription on are all seen. */
  function resync(): Promise<void> {
    if (syncing) {
      syncAgain = true;
      return syncing;
    }
    syncing = (async () => {
      do {
        syncAgain = false;
        pending = [];
        try {
          await subscriber.subscribe(channel);
          const loaded = await loadMirror();
          for (const event of pending) apply(loaded, event);
          mirror = loaded;
          mirrorFresh = subscriber.status === 'ready';
        } catch (err) {
          lastError = err as Error;
          if (!closed && !syncAgain) {
            clearTimeout(retryTimer);
            retryTimer = setTimeout(() => void resync(), 1000).unref();
          }
        } finally {
          pending = undefined;
        }
      } while (syncAgain && !closed);
    })().finally(() => {
      syncing = undefined;
      noteReadiness();
    });
    return syncing;
  }

  /** Writers waiting for their own event, by event key: see `echoOf`. */
  const echoWaiters = new Map<string, (() => void)[]>();

  subscriber.on('message', (from: string, text: string) => {
    if (from !== channel) return;
    const event = parseEvent(text);
    if (!event) return;
    applyEverywhere(event);
    const key = echoKey(event);
    const waiting = echoWaiters.get(key);
    echoWaiters.delete(key);
    for (const resolve of waiting ?? []) resolve();
  });

  /**
   * Resolves once this replica's subscriber has received the event with `key` (or after
   * ECHO_WAIT_MS). A change that ends sessions answers only then: Redis hands a published message
   * to every subscriber in the same step, so by the time the writer's own copy is back, every other
   * replica's connection has it too, and the window in which another replica still accepts a
   * token its writer has answered for is that replica's own event-loop delay. Called before the
   * write is sent, so that an event arriving before the write's reply is not missed.
   */
  function echoOf(key: string): { readonly received: Promise<void>; cancel(): void } {
    let settle: () => void = () => undefined;
    const received = new Promise<void>((resolve) => {
      const timer = setTimeout(done, ECHO_WAIT_MS).unref();
      function done(): void {
        clearTimeout(timer);
        const waiting = echoWaiters.get(key)?.filter((candidate) => candidate !== done);
        if (waiting?.length) echoWaiters.set(key, waiting);
        else echoWaiters.delete(key);
        resolve();
      }
      settle = done;
      echoWaiters.set(key, [...(echoWaiters.get(key) ?? []), done]);
    });
    return { received, cancel: settle };
  }

  /** Runs `write`; if it reports a change, waits for the change's own event to come back. */
  async function withEcho<T>(
    key: string,
    write: () => Promise<T>,
    changed: (result: T) => boolean,
  ): Promise<T> {
    const echo = echoOf(key);
    try {
      const result = await write();
      if (changed(result)) await echo.received;
      return result;
    } finally {
      echo.cancel();
    }
  }
  subscriber.on('ready', () => void resync());
  subscriber.on('close', () => {
    mirrorFresh = false;
    noteReadiness();
  });
  command.on('ready', () => {
    if (!mirrorFresh) void resync();
    noteReadiness();
  });
  command.on('close', noteReadiness);
  for (const client of [command, subscriber]) {
    client.on('error', (err: Error) => {
      lastError = err;
      noteReadiness();
    });
  }

  const pruneTimer = setInterval(() => {
    const at = now();
    for (const [tokenId, expiresAt] of mirror.revoked) if (expiresAt <= at) mirror.revoked.delete(tokenId);
  }, PRUNE_INTERVAL_MS).unref();

  const heartbeatTimer = setInterval(() => {
    for (const client of [command, subscriber])
      if (client.status === 'ready') client.ping().catch(() => undefined);
  }, HEARTBEAT_INTERVAL_MS).unref();

  async function quit(): Promise<void> {
    closed = true;
    clearInterval(pruneTimer);
    clearInterval(heartbeatTimer);
    clearTimeout(retryTimer);
    await Promise.all(
      [command, subscriber].map(async (client) => {
        if (client.status !== 'ready') return client.disconnect();
        await client.quit().catch(() => client.disconnect());
      }),
    );
  }

  try {
    await waitUntil(isReady, options.openTimeoutMs ?? 5000);
  } catch {
    await quit();
    const reason = lastError ? `: ${lastError.message}` : '';
    throw new StoreOpenError(where, `cannot reach Redis${reason}`);
  }
  wasReady = true;

  /** Runs a store command; a connection problem becomes a `StoreUnavailableError` (the HTTP layer answers 503). */
  async function call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (isUnavailable(err)) {
        throw new StoreUnavailableError('The store is unavailable; try again shortly.', { cause: err });
      }
      throw err;
    }
  }

  /**
   * The writer applies an ending it made at once, without waiting for its own event: its next
   * request must see it. (The event may also carry a later refusal; the later one wins.)
   */
  function noteEnded(id: string, expiresAt: number): void {
    applyEverywhere({ type: 'revoked', id, expiresAt });
  }

  return {
    isReady,

    async close() {
      await quit();
    },

    sessions: {
      isRevoked: (tokenId) => mirror.revoked.has(tokenId),
      sessionStateOf: (userId) => mirror.users.get(userId),
    },

    revokedAccessTokens: {
      async revoke(tokenId, expiresAt) {
        await withEcho(
          `revoked:${tokenId}`,
          () => call(() => run('authSidecarRevokeAccessToken', prefix, tokenId, expiresAt)),
          () => true,
        );
        applyEverywhere({ type: 'revoked', id: tokenId, expiresAt });
      },
    },

    users: {
      async create(user): Promise<CreateUserResult> {
        const record: UserRecord = {
          id: randomUUID(),
          username: user.username,
          passwordHash: user.passwordHash,
          roles: [...user.roles],
          ...(user.email === undefined ? {} : { email: user.email }),
          createdAt: new Date(now()).toISOString(),
          disabled: false,
          tokenVersion: 0,
          sessionVersion: 0,
        };
        const created = await call(() =>
          run('authSidecarCreateUser', prefix, record.id, record.username, JSON.stringify(record)),
        );
        if (created !== 1) return { created: false, reason: 'username_taken' };
        applyEverywhere({ type: 'user', id: record.id, disabled: false, tokenVersion: 0 });
        return { created: true, user: record };
      },

      async findByUsername(username) {
        const id = await call(() => command.hget(`${prefix}usernames`, username));
        if (id === null) return undefined;
        const user = await this.findById(id);
        return user?.username === username ? user : undefined;
      },

      async findById(id) {
        const text = await call(() => command.hget(`${prefix}users`, id));
        return text === null ? undefined : parseUser(text);
      },

      async list() {
        const all = await call(() => command.hvals(`${prefix}users`));
        return all.map(parseUser);
      },

      count: () => call(() => command.hlen(`${prefix}users`)),

      async update(id, changes, { endSessions }) {
        const scalar = {
          ...(changes.disabled === undefined ? {} : { disabled: changes.disabled }),
          ...(changes.passwordHash === undefined ? {} : { passwordHash: changes.passwordHash }),
        };
        const roles = changes.roles === undefined ? '' : JSON.stringify(changes.roles);
        const text = await withEcho(
          `user:${id}`,
          () =>
            call(() =>
              run(
                'authSidecarUpdateUser',
                prefix,
                id,
                JSON.stringify(scalar),
                roles,
                endSessions ? '1' : '0',
              ),
            ),
          (reply) => typeof reply === 'string',
        );
        if (typeof text !== 'string') return undefined;
        const updated = parseUser(text);
        applyEverywhere({
          type: 'user',
          id,
          disabled: updated.disabled,
          tokenVersion: updated.tokenVersion,
        });
        return updated;
      },

      async replacePasswordHash(id, expectedHash, nextHash) {
        const replaced = await call(() =>
          run('authSidecarReplacePasswordHash', prefix, id, expectedHash, nextHash),
        );
        return replaced === 1;
      },

      async delete(id) {
        const deleted = await withEcho(
          `user:${id}`,
          () => call(() => run('authSidecarDeleteUser', prefix, id)),
          (reply) => reply === 1,
        );
        if (deleted !== 1) return false;
        applyEverywhere({ type: 'user-deleted', id });
        return true;
      },
    },

    refreshTokens: {
      async startFamily(request) {
        const reply = await call(() =>
          run(
            'authSidecarStartFamily',
            prefix,
            request.userId,
            request.expectedTokenVersion,
            request.familyId,
            request.token.tokenHash,
            request.token.expiresAt,
            request.maxFamilies,
            request.refuseAccessUntil,
            request.now,
          ),
        );
        if (!Array.isArray(reply) || typeof reply[0] !== 'string') return { started: false };
        const [user, ...evicted] = reply as [string, ...string[]];
        for (const familyId of evicted) noteEnded(familyId, request.refuseAccessUntil);
        return { started: true, user: parseUser(user), evicted };
      },

      async rotate(presented, next, { now: at, refuseAccessUntil }): Promise<RotateResult> {
        const reply = await call(() =>
          run(
            'authSidecarRotate',
            prefix,
            presented.familyId,
            presented.tokenHash,
            next.tokenHash,
            next.expiresAt,
            refuseAccessUntil,
            at,
          ),
        );
        const result = parseRotateReply(reply);
        if (result.outcome === 'reused') noteEnded(result.familyId, refuseAccessUntil);
        return result;
      },

      async ownerOf(familyId) {
        const userId = await call(() => run('authSidecarOwnerOf', prefix, familyId));
        return typeof userId === 'string' ? userId : undefined;
      },

      async revokeFamily(familyId, userId, { now: at, refuseAccessUntil }) {
        const revoked = await withEcho(
          `revoked:${familyId}`,
          () => call(() => run('authSidecarRevokeFamily', prefix, familyId, userId, refuseAccessUntil, at)),
          (reply) => reply === 1,
        );
        if (revoked !== 1) return false;
        noteEnded(familyId, refuseAccessUntil);
        return true;
      },
    },
  };
}

/** Stored users in the field order of the lowdb store. */
function parseUser(text: string): UserRecord {
  const raw = JSON.parse(text) as UserRecord;
  return {
    id: raw.id,
    username: raw.username,
    passwordHash: raw.passwordHash,
    roles: Array.isArray(raw.roles) ? raw.roles : [],
    ...(typeof raw.email === 'string' ? { email: raw.email } : {}),
    createdAt: raw.createdAt,
    disabled: raw.disabled ?? false,
    tokenVersion: raw.tokenVersion ?? 0,
    sessionVersion: raw.sessionVersion ?? 0,
  };
}

function parseRotateReply(reply: unknown): RotateResult {
  const [outcome, first, second] = Array.isArray(reply) ? (reply as string[]) : [];
  if (outcome === 'rotated' && first !== undefined && second !== undefined)
    return { outcome, user: parseUser(first), familyId: second };
  if (outcome === 'reused' && first !== undefined && second !== undefined)
    return { outcome, userId: first, familyId: second };
  if (outcome === 'rejected' && (first === 'unknown' || first === 'expired' || first === 'revoked'))
    return { outcome, reason: first };
  throw new Error(`redis store: unexpected rotate reply ${JSON.stringify(reply)}`);
}

/** What a writer waiting for its own event waits for: see `echoOf`. */
function echoKey(event: StoreEvent): string {
  return event.type === 'revoked' ? `revoked:${event.id}` : `user:${event.id}`;
}

function parseEvent(text: string): StoreEvent | undefined {
  let event: Partial<Record<string, unknown>>;
  try {
    event = JSON.parse(text) as Partial<Record<string, unknown>>;
  } catch {
    return undefined;
  }
  if (typeof event.id !== 'string') return undefined;
  if (event.type === 'user' && typeof event.disabled === 'boolean' && typeof event.tokenVersion === 'number')
    return { type: 'user', id: event.id, disabled: event.disabled, tokenVersion: event.tokenVersion };
  if (event.type === 'user-deleted') return { type: 'user-deleted', id: event.id };
  if (event.type === 'revoked' && typeof event.expiresAt === 'number')
    return { type: 'revoked', id: event.id, expiresAt: event.expiresAt };
  return undefined;
}

/** Replies that mean "not now" rather than a bug: the server is loading, read-only or busy. */
const UNAVAILABLE_REPLY = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN)\b/;

function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return UNAVAILABLE_REPLY.test(err.message);
  // Connection refused or lost, the offline queue disabled, MaxRetriesPerRequestError.
  return true;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the Redis URL';
  }
}

function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const startedAt = Date.now();
    const check = setInterval(() => {
      if (condition()) {
        clearInterval(check);
        resolve();
      } else if (Date.now() - startedAt >= timeoutMs) {
        clearInterval(check);
        reject(new Error('timed out'));
      }
    }, 10);
  });
}
