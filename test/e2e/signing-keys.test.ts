/**
 * tokens.keys: the sidecar's own tokens signed with key files (EdDSA, ES256, RS256), published at
 * /auth/jwks.json and verified there by an independent JOSE library, and a key rotation through a
 * reload that keeps every token of a listed key valid.
 */
import assert from 'node:assert/strict';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { stringify } from 'yaml';
import { login, register } from '../helpers/auth-client.js';
import {
  makeWorkDir,
  removeWorkDir,
  runCli,
  serveOnFreePort,
  type RunningServe,
} from '../helpers/cli-process.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const SAFETY = { timeout: 60_000 };
const ISSUER = 'auth-sidecar-keys-test';
const AUDIENCE = 'keys-test-backend';

describe('signing keys (tokens.keys)', () => {
  let upstream: TestUpstream;
  let dir: string;
  const running: RunningServe[] = [];

  before(async () => {
    upstream = await startUpstream();
    dir = await makeWorkDir();
    await mkdir(join(dir, 'keys'));
  });
  after(async () => {
    for (const serve of running) await serve.process.kill();
    await upstream.close();
    await removeWorkDir(dir);
  });

  async function generateKey(type: string, kid: string): Promise<string> {
    const file = `keys/${kid}.pem`;
    const result = await runCli(['keys', 'generate', '--type', type, '--kid', kid, '--out', file], {
      cwd: dir,
    });
    assert.equal(result.code, 0, result.stderr);
    return file;
  }

  function configText(name: string, keys: readonly { kid: string; file: string }[] | undefined): string {
    return stringify({
      listen: { host: '127.0.0.1' },
      upstream: { url: upstream.url },
      store: { path: `data/${name}.json` },
      passwords: { bcryptCost: 10 },
      tokens: { issuer: ISSUER, audience: AUDIENCE, ...(keys ? { keys } : {}) },
      rules: [{ path: '/api/**', authenticated: true }],
    });
  }

  /** Replaces the file as config tools do, then asks for a reload. */
  async function rewriteAndReload(serve: RunningServe, path: string, text: string): Promise<void> {
    await writeFile(`${path}.new`, text);
    await rename(`${path}.new`, path);
    serve.process.child.kill('SIGHUP');
  }

  async function serve(name: string, keys?: readonly { kid: string; file: string }[], env = {}) {
    const config = join(dir, `${name}.yaml`);
    await writeFile(config, configText(name, keys));
    const started = await serveOnFreePort(config, { cwd: dir, env });
    running.push(started);
    return { ...started, config };
  }

  async function jwksOf(
    url: string,
  ): Promise<{ status: number; cacheControl: string | null; body: unknown }> {
    const response = await fetch(`${url}/auth/jwks.json`);
    return {
      status: response.status,
      cacheControl: response.headers.get('cache-control'),
      body: await response.json(),
    };
  }

  async function apiStatus(url: string, token: string): Promise<{ status: number; user?: string }> {
    const response = await fetch(`${url}/api/whoami`, { headers: { Authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { headers?: Record<string, string> };
    return { status: response.status, user: body.headers?.['x-user'] };
  }

  for (const [type, alg] of [
    ['ed25519', 'EdDSA'],
    ['p256', 'ES256'],
    ['rsa', 'RS256'],
  ] as const) {
    it(
      `${alg}: tokens carry the kid, pass the rules, and verify with jose against /auth/jwks.json`,
      SAFETY,
      async () => {
        const file = await generateKey(type, `${type}-1`);
        // No JWT_SECRET: the key file is all the sidecar needs.
        const { url } = await serve(type, [{ kid: `${type}-1`, file }]);
        const session = await register(url, `user-${type}`);

        assert.deepEqual(decodeProtectedHeader(session.accessToken), { alg, kid: `${type}-1`, typ: 'JWT' });
        assert.deepEqual(await apiStatus(url, session.accessToken), { status: 200, user: `user-${type}` });

        const jwks = await jwksOf(url);
        assert.equal(jwks.status, 200);
        assert.equal(jwks.cacheControl, 'public, max-age=300');
        const keySet = jwks.body as JSONWebKeySet;
        assert.equal(keySet.keys.length, 1);
        assert.deepEqual(
          { kid: keySet.keys[0]?.kid, alg: keySet.keys[0]?.alg, use: keySet.keys[0]?.use },
          { kid: `${type}-1`, alg, use: 'sig' },
        );
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.ok(!(member in keySet.keys[0]!));
        const { payload } = await jwtVerify(session.accessToken, createLocalJWKSet(keySet), {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: [alg],
        });
        assert.equal(payload.username, `user-${type}`);
      },
    );
  }

  it(
    'rotation through reloads: old tokens stay valid while their key is listed, new ones are signed by the new key',
    SAFETY,
    async () => {
      const oldFile = await generateKey('ed25519', 'rot-old');
      const newFile = await generateKey('p256', 'rot-new');
      const old = { kid: 'rot-old', file: oldFile };
      const fresh = { kid: 'rot-new', file: newFile };
      const sidecar = await serve('rotation', [old]);
      const before = await register(sidecar.url, 'rotating-user');
      assert.equal(decodeProtectedHeader(before.accessToken).kid, 'rot-old');

      // Step 1: the new key added second; it verifies but does not sign yet.
      await rewriteAndReload(sidecar, sidecar.config, configText('rotation', [old, fresh]));
      await untilJwksKids(sidecar.url, ['rot-old', 'rot-new']);
      assert.equal(
        decodeProtectedHeader((await login(sidecar.url, 'rotating-user')).accessToken).kid,
        'rot-old',
      );

      // Step 2: moved first; it signs, and the old key's tokens still pass.
      await rewriteAndReload(sidecar, sidecar.config, configText('rotation', [fresh, old]));
      await untilJwksKids(sidecar.url, ['rot-new', 'rot-old']);
      const after = await login(sidecar.url, 'rotating-user');
      assert.deepEqual(decodeProtectedHeader(after.accessToken), {
        alg: 'ES256',
        kid: 'rot-new',
        typ: 'JWT',
      });
      assert.equal((await apiStatus(sidecar.url, before.accessToken)).status, 200);
      assert.equal((await apiStatus(sidecar.url, after.accessToken)).status, 200);

      // Step 3: the old key removed; its tokens stop, even those remembered as verified.
      await rewriteAndReload(sidecar, sidecar.config, configText('rotation', [fresh]));
      await untilJwksKids(sidecar.url, ['rot-new']);
      assert.equal((await apiStatus(sidecar.url, before.accessToken)).status, 401);
      assert.equal((await apiStatus(sidecar.url, after.accessToken)).status, 200);
    },
  );

  it(
    'with an HS256 secret there are no public keys: /auth/jwks.json is 404 problem+json',
    SAFETY,
    async () => {
      const { url } = await serve('hs256', undefined, {
        JWT_SECRET: 'keys-test-secret-keys-test-secret-keys-test-secr',
      });
      const response = await fetch(`${url}/auth/jwks.json`);
      assert.equal(response.status, 404);
      assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
      const session = await register(url, 'hs-user');
      assert.deepEqual(decodeProtectedHeader(session.accessToken), { alg: 'HS256', typ: 'JWT' });
    },
  );

  async function untilJwksKids(url: string, kids: readonly string[]): Promise<void> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const { body } = await jwksOf(url);
      const listed = (body as JSONWebKeySet).keys.map((key) => key.kid);
      if (JSON.stringify(listed) === JSON.stringify(kids)) return;
      await delay(25);
    }
    assert.fail(`the JWKS never listed ${kids.join(', ')}`);
  }
});
