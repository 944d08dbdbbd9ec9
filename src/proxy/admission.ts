/**
 * What a client may hold of the sidecar's connections to the backend: a count per client key, and
 * a pool of backend connections with a first-come queue whose places expire. Every step is O(1).
 */

/** Counts the exchanges each client has under way (proxied requests and WebSockets). */
export interface ClientSlots {
  /** Takes a slot for `client`; false, with nothing taken, when it already holds `perClient`. */
  take(client: string): boolean;
  /** Gives back one slot that `take` returned true for. */
  give(client: string): void;
  /** Clients holding at least one slot. */
  readonly clients: number;
}

export function createClientSlots(perClient: number): ClientSlots {
  if (!Number.isInteger(perClient) || perClient < 1) {
    throw new TypeError(`perClient: expected a whole number of at least 1, got ${perClient}`);
  }
  const held = new Map<string, number>();
  return {
    take(client) {
      const count = held.get(client) ?? 0;
      if (count >= perClient) return false;
      held.set(client, count + 1);
      return true;
    },
    give(client) {
      const count = held.get(client) ?? 0;
      if (count <= 1) held.delete(client);
      else held.set(client, count - 1);
    },
    get clients() {
      return held.size;
    },
  };
}

/** A place in the queue for a backend connection. */
export interface Waiter {
  /** Set once a connection was given to it: leaving then frees the connection. */
  held: boolean;
  /** Set once its deadline passed: leaving then does nothing. */
  expired: boolean;
  readonly start: () => void;
  readonly expire: () => void;
  timer: NodeJS.Timeout | undefined;
}

/** How many backend connections are in use and how many exchanges wait for one. */
export interface PoolUsage {
  readonly inUse: number;
  readonly waiting: number;
  readonly size: number;
}

export interface UpstreamPool {
  /** Takes a connection if one is free. */
  tryHold(): boolean;
  /**
   * Queues for a connection: `start` runs when one frees up, or `expire` once `queueTimeoutMs`
   * has passed without one. The waiter must be given to `leave` when the exchange ends.
   */
  wait(start: () => void, expire: () => void): Waiter;
  /** Frees a connection that `tryHold` gave. */
  release(): void;
  /** Ends a waiter's exchange: frees its connection, or takes it out of the queue. Idempotent. */
  leave(waiter: Waiter): void;
  usage(): PoolUsage;
  /** Every connection is in use: the next exchange waits. */
  saturated(): boolean;
}

export function createUpstreamPool(size: number, queueTimeoutMs: number): UpstreamPool {
  if (!Number.isInteger(size) || size < 1) {
    throw new TypeError(`size: expected a whole number of at least 1, got ${size}`);
  }
  if (!(queueTimeoutMs > 0)) {
    throw new TypeError(`queueTimeoutMs: expected a duration above 0, got ${queueTimeoutMs}`);
  }
  let inUse = 0;
  // A Set keeps insertion order (first come, first served) and deletes in O(1).
  const queue = new Set<Waiter>();

  const pump = () => {
    while (inUse < size && queue.size > 0) {
      const next = queue.values().next().value as Waiter;
      queue.delete(next);
      clearTimeout(next.timer);
      next.timer = undefined;
      next.held = true;
      inUse += 1;
      next.start();
    }
  };
  const release = () => {
    inUse -= 1;
    pump();
  };

  return {
    tryHold() {
      if (inUse >= size) return false;
      inUse += 1;
      return true;
    },
    wait(start, expire) {
      const waiter: Waiter = { held: false, expired: false, start, expire, timer: undefined };
      waiter.timer = setTimeout(() => {
        waiter.timer = undefined;
        waiter.expired = true;
        queue.delete(waiter);
        expire();
      }, queueTimeoutMs);
      queue.add(waiter);
      return waiter;
    },
    release,
    leave(waiter) {
      if (waiter.held) {
        waiter.held = false;
        waiter.expired = true;
        release();
        return;
      }
      if (waiter.expired) return;
      waiter.expired = true;
      clearTimeout(waiter.timer);
      waiter.timer = undefined;
      queue.delete(waiter);
    },
    usage: () => ({ inUse, waiting: queue.size, size }),
    saturated: () => inUse >= size,
  };
}
