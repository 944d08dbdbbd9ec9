/**
 * Scenario 7: the embedded store with 10,000 users. (a) start-up to ready; (b) sequential token
 * refreshes, each a rotation written to the file; (c) concurrent refreshes of different families,
 * whose file writes should coalesce.
 */
import { stat } from 'node:fs/promises';
import { Agent } from 'node:http';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { stopChild } from '../lib/children.js';
import { countFileWrites } from '../lib/file-writes.js';
import { sendJson } from '../lib/http-client.js';
import { median, round2, summarizeLatencies, type LatencySummary } from '../lib/stats.js';
import { BCRYPT_COST, BENCH_USER, writeSidecarConfig } from '../servers/sidecar-config.js';
import { login, startSidecar, type RunningSidecar, type Session } from '../servers/sidecar.js';
import { SETTINGS } from '../settings.js';
import { writeStoreWithUsers } from './store-file.js';

export interface RefreshFigures {
  readonly calls: number;
  readonly totalMs: number;
  readonly latency: LatencySummary;
  /** Times the store file was replaced meanwhile. */
  readonly fileWrites: number;
}

export interface StoreResult {
  readonly users: number;
  readonly storeFileMb: number;
  readonly startupMs: readonly number[];
  readonly startupMedianMs: number;
  readonly sequentialRefresh: RefreshFigures;
  readonly concurrentRefresh: RefreshFigures;
  readonly loginsForFamilies: { readonly count: number; readonly seconds: number };
}

export async function runStore(dir: string, upstreamUrl: string, secret: string): Promise<StoreResult> {
  const { users, starts } = SETTINGS.store;
  const storePath = join(dir, 'store-10k.json');
  const configPath = join(dir, 'store-10k.yaml');
  const passwordHash = await bcrypt.hash(BENCH_USER.password, BCRYPT_COST);
  await writeStoreWithUsers(storePath, users, { ...BENCH_USER, passwordHash });
  await writeSidecarConfig(configPath, { upstreamUrl, storePath, logLevel: SETTINGS.sidecarLogLevel });
  const { size } = await stat(storePath);

  const startupMs: number[] = [];
  let sidecar: RunningSidecar | undefined;
  try {
    for (let start = 1; start <= starts; start++) {
      if (sidecar) await stopChild(sidecar.child);
      sidecar = await startSidecar(`sidecar (${users} users)`, configPath, secret);
      startupMs.push(round2(Number(sidecar.readyAt - sidecar.spawnedAt) / 1e6));
    }
    if (!sidecar) throw new Error('SETTINGS.store.starts must be at least 1');
    const first = await login(sidecar.url, BENCH_USER);
    const sequentialRefresh = await refreshSequentially(sidecar.url, storePath, first);
    const loginsStartedAt = performance.now();
    const families = await loginMany(sidecar.url, SETTINGS.store.concurrentRefreshes);
    const loginsForFamilies = {
      count: families.length,
      seconds: round2((performance.now() - loginsStartedAt) / 1000),
    };
    const concurrentRefresh = await refreshConcurrently(sidecar.url, storePath, families);
    return {
      users,
      storeFileMb: round2(size / 1e6),
      startupMs,
      startupMedianMs: round2(median(startupMs)),
      sequentialRefresh,
      concurrentRefresh,
      loginsForFamilies,
    };
  } finally {
    if (sidecar) await stopChild(sidecar.child);
  }
}

async function refreshSequentially(
  url: string,
  storePath: string,
  session: Session,
): Promise<RefreshFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies = new Float64Array(SETTINGS.store.sequentialRefreshes);
  let refreshToken = session.refreshToken;
  const writes = countFileWrites(storePath);
  const startedAt = performance.now();
  try {
    for (let call = 0; call < latencies.length; call++) {
      const response = await sendJson(`${url}/auth/refresh`, { body: { refreshToken }, agent });
      if (response.status !== 200) throw new Error(`refresh answered ${response.status}`);
      refreshToken = (response.body as Session).refreshToken;
      latencies[call] = response.ms;
    }
  } finally {
    agent.destroy();
  }
  const totalMs = round2(performance.now() - startedAt);
  return {
    calls: latencies.length,
    totalMs,
    latency: summarizeLatencies(latencies),
    fileWrites: await writes.finish(),
  };
}

/** Logs in `count` times, a few at a time: each login starts its own refresh-token family. */
async function loginMany(url: string, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  let started = 0;
  const client = async (): Promise<void> => {
    while (started < count) {
      started++;
      sessions.push(await login(url, BENCH_USER));
    }
  };
  await Promise.all(Array.from({ length: SETTINGS.store.loginConcurrency }, client));
  return sessions;
}

async function refreshConcurrently(
  url: string,
  storePath: string,
  families: readonly Session[],
): Promise<RefreshFigures> {
  const agent = new Agent({ keepAlive: true, maxSockets: families.length });
  try {
    // Open every connection first, so the figures hold the refreshes and not the TCP handshakes.
    await Promise.all(families.map(() => sendJson(`${url}/healthz`, { agent })));
    const writes = countFileWrites(storePath);
    const startedAt = performance.now();
    const responses = await Promise.all(
      families.map((family) =>
        sendJson(`${url}/auth/refresh`, { body: { refreshToken: family.refreshToken }, agent }),
      ),
    );
    const totalMs = round2(performance.now() - startedAt);
    const refused = responses.filter((response) => response.status !== 200);
    if (refused.length > 0) throw new Error(`${refused.length} concurrent refreshes were refused`);
    return {
      calls: responses.length,
      totalMs,
      latency: summarizeLatencies(Float64Array.from(responses, (response) => response.ms)),
      fileWrites: await writes.finish(),
    };
  } finally {
    agent.destroy();
  }
}
