/**
 * The published keys of one trusted provider, kept in memory so tokens verify synchronously, and
 * refreshed in the background: on the schedule the JWKS response sets (Cache-Control), sooner
 * after a failure, and, at most once per interval, when a token names a key not held yet (the
 * provider rotated its keys). A failed fetch never drops the keys already held.
 */
import type { Logger } from '../log/logger.js';
import type { TrustedIssuerConfig } from '../config/schema.js';
import type { VerifyingKey } from '../tokens/jws.js';
import { fetchJson, keysLifetimeMs, type FetchFailure } from './fetch-json.js';
import { importKeySet, type ImportedKeySet } from './jwks-import.js';

/** Retry delays after failed fetches: doubling from the first to the last. */
export const FIRST_RETRY_MS = 30_000;
export const LAST_RETRY_MS = 5 * 60_000;

/** Bigger documents are refused: a real JWKS or OpenID configuration is a few KiB. */
export const MAX_DOCUMENT_BYTES = 512 * 1024;

/** Why a refresh kept the old keys; logged as `reason` of `trust.keys.fetch_failed`. */
export type RefreshFailure =
  | FetchFailure
  | 'discovery_issuer_mismatch'
  | 'discovery_without_jwks_uri'
  | 'jwks_without_keys_array'
  | 'no_usable_keys';

export interface IssuerKeysOptions {
  readonly logger: Logger;
  readonly fetchTimeoutMs: number;
  /** Least time between two refetches asked for by unknown key ids. */
  readonly minRefetchIntervalMs: number;
  /** Milliseconds since the epoch; the refetch interval is measured on it. */
  readonly now: () => number;
}

export interface IssuerKeys {
  /** The key a token names by `kid`; for no `kid`, the set's one key without a kid, if any. */
  keyFor(kid: string | undefined): VerifyingKey | undefined;
  /** True once a fetch succeeded, even if later ones failed. */
  readonly everFetched: boolean;
  /** Starts a refetch for a key id not held, unless one runs or the last one is too recent. */
  refetchForUnknownKid(): void;
  /** The fetch running now, resolved (never rejected) when it ends; undefined when none runs. */
  readonly pending: Promise<void> | undefined;
  /** The first fetch; resolves after its one attempt, whatever the outcome. */
  start(): Promise<void>;
  close(): void;
}

export function createIssuerKeys(entry: TrustedIssuerConfig, options: IssuerKeysOptions): IssuerKeys {
  const { logger, now } = options;
  const issuer = entry.issuer;
  const closing = new AbortController();
  let keys: ImportedKeySet = { byKid: new Map(), withoutKid: undefined, skipped: [] };
  let everFetched = false;
  let pending: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let failuresInARow = 0;
  let lastUnknownKidRefetchAt = Number.NEGATIVE_INFINITY;
  // From discovery, kept so that an unknown-kid refetch asks the provider for its JWKS only.
  let knownJwksUrl = entry.jwksUrl;

  const fetchOptions = () => ({
    timeoutMs: options.fetchTimeoutMs,
    maxBytes: MAX_DOCUMENT_BYTES,
    signal: closing.signal,
  });

  /** The JWKS URL, from the config or the provider's OpenID configuration (OIDC Discovery §4). */
  async function jwksUrl(): Promise<
    { ok: true; url: string } | { ok: false; reason: RefreshFailure; status?: number }
  > {
    if (entry.discovery === undefined) return { ok: true, url: entry.jwksUrl ?? '' };
    const result = await fetchJson(entry.discovery, fetchOptions());
    if (!result.ok) return result;
    // OIDC Discovery §4.3: the document must name the issuer it was fetched for, exactly.
    if (result.body.issuer !== issuer) return { ok: false, reason: 'discovery_issuer_mismatch' };
    const uri = result.body.jwks_uri;
    if (typeof uri !== 'string' || !isHttpUrl(uri))
      return { ok: false, reason: 'discovery_without_jwks_uri' };
    knownJwksUrl = uri;
    return { ok: true, url: uri };
  }

  async function fetchKeys(
    rediscover: boolean,
  ): Promise<
    | { ok: true; keys: ImportedKeySet; lifetimeMs: number }
    | { ok: false; reason: RefreshFailure; status?: number }
  > {
    const located =
      rediscover || knownJwksUrl === undefined ? await jwksUrl() : { ok: true as const, url: knownJwksUrl };
    if (!located.ok) return located;
    const result = await fetchJson(located.url, fetchOptions());
    if (!result.ok) return result;
    const members = result.body.keys;
    if (!Array.isArray(members)) return { ok: false, reason: 'jwks_without_keys_array' };
    const imported = await importKeySet(members);
    for (const skipped of imported.skipped) {
      logger.warn(
        { event: 'trust.keys.skipped', issuer, ...skipped },
        'a published key of a trusted issuer was skipped',
      );
    }
    if (imported.byKid.size === 0 && imported.withoutKid === undefined)
      return { ok: false, reason: 'no_usable_keys' };
    return { ok: true, keys: imported, lifetimeMs: keysLifetimeMs(result.cacheControl) };
  }

  async function refresh(rediscover: boolean): Promise<void> {
    const result = await fetchKeys(rediscover);
    if (closing.signal.aborted) return;
    let nextInMs: number;
    if (result.ok) {
      keys = result.keys;
      everFetched = true;
      failuresInARow = 0;
      nextInMs = result.lifetimeMs;
      const count = keys.byKid.size + (keys.withoutKid === undefined ? 0 : 1);
      logger.info({ event: 'trust.keys.fetched', issuer, keys: count }, 'trusted issuer keys fetched');
    } else {
      failuresInARow += 1;
      nextInMs = Math.min(LAST_RETRY_MS, FIRST_RETRY_MS * 2 ** (failuresInARow - 1));
      logger.warn(
        {
          event: 'trust.keys.fetch_failed',
          issuer,
          reason: result.reason,
          status: result.status,
          retryInMs: nextInMs,
        },
        'fetching trusted issuer keys failed; the keys held are kept',
      );
    }
    schedule(nextInMs);
  }

  function schedule(delayMs: number): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void run(true);
    }, delayMs);
    timer.unref();
  }

  /** Starts a fetch unless one runs; the returned promise never rejects. */
  function run(rediscover: boolean): Promise<void> {
    if (closing.signal.aborted) return Promise.resolve();
    if (pending !== undefined) return pending;
    const started = refresh(rediscover)
      .catch((err: unknown) => {
        // Not expected (every failure above is a value); logged so a bug cannot stop the refreshes.
        logger.error(
          { event: 'trust.keys.fetch_failed', issuer, reason: 'internal', err },
          'refreshing keys failed',
        );
        if (!closing.signal.aborted) schedule(LAST_RETRY_MS);
      })
      .finally(() => {
        if (pending === started) pending = undefined;
      });
    pending = started;
    return started;
  }

  return {
    keyFor(kid) {
      return kid === undefined ? keys.withoutKid : keys.byKid.get(kid);
    },
    get everFetched() {
      return everFetched;
    },
    get pending() {
      return pending;
    },
    refetchForUnknownKid() {
      if (pending !== undefined || closing.signal.aborted) return;
      const at = now();
      if (at - lastUnknownKidRefetchAt < options.minRefetchIntervalMs) return;
      lastUnknownKidRefetchAt = at;
      void run(false);
    },
    start() {
      return run(true);
    },
    close() {
      closing.abort();
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}
