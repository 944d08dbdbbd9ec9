import assert from 'node:assert/strict';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  KeyFileError,
  loadKeyRing,
  publicJwks,
  type KeyAlgorithm,
  type KeyEntry,
  type KeyFileProblem,
  type KeyFileProblemCode,
  type KeyRing,
} from '../../src/tokens/key-files.js';

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** The DER of the OID of prime256v1 (RFC 5480 §2.1.1.1), as `openssl ecparam` writes it. */
const P256_PARAMETERS = '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n';

const ed25519 = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 });

function pem(key: KeyObject, type: 'pkcs8' | 'sec1' | 'pkcs1'): string {
  return key.export({ type, format: 'pem' }).toString();
}

/** Signs `data` with the key the way its algorithm does. */
function signWith(alg: KeyAlgorithm, key: KeyObject, data: Buffer): Buffer {
  return sign(alg === 'EdDSA' ? null : 'sha256', data, key);
}

function verifyWith(alg: KeyAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  return verify(alg === 'EdDSA' ? null : 'sha256', data, key, signature);
}

describe('key files', () => {
  let dir: string;
  let count = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-keys-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes `text` to a new file in the temp dir (mode 0600 unless told) and returns its name. */
  async function keyFile(text: string | Buffer, mode = 0o600): Promise<string> {
    const name = `key-${++count}.pem`;
    await writeFile(join(dir, name), text);
    await chmod(join(dir, name), mode);
    return name;
  }

  async function loadOne(text: string | Buffer, mode?: number): Promise<KeyRing> {
    return loadKeyRing([{ kid: 'k1', file: await keyFile(text, mode) }], dir);
  }

  /** Loads and expects a KeyFileError, which it returns. */
  async function loadError(entries: readonly KeyEntry[]): Promise<KeyFileError> {
    try {
      await loadKeyRing(entries, dir);
    } catch (err) {
      assert.ok(err instanceof KeyFileError, `expected a KeyFileError, got ${String(err)}`);
      return err;
    }
    assert.fail('expected loadKeyRing to throw a KeyFileError');
  }

  async function oneProblem(text: string | Buffer): Promise<KeyFileProblem> {
    const file = await keyFile(text);
    const error = await loadError([{ kid: 'k1', file }]);
    assert.equal(error.problems.length, 1, error.message);
    const [problem] = error.problems;
    assert.ok(problem);
    assert.equal(problem.index, 0);
    assert.equal(problem.field, 'file');
    assert.equal(problem.kid, 'k1');
    assert.equal(problem.file, join(dir, file));
    assert.ok(problem.message.startsWith(`${join(dir, file)}: `), problem.message);
    return problem;
  }

  describe('every supported type in every PEM form loads, pinned to its algorithm', () => {
    const cases: [string, () => string, KeyAlgorithm][] = [
      ['Ed25519 in PKCS#8 → EdDSA', () => pem(ed25519.privateKey, 'pkcs8'), 'EdDSA'],
      ['P-256 in PKCS#8 → ES256', () => pem(p256.privateKey, 'pkcs8'), 'ES256'],
      ['P-256 in SEC1 → ES256', () => pem(p256.privateKey, 'sec1'), 'ES256'],
      [
        'P-256 in SEC1 after its EC PARAMETERS block (openssl ecparam -genkey) → ES256',
        () => P256_PARAMETERS + pem(p256.privateKey, 'sec1'),
        'ES256',
      ],
      ['RSA 2048 in PKCS#8 → RS256', () => pem(rsa2048.privateKey, 'pkcs8'), 'RS256'],
      ['RSA 2048 in PKCS#1 → RS256', () => pem(rsa2048.privateKey, 'pkcs1'), 'RS256'],
      [
        'a PEM with CRLF line ends → EdDSA',
        () => pem(ed25519.privateKey, 'pkcs8').replace(/\n/g, '\r\n'),
        'EdDSA',
      ],
    ];
    for (const [name, text, alg] of cases) {
      it(name, async () => {
        const ring = await loadOne(text());
        assert.equal(ring.signing.kid, 'k1');
        assert.equal(ring.signing.alg, alg);
        assert.equal(ring.signing.privateKey.type, 'private');
        assert.equal(ring.signing.publicKey.type, 'public');
        assert.deepEqual(ring.warnings, []);
        const data = Buffer.from('payload');
        const signature = signWith(alg, ring.signing.privateKey, data);
        assert.ok(verifyWith(alg, ring.signing.publicKey, data, signature));
      });
    }
  });

  describe('keys that cannot sign as pinned are refused, naming what they are', () => {
    const cases: [string, () => string, KeyFileProblemCode, RegExp][] = [
      [
        'an RSA key of 1024 bits',
        () => pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'pkcs8'),
        'rsa_too_short',
        /an RSA key of 1024 bits; at least 2048 are needed/,
      ],
      [
        'an EC key on secp384r1',
        () => pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey, 'sec1'),
        'unsupported_curve',
        /an EC key on secp384r1; only P-256 \(ES256\) is supported/,
      ],
      [
        'an EC key on secp256k1',
        () => pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, 'pkcs8'),
        'unsupported_curve',
        /an EC key on secp256k1; only P-256/,
      ],
      [
        'an RSA-PSS key',
        () => pem(generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey, 'pkcs8'),
        'unsupported_type',
        /an RSA-PSS key/,
      ],
      [
        'an Ed448 key',
        () => pem(generateKeyPairSync('ed448').privateKey, 'pkcs8'),
        'unsupported_type',
        /an Ed448 key; supported: Ed25519 \(EdDSA\), EC P-256 \(ES256\), RSA/,
      ],
      [
        'an X25519 key',
        () => pem(generateKeyPairSync('x25519').privateKey, 'pkcs8'),
        'unsupported_type',
        /an X25519 key, made for key agreement: it cannot sign/,
      ],
      [
        'a DSA key',
        () =>
          pem(generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 }).privateKey, 'pkcs8'),
        'unsupported_type',
        /a DSA key; supported/,
      ],
    ];
    for (const [name, text, code, message] of cases) {
      it(`refuses ${name}`, async () => {
        const problem = await oneProblem(text());
        assert.equal(problem.code, code);
        assert.match(problem.message, message);
      });
    }
  });

  describe('files that hold no usable private key are refused', () => {
    const passphrase = 'only-a-test-passphrase';
    const cases: [string, () => string | Buffer, KeyFileProblemCode, RegExp][] = [
      [
        'an encrypted PKCS#8 key',
        () => ed25519.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
        'encrypted',
        /an encrypted private key \(BEGIN ENCRYPTED PRIVATE KEY\).*unencrypted/,
      ],
      [
        'an encrypted PKCS#1 key (Proc-Type: 4,ENCRYPTED)',
        () => rsa2048.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
        'encrypted',
        /an encrypted private key \(BEGIN RSA PRIVATE KEY\)/,
      ],
      [
        'an encrypted SEC1 key',
        () => p256.privateKey.export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase }),
        'encrypted',
        /an encrypted private key \(BEGIN EC PRIVATE KEY\)/,
      ],
      [
        'a public key (SPKI)',
        () => ed25519.publicKey.export({ type: 'spki', format: 'pem' }),
        'not_private',
        /a public key \(BEGIN PUBLIC KEY\); a private key is needed: the sidecar signs with it/,
      ],
      [
        'an RSA public key (PKCS#1)',
        () => rsa2048.publicKey.export({ type: 'pkcs1', format: 'pem' }),
        'not_private',
        /an RSA public key \(BEGIN RSA PUBLIC KEY\); a private key is needed/,
      ],
      [
        'a certificate',
        () => '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK==\n-----END CERTIFICATE-----\n',
        'not_private',
        /a certificate \(BEGIN CERTIFICATE\); a private key is needed: the sidecar signs with it/,
      ],
      [
        'a private key followed by its certificate',
        () =>
          pem(p256.privateKey, 'pkcs8') +
          '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK==\n-----END CERTIFICATE-----\n',
        'several_keys',
        /2 PEM blocks \(PRIVATE KEY, CERTIFICATE\); one private key alone per file/,
      ],
      [
        'two private keys',
        () => pem(p256.privateKey, 'pkcs8') + pem(ed25519.privateKey, 'pkcs8'),
        'several_keys',
        /2 PEM blocks/,
      ],
      [
        'a DER key (not PEM)',
        () => ed25519.privateKey.export({ type: 'pkcs8', format: 'der' }),
        'not_pem',
        /no PEM block; expected a PEM private key/,
      ],
      ['an empty file', () => '', 'not_pem', /no PEM block/],
      [
        'an OpenSSH private key',
        () =>
          '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n',
        'not_private',
        /a BEGIN OPENSSH PRIVATE KEY block; expected a PEM private key/,
      ],
      [
        'a damaged PKCS#8 block',
        () => '-----BEGIN PRIVATE KEY-----\nAAAAAAAA\n-----END PRIVATE KEY-----\n',
        'unparsable',
        /the BEGIN PRIVATE KEY block cannot be read as a key/,
      ],
      [
        'a block without its END line',
        () => pem(ed25519.privateKey, 'pkcs8').replace(/-----END PRIVATE KEY-----\n$/, ''),
        'unparsable',
        /no -----END PRIVATE KEY----- line/,
      ],
      [
        'a file larger than any key file',
        () => pem(ed25519.privateKey, 'pkcs8') + '#'.repeat(70_000),
        'too_large',
        /more than a key file holds/,
      ],
    ];
    for (const [name, text, code, message] of cases) {
      it(`refuses ${name}`, async () => {
        const problem = await oneProblem(text());
        assert.equal(problem.code, code);
        assert.match(problem.message, message);
        assert.ok(!problem.message.includes(passphrase));
      });
    }

    it('names the file and the OS reason when the file is missing', async () => {
      const error = await loadError([{ kid: 'k1', file: 'no-such-key.pem' }]);
      const [problem] = error.problems;
      assert.equal(problem?.code, 'unreadable');
      assert.equal(
        problem?.message,
        `${join(dir, 'no-such-key.pem')}: cannot read the key file: no such file (ENOENT)`,
      );
      assert.equal(error.message, `tokens.keys[0].file: ${problem?.message}`);
    });

    it('names the file and the OS reason when a part of its path is a file', async () => {
      const file = await keyFile(pem(ed25519.privateKey, 'pkcs8'));
      const error = await loadError([{ kid: 'k1', file: `${file}/key.pem` }]);
      assert.equal(error.problems[0]?.code, 'unreadable');
      assert.equal(
        error.problems[0]?.message,
        `${join(dir, file, 'key.pem')}: cannot read the key file: a part of the path is not a folder (ENOTDIR)`,
      );
    });

    it('names the file when it is a folder', async () => {
      await mkdir(join(dir, 'a-folder.pem'));
      const error = await loadError([{ kid: 'k1', file: 'a-folder.pem' }]);
      assert.equal(error.problems[0]?.code, 'not_a_file');
      assert.match(error.problems[0]?.message ?? '', /a-folder\.pem: not a regular file/);
    });

    it(
      'names the file and the OS reason when it may not be read',
      { skip: process.getuid?.() === 0 ? 'root reads any file' : false },
      async () => {
        const file = await keyFile(pem(ed25519.privateKey, 'pkcs8'), 0o000);
        const error = await loadError([{ kid: 'k1', file }]);
        assert.equal(error.problems[0]?.code, 'unreadable');
        assert.match(error.problems[0]?.message ?? '', /permission denied \(EACCES\)/);
      },
    );
  });

  describe('kids', () => {
    const invalid: [string, string][] = [
      ['an empty kid', ''],
      ['a kid of 65 characters', 'k'.repeat(65)],
      ['a kid with a space', 'key 1'],
      ['a kid with a slash', '../k'],
      ['a kid with a non-ASCII letter', 'clé'],
    ];
    for (const [name, kid] of invalid) {
      it(`refuses ${name}`, async () => {
        const error = await loadError([{ kid, file: await keyFile(pem(ed25519.privateKey, 'pkcs8')) }]);
        assert.equal(error.problems.length, 1, error.message);
        assert.equal(error.problems[0]?.code, 'invalid_kid');
        assert.equal(error.problems[0]?.field, 'kid');
        assert.match(
          error.message,
          /^tokens\.keys\[0\]\.kid: .*expected 1 to 64 characters of A-Z a-z 0-9 \. _ -$/,
        );
      });
    }

    it('accepts a kid of 64 characters of every allowed kind', async () => {
      const kid = `Az09._-${'x'.repeat(57)}`;
      const ring = await loadKeyRing([{ kid, file: await keyFile(pem(ed25519.privateKey, 'pkcs8')) }], dir);
      assert.equal(ring.signing.kid, kid);
    });

    it('refuses a kid used twice, pointing at the first', async () => {
      const error = await loadError([
        { kid: 'same', file: await keyFile(pem(ed25519.privateKey, 'pkcs8')) },
        { kid: 'other', file: await keyFile(pem(p256.privateKey, 'pkcs8')) },
        { kid: 'same', file: await keyFile(pem(rsa2048.privateKey, 'pkcs8')) },
      ]);
      assert.equal(error.problems.length, 1, error.message);
      assert.equal(error.problems[0]?.code, 'duplicate_kid');
      assert.equal(
        error.message,
        'tokens.keys[2].kid: same is already the kid of tokens.keys[0]; each key needs its own',
      );
    });
  });

  it('reports every problem of every entry at once, in config order', async () => {
    const error = await loadError([
      { kid: 'good', file: await keyFile(pem(ed25519.privateKey, 'pkcs8')) },
      { kid: 'bad kid', file: 'missing.pem' },
      { kid: 'good', file: await keyFile(ed25519.publicKey.export({ type: 'spki', format: 'pem' })) },
      {
        kid: 'small',
        file: await keyFile(pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'pkcs1')),
      },
    ]);
    assert.deepEqual(
      error.problems.map((p) => [p.index, p.field, p.code]),
      [
        [1, 'kid', 'invalid_kid'],
        [1, 'file', 'unreadable'],
        [2, 'kid', 'duplicate_kid'],
        [2, 'file', 'not_private'],
        [3, 'file', 'rsa_too_short'],
      ],
    );
    assert.equal(error.message.split('\n').length, 5);
  });

  it('refuses to be called without entries (a TypeError: the schema requires one)', async () => {
    await assert.rejects(loadKeyRing([], dir), TypeError);
  });

  describe('the ring', () => {
    it('signs with the first key and holds every key by kid, in config order', async () => {
      const ring = await loadKeyRing(
        [
          { kid: '2026-12', file: await keyFile(pem(p256.privateKey, 'sec1')) },
          { kid: '2026-06', file: await keyFile(pem(ed25519.privateKey, 'pkcs8')) },
          { kid: 'legacy', file: await keyFile(pem(rsa2048.privateKey, 'pkcs1')) },
        ],
        dir,
      );
      assert.equal(ring.signing.kid, '2026-12');
      assert.equal(ring.signing.alg, 'ES256');
      assert.deepEqual(
        [...ring.keys.values()].map((key) => [key.kid, key.alg]),
        [
          ['2026-12', 'ES256'],
          ['2026-06', 'EdDSA'],
          ['legacy', 'RS256'],
        ],
      );
      assert.equal(ring.keys.get('2026-12'), ring.signing);
    });

    it('reads a relative file against baseDir and an absolute file as it is', async () => {
      await mkdir(join(dir, 'keys'), { recursive: true });
      await writeFile(join(dir, 'keys', 'relative.pem'), pem(ed25519.privateKey, 'pkcs8'), { mode: 0o600 });
      const absolute = join(dir, await keyFile(pem(p256.privateKey, 'pkcs8')));
      const ring = await loadKeyRing(
        [
          { kid: 'relative', file: 'keys/relative.pem' },
          { kid: 'absolute', file: absolute },
        ],
        dir,
      );
      assert.equal(ring.keys.get('relative')?.alg, 'EdDSA');
      assert.equal(ring.keys.get('absolute')?.alg, 'ES256');
      const error = await loadError([{ kid: 'k', file: 'elsewhere/relative.pem' }]);
      assert.equal(error.problems[0]?.file, join(dir, 'elsewhere/relative.pem'));
    });

    const modes: [number, boolean][] = [
      [0o600, false],
      [0o400, false],
      [0o644, true],
      [0o640, true],
      [0o604, true],
    ];
    for (const [mode, warns] of modes) {
      const octal = mode.toString(8).padStart(4, '0');
      it(`${warns ? 'warns about' : 'is quiet about'} a key file of mode ${octal}`, async () => {
        const ring = await loadOne(pem(ed25519.privateKey, 'pkcs8'), mode);
        if (!warns) {
          assert.deepEqual(ring.warnings, []);
          return;
        }
        assert.equal(ring.warnings.length, 1);
        const [warning] = ring.warnings;
        assert.match(
          warning ?? '',
          new RegExp(
            `^tokens\\.keys\\[0\\]\\.file: .*key-\\d+\\.pem is open to group or others \\(mode ${octal}\\)`,
          ),
        );
        assert.match(
          warning ?? '',
          /Kubernetes Secret volume mounts its files 0644 unless defaultMode is set/,
        );
      });
    }
  });

  describe('the JWKS', () => {
    let ring: KeyRing;
    before(async () => {
      ring = await loadKeyRing(
        [
          { kid: 'ed', file: await keyFile(pem(ed25519.privateKey, 'pkcs8')) },
          { kid: 'ec', file: await keyFile(pem(p256.privateKey, 'sec1')) },
          { kid: 'rsa', file: await keyFile(pem(rsa2048.privateKey, 'pkcs1')) },
        ],
        dir,
      );
    });

    it('lists every key, the signing key first, with kid, alg and use: sig', () => {
      const { keys } = publicJwks(ring);
      assert.deepEqual(
        keys.map((jwk) => [jwk.kid, jwk.alg, jwk.use, jwk.kty, jwk.crv]),
        [
          ['ed', 'EdDSA', 'sig', 'OKP', 'Ed25519'],
          ['ec', 'ES256', 'sig', 'EC', 'P-256'],
          ['rsa', 'RS256', 'sig', 'RSA', undefined],
        ],
      );
    });

    it('carries no private member, even as a JSON document', () => {
      const document = JSON.parse(JSON.stringify(publicJwks(ring))) as { keys: Record<string, unknown>[] };
      assert.equal(document.keys.length, 3);
      for (const jwk of document.keys) {
        for (const member of PRIVATE_JWK_MEMBERS)
          assert.ok(!(member in jwk), `${String(jwk.kid)} has ${member}`);
      }
      const privateD = ring.signing.privateKey.export({ format: 'jwk' }).d;
      assert.ok(privateD !== undefined && !JSON.stringify(document).includes(privateD));
    });

    it('imports back as public keys that verify what the private keys sign', () => {
      const data = Buffer.from('header.payload');
      for (const jwk of publicJwks(ring).keys) {
        const key = ring.keys.get(jwk.kid);
        assert.ok(key);
        const imported = createPublicKey({ key: jwk, format: 'jwk' });
        assert.equal(imported.type, 'public');
        assert.ok(imported.equals(key.publicKey), jwk.kid);
        const signature = signWith(jwk.alg, key.privateKey, data);
        assert.ok(verifyWith(jwk.alg, imported, data, signature), jwk.kid);
        assert.ok(!verifyWith(jwk.alg, imported, Buffer.from('other'), signature), jwk.kid);
      }
    });

    it('cannot be imported as a private key', () => {
      for (const jwk of publicJwks(ring).keys) {
        assert.throws(() => createPrivateKey({ key: jwk, format: 'jwk' }));
      }
    });
  });
});
