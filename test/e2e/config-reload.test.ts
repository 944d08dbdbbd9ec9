/**
 * Config reload without a restart: on SIGHUP and when the file changes, including a Kubernetes
 * ConfigMap's symlink swap. A valid file replaces the rules for the requests decided next; an
 * invalid one is logged with file, line and key, and the running rules stay in force.
 */
import assert from 'node:assert/strict';
import { mkdir, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import {
  findFreePort,
  makeWorkDir,
  removeWorkDir,
  startServe,
  type ServeProcess,
} from '../helpers/cli-process.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const JWT_SECRET = 'e2e-reload-secret-e2e-reload-secret-e2e-reload-s';
const SAFETY = { timeout: 60_000 };

interface LogLine {
  readonly event?: string;
  readonly trigger?: string;
  readonly problems?: string[];
}

describe('config reload', () => {
  let upstream: TestUpstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(() => upstream.close());

  /** A config whose one rule makes /api/** public or protected. */
  function configText(port: number, apiRule: 'public' | 'authenticated'): string {
    return stringify({
      listen: { host: '127.0.0.1', port },
      upstream: { url: upstream.url },
      store: { path: 'data/store.json' },
      passwords: { bcryptCost: 10 },
      metrics: { onPublicPort: true },
      rules: [{ path: '/api/**', [apiRule]: true }],
    });
  }

  /** Replaces a file the way editors and config tools do: a new file renamed over the old one. */
  async function replaceFile(path: string, text: string): Promise<void> {
    await writeFile(`${path}.new`, text);
    await rename(`${path}.new`, path);
  }

  async function statusOf(url: string): Promise<number> {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.status;
  }

  async function eventually(probe: () => Promise<boolean> | boolean, what: string): Promise<void> {
    for (let attempt = 0; attempt < 400; attempt++) {
      if (await probe()) return;
      await delay(25);
    }
    assert.fail(`never happened: ${what}`);
  }

  function logLines(serve: ServeProcess): LogLine[] {
    return serve
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  describe('a plain file', () => {
    let cwd: string;
    let serve: ServeProcess;
    let baseUrl: string;
    let port: number;
    let configPath: string;

    before(async () => {
      cwd = await makeWorkDir();
      port = await findFreePort();
      baseUrl = `http://127.0.0.1:${port}`;
      configPath = join(cwd, 'auth-sidecar.yaml');
      await writeFile(configPath, configText(port, 'public'));
      serve = startServe(['serve', '--config', configPath], { cwd, env: { JWT_SECRET } });
      await serve.waitForReady(baseUrl);
    });
    after(async () => {
      await serve.kill();
      await removeWorkDir(cwd);
    });

    it('puts a changed file in force without a restart', SAFETY, async () => {
      assert.equal(await statusOf(`${baseUrl}/api/x`), 200);
      await replaceFile(configPath, configText(port, 'authenticated'));
      await eventually(async () => (await statusOf(`${baseUrl}/api/x`)) === 401, '/api/x protected');
    });

    it(
      'refuses an invalid file with file, line and key in the log, and keeps the rules in force',
      SAFETY,
      async () => {
        await replaceFile(configPath, `${configText(port, 'public')}rulez: []\n`);
        await eventually(
          () => logLines(serve).some((line) => line.event === 'config.reload.failed'),
          'a refusal',
        );
        const refusal = logLines(serve).find((line) => line.event === 'config.reload.failed');
        assert.match(refusal?.problems?.join('\n') ?? '', /auth-sidecar\.yaml:\d+ .*rulez/);
        assert.equal(await statusOf(`${baseUrl}/api/x`), 401, 'the authenticated rule still applies');
        const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
        assert.match(metrics, /auth_sidecar_config_reloads_total\{result="failure"\} 1/);
        assert.match(metrics, /auth_sidecar_config_reloads_total\{result="success"\} 1/);
      },
    );

    it(
      'refuses a file whose rules lint with an error (a shadowed rule), keeping the rules in force',
      SAFETY,
      async () => {
        const failuresBefore = logLines(serve).filter((line) => line.event === 'config.reload.failed').length;
        const shadowed = stringify({
          listen: { host: '127.0.0.1', port },
          upstream: { url: upstream.url },
          store: { path: 'data/store.json' },
          passwords: { bcryptCost: 10 },
          rules: [
            { path: '/api/**', public: true },
            { path: '/api/x', authenticated: true },
          ],
        });
        await replaceFile(configPath, shadowed);
        await eventually(
          () =>
            logLines(serve).filter((line) => line.event === 'config.reload.failed').length > failuresBefore,
          'a refusal',
        );
        const refusal = logLines(serve)
          .filter((line) => line.event === 'config.reload.failed')
          .at(-1);
        assert.match(refusal?.problems?.join('\n') ?? '', /auth-sidecar\.yaml:\d+ rules\[1\]/);
        assert.equal(await statusOf(`${baseUrl}/api/x`), 401, 'the authenticated rule still applies');
      },
    );

    it('reloads on SIGHUP', SAFETY, async () => {
      await writeFile(configPath, configText(port, 'public'));
      serve.child.kill('SIGHUP');
      await eventually(async () => (await statusOf(`${baseUrl}/api/x`)) === 200, '/api/x public again');
      assert.ok(
        logLines(serve).some((line) => line.event === 'config.reloaded' && line.trigger === 'SIGHUP'),
      );
    });
  });

  describe('a Kubernetes ConfigMap volume', () => {
    let cwd: string;
    let serve: ServeProcess;
    let baseUrl: string;
    let port: number;
    let volume: string;

    /** Writes a new version of the volume the way the kubelet does: a new folder, then `..data` swapped. */
    async function publishVersion(version: string, text: string): Promise<void> {
      await mkdir(join(volume, version));
      await writeFile(join(volume, version, 'auth-sidecar.yaml'), text);
      await symlink(version, join(volume, '..data_tmp'));
      await rename(join(volume, '..data_tmp'), join(volume, '..data'));
    }

    before(async () => {
      cwd = await makeWorkDir();
      port = await findFreePort();
      baseUrl = `http://127.0.0.1:${port}`;
      volume = join(cwd, 'config');
      await mkdir(volume);
      await publishVersion('..2026_12_02_v1', configText(port, 'public'));
      await symlink('..data/auth-sidecar.yaml', join(volume, 'auth-sidecar.yaml'));
      serve = startServe(['serve', '--config', join(volume, 'auth-sidecar.yaml')], {
        cwd,
        env: { JWT_SECRET },
      });
      await serve.waitForReady(baseUrl);
    });
    after(async () => {
      await serve.kill();
      await removeWorkDir(cwd);
    });

    it('follows the symlink swap', SAFETY, async () => {
      assert.equal(await statusOf(`${baseUrl}/api/x`), 200);
      await publishVersion('..2026_12_02_v2', configText(port, 'authenticated'));
      await eventually(async () => (await statusOf(`${baseUrl}/api/x`)) === 401, '/api/x protected');
    });
  });
});
