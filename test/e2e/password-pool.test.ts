/**
 * bcrypt runs in a few worker threads at the lowest CPU priority, behind a bounded queue: a login
 * storm slows logins, not the traffic the sidecar proxies, and what the queue cannot hold is told
 * to come back (503 with Retry-After) instead of piling up in memory.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { JSON_HEADERS, register } from '../helpers/auth-client.js';
import { uniqueUsername } from '../helpers/contract.js';
import { assertProblem } from '../helpers/problem.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';

const PASSWORD = 'correct-horse-1';
const LOWEST_PRIORITY = 19;

/** Nice values of this process's threads, from /proc (the in-process sidecar's workers among them). */
async function threadNiceValues(): Promise<number[]> {
  const tasks = await readdir('/proc/self/task');
  const values = await Promise.all(
    tasks.map(async (tid) => {
      const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => '');
      // Fields after the parenthesised command name; the nice value is field 19 of proc(5).
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(fields[16]);
    }),
  );
  return values.filter((value) => Number.isFinite(value));
}

describe('password hashing off the event loop', () => {
  describe('worker threads', () => {
    let sidecar: TestSidecar;
    before(async () => {
      sidecar = await startSidecar({ config: { passwords: { bcryptCost: 10, workers: 2 } } });
    });
    after(() => sidecar.stop({ removeData: true }));

    it(
      'hashes in threads that run at the lowest CPU priority (nice 19)',
      { skip: !existsSync('/proc/self/task') && 'needs Linux /proc' },
      async () => {
        const before = (await threadNiceValues()).filter((nice) => nice === LOWEST_PRIORITY).length;
        await register(sidecar.url, uniqueUsername('nice'), PASSWORD);
        const lowered = (await threadNiceValues()).filter((nice) => nice === LOWEST_PRIORITY).length;
        assert.ok(lowered - before >= 1 || lowered >= 2, `threads at nice 19: ${before} → ${lowered}`);
      },
    );
  });

  describe('a full queue', () => {
    let sidecar: TestSidecar;
    let username: string;
    before(async () => {
      sidecar = await startSidecar({ config: { passwords: { bcryptCost: 10, workers: 1, queue: 1 } } });
      username = uniqueUsername('storm');
      await register(sidecar.url, username, PASSWORD);
    });
    after(() => sidecar.stop({ removeData: true }));

    it('answers the logins it cannot queue 503 problem+json with Retry-After, and serves the rest', async () => {
      const responses = await Promise.all(
        Array.from({ length: 12 }, () =>
          request(sidecar.url).post('/auth/login').set(JSON_HEADERS).send({ username, password: PASSWORD }),
        ),
      );
      const statuses = responses.map((response) => response.status);
      assert.ok(
        statuses.every((status) => status === 200 || status === 503),
        statuses.join(','),
      );
      assert.ok(statuses.includes(200), statuses.join(','));
      const refused = responses.filter((response) => response.status === 503);
      assert.ok(refused.length > 0, statuses.join(','));
      for (const response of refused) {
        assertProblem(response, 503);
        assert.equal((response.body as { code: string }).code, 'server_busy');
        assert.match(String(response.headers['retry-after']), /^\d+$/);
      }
    });

    it('logs in normally once the storm has passed', async () => {
      const response = await request(sidecar.url)
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username, password: PASSWORD });
      assert.equal(response.status, 200, response.text);
    });
  });
});
