import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { basename, dirname } from 'node:path';
import type { Logger } from '../log/logger.js';
import { ConfigError } from './config-error.js';
import { loadConfig, type Env, type LoadedConfig } from './load.js';

/** Keys a reload puts in force (`tests` are run before it); a change to any other key waits for a restart. */
const RELOADABLE_KEYS = new Set(['rules', 'default', 'tests']);
/** Editors and Kubernetes' ConfigMap swap touch a file several times; one reload follows them. */
const SETTLE_MS = 150;
/**
 * A file is applied only when two reads this far apart give the same text: a writer that pauses
 * between two parts must not put the first part in force. Files should still be replaced
 * atomically (written beside, then renamed), which no pause can break.
 */
const STABLE_MS = 250;
/** How often a file that keeps changing is read again before the reload gives up on it. */
const MAX_UNSTABLE_READS = 20;
const CHANGING = Symbol('changing');

export interface ConfigReloaderOptions {
  readonly path: string | undefined;
  readonly env: Env;
  readonly running: LoadedConfig;
  readonly apply: (next: LoadedConfig) => void;
  /**
   * Checks a valid file further before it is applied (serve runs the policy tests): each string is
   * one failure, and any failure refuses the new config like an invalid file. Absent: none.
   */
  readonly verify?: (next: LoadedConfig) => readonly string[];
  readonly onResult: (result: 'success' | 'failure') => void;
  readonly logger: Logger;
  /** Waits between the two reads of a file (STABLE_MS); tests replace it. */
  readonly waitStable?: () => Promise<void>;
}

export interface ConfigReloader {
  /** Re-reads and validates the file; a valid one is applied, an invalid one logged and refused. */
  reload(trigger: string): Promise<void>;
  /** Reloads whenever the file or its folder changes (a ConfigMap's symlink swap included). */
  watchFile(): void;
  close(): void;
}

export function createConfigReloader(options: ConfigReloaderOptions): ConfigReloader {
  const { logger, running } = options;
  let appliedText: string | undefined;
  let watcher: FSWatcher | undefined;
  let settleTimer: NodeJS.Timeout | undefined;
  let queue = Promise.resolve();
  const file = running.file;
  void readFile(file, 'utf8').then(
    (text) => (appliedText ??= text),
    () => undefined,
  );

  const waitStable = options.waitStable ?? (() => delay(STABLE_MS));
  const readText = () => readFile(file, 'utf8').catch(() => undefined);

  /**
   * The file's text (undefined: unreadable) once two reads around a pause agree, or CHANGING
   * when they never did.
   */
  async function readStable(): Promise<string | undefined | typeof CHANGING> {
    let text = await readText();
    for (let read = 1; read < MAX_UNSTABLE_READS; read++) {
      await waitStable();
      const again = await readText();
      if (again === text) return text;
      logger.info(
        { event: 'config.reload.deferred', file, reason: 'file_changing' },
        'the config file is still being written; reading it again',
      );
      text = again;
    }
    return CHANGING;
  }

  async function reloadNow(trigger: string, attempt = 1): Promise<void> {
    const text = attempt <= MAX_UNSTABLE_READS ? await readStable() : CHANGING;
    if (trigger === 'file' && text !== undefined && text === appliedText) return;
    let next: LoadedConfig;
    try {
      if (text === CHANGING) {
        throw new ConfigError([
          {
            source: file,
            message: 'the file kept changing while it was read; write it beside and rename it over',
          },
        ]);
      }
      next = await loadConfig({ path: options.path, env: options.env });
      // loadConfig read the file once more: it must still be the text found stable.
      if ((await readText()) !== text) {
        logger.info(
          { event: 'config.reload.deferred', file, reason: 'file_changing' },
          'the config file changed while it was read; reading it again',
        );
        return reloadNow(trigger, attempt + 1);
      }
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      options.onResult('failure');
      logger.error(
        { event: 'config.reload.failed', trigger, file, problems: err.message.split('\n') },
        'config reload refused; the running config stays in force',
      );
      return;
    }
    const failures = options.verify?.(next) ?? [];
    if (failures.length > 0) {
      options.onResult('failure');
      logger.error(
        { event: 'config.reload.failed', trigger, file, failures },
        'config reload refused: its policy tests fail; the running config stays in force',
      );
      return;
    }
    options.apply(next);
    appliedText = text;
    options.onResult('success');
    const restartNeeded = changedKeys(running, next).filter((key) => !RELOADABLE_KEYS.has(key));
    logger.info(
      { event: 'config.reloaded', trigger, file, rules: next.config.rules.length },
      'config reloaded',
    );
    if (restartNeeded.length > 0) {
      logger.warn(
        { event: 'config.reload.restart_needed', keys: restartNeeded },
        'these keys changed but take effect only after a restart',
      );
    }
  }

  const reload = (trigger: string): Promise<void> => {
    // One reload at a time, in order: the last file state always wins.
    queue = queue
      .then(() => reloadNow(trigger))
      .catch((err: unknown) => {
        options.onResult('failure');
        logger.error({ event: 'config.reload.failed', trigger, file, err }, 'config reload failed');
      });
    return queue;
  };

  return {
    reload,
    watchFile() {
      const name = basename(file);
      watcher = watch(dirname(file), (_event, changed) => {
        // Kubernetes swaps a `..data` symlink; an editor may write a temporary file and rename it.
        if (changed !== null && changed !== name && !changed.startsWith('..')) return;
        clearTimeout(settleTimer);
        settleTimer = setTimeout(() => void reload('file'), SETTLE_MS);
      });
      watcher.on('error', (err) =>
        logger.warn({ event: 'config.watch.failed', file, err }, 'cannot watch the config'),
      );
    },
    close() {
      clearTimeout(settleTimer);
      watcher?.close();
    },
  };
}

function changedKeys(before: LoadedConfig, after: LoadedConfig): string[] {
  const keys = Object.keys(after.config) as (keyof LoadedConfig['config'])[];
  return keys
    .filter((key) => JSON.stringify(before.config[key]) !== JSON.stringify(after.config[key]))
    .filter((key) => key !== 'tokens' || !onlyKeyListChanged(before, after));
}

/** A changed list of key files is put in force (tokens.keys); between a secret and keys it is not. */
function onlyKeyListChanged(before: LoadedConfig, after: LoadedConfig): boolean {
  const { keys: keysBefore, ...restBefore } = before.config.tokens;
  const { keys: keysAfter, ...restAfter } = after.config.tokens;
  return (
    keysBefore !== undefined &&
    keysAfter !== undefined &&
    JSON.stringify(restBefore) === JSON.stringify(restAfter)
  );
}
