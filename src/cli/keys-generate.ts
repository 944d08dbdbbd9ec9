import { generateKeyPair, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { algorithmOfKey, KID_PATTERN, MIN_RSA_BITS, publicJwk } from '../tokens/key-files.js';
import { EXIT, writeLine, type CliIo } from './io.js';

export interface KeysGenerateOptions {
  readonly type?: string;
  readonly kid?: string;
  readonly out?: string;
  readonly bits?: string;
}

export const KEY_TYPES = ['ed25519', 'p256', 'rsa'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
export const DEFAULT_RSA_BITS = 3072;
/** OpenSSL's own ceiling for RSA key generation; larger keys would take minutes to make. */
export const MAX_RSA_BITS = 16384;

const generate = promisify(generateKeyPair);

/**
 * `keys generate`: writes a new PKCS#8 PEM private key (mode 0600, never over an existing file)
 * and prints its kid, algorithm and public JWK, which is what `/auth/jwks.json` will publish.
 */
export async function keysGenerate(options: KeysGenerateOptions, io: CliIo): Promise<number> {
  const usage = (message: string) => {
    writeLine(io.stderr, `auth-sidecar: ${message}`);
    return EXIT.usage;
  };
  if (options.type === undefined || options.kid === undefined || options.out === undefined) {
    return usage('keys generate needs --type, --kid and --out');
  }
  if (!isKeyType(options.type)) return usage(`--type ${options.type}: expected ${KEY_TYPES.join(', ')}`);
  if (!KID_PATTERN.test(options.kid)) {
    return usage(`--kid ${options.kid}: expected 1 to 64 characters of A-Z a-z 0-9 . _ -`);
  }
  if (options.out === '') return usage('--out: expected a file path');
  let bits = DEFAULT_RSA_BITS;
  if (options.bits !== undefined) {
    if (options.type !== 'rsa') return usage('--bits applies to --type rsa only');
    bits = Number(options.bits);
    if (!/^\d+$/.test(options.bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      return usage(`--bits ${options.bits}: expected a whole number from ${MIN_RSA_BITS} to ${MAX_RSA_BITS}`);
    }
  }

  const { privateKey, publicKey } = await generateKeys(options.type, bits);
  const algorithm = algorithmOfKey(privateKey);
  // Unreachable unless generation and the loader disagree: then nothing is written.
  if ('problem' in algorithm) throw new Error(`keys generate: ${algorithm.message}`);
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  try {
    // 'wx' fails when the file exists: a key in use is never replaced by accident.
    await writeFile(options.out, pem, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    writeLine(
      io.stderr,
      code === 'EEXIST'
        ? `auth-sidecar: ${options.out} exists; keys generate never overwrites a file (choose another --out)`
        : `auth-sidecar: cannot write ${options.out}: ${(err as Error).message}`,
    );
    return EXIT.failure;
  }
  const jwk = publicJwk({ kid: options.kid, alg: algorithm.alg, publicKey });
  writeLine(io.stdout, `wrote ${options.out} (mode 0600)`);
  writeLine(io.stdout, `kid: ${options.kid}`);
  writeLine(io.stdout, `alg: ${algorithm.alg}`);
  writeLine(io.stdout, `public JWK: ${JSON.stringify(jwk)}`);
  return EXIT.ok;
}

function isKeyType(type: string): type is KeyType {
  return (KEY_TYPES as readonly string[]).includes(type);
}

async function generateKeys(
  type: KeyType,
  bits: number,
): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  switch (type) {
    case 'ed25519':
      return generate('ed25519', undefined);
    case 'p256':
      return generate('ec', { namedCurve: 'prime256v1' });
    case 'rsa':
      return generate('rsa', { modulusLength: bits });
  }
}
