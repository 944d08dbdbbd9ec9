/**
 * Open-loop load at a fixed rate, in a process of its own. autocannon's percentiles are whole
 * milliseconds, too coarse to compare sub-millisecond medians, so this times each request with
 * process.hrtime.bigint() from the moment it is issued to the end of its response.
 */
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveJobs } from '../lib/rpc.js';
import { SampleBuffer, summarizeLatencies } from '../lib/stats.js';
import { countStatus, type PacedJob, type PacedResult } from './jobs.js';

serveJobs<PacedJob>(runPaced);

async function runPaced(job: PacedJob): Promise<PacedResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.maxSockets });
  const body = job.bodyBytes === undefined ? undefined : Buffer.alloc(job.bodyBytes, 'b');
  const samples = new SampleBuffer();
  const statusCounts: Record<string, number> = {};
  const intervalMs = 1000 / job.ratePerS;
  const total = Math.round(((job.warmupMs + job.durationMs) / 1000) * job.ratePerS);
  const firstRecorded = Math.round((job.warmupMs / 1000) * job.ratePerS);
  let errors = 0;
  let sent = 0;
  let pending = 0;
  let maxScheduleLagMs = 0;
  let cpuBefore = process.cpuUsage();
  let recordingSince = 0;
  let lastRecordedEnd = 0;

  const send = (recorded: boolean): void => {
    pending++;
    const started = process.hrtime.bigint();
    const req = request(job.url, { agent, method: job.method ?? 'GET', headers: job.headers }, (res) => {
      res.resume();
      res.on('end', () => {
        pending--;
        if (!recorded) return;
        samples.push(Number(process.hrtime.bigint() - started) / 1e6);
        countStatus(statusCounts, res.statusCode ?? 0);
        lastRecordedEnd = performance.now();
      });
    });
    // A stalled server must not stretch the run: the request is given up, and kept in the figures
    // at the timeout, which makes its percentiles a lower bound.
    req.setTimeout(job.timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      pending--;
      if (!recorded) return;
      errors++;
      samples.push(job.timeoutMs);
      lastRecordedEnd = performance.now();
    });
    req.end(body);
  };

  const startedAt = performance.now();
  while (sent < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - startedAt) / intervalMs) + 1);
    if (due > sent) maxScheduleLagMs = Math.max(maxScheduleLagMs, now - startedAt - sent * intervalMs);
    for (; sent < due; sent++) {
      if (sent === firstRecorded) {
        cpuBefore = process.cpuUsage();
        recordingSince = now;
        maxScheduleLagMs = 0;
      }
      send(sent >= firstRecorded);
    }
    // A 1 ms timer is as fine as Node's timers go; requests that fell due meanwhile leave together.
    await sleep(Math.max(1, startedAt + sent * intervalMs - performance.now()));
  }
  while (pending > 0) await sleep(1);
  agent.destroy();

  const seconds = (lastRecordedEnd - recordingSince) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const latencies = samples.toArray();
  return {
    requests: latencies.length,
    seconds,
    rps: latencies.length / seconds,
    latency: summarizeLatencies(latencies),
    statusCounts,
    errors,
    generatorCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
    maxScheduleLagMs,
  };
}
