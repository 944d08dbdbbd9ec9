/**
 * The errors a store throws, with stable codes. A store knows nothing of HTTP: the HTTP layer
 * (`http/problem.ts`) maps these to the problems a client sees.
 */

/** Stable store error codes: `switch (err.code)` narrows. */
export type StoreErrorCode = 'store_open_failed' | 'store_unavailable';

/** Any error a store throws on purpose. */
export abstract class StoreError extends Error {
  abstract readonly code: StoreErrorCode;
}

/** The store could not be opened (a file that cannot be used, a server out of reach); start-up stops with this message. */
export class StoreOpenError extends StoreError {
  readonly code = 'store_open_failed';

  constructor(
    path: string,
    /** The message without the path. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${reason}`, options);
    this.name = 'StoreOpenError';
  }
}

/**
 * An open store cannot answer for now (a shared store's connection is down); the command was not
 * applied and may be retried shortly.
 */
export class StoreUnavailableError extends StoreError {
  readonly code = 'store_unavailable';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
