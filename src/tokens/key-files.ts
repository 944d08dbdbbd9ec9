/**
 * The sidecar's own signing keys: PEM private keys read from files (Kubernetes Secrets mounted as
 * files, never the YAML), each pinned to the one algorithm its type allows, and their public half
 * as a JWK Set (RFC 7517 §5) for `GET /auth/jwks.json`.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { JwsAlgorithm } from './jws.js';

/** The algorithm a key signs with, fixed by its type (RFC 8725 §3.1: one algorithm per key). */
export type KeyAlgorithm = Exclude<JwsAlgorithm, 'HS256'>;

/** What a `kid` may be: short, and safe in a header, a log line and a file name. */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
/** RFC 7518 §3.3: RS256 keys of 2048 bits or more. */
export const MIN_RSA_BITS = 2048;
/** A PEM private key is a few kilobytes (RSA 16384 bits: about 13 KiB); larger files are not keys. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** One item of `tokens.keys`. */
export interface KeyEntry {
  readonly kid: string;
  /** PEM file, relative to the config file's folder, or absolute. */
  readonly file: string;
}

export interface RingKey {
  readonly kid: string;
  readonly alg: KeyAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export interface KeyRing {
  /** The first entry: it signs everything issued; the others only verify. */
  readonly signing: RingKey;
  /** Every key by `kid`, in config order (the signing key first). */
  readonly keys: ReadonlyMap<string, RingKey>;
  /** Things to log that do not stop start-up (a key file open to group or others). */
  readonly warnings: readonly string[];
}

/** A public key as published: public members only, with `kid`, `alg` and `use` (RFC 7517 §4). */
export type PublicJwk = {
  readonly kty: 'OKP' | 'EC' | 'RSA';
  readonly crv?: string;
  readonly x?: string;
  readonly y?: string;
  readonly n?: string;
  readonly e?: string;
  readonly kid: string;
  readonly alg: KeyAlgorithm;
  readonly use: 'sig';
};

export type KeyFileProblemCode =
  | 'invalid_kid'
  | 'duplicate_kid'
  | 'unreadable'
  | 'not_a_file'
  | 'too_large'
  | 'not_pem'
  | 'not_private'
  | 'several_keys'
  | 'encrypted'
  | 'unparsable'
  | 'unsupported_type'
  | 'unsupported_curve'
  | 'rsa_too_short';

/** One thing wrong with one entry of `tokens.keys`. */
export interface KeyFileProblem {
  readonly code: KeyFileProblemCode;
  /** Index of the entry in `tokens.keys`. */
  readonly index: number;
  /** The member of the entry at fault, so a config loader can point at its line. */
  readonly field: 'kid' | 'file';
  readonly kid: string;
  /** The file as read: `file` joined to the config's folder unless absolute. */
  readonly file: string;
  readonly message: string;
}

/** The key files cannot be used: every problem found, not just the first. */
export class KeyFileError extends Error {
  readonly problems: readonly KeyFileProblem[];

