import assert from 'node:assert/strict';
import {
  createHmac,
  createPublicKey,
  createSecretKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { describe, it } from 'node:test';
import * as jose from 'jose';
import {
  algorithmOf,
  JWS_ALGORITHMS,
  signCompact,
  verifyCompact,
  type JwsAlgorithm,
  type JwsVerdict,
  type KeyResolver,
  type ProtectedHeader,
  type VerifyingKey,
} from '../../src/tokens/jws.js';

interface KeyPair {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

function secretPair(): KeyPair {
  const secret = createSecretKey(randomBytes(32));
  return { privateKey: secret, publicKey: secret };
}

/** A fresh key of the kind each algorithm is pinned to. */
function newKeyPair(alg: JwsAlgorithm): KeyPair {
  switch (alg) {
    case 'HS256':
      return secretPair();
    case 'EdDSA':
      return generateKeyPairSync('ed25519');
    case 'ES256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'RS256':
      return generateKeyPairSync('rsa', { modulusLength: 2048 });
  }
}

const KEYS: Readonly<Record<JwsAlgorithm, KeyPair>> = {
  HS256: newKeyPair('HS256'),
  EdDSA: newKeyPair('EdDSA'),
  ES256: newKeyPair('ES256'),
  RS256: newKeyPair('RS256'),
};

const SIGNATURE_BYTES: Readonly<Record<JwsAlgorithm, number>> = {
  HS256: 32,
  EdDSA: 64,
  ES256: 64,
  RS256: 256,
};

const CLAIMS = { sub: 'user-1', username: 'alice', roles: ['admin', 'user'], iat: 1_767_225_600 };

function signWith(
  alg: JwsAlgorithm,
  header: Record<string, unknown> = { typ: 'JWT' },
  payload: Record<string, unknown> = CLAIMS,
) {
  return signCompact(header, payload, { kid: `${alg}-1`, alg, key: KEYS[alg].privateKey });
}

/** A resolver that knows exactly one key, by its kid, and counts its calls. */
function resolverOf(verifyingKey: VerifyingKey & { kid: string }) {
  const seen: ProtectedHeader[] = [];
  const resolve: KeyResolver = (header) => {
    seen.push(header);
    return header.kid === verifyingKey.kid ? verifyingKey : undefined;
  };
  return { resolve, seen };
}

function publicResolver(alg: JwsAlgorithm) {
  return resolverOf({ kid: `${alg}-1`, alg, key: KEYS[alg].publicKey });
}

function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/**
 * A token with any header at all, correctly signed with the EdDSA test key: when it is refused,
 * the header is why, not the signature.
 */
function signedRaw(header: unknown, payload: unknown = CLAIMS): string {
  const signingInput = `${b64(header)}.${b64(payload)}`;
  const signature = sign(null, Buffer.from(signingInput), KEYS.EdDSA.privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function parts(token: string): [string, string, string] {
  const [header = '', payload = '', signature = ''] = token.split('.');
  return [header, payload, signature];
}

function assertAccepted(verdict: JwsVerdict): asserts verdict is Extract<JwsVerdict, { ok: true }> {
  assert.equal(verdict.ok, true, `refused: ${verdict.ok ? '' : verdict.reason}`);
}

describe('compact JWS', () => {
  describe('signs and verifies with each algorithm', () => {
    for (const alg of JWS_ALGORITHMS) {
      it(`${alg}: a signed token verifies with its key and gives back header and payload`, () => {
        const token = signWith(alg);
        const { resolve, seen } = publicResolver(alg);
        const verdict = verifyCompact(token, resolve);
        assertAccepted(verdict);
        assert.deepEqual(verdict.header, { alg, kid: `${alg}-1`, typ: 'JWT' });
        assert.deepEqual(verdict.payload, CLAIMS);
        assert.deepEqual(seen, [{ alg, kid: `${alg}-1`, typ: 'JWT' }]);
        assert.equal(Buffer.from(parts(token)[2], 'base64url').length, SIGNATURE_BYTES[alg]);
      });
    }

    it('writes the header members in the order alg, kid, then the rest, whatever order they were given in', () => {
      const token = signCompact({ typ: 'JWT', kid: 'k' }, CLAIMS, {
        alg: 'EdDSA',
        key: KEYS.EdDSA.privateKey,
      });
      assert.equal(
        Buffer.from(parts(token)[0], 'base64url').toString(),
        '{"alg":"EdDSA","kid":"k","typ":"JWT"}',
      );
    });

    it('verifies with the private key as well as with the public one', () => {
      for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
        const { resolve } = resolverOf({ kid: `${alg}-1`, alg, key: KEYS[alg].privateKey });
        assert.equal(verifyCompact(signWith(alg), resolve).ok, true, alg);
      }
    });

    it('signs without a kid, and a resolver can still choose the key', () => {
      const token = signCompact({}, CLAIMS, { alg: 'ES256', key: KEYS.ES256.privateKey });
      const verdict = verifyCompact(token, () => ({ alg: 'ES256', key: KEYS.ES256.publicKey }));
      assertAccepted(verdict);
      assert.deepEqual(verdict.header, { alg: 'ES256' });
    });
  });

  describe('interoperates with jose', () => {
    for (const alg of JWS_ALGORITHMS) {
      it(`${alg}: jose verifies our token with the KeyObject and with its JWK export`, async () => {
        const token = signWith(alg);
        const viaKeyObject = await jose.jwtVerify(token, KEYS[alg].publicKey, { algorithms: [alg] });
        assert.deepEqual(viaKeyObject.payload, CLAIMS);
        assert.deepEqual(viaKeyObject.protectedHeader, { alg, kid: `${alg}-1`, typ: 'JWT' });

        const jwk = KEYS[alg].publicKey.export({ format: 'jwk' }) as jose.JWK;
        const imported = await jose.importJWK(jwk, alg);
        const viaJwk = await jose.compactVerify(token, imported, { algorithms: [alg] });
        assert.deepEqual(JSON.parse(Buffer.from(viaJwk.payload).toString()), CLAIMS);
      });

      it(`${alg}: we verify tokens signed by jose's SignJWT and CompactSign with a key jose made`, async () => {
        const { signingKey, verifyingKey } = await joseKeys(alg);
        const jwt = await new jose.SignJWT({ username: 'bob', roles: ['user'] })
          .setProtectedHeader({ alg, kid: 'idp-1', typ: 'JWT' })
          .setSubject('user-2')
          .setIssuedAt()
          .sign(signingKey);
        const jwtVerdict = verifyCompact(jwt, resolverOf({ kid: 'idp-1', alg, key: verifyingKey }).resolve);
        assertAccepted(jwtVerdict);
        assert.equal(jwtVerdict.payload.sub, 'user-2');
        assert.deepEqual(jwtVerdict.payload.roles, ['user']);

        const jws = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(CLAIMS)))
          .setProtectedHeader({ alg })
          .sign(signingKey);
        const jwsVerdict = verifyCompact(jws, () => ({ alg, key: verifyingKey }));
        assertAccepted(jwsVerdict);
        assert.deepEqual(jwsVerdict.payload, CLAIMS);
      });
    }
  });

  describe('refuses', () => {
    it('alg none, with or without a signature', () => {
      const { resolve, seen } = publicResolver('EdDSA');
      const unsigned = `${b64({ alg: 'none', kid: 'EdDSA-1' })}.${b64(CLAIMS)}.`;
      assert.deepEqual(verifyCompact(unsigned, resolve), { ok: false, reason: 'malformed' });
      const withSignature = `${unsigned}${parts(signWith('EdDSA'))[2]}`;
      assert.deepEqual(verifyCompact(withSignature, resolve), { ok: false, reason: 'invalid' });
      assert.equal(seen.length, 0, 'the resolver is never asked about alg none');
    });

    it('an HS256 token made with the RSA public key as its HMAC secret (the classic confusion)', () => {
      const pem = KEYS.RS256.publicKey.export({ type: 'spki', format: 'pem' });
      const signingInput = `${b64({ alg: 'HS256', kid: 'RS256-1', typ: 'JWT' })}.${b64({ ...CLAIMS, roles: ['admin'] })}`;
      const forged = `${signingInput}.${createHmac('sha256', pem).update(signingInput).digest('base64url')}`;
      const { resolve, seen } = publicResolver('RS256');
      assert.deepEqual(verifyCompact(forged, resolve), { ok: false, reason: 'invalid' });
      assert.equal(
        seen.length,
        1,
        'the RSA key was found by kid, and its pinned RS256 refused the HS256 header',
      );
    });

    it('an ES256 token presented to an EdDSA key under the same kid', () => {
      const token = signCompact({}, CLAIMS, { kid: 'shared', alg: 'ES256', key: KEYS.ES256.privateKey });
      const { resolve } = resolverOf({ kid: 'shared', alg: 'EdDSA', key: KEYS.EdDSA.publicKey });
      assert.deepEqual(verifyCompact(token, resolve), { ok: false, reason: 'invalid' });
    });

    it('an algorithm outside the four, before the resolver is asked', () => {
      const { resolve, seen } = publicResolver('EdDSA');
      for (const alg of ['HS512', 'ES384', 'PS256', 'Ed25519', 'hs256']) {
        assert.deepEqual(verifyCompact(signedRaw({ alg, kid: 'EdDSA-1' }), resolve), {
          ok: false,
          reason: 'invalid',
        });
      }
      assert.equal(seen.length, 0);
    });

    for (const alg of JWS_ALGORITHMS) {
      it(`${alg}: a token signed by another key of the same kind`, () => {
        const other = newKeyPair(alg);
        const token = signCompact({}, CLAIMS, { kid: `${alg}-1`, alg, key: other.privateKey });
        assert.deepEqual(verifyCompact(token, publicResolver(alg).resolve), { ok: false, reason: 'invalid' });
      });

      it(`${alg}: a tampered payload or header`, () => {
        const [header, , signature] = parts(signWith(alg));
        const { resolve } = publicResolver(alg);
        const payload = b64({ ...CLAIMS, roles: ['admin', 'user', 'root'] });
        assert.deepEqual(verifyCompact(`${header}.${payload}.${signature}`, resolve), {
          ok: false,
          reason: 'invalid',
        });
        const [, originalPayload] = parts(signWith(alg));
        const otherHeader = b64({ alg, kid: `${alg}-1`, typ: 'session+jwt' });
        assert.deepEqual(verifyCompact(`${otherHeader}.${originalPayload}.${signature}`, resolve), {
          ok: false,
          reason: 'invalid',
        });
      });

      it(`${alg}: any single changed character`, () => {
        const token = signWith(alg);
        const { resolve } = publicResolver(alg);
        const alphabet = 'AQgw_-9.=+';
        for (let index = 0; index < token.length; index += 1) {
          for (const char of alphabet) {
            if (token[index] === char) continue;
            const changed = `${token.slice(0, index)}${char}${token.slice(index + 1)}`;
            const verdict = verifyCompact(changed, resolve);
            assert.equal(verdict.ok, false, `accepted with ${char} at ${index}`);
          }
        }
      });
    }

    it('a signature of the wrong length for the algorithm', () => {
      const [header, payload, signature] = parts(signWith('ES256'));
      const { resolve } = publicResolver('ES256');
      const bytes = Buffer.from(signature, 'base64url');
      for (const wrong of [
        bytes.subarray(0, 63),
        Buffer.concat([bytes, Buffer.from([0])]),
        bytes.subarray(0, 32),
      ]) {
        const token = `${header}.${payload}.${wrong.toString('base64url')}`;
        assert.deepEqual(verifyCompact(token, resolve), { ok: false, reason: 'invalid' });
      }
      const derEncoded = sign('sha256', Buffer.from(`${header}.${payload}`), KEYS.ES256.privateKey);
      assert.deepEqual(verifyCompact(`${header}.${payload}.${derEncoded.toString('base64url')}`, resolve), {
        ok: false,
        reason: 'invalid',
      });
    });

    it('random signature bytes of the right length, without throwing', () => {
      for (const alg of JWS_ALGORITHMS) {
        const [header, payload] = parts(signWith(alg));
        const { resolve } = publicResolver(alg);
        for (let round = 0; round < 20; round += 1) {
          const signature = randomBytes(SIGNATURE_BYTES[alg]).toString('base64url');
          assert.deepEqual(verifyCompact(`${header}.${payload}.${signature}`, resolve), {
            ok: false,
            reason: 'invalid',
          });
        }
      }
    });

    it('a second spelling of the same signature bytes (trailing bits set)', () => {
      const token = signWith('EdDSA');
      // 64 bytes encode to 86 characters; the last carries 4 unused bits.
      const last = token.at(-1) ?? '';
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const sibling = alphabet[alphabet.indexOf(last) + 1] ?? '';
      const respelled = `${token.slice(0, -1)}${sibling}`;
      assert.deepEqual(
        Buffer.from(parts(respelled)[2], 'base64url'),
        Buffer.from(parts(token)[2], 'base64url'),
        'both spellings decode to the same bytes',
      );
      assert.deepEqual(verifyCompact(respelled, publicResolver('EdDSA').resolve), {
        ok: false,
        reason: 'malformed',
      });
    });

    describe('a token that is not a compact JWS, as malformed and before the resolver is asked', () => {
      const token = signWith('EdDSA');
      const [header, payload, signature] = parts(token);
      const cases: [string, string][] = [
        ['an empty string', ''],
        ['one part', header],
        ['two parts', `${header}.${payload}`],
        ['an extra dot at the end', `${token}.`],
        ['a fourth part', `${token}.${signature}`],
        ['an empty header', `.${payload}.${signature}`],
        ['an empty payload', `${header}..${signature}`],
        ['an empty signature', `${header}.${payload}.`],
        ['padding in the header', `${header}=.${payload}.${signature}`],
        ['padding in the signature', `${token}==`],
        ['a + in the payload', `${header}.${payload.slice(0, -1)}+.${signature}`],
        ['a / in the signature', `${header}.${payload}.${signature.slice(0, -1)}/`],
        ['a space', `${header}.${payload} .${signature}`],
        ['a non-ASCII character', `${header}.${payload}é.${signature}`],
        ['a part of impossible length (1 mod 4)', `${header}.${payload}.${signature}AAA`],
        ['a header that is not JSON', `${b64('alg: EdDSA')}.${payload}.${signature}`],
        ['a header that is an array', signedRaw([{ alg: 'EdDSA' }])],
        ['a header that is a string', signedRaw('"EdDSA"')],
        ['a header that is null', signedRaw('null')],
        ['a header with braces but broken JSON', signedRaw('{"alg":"EdDSA",}')],
        [
          'a header that is not UTF-8',
          `${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${payload}.${signature}`,
        ],
        ['a header without alg', signedRaw({ kid: 'EdDSA-1' })],
        ['a header whose alg is not a string', signedRaw({ alg: ['EdDSA'], kid: 'EdDSA-1' })],
        ['an empty kid', signedRaw({ alg: 'EdDSA', kid: '' })],
        ['a kid that is not a string', signedRaw({ alg: 'EdDSA', kid: 1 })],
        ['a typ that is not a string', signedRaw({ alg: 'EdDSA', kid: 'EdDSA-1', typ: null })],
      ];
      for (const [name, value] of cases) {
        it(name, () => {
          const { resolve, seen } = publicResolver('EdDSA');
          assert.deepEqual(verifyCompact(value, resolve), { ok: false, reason: 'malformed' });
          assert.equal(seen.length, 0);
        });
      }
    });

    describe('a header parameter that names or carries another key, or demands an extension', () => {
      const jwk = KEYS.EdDSA.publicKey.export({ format: 'jwk' });
      const cases: [string, Record<string, unknown>][] = [
        ['jwk', { jwk }],
        ['jku', { jku: 'https://attacker.example/jwks.json' }],
        ['x5u', { x5u: 'https://attacker.example/cert.pem' }],
        ['x5c', { x5c: ['MIIB'] }],
        ['x5t', { x5t: 'abc' }],
        ['x5t#S256', { 'x5t#S256': 'abc' }],
        ['crit', { crit: ['b64'], b64: false }],
      ];
      for (const [name, extra] of cases) {
        it(`${name}, even with a valid signature`, () => {
          const { resolve, seen } = publicResolver('EdDSA');
          const token = signedRaw({ alg: 'EdDSA', kid: 'EdDSA-1', ...extra });
          assert.deepEqual(verifyCompact(token, resolve), { ok: false, reason: 'invalid' });
          assert.equal(seen.length, 0);
        });
      }
    });

    it('an unknown kid, or no kid when the resolver wants one', () => {
      const { resolve, seen } = publicResolver('EdDSA');
      assert.deepEqual(verifyCompact(signedRaw({ alg: 'EdDSA', kid: 'made-up' }), resolve), {
        ok: false,
        reason: 'invalid',
      });
      assert.deepEqual(verifyCompact(signedRaw({ alg: 'EdDSA' }), resolve), { ok: false, reason: 'invalid' });
      assert.deepEqual(seen, [{ alg: 'EdDSA', kid: 'made-up' }, { alg: 'EdDSA' }]);
    });

    it('a token longer than the limit, before reading it, and honours a lower limit', () => {
      const { resolve, seen } = publicResolver('EdDSA');
      const huge = signWith('EdDSA', {}, { ...CLAIMS, padding: 'x'.repeat(9000) });
      assert.deepEqual(verifyCompact(huge, resolve), { ok: false, reason: 'too_large' });
      assert.deepEqual(verifyCompact('x'.repeat(8193), resolve), { ok: false, reason: 'too_large' });
      const token = signWith('EdDSA');
      assert.deepEqual(verifyCompact(token, resolve, { maxLength: token.length - 1 }), {
        ok: false,
        reason: 'too_large',
      });
      assert.equal(verifyCompact(token, resolve, { maxLength: token.length }).ok, true);
      assert.equal(seen.length, 1);
    });

    it('a validly signed payload that is not a JSON object', () => {
      const { resolve } = publicResolver('EdDSA');
      for (const payload of ['[1,2]', '"alice"', '42', 'null', 'not json', '{"a":1}x']) {
        assert.deepEqual(verifyCompact(signedRaw({ alg: 'EdDSA', kid: 'EdDSA-1' }, payload), resolve), {
          ok: false,
          reason: 'malformed',
        });
      }
    });

    it('a value that is not a string, without throwing', () => {
      const { resolve } = publicResolver('EdDSA');
      assert.deepEqual(verifyCompact(undefined as unknown as string, resolve), {
        ok: false,
        reason: 'malformed',
      });
    });
  });

  describe('keeps header parameters it does not know, and accepts JSON whitespace', () => {
    it('passes cty and other members to the resolver and the caller', () => {
      const { resolve, seen } = publicResolver('EdDSA');
      const verdict = verifyCompact(
        signedRaw({ alg: 'EdDSA', kid: 'EdDSA-1', cty: 'x', custom: 1 }),
        resolve,
      );
      assertAccepted(verdict);
      assert.equal(verdict.header.cty, 'x');
      assert.equal(seen[0]?.custom, 1);
    });

    it('accepts a header with whitespace around and inside it', () => {
      const { resolve } = publicResolver('EdDSA');
      const verdict = verifyCompact(signedRaw('\n { "alg" : "EdDSA", "kid": "EdDSA-1" }\r\n'), resolve);
      assert.equal(verdict.ok, true);
    });
  });

  describe('algorithmOf', () => {
    it('gives each supported key, private or public, its one algorithm', () => {
      for (const alg of JWS_ALGORITHMS) {
        assert.equal(algorithmOf(KEYS[alg].privateKey), alg);
        assert.equal(algorithmOf(KEYS[alg].publicKey), alg);
      }
      const fromJwk = createPublicKey({ key: KEYS.ES256.publicKey.export({ format: 'jwk' }), format: 'jwk' });
      assert.equal(algorithmOf(fromJwk), 'ES256');
      const rsaFromJwk = createPublicKey({
        key: KEYS.RS256.publicKey.export({ format: 'jwk' }),
        format: 'jwk',
      });
      assert.equal(algorithmOf(rsaFromJwk), 'RS256');
    });

    const refused: [string, () => KeyObject, RegExp][] = [
      [
        'an RSA key of 1024 bits',
        () => generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
        /rsa key of 1024 bits/,
      ],
      ['a P-384 key', () => generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, /curve secp384r1/],
      [
        'a secp256k1 key',
        () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
        /curve secp256k1/,
      ],
      [
        'an RSA-PSS key',
        () => generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey,
        /type rsa-pss/,
      ],
      ['an Ed448 key', () => generateKeyPairSync('ed448').privateKey, /type ed448/],
      ['an X25519 key', () => generateKeyPairSync('x25519').publicKey, /type x25519/],
      ['a secret of 31 bytes', () => createSecretKey(randomBytes(31)), /HMAC secret of 31 bytes/],
    ];
    for (const [name, make, message] of refused) {
      it(`refuses ${name}, naming it`, () => {
        assert.throws(
          () => algorithmOf(make()),
          (err: unknown) => err instanceof TypeError && message.test(err.message),
        );
      });
    }
  });

  describe('caller misuse is a TypeError', () => {
    it('signing with a public key, or an alg the key is not for', () => {
      assert.throws(() => signCompact({}, CLAIMS, { alg: 'EdDSA', key: KEYS.EdDSA.publicKey }), TypeError);
      assert.throws(() => signCompact({}, CLAIMS, { alg: 'RS256', key: KEYS.EdDSA.privateKey }), TypeError);
      assert.throws(() => signCompact({}, CLAIMS, { alg: 'HS256', key: KEYS.RS256.privateKey }), TypeError);
    });

    it('a header that contradicts the key or that the verifier would refuse', () => {
      const key = { kid: 'k', alg: 'ES256', key: KEYS.ES256.privateKey } as const;
      assert.throws(() => signCompact({ alg: 'HS256' }, CLAIMS, key), TypeError);
      assert.throws(() => signCompact({ kid: 'other' }, CLAIMS, key), TypeError);
      assert.throws(
        () => signCompact({ kid: '' }, CLAIMS, { alg: 'ES256', key: KEYS.ES256.privateKey }),
        TypeError,
      );
      assert.throws(() => signCompact({ typ: 1 }, CLAIMS, key), TypeError);
      assert.throws(() => signCompact({ jku: 'https://x' }, CLAIMS, key), TypeError);
      assert.throws(() => signCompact({}, [] as unknown as Record<string, unknown>, key), TypeError);
    });

    it('a resolver returning a key whose pinned alg does not fit it', () => {
      const token = signCompact({}, CLAIMS, { alg: 'HS256', key: KEYS.HS256.privateKey });
      assert.throws(
        () => verifyCompact(token, () => ({ alg: 'HS256', key: KEYS.RS256.publicKey })),
        TypeError,
      );
    });
  });
});

/** A key pair jose generates, with the verifying half turned into a KeyObject through its JWK. */
async function joseKeys(
  alg: JwsAlgorithm,
): Promise<{ signingKey: jose.CryptoKey | Uint8Array; verifyingKey: KeyObject }> {
  if (alg === 'HS256') {
    const secret = randomBytes(32);
    return { signingKey: new Uint8Array(secret), verifyingKey: createSecretKey(secret) };
  }
  const pair = await jose.generateKeyPair(alg);
  const jwk = await jose.exportJWK(pair.publicKey);
  return {
    signingKey: pair.privateKey,
    verifyingKey: createPublicKey({ key: jwk, format: 'jwk' }),
  };
}
