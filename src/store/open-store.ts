import { openLowdbStore } from './lowdb-store.js';
import { openRedisStore } from './redis-store.js';
import type { Store } from './types.js';

/** Which store to open: the shape of the config's `store` key, which the store does not import. */
export type StoreChoice =
  | { readonly driver: 'lowdb'; readonly path: string }
  | { readonly driver: 'redis'; readonly url: string; readonly keyPrefix: string };

export interface OpenStoreOptions {
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly now?: () => number;
  /** Told how long each lowdb file write took, in seconds (for metrics). */
  readonly onWrite?: (seconds: number) => void;
  /** Told when a shared store becomes ready or unavailable. */
  readonly onReadyChange?: (ready: boolean, err?: Error) => void;
}

/** Opens the store the config names. */
export function openStore(config: StoreChoice, options: OpenStoreOptions = {}): Promise<Store> {
  const { now, onWrite, onReadyChange } = options;
  switch (config.driver) {
    case 'lowdb':
      return openLowdbStore({
        path: config.path,
        ...(now ? { now } : {}),
        ...(onWrite ? { onWrite } : {}),
      });
    case 'redis':
      return openRedisStore({
        url: config.url,
        keyPrefix: config.keyPrefix,
        ...(now ? { now } : {}),
        ...(onReadyChange ? { onReadyChange } : {}),
      });
  }
}
