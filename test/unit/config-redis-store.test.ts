import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig, type Env } from '../../src/config/load.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';

describe('the redis store config', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-config-redis-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function load(yaml: string, env: Env = {}) {
    const path = join(dir, `${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, yaml);
    return loadConfig({ path, env: { JWT_SECRET: TEST_JWT_SECRET, ...env } });
  }

  async function problems(yaml: string, env: Env = {}): Promise<string> {
    const err = await load(yaml, env).then(
      () => assert.fail('expected a ConfigError'),
      (caught: unknown) => caught,
    );
    assert.ok(err instanceof ConfigError);
    return err.message;
  }

  it('fills in the url, key prefix and outage policy of the redis driver', async () => {
    const { config } = await load('store: { driver: redis }\n');
    assert.deepEqual(config.store, {
      driver: 'redis',
      unavailable: 'fail-closed',
      url: 'redis://127.0.0.1:6379/0',
      keyPrefix: 'auth-sidecar:',
    });
  });

  it('keeps lowdb the default driver', async () => {
    const { config } = await load('{}\n');
    assert.deepEqual(config.store, { driver: 'lowdb', path: 'data/auth-sidecar.json' });
  });

  it('takes the url, password included, from env REDIS_URL', async () => {
    const { config } = await load('store: { driver: redis }\n', { REDIS_URL: 'rediss://:s3cret@db:6380/2' });
    assert.equal(config.store.driver === 'redis' && config.store.url, 'rediss://:s3cret@db:6380/2');
  });

  it('leaves a lowdb store untouched by env REDIS_URL', async () => {
    const { config } = await load('{}\n', { REDIS_URL: 'redis://db:6379/0' });
    assert.equal(config.store.driver, 'lowdb');
  });

  it('refuses a password in store.url without repeating it', async () => {
    const message = await problems('store: { driver: redis, url: "redis://:s3cret@db:6379/0" }\n');
    assert.match(message, /store\.url: a password cannot be written in the config file/);
    assert.doesNotMatch(message, /s3cret/);
  });

  it('refuses an unknown driver, a key of the other driver and a non-redis url', async () => {
    assert.match(await problems('store: { driver: mongo }\n'), /store\.driver: expected lowdb or redis/);
    assert.match(await problems('store: { driver: redis, path: x }\n'), /store\.path: unknown key/);
    assert.match(
      await problems('store: { driver: redis, url: "http://db" }\n'),
      /store\.url: expected a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('refuses an env REDIS_URL that is no redis URL without repeating it', async () => {
    const message = await problems('store: { driver: redis }\n', { REDIS_URL: 'http://:s3cret@db' });
    assert.match(message, /env REDIS_URL:? expected a redis:\/\/ or rediss:\/\/ URL/);
    assert.doesNotMatch(message, /s3cret/);
  });
});
