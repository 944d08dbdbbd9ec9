import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  findFreePort,
  makeWorkDir,
  placeFile,
  placeFixture,
  removeWorkDir,
  runCli,
  startServe,
} from '../helpers/cli-process.js';

/** 48 bytes; only ever used by tests. */
const JWT_SECRET = 'e2e-lint-secret-e2e-lint-secret-e2e-lint-secre!';
const CONFIG = 'config/auth-sidecar.yaml';

/** Safety net so a hung child fails the test instead of the run; not a timing assertion. */
const SLOW = { timeout: 60_000 };

describe('rule lint through the CLI', () => {
  let cwd: string;

  beforeEach(async () => {
    cwd = await makeWorkDir();
  });
  afterEach(async () => {
    await removeWorkDir(cwd);
  });

  async function checkConfig(fixture: string) {
    await placeFixture(cwd, fixture, CONFIG);
    return runCli(['check-config', '--config', CONFIG], { cwd, env: {} });
  }

  it('check-config exits 1 and reports a shadowed rule and a duplicate as file:line rules[i]', async () => {
    const result = await checkConfig('lint-shadowed.yaml');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /invalid configuration \(2 problems\)/);
    assert.match(
      result.stderr,
      /^config\/auth-sidecar\.yaml:7 rules\[2\]: never matches: rules\[1\] \(line 5\) comes first/m,
    );
    assert.match(
      result.stderr,
      /^config\/auth-sidecar\.yaml:9 rules\[3\]: duplicate of rules\[0\] \(line 3\)/m,
    );
    assert.doesNotMatch(result.stdout, /: ok/);
  });

  it('check-config exits 0 and prints a public-before-protected overlap as a warning on stdout', async () => {
    const result = await checkConfig('lint-public-overlap.yaml');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const lines = result.stdout.trim().split('\n');
    assert.equal(lines.length, 2, result.stdout);
    assert.match(
      lines[0] ?? '',
      /^warning: config\/auth-sidecar\.yaml:8 rules\[1\]: the earlier public rule rules\[0\] \(line 6\) \/docs\/\* .*e\.g\. \/docs\/x/,
    );
    assert.match(lines[1] ?? '', /^config\/auth-sidecar\.yaml: ok \(2 rules, default deny\)$/);
  });

  it('check-config warns about rule roles no user in the store holds, without changing the store', async () => {
    const store = JSON.stringify({
      version: 1,
      users: [{ id: 'u1', username: 'root', roles: ['admin'], passwordHash: 'x', disabled: false }],
      refreshTokens: [],
      revokedAccessTokens: [],
    });
    const storePath = await placeFile(cwd, 'data/lint-store.json', store);
    const result = await checkConfig('lint-public-overlap.yaml');
    assert.equal(await readFile(storePath, 'utf8'), store);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^warning: config\/auth-sidecar\.yaml:8 rules\[1\]: role editor is held by no user in the store/m,
    );
    assert.doesNotMatch(result.stdout, /role admin/);
  });

  const schemaRefusals: [string, string, RegExp][] = [
    [
      'an empty methods list',
      'lint-methods-empty.yaml',
      /:4 rules\[0\]\.methods: expected at least one method/,
    ],
    ['a % in a glob', 'lint-glob-percent.yaml', /:5 rules\[1\]\.path: a rule path cannot contain .*%/],
    ['a .. segment in a glob', 'invalid-glob-dot-dot.yaml', /:5 rules\[1\]\.path: .*\.\. segments/],
    [
      'a method that is not a token',
      'invalid-unknown-method.yaml',
      /:4 rules\[0\]\.methods\[1\]: expected an HTTP method: a token/,
    ],
  ];
  for (const [name, fixture, expected] of schemaRefusals) {
    it(`check-config exits 1 on ${name}, reported with file:line`, async () => {
      const result = await checkConfig(fixture);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, expected);
    });
  }

  it('serve logs a lint warning once at start-up and serves', SLOW, async () => {
    await placeFixture(cwd, 'lint-public-overlap.yaml', CONFIG);
    const port = await findFreePort();
    const serve = startServe(['serve', '--config', CONFIG], { cwd, env: { JWT_SECRET, PORT: String(port) } });
    try {
      await serve.waitForReady(`http://127.0.0.1:${port}`);
      const warnings = serve
        .stdout()
        .split('\n')
        .filter((line) => line.includes('"event":"config.lint"'));
      assert.equal(warnings.length, 1, serve.stdout());
      assert.match(warnings[0] ?? '', /rules\[1\]/);
    } finally {
      await serve.kill();
    }
  });

  it('serve exits 2 on a shadowed rule, before listening', SLOW, async () => {
    await placeFixture(cwd, 'lint-shadowed.yaml', CONFIG);
    const serve = startServe(['serve', '--config', CONFIG], { cwd, env: { JWT_SECRET, PORT: '0' } });
    try {
      const { code } = await serve.exited;
      assert.equal(code, 2, serve.stderr());
      assert.match(serve.stderr(), /:7 rules\[2\]: never matches/);
    } finally {
      await serve.kill();
    }
  });
});
