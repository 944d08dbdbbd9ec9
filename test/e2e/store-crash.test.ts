import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  findFreePort,
  makeWorkDir,
  placeFile,
  removeWorkDir,
  startServe,
  type ServeProcess,
} from '../helpers/cli-process.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';

const REGISTRATIONS = 60;
const KILL_AFTER_ACKNOWLEDGED = 20;

function configYaml(port: number): string {
  return [
    `listen: { host: 127.0.0.1, port: ${port} }`,
    'store: { driver: lowdb, path: data/store.json }',
    // Sixty registrations at once from one client: room for all of them in its share of the queue.
    'passwords: { bcryptCost: 10, queuePerClient: 64 }',
    'limits: { register: { perIp: 1000 } }',
    'log: { level: warn }',
    '',
  ].join('\n');
}

async function registerUser(baseUrl: string, username: string): Promise<number> {
  const response = await fetch(`${baseUrl}/auth/register`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: `pw-${username}` }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('a sidecar killed with SIGKILL in the middle of registrations', () => {
  let workDir: string;
  let serve: ServeProcess | undefined;

  after(async () => {
    await serve?.kill();
    await removeWorkDir(workDir);
  });

  it(
    'leaves a store file that is valid JSON and holds every registration it acknowledged',
    { timeout: 120_000 },
    async () => {
      workDir = await makeWorkDir();
      const port = await findFreePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const configPath = await placeFile(workDir, 'config/auth-sidecar.yaml', configYaml(port));
      const env = { JWT_SECRET: TEST_JWT_SECRET, PATH: process.env.PATH ?? '' };
      const crashing = startServe(['serve', '--config', configPath], { cwd: workDir, env });
      serve = crashing;
      await crashing.waitForReady(baseUrl);

      const acknowledged: string[] = [];
      await Promise.all(
        Array.from({ length: REGISTRATIONS }, async (_, index) => {
          const username = `crash${index}`;
          const status = await registerUser(baseUrl, username).catch(() => 0);
          if (status !== 201) return;
          acknowledged.push(username);
          if (acknowledged.length === KILL_AFTER_ACKNOWLEDGED) crashing.child.kill('SIGKILL');
        }),
      );
      assert.ok(
        acknowledged.length >= KILL_AFTER_ACKNOWLEDGED,
        `only ${acknowledged.length} registrations succeeded`,
      );
      const { signal } = await crashing.exited;
      assert.equal(signal, 'SIGKILL', 'the sidecar was killed, not stopped');

      const text = await readFile(join(workDir, 'data/store.json'), 'utf8');
      const stored = JSON.parse(text) as { users: { username: string }[] };
      const storedNames = new Set(stored.users.map((user) => user.username));
      for (const username of acknowledged)
        assert.ok(storedNames.has(username), `${username} was acknowledged but lost`);

      serve = startServe(['serve', '--config', configPath], { cwd: workDir, env });
      await serve.waitForReady(baseUrl);
      for (const username of acknowledged) {
        const response = await fetch(`${baseUrl}/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username, password: `pw-${username}` }),
        });
        await response.arrayBuffer();
        assert.equal(response.status, 200, `${username} cannot log in after the restart`);
      }
    },
  );
});
