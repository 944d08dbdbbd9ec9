/**
 * Closed-loop load with autocannon, in a process of its own. Latencies are taken from autocannon's
 * per-response event, which has sub-millisecond resolution; its own histogram keeps whole ms only.
 */
import autocannon from 'autocannon';
import { serveJobs } from '../lib/rpc.js';
import { SampleBuffer, summarizeLatencies } from '../lib/stats.js';
import { countStatus, type LoadResult, type SaturatingJob } from './jobs.js';

serveJobs<SaturatingJob>(runSaturating);

function runSaturating(job: SaturatingJob): Promise<LoadResult> {
  const samples = new SampleBuffer();
  const statusCounts: Record<string, number> = {};
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  return new Promise<LoadResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.url,
        connections: job.connections,
        ...(job.amount === undefined ? { duration: job.durationS ?? 5 } : { amount: job.amount }),
        ...(job.timeoutS === undefined ? {} : { timeout: job.timeoutS }),
        method: job.method ?? 'GET',
        headers: { ...job.headers },
        ...(job.bodyBytes === undefined ? {} : { body: Buffer.alloc(job.bodyBytes, 'b') }),
        // autocannon notices the end of a run only at its next sample tick (1 s by default), which
        // would stretch a 1.5 s run to 2 s; a fine tick keeps runs as long as asked.
        sampleInt: 100,
      },
      (err: Error | null, result) => {
        if (err) {
          reject(err);
          return;
        }
        const seconds = (performance.now() - startedAt) / 1000;
        const cpu = process.cpuUsage(cpuBefore);
        const requests = Object.values(statusCounts).reduce((sum, count) => sum + count, 0);
        resolve({
          requests,
          seconds,
          rps: requests / seconds,
          latency: summarizeLatencies(samples.toArray()),
          statusCounts,
          errors: result.errors,
          generatorCpuPercent: ((cpu.user + cpu.system) / 1e6 / seconds) * 100,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      samples.push(responseTime);
      countStatus(statusCounts, statusCode);
    });
  });
}
