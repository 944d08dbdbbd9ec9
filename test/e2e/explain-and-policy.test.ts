/**
 * `explain`, `test-config` and the policy tests of a config, through the built CLI: what they print,
 * their exit codes, and serve refusing (at start-up and on reload) a config whose tests fail.
 */
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { stringify } from 'yaml';
import {
  findFreePort,
  makeWorkDir,
  placeFile,
  removeWorkDir,
  REPO_ROOT,
  runCli,
  startServe,
} from '../helpers/cli-process.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** 48 bytes; only ever used by tests. */
const JWT_SECRET = 'e2e-policy-secret-e2e-policy-secret-e2e-policy-s';
const SAFETY = { timeout: 60_000 };

const RULES = `default: deny
rules:
  - path: /public/**
    public: true
  - path: /admin/**
    roles: [admin]
  - path: /api/**
    authenticated: true
`;
const PASSING_TESTS = `tests:
  - { request: GET /admin/users, as: { roles: [user] }, expect: 403 }
  - { request: GET /admin/users, as: { roles: [admin] }, expect: forward }
  - { request: POST /public/form, expect: forward }
  - { request: GET /api/x, expect: 401 }
  - { request: GET /api/%2e%2e/admin, expect: 400 }
`;
const FAILING_TESTS = `tests:
  - { request: GET /admin/users, as: { roles: [admin] }, expect: forward }
  - { request: GET /admin/users, as: { roles: [user] }, expect: forward }
`;

