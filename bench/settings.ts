/** How long and how hard each part of the bench runs; chosen so one run stays under 3 minutes on 2 cores. */
export const SETTINGS = {
  host: '127.0.0.1',
  connections: 50,
  /** The level operators run: the default, one line per request. Logs go to /dev/null. */
  sidecarLogLevel: 'info',
  // Many short rounds rather than two long ones: on a shared machine the speed drifts by the
  // second, and the median of interleaved rounds shrugs off a disturbed one.
  throughput: { rounds: 4, durationS: 1.5, warmupS: 1 },
  paced: { rounds: 3, ratePerS: 1000, warmupMs: 500, durationMs: 3000, maxSockets: 64, timeoutMs: 2000 },
  storm: { concurrency: 16, settleMs: 500 },
  postBodyBytes: 1024 * 1024,
  memory: { warmupRequests: 100_000, requests: 200_000, checkpoints: 4, settleMs: 300 },
  // Instructions per request under callgrind (BENCH_BEFORE): valgrind slows the sidecar some
  // 50-fold, to about 20 req/s, so few connections and a few thousand requests; at these counts
  // the figure is steady to 1-2 %. The warm-up is counted in requests, like scenario 6's.
  instructions: {
    warmupRequests: 2000,
    requests: 3000,
    connections: 10,
    /** Start-up under valgrind takes a good minute on 2 cores. */
    readyTimeoutMs: 180_000,
    /** autocannon's 10 s could give up on a request held up by a collection under valgrind. */
    requestTimeoutS: 60,
  },
  store: {
    users: 10_000,
    starts: 3,
    sequentialRefreshes: 200,
    concurrentRefreshes: 50,
    loginConcurrency: 4,
  },
} as const;

export type Settings = typeof SETTINGS;
