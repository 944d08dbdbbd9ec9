import type { Readable, Writable } from 'node:stream';

/** What a command may touch of the outside world; tests pass their own. */
export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Resolves on SIGTERM or SIGINT; `serve` shuts down then. */
  readonly shutdownSignal: Promise<string>;
  /** Registers what SIGHUP does (`serve` reloads its config); absent where there are no signals. */
  readonly onReloadSignal?: (listener: () => void) => void;
}

/** Exit codes: 0 success, 1 failure, 2 bad usage or bad configuration. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function writeLine(stream: Writable, text: string): void {
  stream.write(`${text}\n`);
}
