/**
 * Instructions counted by valgrind's callgrind: unlike wall-clock throughput on a shared machine,
 * the count for the same work is the same from run to run. The process starts with
 * instrumentation off (start-up and warm-up are not counted), callgrind_control switches it on
 * and off around the requests to count, and a dump after each window writes that window's count
 * to a file of its own (callgrind zeroes its counters at each dump).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** callgrind_control talks to the process through vgdb; a command takes well under a second. */
const CONTROL_TIMEOUT_MS = 60_000;

/** Why instructions cannot be counted here; undefined when valgrind and callgrind_control are on PATH. */
export function callgrindSkipReason(): string | undefined {
  const missing = ['valgrind', 'callgrind_control'].filter((command) => !onPath(command));
  return missing.length === 0 ? undefined : `${missing.join(' and ')} not on PATH`;
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .some((dir) => {
      try {
        accessSync(join(dir, command), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

/** The launcher (children.ts) that runs Node.js under callgrind, counting nothing until told to. */
export function callgrindLauncher(outFile: string): string[] {
  return ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${outFile}`];
}

/**
 * Instructions the process `pid`, started with callgrindLauncher(outFile), ran while `measure`
 * did: every thread of it (V8's compiler and GC helpers too), valgrind's own work excluded.
 */
export async function countInstructions<T>(
  pid: number,
  outFile: string,
  measure: () => Promise<T>,
): Promise<{ result: T; instructions: number }> {
  await callgrindControl(pid, '-i', 'on');
  let result: T;
  try {
    result = await measure();
  } catch (err) {
    // The measurement's own failure says more than one of switching off a process that may be gone.
    await callgrindControl(pid, '-i', 'off').catch(() => undefined);
    throw err;
  }
  await callgrindControl(pid, '-i', 'off');
  await callgrindControl(pid, '-d');
  return { result, instructions: readTotal(await readFile(await latestDump(outFile), 'utf8')) };
}

/** callgrind_control exits with 0 even when it found no such process: its output tells. */
async function callgrindControl(pid: number, ...args: string[]): Promise<void> {
  const { stdout, stderr } = await run('callgrind_control', [...args, String(pid)], {
    encoding: 'utf8',
    timeout: CONTROL_TIMEOUT_MS,
  });
  if (!/^\s*OK\.?\s*$/m.test(stdout) || /^Error/m.test(stdout + stderr)) {
    throw new Error(`callgrind_control ${args.join(' ')} ${pid}: ${(stdout + stderr).trim()}`);
  }
}

/** The dump callgrind wrote last: `outFile.1`, `outFile.2`... in the order of the dumps. */
async function latestDump(outFile: string): Promise<string> {
  const prefix = `${basename(outFile)}.`;
  const parts = (await readdir(dirname(outFile)))
    .filter((name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
    .map((name) => Number(name.slice(prefix.length)));
  if (parts.length === 0) throw new Error(`callgrind wrote no dump next to ${outFile}`);
  return `${outFile}.${Math.max(...parts)}`;
}

/**
 * The instruction count (event Ir) of one dump. `totals:` at the end is the one to read: with
 * instrumentation switched on after start, the `summary:` line of the header stays 0.
 */
function readTotal(dump: string): number {
  const events = /^events:\s*(.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/) ?? ['Ir'];
  const column = events.indexOf('Ir');
  const line = /^totals:\s*(.+)$/m.exec(dump)?.[1] ?? /^summary:\s*(.+)$/m.exec(dump)?.[1];
  const value = Number(line?.trim().split(/\s+/)[column]);
  if (column < 0 || !Number.isFinite(value)) throw new Error('the callgrind dump has no Ir total');
  return value;
}
