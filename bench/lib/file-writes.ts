import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FileWriteCounter {
  /** Waits for late notifications, stops watching and returns how many times the file was replaced. */
  finish(): Promise<number>;
}

/**
 * Counts atomic replacements of `path` (a temporary file renamed over it, as the store writes),
 * from the directory's rename notifications.
 */
export function countFileWrites(path: string): FileWriteCounter {
  const name = basename(path);
  let count = 0;
  const watcher = watch(dirname(path), (event, filename) => {
    if (event === 'rename' && filename === name) count++;
  });
  return {
    async finish() {
      await sleep(50);
      watcher.close();
      return count;
    },
  };
}
