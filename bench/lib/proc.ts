/** What Linux tells about a process under /proc (the bench runs on Linux). */
import { readFileSync } from 'node:fs';

/** USER_HZ, the unit of the CPU times in /proc/<pid>/stat: 100 on every mainstream Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size in megabytes of 10^6 bytes (VmRSS). */
export function readRssMb(pid: number): number {
  return (readStatusKib(pid, 'VmRSS') * 1024) / 1e6;
}

/** Peak resident set size in megabytes of 10^6 bytes (VmHWM). */
export function readPeakRssMb(pid: number): number {
  return (readStatusKib(pid, 'VmHWM') * 1024) / 1e6;
}

function readStatusKib(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match?.[1]) throw new Error(`/proc/${pid}/status has no ${field}`);
  return Number(match[1]);
}

/** User plus system CPU time of the process (all its threads), in seconds. */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may contain spaces and parentheses; the fields after its last ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Runs `measure` and reports the CPU each process used meanwhile, in % of one core. */
export async function withCpuUsage<T>(
  pids: Readonly<Record<string, number>>,
  measure: () => Promise<T>,
): Promise<{ result: T; cpuPercent: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readCpuSeconds(pid)]));
  const startedAt = performance.now();
  const result = await measure();
  const seconds = (performance.now() - startedAt) / 1000;
  const cpuPercent: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    cpuPercent[name] = Math.round(((readCpuSeconds(pid) - (before[name] ?? 0)) / seconds) * 100);
  }
  return { result, cpuPercent };
}
