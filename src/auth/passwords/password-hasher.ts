import bcrypt from 'bcryptjs';

/** bcrypt reads at most 72 bytes; longer passwords are refused rather than silently truncated. */
export const MAX_PASSWORD_BYTES = 72;

export interface PasswordPolicy {
  readonly minLength: number;
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function findPasswordProblem(password: string, policy: PasswordPolicy): string | undefined {
  if ([...password].length < policy.minLength)
    return `password must be at least ${policy.minLength} characters`;
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    return `password must be at most ${MAX_PASSWORD_BYTES} bytes`;
  }
  return undefined;
}

/** Where bcrypt runs: a worker pool in the server, inline in one-off commands. */
export interface BcryptEngine {
  /** `client` is the key of the client the work is done for; a shared engine serves clients in turn. */
  hash(password: string, cost: number, client?: string): Promise<string>;
  compare(password: string, hash: string, client?: string): Promise<boolean>;
}

/** bcrypt on the calling thread, for commands that serve no traffic. */
export const inlineBcrypt: BcryptEngine = {
  hash: (password, cost) => bcrypt.hash(password, cost),
  compare: (password, hash) => bcrypt.compare(password, hash),
};

/** The cost factor of a bcrypt hash (`$2b$12$…` → 12), or undefined when it is not one. */
export function bcryptCostOf(hash: string): number | undefined {
  const match = /^\$2[abxy]?\$(\d{2})\$[./A-Za-z0-9]{53}$/.exec(hash);
  return match ? Number(match[1]) : undefined;
}

export interface PasswordHasher {
  /** A hash at the configured cost. */
  hash(password: string, client?: string): Promise<string>;
  /**
   * Compares against `hash`, or, when there is no user, against a dummy hash whose cost is the one
   * most stored hashes have, so that an unknown username takes as long as a known one.
   */
  verify(password: string, hash: string | undefined, client?: string): Promise<boolean>;
  /** Whether a stored hash should be replaced by one at the configured cost (after a right password). */
  needsRehash(hash: string): boolean;
  /** Tells the hasher a stored hash changed (`previous` undefined for a new user), so the dummy follows. */
  noteStored(previous: string | undefined, next: string): void;
  /** The cost of the dummy hash an unknown username is checked against. */
  dummyCost(): Promise<number>;
}

export interface PasswordHasherOptions {
  readonly cost: number;
  readonly engine: BcryptEngine;
  /**
   * Every stored password hash, read at the first unknown username and again every
   * {@link STORED_COSTS_REFRESH_MS}; without it the dummy has the configured cost.
   */
  readonly storedHashes?: () => Promise<Iterable<string>>;
  readonly now?: () => number;
}

/** How often the costs of the stored hashes are counted again (other replicas rehash too). */
export const STORED_COSTS_REFRESH_MS = 10 * 60_000;

export function createPasswordHasher({
  cost,
  engine,
  storedHashes,
  now = Date.now,
}: PasswordHasherOptions): PasswordHasher {
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) {
    throw new TypeError('createPasswordHasher: cost must be an integer from 4 to 31');
  }
  const costs = createStoredCosts(cost, storedHashes, now);
  // An unknown username costs the same work as a wrong password, so timing does not tell them apart:
  // the dummy has the cost of most stored hashes, not the configured one, which differs after
  // `bcryptCost` is raised until every user has logged in again.
  const dummies = new Map<number, Promise<string>>();
  const dummy = (dummyCost: number): Promise<string> => {
    let hash = dummies.get(dummyCost);
    if (!hash) {
      hash = engine.hash('not-a-real-password', dummyCost).catch((err: unknown) => {
        dummies.delete(dummyCost);
        throw err;
      });
      dummies.set(dummyCost, hash);
    }
    return hash;
  };
  return {
    hash: (password, client) => engine.hash(password, cost, client),
    async verify(password, hash, client) {
      if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return false;
      if (hash === undefined) {
        await engine.compare(password, await dummy(await costs.mostCommon()), client);
        return false;
      }
      return engine.compare(password, hash, client);
    },
    needsRehash: (hash) => {
      const stored = bcryptCostOf(hash);
      return stored !== undefined && stored !== cost;
    },
    noteStored: (previous, next) => costs.replace(previous, next),
    dummyCost: () => costs.mostCommon(),
  };
}

/** How many stored hashes have each cost, counted from the store now and then and kept up locally. */
function createStoredCosts(
  configured: number,
  storedHashes: (() => Promise<Iterable<string>>) | undefined,
  now: () => number,
) {
  let counts = new Map<number, number>();
  let countedAt = Number.NEGATIVE_INFINITY;
  let counting: Promise<void> | undefined;
  const add = (target: Map<number, number>, hash: string, by: number) => {
    const hashCost = bcryptCostOf(hash);
    if (hashCost !== undefined) target.set(hashCost, Math.max(0, (target.get(hashCost) ?? 0) + by));
  };
  const count = (): Promise<void> => {
    counting ??= (async () => {
      try {
        const next = new Map<number, number>();
        for (const hash of (await storedHashes?.()) ?? []) add(next, hash, 1);
        counts = next;
      } catch {
        // The store is unreachable: keep the last counts; a login will fail on the store anyway.
      } finally {
        countedAt = now();
        counting = undefined;
      }
    })();
    return counting;
  };
  const pick = (): number => {
    // The most common cost; on a tie the higher one, so that an unknown username is never the faster.
    let best = configured;
    let bestCount = 0;
    for (const [hashCost, n] of counts) {
      if (n > bestCount || (n === bestCount && n > 0 && hashCost > best)) {
        best = hashCost;
        bestCount = n;
      }
    }
    return best;
  };
  return {
    async mostCommon(): Promise<number> {
      if (countedAt === Number.NEGATIVE_INFINITY) await count();
      else if (now() - countedAt >= STORED_COSTS_REFRESH_MS) void count();
      return pick();
    },
    replace(previous: string | undefined, next: string): void {
      if (previous !== undefined) add(counts, previous, -1);
      add(counts, next, 1);
    },
  };
}
