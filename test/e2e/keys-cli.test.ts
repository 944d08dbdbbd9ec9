import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { loadKeyRing, publicJwks, type KeyAlgorithm } from '../../src/tokens/key-files.js';
import { makeWorkDir, removeWorkDir, runCli, type CliResult } from '../helpers/cli-process.js';

/** Safety net so a hung child fails the test instead of the run; not a timing assertion. */
const SLOW = { timeout: 60_000 };

/** The lines `keys generate` prints, by label. */
function printed(result: CliResult): {
  wrote: string;
  kid: string;
  alg: string;
  jwk: Record<string, unknown>;
} {
  const lines = result.stdout.trimEnd().split('\n');
  const value = (prefix: string) => {
    const line = lines.find((l) => l.startsWith(prefix));
    assert.ok(line, `no "${prefix}" line in:\n${result.stdout}`);
    return line.slice(prefix.length);
  };
  return {
    wrote: value('wrote '),
    kid: value('kid: '),
    alg: value('alg: '),
    jwk: JSON.parse(value('public JWK: ')) as Record<string, unknown>,
  };
}

describe('auth-sidecar keys generate', () => {
  let cwd: string;

  beforeEach(async () => {
    cwd = await makeWorkDir();
  });
  afterEach(async () => {
    await removeWorkDir(cwd);
  });

  it('is listed in --help with its options', async () => {
    const result = await runCli(['--help'], { cwd });
    assert.equal(result.code, 0, result.stderr);
    for (const word of ['keys generate', '--type ed25519|p256|rsa', '--kid', '--out', '--bits']) {
      assert.ok(result.stdout.includes(word), `usage lacks ${word}`);
    }
  });

  const types: [string, string[], KeyAlgorithm, Record<string, unknown>, number | undefined][] = [
    ['ed25519', [], 'EdDSA', { kty: 'OKP', crv: 'Ed25519' }, undefined],
    ['p256', [], 'ES256', { kty: 'EC', crv: 'P-256' }, undefined],
    ['rsa', [], 'RS256', { kty: 'RSA', e: 'AQAB' }, 3072],
    ['rsa', ['--bits', '2048'], 'RS256', { kty: 'RSA', e: 'AQAB' }, 2048],
  ];
  for (const [type, extra, alg, members, bits] of types) {
    const name = `--type ${type}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}`;
    it(
      `${name} writes a 0600 PKCS#8 key that loads as ${alg}${bits ? ` of ${bits} bits` : ''}, and prints its public JWK`,
      SLOW,
      async () => {
        const result = await runCli(
          ['keys', 'generate', '--type', type, '--kid', '2026-12', '--out', 'signing.pem', ...extra],
          { cwd, env: {} },
        );
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stderr, '');

        const file = join(cwd, 'signing.pem');
        assert.equal((await stat(file)).mode & 0o777, 0o600);
        const pem = await readFile(file, 'utf8');
        assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/);

        const ring = await loadKeyRing([{ kid: '2026-12', file: 'signing.pem' }], cwd);
        assert.deepEqual(ring.warnings, []);
        assert.equal(ring.signing.alg, alg);
        if (bits !== undefined)
          assert.equal(ring.signing.privateKey.asymmetricKeyDetails?.modulusLength, bits);

        const shown = printed(result);
        assert.equal(shown.wrote, 'signing.pem (mode 0600)');
        assert.equal(shown.kid, '2026-12');
        assert.equal(shown.alg, alg);
        assert.deepEqual(shown.jwk, publicJwks(ring).keys[0]);
        assert.deepEqual({ ...shown.jwk, ...members }, shown.jwk);
        for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.ok(!(member in shown.jwk), member);
      },
    );
  }

  it('never overwrites an existing file', async () => {
    const file = join(cwd, 'in-use.pem');
    await writeFile(file, 'the key in use\n');
    const result = await runCli(
      ['keys', 'generate', '--type', 'ed25519', '--kid', 'k', '--out', 'in-use.pem'],
      { cwd, env: {} },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /in-use\.pem exists; keys generate never overwrites a file/);
    assert.equal(result.stdout, '');
    assert.equal(await readFile(file, 'utf8'), 'the key in use\n');
  });

  it('exits 1 naming the file when its folder does not exist', async () => {
    const result = await runCli(
      ['keys', 'generate', '--type', 'ed25519', '--kid', 'k', '--out', 'no-such-folder/k.pem'],
      { cwd, env: {} },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /cannot write no-such-folder\/k\.pem: .*ENOENT/);
  });

  const misuses: [string, string[], RegExp][] = [
    [
      'an unknown --type',
      ['--type', 'dsa', '--kid', 'k', '--out', 'k.pem'],
      /--type dsa: expected ed25519, p256, rsa/,
    ],
    [
      'a --kid with a space',
      ['--type', 'ed25519', '--kid', 'a b', '--out', 'k.pem'],
      /--kid a b: expected 1 to 64/,
    ],
    [
      'a --kid of 65 characters',
      ['--type', 'ed25519', '--kid', 'k'.repeat(65), '--out', 'k.pem'],
      /--kid k+: expected/,
    ],
    [
      '--bits below 2048',
      ['--type', 'rsa', '--bits', '1024', '--kid', 'k', '--out', 'k.pem'],
      /--bits 1024: expected a whole number from 2048/,
    ],
    [
      '--bits that is not a number',
      ['--type', 'rsa', '--bits', '3k', '--kid', 'k', '--out', 'k.pem'],
      /--bits 3k: expected/,
    ],
    [
      '--bits above 16384',
      ['--type', 'rsa', '--bits', '32768', '--kid', 'k', '--out', 'k.pem'],
      /--bits 32768: expected/,
    ],
    [
      '--bits with --type ed25519',
      ['--type', 'ed25519', '--bits', '2048', '--kid', 'k', '--out', 'k.pem'],
      /--bits applies to --type rsa only/,
    ],
    ['no --type', ['--kid', 'k', '--out', 'k.pem'], /keys generate needs --type, --kid and --out/],
    ['no --kid', ['--type', 'p256', '--out', 'k.pem'], /keys generate needs --type, --kid and --out/],
    ['no --out', ['--type', 'p256', '--kid', 'k'], /keys generate needs --type, --kid and --out/],
  ];
  for (const [name, args, message] of misuses) {
    it(`exits 2 on ${name}, writing nothing`, async () => {
      const result = await runCli(['keys', 'generate', ...args], { cwd, env: {} });
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
      await assert.rejects(stat(join(cwd, 'k.pem')), { code: 'ENOENT' });
    });
  }
});