  constructor(problems: readonly KeyFileProblem[]) {
    super(problems.map((p) => `tokens.keys[${p.index}].${p.field}: ${p.message}`).join('\n'));
    this.name = 'KeyFileError';
    this.problems = problems;
  }
}

/**
 * Reads every key file of `entries` (relative paths against `baseDir`, the config file's folder).
 * Throws a KeyFileError listing every problem; a caller passing no entries gets a TypeError.
 */
export async function loadKeyRing(entries: readonly KeyEntry[], baseDir: string): Promise<KeyRing> {
  if (entries.length === 0) throw new TypeError('loadKeyRing: at least one key entry is needed');
  const files = entries.map((entry) => keyFilePath(entry.file, baseDir));
  const loaded = await Promise.all(files.map(readKeyFile));
  const problems: KeyFileProblem[] = [];
  const warnings: string[] = [];
  const keys = new Map<string, RingKey>();
  const indexOfKid = new Map<string, number>();

  for (const [index, entry] of entries.entries()) {
    const file = files[index] ?? entry.file;
    const result = loaded[index];
    const report = (code: KeyFileProblemCode, field: 'kid' | 'file', message: string) =>
      problems.push({ code, index, field, kid: entry.kid, file, message });

    const earlier = indexOfKid.get(entry.kid);
    if (!KID_PATTERN.test(entry.kid)) {
      report(
        'invalid_kid',
        'kid',
        `${JSON.stringify(entry.kid)}: expected 1 to 64 characters of A-Z a-z 0-9 . _ -`,
      );
    } else if (earlier !== undefined) {
      report(
        'duplicate_kid',
        'kid',
        `${entry.kid} is already the kid of tokens.keys[${earlier}]; each key needs its own`,
      );
    } else {
      indexOfKid.set(entry.kid, index);
    }

    if (result === undefined) continue;
    if ('problem' in result) {
      report(result.problem, 'file', `${file}: ${result.message}`);
      continue;
    }
    if (result.groupOrOthers !== 0) {
      const mode = (result.mode & 0o777).toString(8).padStart(4, '0');
      warnings.push(
        `tokens.keys[${index}].file: ${file} is open to group or others (mode ${mode}); make it 0600 or 0400 ` +
          '(a Kubernetes Secret volume mounts its files 0644 unless defaultMode is set, e.g. defaultMode: 0400; ' +
          'with a pod fsGroup they stay readable by that group, 0440, whatever defaultMode says)',
      );
    }
    if (indexOfKid.get(entry.kid) === index) keys.set(entry.kid, { kid: entry.kid, ...result.key });
  }

  const [signing] = keys.values();
  if (problems.length > 0 || signing === undefined) throw new KeyFileError(problems);
  return { signing, keys, warnings };
}

/** The public JWK of every key of the ring, the signing key first; never a private member. */
export function publicJwks(ring: KeyRing): { keys: PublicJwk[] } {
  return { keys: [...ring.keys.values()].map(publicJwk) };
}

/**
 * The public JWK of one key. Members are copied by name from the export of the public key, so
 * a private member (`d`, `p`, `q`, `dp`, `dq`, `qi`) could not slip through even from a private one.
 */
export function publicJwk(key: Pick<RingKey, 'kid' | 'alg' | 'publicKey'>): PublicJwk {
  const jwk = key.publicKey.export({ format: 'jwk' });
  const common = { kid: key.kid, alg: key.alg, use: 'sig' } as const;
  switch (key.alg) {
    case 'EdDSA':
      return { kty: 'OKP', crv: String(jwk.crv), x: String(jwk.x), ...common };
    case 'ES256':
      return { kty: 'EC', crv: String(jwk.crv), x: String(jwk.x), y: String(jwk.y), ...common };
    case 'RS256':
      return { kty: 'RSA', n: String(jwk.n), e: String(jwk.e), ...common };
  }
}

/**
 * The one algorithm a private key may sign with, or why it cannot be used. Shared with
 * `keys generate`, so that what it writes is what the loader accepts.
 */
export function algorithmOfKey(
  key: KeyObject,
): { alg: KeyAlgorithm } | { problem: KeyFileProblemCode; message: string } {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return { alg: 'EdDSA' };
    case 'ec':
      return details.namedCurve === 'prime256v1'
        ? { alg: 'ES256' }
        : {
            problem: 'unsupported_curve',
            message: `an EC key on ${details.namedCurve ?? 'an unnamed curve'}; only P-256 (ES256) is supported`,
          };
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      return bits >= MIN_RSA_BITS
        ? { alg: 'RS256' }
        : {
            problem: 'rsa_too_short',
            message: `an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are needed`,
          };
    }
    case 'rsa-pss':
      return {
        problem: 'unsupported_type',
        message:
          'an RSA-PSS key (restricted to PS* signatures); RS256 needs a plain RSA key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)',
      };
    case 'x25519':
    case 'x448':
    case 'dh':
      return {
        problem: 'unsupported_type',
        message: `${describeType(key.asymmetricKeyType)} key, made for key agreement: it cannot sign; ${SUPPORTED}`,
      };
    default:
      return {
        problem: 'unsupported_type',
        message: `${describeType(key.asymmetricKeyType)} key; ${SUPPORTED}`,
      };
  }
}

const SUPPORTED = 'supported: Ed25519 (EdDSA), EC P-256 (ES256), RSA of 2048 bits or more (RS256)';

const TYPE_NAMES: Readonly<Record<string, string>> = {
  ed448: 'an Ed448',
  x25519: 'an X25519',
  x448: 'an X448',
  dh: 'a Diffie-Hellman',
  dsa: 'a DSA',
};

function describeType(type: string | undefined): string {
  return (type === undefined ? undefined : TYPE_NAMES[type]) ?? `a ${type ?? 'unknown'}`;
}

function keyFilePath(file: string, baseDir: string): string {
  return isAbsolute(file) ? file : join(baseDir, file);
}

type ReadResult =
  | {
      key: { alg: KeyAlgorithm; privateKey: KeyObject; publicKey: KeyObject };
      mode: number;
      groupOrOthers: number;
    }
  | { problem: KeyFileProblemCode; message: string };

