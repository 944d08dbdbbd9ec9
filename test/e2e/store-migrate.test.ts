/**
 * `auth-sidecar store migrate`: a lowdb sidecar's users and sessions moved into Redis, where a
 * Redis sidecar honours them as they were: tokens keep working, logouts and rotations stay done.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { assertRefused } from '../helpers/attack.js';
import { login, register, type Session } from '../helpers/auth-client.js';
import {
  makeWorkDir,
  placeFile,
  removeWorkDir,
  runCli,
  serveOnFreePort,
  type CliResult,
  type RunningServe,
} from '../helpers/cli-process.js';
import { redisSkipReason, startRedisServer, type TestRedis } from '../helpers/redis-server.js';
import { getWith, postJson } from '../helpers/session-client.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const JWT_SECRET = 'e2e-migrate-secret-e2e-migrate-secret-e2e-migrat';
const STORE_FILE = 'data/store.json';
const KEY_PREFIX = 'moved:';
const SAFETY = { timeout: 60_000 };

describe('store migrate', { skip: redisSkipReason }, () => {
  let redis: TestRedis;
  let upstream: TestUpstream;
  let cwd: string;
  let lowdbSidecar: RunningServe;
  let redisSidecar: RunningServe | undefined;
  let alice: Session;
  let aliceRotated: Session;
  let bob: Session;
  let carol: Session;

  const serve = (config: string) =>
    serveOnFreePort(config, { cwd, env: { JWT_SECRET, REDIS_URL: redis.url } });

  async function changePassword(url: string, username: string, from: string, to: string): Promise<void> {
    const session = await login(url, username, from);
    await postJson(
      url,
      '/auth/password',
      { currentPassword: from, newPassword: to },
      session.accessToken,
    ).expect(204);
  }

  function migrate(...extra: string[]): Promise<CliResult> {
    return runCli(
      [
        'store',
        'migrate',
        '--from',
        `lowdb:${STORE_FILE}`,
        '--to',
        redis.url,
        '--key-prefix',
        KEY_PREFIX,
        ...extra,
      ],
      { cwd, env: {} },
    );
  }

  before(async () => {
    redis = await startRedisServer();
    upstream = await startUpstream();
    cwd = await makeWorkDir();
    const common = {
      listen: { host: '127.0.0.1' },
      upstream: { url: upstream.url },
      passwords: { bcryptCost: 10 },
      rules: [{ path: '/api/**', authenticated: true }],
    };
    await placeFile(
      cwd,
      'lowdb.yaml',
      stringify({ ...common, store: { driver: 'lowdb', path: STORE_FILE } }),
    );
    await placeFile(
      cwd,
      'redis.yaml',
      stringify({ ...common, store: { driver: 'redis', keyPrefix: KEY_PREFIX } }),
    );

    // A store with some history, written by a lowdb sidecar that keeps serving from it.
    lowdbSidecar = await serve('lowdb.yaml');
    alice = await register(lowdbSidecar.url, 'alice');
    aliceRotated = (
      await postJson(lowdbSidecar.url, '/auth/refresh', { refreshToken: alice.refreshToken }).expect(200)
    ).body as Session;
    bob = await register(lowdbSidecar.url, 'bob');
    await postJson(
      lowdbSidecar.url,
      '/auth/logout',
      { refreshToken: bob.refreshToken },
      bob.accessToken,
    ).expect(204);
    carol = await register(lowdbSidecar.url, 'carol');
  });

  after(async () => {
    await lowdbSidecar?.process.kill();
    await redisSidecar?.process.kill();
    await upstream?.close();
    await redis?.cleanup();
    if (cwd) await removeWorkDir(cwd);
  });

  it('copies users, live refresh families and revocations, and prints what it copied', SAFETY, async () => {
    const result = await migrate();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines[0], `copied lowdb:${STORE_FILE} into ${redis.url} (key prefix ${KEY_PREFIX})`);
    assert.equal(lines[1], 'users: 3 copied, 0 updated, 0 already current');
    // alice's session (rotated once) and carol's; bob's ended at logout.
    assert.equal(
      lines[2],
      'sessions: 2 copied, 0 updated, 0 already current (1 ended or expired left behind)',
    );
    // bob's logout refused his access token and his session.
    assert.equal(lines[3], 'access-token revocations: 2 copied, 0 updated, 0 already current');
  });

  it('leaves a Redis sidecar honouring every session as the lowdb one did', SAFETY, async () => {
    redisSidecar = await serve('redis.yaml');
    const { url } = redisSidecar;
    await getWith(url, '/api/items', aliceRotated.accessToken).expect(200);
    await getWith(url, '/api/items', carol.accessToken).expect(200);
    assertRefused(await getWith(url, '/api/items', bob.accessToken), 401, 'invalid_token');
    assertRefused(
      await postJson(url, '/auth/refresh', { refreshToken: bob.refreshToken }),
      401,
      'invalid_refresh_token',
    );
    await login(url, 'bob');

    // carol's refresh token moves on in Redis; alice's first one is a replay there too, which
    // ends her session on the copy as well.
    await postJson(url, '/auth/refresh', { refreshToken: carol.refreshToken }).expect(200);
    assertRefused(
      await postJson(url, '/auth/refresh', { refreshToken: alice.refreshToken }),
      401,
      'invalid_refresh_token',
    );
    assertRefused(
      await postJson(url, '/auth/refresh', { refreshToken: aliceRotated.refreshToken }),
      401,
      'invalid_refresh_token',
    );
  });

  it('is safe to run again: it brings over newer changes and never rolls back Redis', SAFETY, async () => {
    assert.ok(redisSidecar);
    // Changed in the source since the first run: carol's password; in Redis: bob's.
    await changePassword(lowdbSidecar.url, 'carol', 'correct-horse-1', 'correct-horse-2');
    await changePassword(redisSidecar.url, 'bob', 'correct-horse-1', 'correct-horse-3');

    const result = await migrate();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^users: 0 copied, 1 updated, 2 already current$/m);
    await login(redisSidecar.url, 'carol', 'correct-horse-2');
    await login(redisSidecar.url, 'bob', 'correct-horse-3');

    const again = await migrate();
    assert.match(again.stdout, /^users: 0 copied, 0 updated, 3 already current$/m);
    assert.match(again.stdout, /^access-token revocations: 0 copied, 0 updated, 2 already current$/m);
  });

  it('copies nothing over a user of the same name in Redis, names it and exits 1', SAFETY, async () => {
    assert.ok(redisSidecar);
    const onRedis = await register(redisSidecar.url, 'dave');
    await register(lowdbSidecar.url, 'dave', 'correct-horse-4');
    const result = await migrate();
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /user dave \(id [0-9a-f-]+\) not copied: the name belongs to another user in Redis/,
    );
    const stillThere = await login(redisSidecar.url, 'dave');
    assert.equal(stillThere.user.id, onRedis.user.id);
  });

  describe('refuses', () => {
    const cases: [string, string[], Record<string, string>, number, RegExp][] = [
      [
        'a source that is not lowdb:PATH',
        ['--from', STORE_FILE, '--to', 'redis://127.0.0.1:1/0'],
        {},
        2,
        /--from lowdb:PATH/,
      ],
      [
        'a missing target',
        ['--from', `lowdb:${STORE_FILE}`],
        {},
        2,
        /--to redis:\/\/HOST:PORT\/DB, or env REDIS_URL/,
      ],
      [
        'a password on the command line',
        ['--from', `lowdb:${STORE_FILE}`, '--to', 'redis://:hunter2@127.0.0.1:1/0'],
        {},
        2,
        /pass the whole URL in env REDIS_URL/,
      ],
      [
        'a missing store file',
        ['--from', 'lowdb:data/none.json', '--to', 'redis://127.0.0.1:1/0'],
        {},
        1,
        /none\.json: cannot read/,
      ],
      [
        'an unreachable Redis, without its password',
        ['--from', `lowdb:${STORE_FILE}`],
        { REDIS_URL: 'redis://:hunter2@127.0.0.1:1/0' },
        1,
        /redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0.*stopped: .*ECONNREFUSED/,
      ],
    ];
    for (const [what, args, env, code, message] of cases) {
      it(what, SAFETY, async () => {
        const result = await runCli(['store', 'migrate', ...args], { cwd, env });
        assert.equal(result.code, code, result.stderr);
        assert.match(result.stderr, message);
        assert.doesNotMatch(result.stderr, /hunter2/);
      });
    }
  });
});
