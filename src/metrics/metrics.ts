import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** How a proxied request was decided, as the metrics name it. */
export type DecisionLabel = 'allowed' | 'unauthenticated' | 'forbidden' | 'invalid_request' | 'unavailable';

/**
 * What the sidecar counts, in Prometheus conventions. One registry per sidecar, so that several
 * in one process (tests) do not share counters.
 */
export interface Metrics {
  readonly requestDecided: (rule: string, decision: DecisionLabel) => void;
  readonly responded: (status: number) => void;
  readonly upstreamResponded: (seconds: number) => void;
  readonly authEvent: (event: string) => void;
  readonly tokenCacheLookup: (hit: boolean) => void;
  readonly storeWritten: (seconds: number) => void;
  readonly configReloaded: (result: 'success' | 'failure') => void;
  /** A request forwarded while the store was unreachable, its session unchecked (serve-verified). */
  readonly servedUnchecked: () => void;
  /** Reports the store's readiness, read at each scrape. */
  readonly watchStore: (isReady: () => boolean) => void;
  /** An exchange the sidecar refused or ended to protect its backend connections, by reason. */
  readonly proxyRefused: (reason: ProxyRefusalReason) => void;
  /** Reports the backend connections in use and the exchanges waiting for one, read at each scrape. */
  readonly watchUpstreamPool: (usage: () => UpstreamPoolUsage) => void;
  /** The exposition text and its content type. */
  readonly render: () => Promise<{ readonly body: string; readonly contentType: string }>;
}

/** Why the sidecar refused or ended a proxied exchange to keep its backend connections available. */
export type ProxyRefusalReason = 'client_busy' | 'queue_timeout' | 'body_too_slow' | 'response_stalled';

export interface UpstreamPoolUsage {
  readonly inUse: number;
  readonly waiting: number;
  readonly size: number;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'auth_sidecar_' });
  const registers = [registry];

  const requests = new Counter({
    name: 'auth_sidecar_requests_total',
    help: 'Proxied requests by the rule that decided them and the decision.',
    labelNames: ['rule', 'decision'] as const,
    registers,
  });
  const responses = new Counter({
    name: 'auth_sidecar_responses_total',
    help: 'Responses by status code class, for every request the sidecar answered.',
    labelNames: ['code_class'] as const,
    registers,
  });
  const upstream = new Histogram({
    name: 'auth_sidecar_upstream_duration_seconds',
    help: 'Time from forwarding a request to the backend until its response head arrived.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const authEvents = new Counter({
    name: 'auth_sidecar_auth_events_total',
    help: 'Audit events of the auth endpoints and the proxy (auth.login.success, auth.denied, ...).',
    labelNames: ['event'] as const,
    registers,
  });
  const tokenCache = new Counter({
    name: 'auth_sidecar_token_cache_lookups_total',
    help: 'Lookups in the cache of verified access tokens, by result.',
    labelNames: ['result'] as const,
    registers,
  });
  const storeWrites = new Histogram({
    name: 'auth_sidecar_store_write_duration_seconds',
    help: 'Duration of each store file write.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const reloads = new Counter({
    name: 'auth_sidecar_config_reloads_total',
    help: 'Config reloads (SIGHUP or a change of the file) by result; a failed one keeps the old config.',
    labelNames: ['result'] as const,
    registers,
  });
  const unchecked = new Counter({
    name: 'auth_sidecar_unchecked_sessions_total',
    help: 'Requests forwarded with a valid token while the store was unreachable (store.unavailable: serve-verified).',
    registers,
  });
  let storeReady: () => boolean = () => false;
  new Gauge({
    name: 'auth_sidecar_store_up',
    help: 'Whether the store can serve reads and writes (1) or not (0: Redis unreachable, or a file that cannot be written).',
    registers,
    collect() {
      this.set(storeReady() ? 1 : 0);
    },
  });
  const refusals = new Counter({
    name: 'auth_sidecar_proxy_refusals_total',
    help: 'Proxied requests and upgrades refused or ended to keep backend connections available: client_busy (429, limits.proxy.perClient), queue_timeout (503, upstream.queueTimeout), body_too_slow (408, limits.proxy.bodyMinRate), response_stalled (closed, limits.proxy.sendTimeout).',
    labelNames: ['reason'] as const,
    registers,
  });
  let poolUsage: () => UpstreamPoolUsage = () => ({ inUse: 0, waiting: 0, size: 0 });
  new Gauge({
    name: 'auth_sidecar_upstream_connections',
    help: 'Connections to the backend by state: in_use, and max (upstream.maxConnections).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const usage = poolUsage();
      this.labels('in_use').set(usage.inUse);
      this.labels('max').set(usage.size);
    },
  });
  new Gauge({
    name: 'auth_sidecar_upstream_waiting_requests',
    help: 'Proxied requests and upgrades waiting for a free backend connection (at most upstream.queueTimeout each).',
    registers,
    collect() {
      this.set(poolUsage().waiting);
    },
  });
  const cacheHits = tokenCache.labels('hit');
  const cacheMisses = tokenCache.labels('miss');
  cacheHits.inc(0);
  cacheMisses.inc(0);
  for (const result of ['success', 'failure']) reloads.labels(result).inc(0);
  const refusedBy = {
    client_busy: refusals.labels('client_busy'),
    queue_timeout: refusals.labels('queue_timeout'),
    body_too_slow: refusals.labels('body_too_slow'),
    response_stalled: refusals.labels('response_stalled'),
  } satisfies Record<ProxyRefusalReason, Counter.Internal>;
  for (const child of Object.values(refusedBy)) child.inc(0);

  // Counters counted per request keep their labelled children: prom-client hashes labels per call.
  const decided = childCache();
  const byClass = childCache();
  const byEvent = childCache();
  return {
    requestDecided(rule, decision) {
      decided(`${rule} ${decision}`, () => requests.labels(rule, decision)).inc();
    },
    responded(status) {
      const codeClass = `${Math.floor(status / 100)}xx`;
      byClass(codeClass, () => responses.labels(codeClass)).inc();
    },
    upstreamResponded: (seconds) => upstream.observe(seconds),
    authEvent: (event) => byEvent(event, () => authEvents.labels(event)).inc(),
    tokenCacheLookup: (hit) => (hit ? cacheHits : cacheMisses).inc(),
    storeWritten: (seconds) => storeWrites.observe(seconds),
    configReloaded: (result) => reloads.labels(result).inc(),
    servedUnchecked: () => unchecked.inc(),
    watchStore: (isReady) => void (storeReady = isReady),
    proxyRefused: (reason) => refusedBy[reason].inc(),
    watchUpstreamPool: (usage) => void (poolUsage = usage),
    async render() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}

/** Children of a labelled counter by key, each made once. */
function childCache(): (key: string, make: () => Counter.Internal) => Counter.Internal {
  const children = new Map<string, Counter.Internal>();
  return (key, make) => {
    let child = children.get(key);
    if (!child) children.set(key, (child = make()));
    return child;
  };
}