/** Labels of PEM blocks that hold no private key (RFC 7468 §5, §13 and OpenSSL's older ones). */
const PUBLIC_LABELS: ReadonlyMap<string, string> = new Map([
  ['PUBLIC KEY', 'a public key'],
  ['RSA PUBLIC KEY', 'an RSA public key'],
  ['CERTIFICATE', 'a certificate'],
  ['TRUSTED CERTIFICATE', 'a certificate'],
  ['X509 CERTIFICATE', 'a certificate'],
  ['CERTIFICATE REQUEST', 'a certificate request'],
  ['NEW CERTIFICATE REQUEST', 'a certificate request'],
]);
/** Private key labels createPrivateKey reads: PKCS#8 (RFC 7468 §10), SEC1 (RFC 5915 §4), PKCS#1. */
const PRIVATE_LABELS = new Set(['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY']);

async function readKeyFile(file: string): Promise<ReadResult> {
  let text: string;
  let mode: number;
  try {
    // One open file for the mode and the text, so both describe the same file.
    const handle = await open(file, 'r');
    try {
      const stats = await handle.stat();
      if (!stats.isFile())
        return { problem: 'not_a_file', message: 'not a regular file; expected a PEM private key' };
      if (stats.size > MAX_KEY_FILE_BYTES) {
        return {
          problem: 'too_large',
          message: `${stats.size} bytes, more than a key file holds (at most ${MAX_KEY_FILE_BYTES})`,
        };
      }
      mode = stats.mode;
      text = await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    return { problem: 'unreadable', message: `cannot read the key file: ${osReason(err)}` };
  }
  const parsed = parsePrivateKeyPem(text);
  if ('problem' in parsed) return parsed;
  const algorithm = algorithmOfKey(parsed.privateKey);
  if ('problem' in algorithm) return algorithm;
  return {
    key: { alg: algorithm.alg, privateKey: parsed.privateKey, publicKey: createPublicKey(parsed.privateKey) },
    mode,
    // File modes mean nothing to a Windows ACL.
    groupOrOthers: process.platform === 'win32' ? 0 : mode & 0o077,
  };
}

function parsePrivateKeyPem(
  text: string,
): { privateKey: KeyObject } | { problem: KeyFileProblemCode; message: string } {
  const labels = [...text.matchAll(/^-----BEGIN ([A-Z0-9 ]+)-----[ \t]*\r?$/gm)].map((m) => m[1] ?? '');
  if (labels.length === 0) {
    return {
      problem: 'not_pem',
      message: 'no PEM block; expected a PEM private key (-----BEGIN PRIVATE KEY-----)',
    };
  }
  if (labels.includes('ENCRYPTED PRIVATE KEY')) return encrypted('ENCRYPTED PRIVATE KEY');
  // `openssl ecparam -genkey` writes the curve's parameters before the SEC1 key: harmless.
  const blocks = labels.filter((label) => label !== 'EC PARAMETERS');
  const privateLabels = blocks.filter((label) => PRIVATE_LABELS.has(label));
  if (privateLabels.length === 0) {
    const publicLabel = blocks.find((label) => PUBLIC_LABELS.has(label));
    return {
      problem: 'not_private',
      message:
        publicLabel === undefined
          ? `a BEGIN ${blocks[0] ?? 'EC PARAMETERS'} block; expected a PEM private key (BEGIN PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY)`
          : `${PUBLIC_LABELS.get(publicLabel) ?? publicLabel} (BEGIN ${publicLabel}); a private key is needed: the sidecar signs with it`,
    };
  }
  if (blocks.length > 1) {
    return {
      problem: 'several_keys',
      message: `${blocks.length} PEM blocks (${blocks.join(', ')}); one private key alone per file`,
    };
  }
  const label = privateLabels[0] ?? '';
  const block = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`).exec(text)?.[0];
  if (block === undefined) return unparsable(label, `no -----END ${label}----- line`);
  // RFC 1421 encryption of the traditional SEC1 and PKCS#1 forms.
  if (/^Proc-Type:\s*4\s*,\s*ENCRYPTED/m.test(block)) return encrypted(label);
  try {
    return { privateKey: createPrivateKey({ key: block, format: 'pem' }) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MISSING_PASSPHRASE') return encrypted(label);
    return unparsable(label, (err as Error).message);
  }
}

function encrypted(label: string): { problem: 'encrypted'; message: string } {
  return {
    problem: 'encrypted',
    message:
      `an encrypted private key (BEGIN ${label}); the sidecar has no passphrase to open it: store it ` +
      'unencrypted (e.g. openssl pkey -in OLD -out NEW) and protect the file by its mode (0600) instead',
  };
}

function unparsable(label: string, reason: string): { problem: 'unparsable'; message: string } {
  return { problem: 'unparsable', message: `the BEGIN ${label} block cannot be read as a key (${reason})` };
}

function osReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'is a directory',
    ENOTDIR: 'a part of the path is not a folder',
    ELOOP: 'too many symbolic links',
  };
  const reason = code === undefined ? undefined : reasons[code];
  return reason === undefined ? (err as Error).message : `${reason} (${code})`;
}