describe('explain and policy tests', () => {
  let cwd: string;
  beforeEach(async () => {
    cwd = await makeWorkDir();
  });
  afterEach(async () => {
    await removeWorkDir(cwd);
  });

  describe('explain', () => {
    it('prints the canonical path, the rule with file:line and text, and the outcome', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', RULES);
      const result = await runCli(
        ['explain', '--config', 'rules.yaml', 'GET', '/admin/./users', '--role', 'user'],
        {
          cwd,
        },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        [
          'request: GET /admin/./users (as [user])',
          'path:    /admin/users',
          'rule:    rules[1] at rules.yaml:5 { path: /admin/**, roles: [admin] }',
          'outcome: 403 forbidden (role_missing): Your roles do not grant access to this path.',
          '',
        ].join('\n'),
      );
    });

    it('prints the identity headers of a forward', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', `${RULES}identity: { userHeader: X-Auth-User }\n`);
      const result = await runCli(
        ['explain', '--config', 'rules.yaml', 'GET', '/admin/x', '--role', 'admin', '--role', 'ops'],
        { cwd },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^outcome: forward with X-Auth-User: explain, X-User-Id: explain, X-User-Roles: admin,ops$/m,
      );
    });

    it('takes any method token, upper-cased, and refuses what is not one with exit 2', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', RULES);
      const propfind = await runCli(['explain', '--config', 'rules.yaml', 'propfind', '/api/x'], { cwd });
      assert.equal(propfind.code, 0, propfind.stderr);
      assert.match(propfind.stdout, /^request: PROPFIND \/api\/x \(anonymous\)$/m);
      const bad = await runCli(['explain', '--config', 'rules.yaml', 'GE(T)', '/api/x'], { cwd });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /GE\(T\) is not an HTTP method token/);
    });

    it('decides without a token with --anonymous, and needs no JWT_SECRET', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', RULES);
      const result = await runCli(['explain', '--config', 'rules.yaml', 'GET', '/api/x', '--anonymous'], {
        cwd,
        env: {},
      });
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^rule: {4}rules\[2\] at rules\.yaml:7 \{ path: \/api\/\*\*, authenticated: true \}$/m,
      );
      assert.match(result.stdout, /^outcome: 401 unauthenticated \(token_missing\)/m);
    });

    it('prints the same as JSON with --json, a refused path without a rule', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', RULES);
      const result = await runCli(
        ['explain', '--config', 'rules.yaml', '--json', 'GET', '/api/%2e%2e/admin'],
        {
          cwd,
        },
      );
      assert.equal(result.code, 0, result.stderr);
      const explanation = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(explanation.request, { method: 'GET', target: '/api/%2e%2e/admin' });
      assert.equal(explanation.as, null);
      assert.equal(explanation.rule, null);
      assert.deepEqual(
        { ...(explanation.path as object), detail: undefined },
        { ok: false, reason: 'encoded_delimiter', detail: undefined },
      );
      assert.equal((explanation.outcome as { status: number }).status, 400);
    });

    it('prints the matched rule as JSON with file and line', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', RULES);
      const result = await runCli(
        ['explain', '--config', 'rules.yaml', '--json', 'GET', '/admin/x', '--role', 'admin'],
        { cwd },
      );
      assert.equal(result.code, 0, result.stderr);
      const explanation = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(explanation.rule, {
        id: 'rules[1]',
        index: 1,
        file: 'rules.yaml',
        line: 5,
        text: '{ path: /admin/**, roles: [admin] }',
      });
      assert.deepEqual(explanation.outcome, {
        decision: 'forward',
        headers: { 'X-User': 'explain', 'X-User-Id': 'explain', 'X-User-Roles': 'admin' },
        reason: 'allowed',
      });
    });

    const misuses: [string, string[]][] = [
      ['without a path', ['explain', 'GET']],
      ['with an extra word', ['explain', 'GET', '/a', '/b']],
      ['with both --role and --anonymous', ['explain', 'GET', '/a', '--role', 'x', '--anonymous']],
      ['with an invalid role', ['explain', 'GET', '/a', '--role', 'a,b']],
    ];
    for (const [name, args] of misuses) {
      it(`exits 2 ${name}`, SAFETY, async () => {
        await placeFile(cwd, 'config/auth-sidecar.yaml', RULES);
        const result = await runCli(args, { cwd });
        assert.equal(result.code, 2);
        assert.match(result.stderr, /^auth-sidecar: /);
        assert.equal(result.stdout, '');
      });
    }

    it('exits 2 on an invalid config', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', `${RULES}rulez: []\n`);
      const result = await runCli(['explain', '--config', 'rules.yaml', 'GET', '/a'], { cwd });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /rulez/);
    });
  });

  describe('test-config', () => {
    it('prints one ok line per test and a summary, and exits 0', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', RULES + PASSING_TESTS);
      const result = await runCli(['test-config', '--config', 'rules.yaml'], { cwd });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stdout,
        [
          'ok 1 - GET /admin/users as [user] → 403',
          'ok 2 - GET /admin/users as [admin] → forward',
          'ok 3 - POST /public/form as anonymous → forward',
          'ok 4 - GET /api/x as anonymous → 401',
          'ok 5 - GET /api/%2e%2e/admin as anonymous → 400',
          '5 passed, 0 failed',
          '',
        ].join('\n'),
      );
    });

    it('prints expected and actual with the rule that decided, and exits 1', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', RULES + FAILING_TESTS);
      const result = await runCli(['test-config', '--config', 'rules.yaml'], { cwd });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(
        result.stdout,
        [
          'ok 1 - GET /admin/users as [admin] → forward',
          'not ok 2 - GET /admin/users as [user] → forward: expected forward, got 403 (rules[1], line 5)',
          '1 passed, 1 failed',
          '',
        ].join('\n'),
      );
    });

    it('exits 2 on a test the schema refuses, naming its key', SAFETY, async () => {
      await placeFile(cwd, 'rules.yaml', `${RULES}tests:\n  - { request: GET /a, expect: 404 }\n`);
      const result = await runCli(['test-config', '--config', 'rules.yaml'], { cwd });
      assert.equal(result.code, 2);
      assert.match(result.stderr, /rules\.yaml:\d+ tests\[0\]\.expect: expected forward, 400, 401 or 403/);
    });

    it('passes on the example config, whose tests cover every rule', SAFETY, async () => {
      const result = await runCli(['test-config', '--config', join(REPO_ROOT, 'config/auth-sidecar.yaml')], {
        cwd,
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^\d+ passed, 0 failed$/m);
    });
  });

  describe('serve', () => {
    let upstream: TestUpstream;
    before(async () => {
      upstream = await startUpstream();
    });
    after(() => upstream.close());

    function serveConfig(port: number, tests: string): string {
      const base = stringify({
        listen: { host: '127.0.0.1', port },
        upstream: { url: upstream.url },
        store: { path: 'data/store.json' },
        passwords: { bcryptCost: 10 },
      });
      return `${base}${RULES}${tests}metrics: { onPublicPort: true }\n`;
    }

    it('refuses a config whose tests fail: exit 2, expected and actual on stderr', SAFETY, async () => {
      const port = await findFreePort();
      await placeFile(cwd, 'rules.yaml', serveConfig(port, FAILING_TESTS));
      const serve = startServe(['serve', '--config', 'rules.yaml'], { cwd, env: { JWT_SECRET } });
      try {
        const { code } = await serve.exited;
        assert.equal(code, 2, serve.stderr());
        assert.match(serve.stderr(), /1 policy test failed; the config is refused/);
        assert.match(
          serve.stderr(),
          /tests\[1\] GET \/admin\/users as \[user\] → forward: expected forward, got 403 \(rules\[1\], line \d+\)/,
        );
      } finally {
        await serve.kill();
      }
    });

    it('refuses a reloaded config whose tests fail and keeps the running one', SAFETY, async () => {
      const port = await findFreePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      const configPath = join(cwd, 'rules.yaml');
      await writeFile(configPath, serveConfig(port, PASSING_TESTS));
      const serve = startServe(['serve', '--config', configPath], { cwd, env: { JWT_SECRET } });
      try {
        await serve.waitForReady(baseUrl);
        // /api/** made public, while a test still expects 401 there.
        const next = serveConfig(port, PASSING_TESTS).replace(
          '- path: /api/**\n    authenticated: true',
          '- path: /api/**\n    public: true',
        );
        await writeFile(`${configPath}.new`, next);
        await rename(`${configPath}.new`, configPath);
        let refusal: { failures?: string[] } | undefined;
        for (let attempt = 0; attempt < 400 && !refusal; attempt++) {
          await delay(25);
          refusal = serve
            .stdout()
            .split('\n')
            .filter((line) => line.startsWith('{'))
            .map((line) => JSON.parse(line) as { event?: string; failures?: string[] })
            .find((line) => line.event === 'config.reload.failed');
        }
        assert.ok(refusal, 'no config.reload.failed line was logged');
        assert.deepEqual(refusal.failures, [
          'tests[3] GET /api/x as anonymous → 401: expected 401, got forward (rules[2], line 16)',
        ]);
        const response = await fetch(`${baseUrl}/api/x`);
        await response.arrayBuffer();
        assert.equal(response.status, 401, 'the running rules stay in force');
        const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
        assert.match(metrics, /auth_sidecar_config_reloads_total\{result="failure"\} 1/);
      } finally {
        await serve.kill();
      }
    });
  });
});
