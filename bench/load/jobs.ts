/** The jobs the load-generator processes take, and what they send back. */
import type { LatencySummary } from '../lib/stats.js';

export interface LoadRequest {
  /** Full URL, path and query included. */
  readonly url: string;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  /** Size of a request body made of one repeated byte; none when absent. */
  readonly bodyBytes?: number;
}

/** Closed loop: `connections` clients, each sending its next request when the last one is answered. */
export interface SaturatingJob extends LoadRequest {
  readonly connections: number;
  /** Seconds to run; or `amount` requests in all. */
  readonly durationS?: number;
  readonly amount?: number;
  /** Seconds before a request is given up as an error; autocannon's 10 unless given. */
  readonly timeoutS?: number;
}

/** Open loop: requests start on a fixed schedule, whether or not earlier ones are answered. */
export interface PacedJob extends LoadRequest {
  readonly ratePerS: number;
  /** Sent on the same schedule first and not recorded: opens the sockets, warms both sides. */
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly maxSockets: number;
  /** A request unanswered after this long is abandoned and counted as an error. */
  readonly timeoutMs: number;
}

export interface LoadResult {
  /** Responses received. */
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  /** Every response, whatever its status; milliseconds from sending to the end of the response. */
  readonly latency: LatencySummary;
  readonly statusCounts: Readonly<Record<string, number>>;
  /** Socket errors and timeouts; a paced run records them in the latencies at its timeout. */
  readonly errors: number;
  /** CPU the load generator itself used, in % of one core: near 100 means it may be the bottleneck. */
  readonly generatorCpuPercent: number;
}

export interface PacedResult extends LoadResult {
  /** How late the generator started a request at worst, against its schedule. */
  readonly maxScheduleLagMs: number;
}

export type StormJob =
  | {
      readonly op: 'start';
      readonly url: string;
      readonly concurrency: number;
      readonly username: string;
      readonly password: string;
    }
  | { readonly op: 'stop' };

export interface StormResult {
  readonly loginsCompleted: number;
  readonly statusCounts: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly seconds: number;
  /** Latency of the logins answered 200. */
  readonly successLatency: LatencySummary;
}

export function countStatus(counts: Record<string, number>, status: number | string): void {
  const key = String(status);
  counts[key] = (counts[key] ?? 0) + 1;
}
