import type { RunningSidecar } from '../servers/sidecar.js';
import type { RunningServer } from '../servers/start-child-server.js';

/** The servers compared, all in front of the same upstream. */
export interface BenchServers {
  readonly upstream: RunningServer;
  /** A bare reverse proxy that checks nothing. */
  readonly baseline: RunningServer;
  /** express + passport-jwt + http-proxy-middleware. */
  readonly seed: RunningServer;
  /** The sidecar with the embedded lowdb store. */
  readonly sidecar: RunningSidecar;
  /** The same sidecar configuration with the Redis store; absent when redis-server is not installed. */
  readonly 'sidecar-redis'?: RunningSidecar;
  /** An earlier build with the lowdb store (BENCH_BEFORE); absent unless asked for. */
  readonly 'sidecar-before'?: RunningSidecar;
}

export type ServerKind = 'baseline' | 'seed' | 'sidecar' | 'sidecar-redis' | 'sidecar-before';

export interface BenchTokens {
  /** An access token the sidecar issued to the bench user (role analyst). */
  readonly valid: string;
  /** Well formed and signed, but with another secret. */
  readonly forged: string;
  /** An access token the Redis-store sidecar issued to its bench user. */
  readonly redis?: string;
  /** An access token the earlier build issued to its bench user. */
  readonly before?: string;
  /**
   * Signs the bench user in to the lowdb sidecar through its sign-in form, a new session each
   * call, and gives the session cookie as `name=value`.
   */
  readonly signIn: () => Promise<string>;
}

export function serverOf(servers: BenchServers, kind: ServerKind): RunningServer {
  const server = servers[kind];
  if (!server) throw new Error(`the bench has no ${kind} server`);
  return server;
}

/** The pids whose CPU use a run reports: the server under test and the upstream. */
export function cpuPids(servers: BenchServers, kind: ServerKind): Record<string, number> {
  return { server: serverOf(servers, kind).child.pid, upstream: servers.upstream.child.pid };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function cookie(pair: string): Record<string, string> {
  return { cookie: pair };
}
