/**
 * A reload reads the file twice around a pause and applies it only when both reads agree: a config
 * written in two parts, with a pause between them, never has its first part put in force. The
 * pause is injected, so each case decides exactly what the writer does during it. SIGHUP is the
 * trigger, which reloads whatever the file holds.
 */
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { createConfigReloader } from '../../src/config/reload.js';
import { createLogger } from '../../src/log/logger.js';
import { LogCapture } from '../helpers/log-capture.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';

const ENV = { JWT_SECRET: TEST_JWT_SECRET };

/** The running file: /api/** public. */
const RUNNING = 'rules:\n  - { path: /api/**, public: true }\n';
/** The new file in two parts; the first is valid YAML on its own: one rule, no policy test. */
const FIRST_PART = 'rules:\n  - { path: /public/**, public: true }\n';
const SECOND_PART =
  '  - { path: /api/**, authenticated: true }\ntests:\n  - { request: GET /api/x, expect: 401 }\n';

describe('config reload of a file still being written', () => {
  let dir: string;
  let path: string;
  let running: LoadedConfig;
  let applied: LoadedConfig[];
  let logs: LogCapture;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-reload-'));
    path = join(dir, 'auth-sidecar.yaml');
  });
  after(() => rm(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    await writeFile(path, RUNNING);
    running = await loadConfig({ path, env: ENV });
    applied = [];
    logs = new LogCapture();
  });

  function reloader(waitStable: () => Promise<void>) {
    return createConfigReloader({
      path,
      env: ENV,
      running,
      apply: (next) => applied.push(next),
      onResult: () => undefined,
      logger: createLogger({ level: 'info', destination: logs }),
      waitStable,
    });
  }

  const writeFirstPart = () => writeFile(path, FIRST_PART);
  const writeSecondPart = () => appendFile(path, SECOND_PART);

  it('the two parts make the intended config', async () => {
    await writeFirstPart();
    await writeSecondPart();
    const whole = await loadConfig({ path, env: ENV });
    assert.deepEqual(
      whole.config.rules.map((rule) => rule.path),
      ['/public/**', '/api/**'],
    );
    assert.equal(whole.config.tests.length, 1);
  });

  it('never puts the first part in force when the second lands during the pause; the whole file follows', async () => {
    await writeFirstPart();
    let pauses = 0;
    await reloader(async () => {
      if (pauses++ === 0) await writeSecondPart();
    }).reload('SIGHUP');
    assert.deepEqual(
      applied.map((next) => next.config.rules.map((rule) => rule.path)),
      [['/public/**', '/api/**']],
      'only the whole file was applied',
    );
    assert.equal(applied[0]?.config.tests.length, 1);
    assert.ok(logs.entries.some((line) => line.event === 'config.reload.deferred'));
  });

  it('refuses a file that never stops changing, and applies nothing', async () => {
    await writeFirstPart();
    let pauses = 0;
    await reloader(() => appendFile(path, `# write ${++pauses}\n`)).reload('SIGHUP');
    assert.deepEqual(applied, []);
    const refusal = logs.entries.find((line) => line.event === 'config.reload.failed');
    assert.match(JSON.stringify(refusal?.problems), /kept changing/);
  });

  it('applies a file that the two reads find unchanged', async () => {
    await writeFirstPart();
    await writeSecondPart();
    await reloader(() => Promise.resolve()).reload('SIGHUP');
    assert.equal(applied.length, 1);
    assert.equal(applied[0]?.config.rules.length, 2);
  });
});
