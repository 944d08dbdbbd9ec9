/**
 * Tokens of existing identity providers (`trust`), verified against a fake provider over real
 * HTTP: what passes and how it maps, what is refused, how rotated keys arrive, what a flood of
 * made-up key ids costs the provider, and what an outage or a lying discovery document changes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { TrustedIssuerConfig } from '../../src/config/schema.js';
import type { TokenVerdict } from '../../src/identity.js';
import {
  createTrustedIssuers,
  unverifiedIssuer,
  type TrustedIssuers,
  type TrustedIssuersOptions,
} from '../../src/trust/trusted-issuers.js';
import { findFreePort } from '../helpers/cli-process.js';
import { FAKE_IDP_AUDIENCE, generateFakeIdpKey, startFakeIdp, type FakeIdp } from '../helpers/fake-idp.js';
import { LogCapture } from '../helpers/log-capture.js';

const LEEWAY_MS = 30_000;

/** A trust entry for the fake provider, as the config schema would give it with these keys. */
function entryFor(idp: FakeIdp, overrides: Partial<TrustedIssuerConfig> = {}): TrustedIssuerConfig {
  return {
    issuer: idp.issuer,
    jwksUrl: idp.jwksUrl,
    audience: FAKE_IDP_AUDIENCE,
    algorithms: ['RS256', 'ES256'],
    usernameClaim: 'preferred_username',
    rolesClaim: 'realm_access.roles',
    roleMap: { 'idp-admins': 'admin' },
    mapOnly: false,
    ...overrides,
  };
}

/** Same entry, its keys found through the provider's OpenID configuration. */
function discoveryEntryFor(idp: FakeIdp, overrides: Partial<TrustedIssuerConfig> = {}): TrustedIssuerConfig {
  return { ...entryFor(idp, overrides), jwksUrl: undefined, discovery: idp.discoveryUrl };
}

interface Verifier {
  readonly trust: TrustedIssuers;
  readonly logs: LogCapture;
  /** The verifier's clock, in milliseconds; tests move it instead of sleeping. */
  readonly clock: { ms: number };
}

/** A started verifier over `entries`, with a clock of its own and its log lines kept. */
async function startVerifier(
  entries: readonly TrustedIssuerConfig[],
  options: Partial<TrustedIssuersOptions> = {},
): Promise<Verifier> {
  const logs = new LogCapture();
  const clock = { ms: Date.now() };
  const trust = createTrustedIssuers(entries, {
    leewayMs: LEEWAY_MS,
    now: () => clock.ms,
    logger: pino({ level: 'debug' }, logs),
    ...options,
  });
  await trust.start();
  return { trust, logs, clock };
}

function nowSeconds(verifier: Verifier): number {
  return Math.floor(verifier.clock.ms / 1000);
}

function assertRefused(verdict: TokenVerdict, reason: string): void {
  assert.deepEqual(verdict, { valid: false, reason });
}

function eventsOf(logs: LogCapture, event: string): Record<string, unknown>[] {
  return logs.entries.filter((entry) => entry.event === event);
}

describe('trusted issuers, against a fake identity provider', () => {
  let idp: FakeIdp;
  let verifier: Verifier;

  before(async () => {
    idp = await startFakeIdp(['RS256', 'ES256', 'EdDSA']);
    verifier = await startVerifier([entryFor(idp)]);
  });
  after(async () => {
    verifier.trust.close();
    await idp.close();
  });

  const key = (alg: string) => {
    const found = idp.keys.find((candidate) => candidate.alg === alg);
    assert.ok(found, `the fake IdP publishes an ${alg} key`);
    return found;
  };

  describe('tokens it accepts', () => {
    it('verifies an RS256 token and maps realm_access.roles through roleMap', async () => {
      const token = await idp.sign(
        { realm_access: { roles: ['idp-admins', 'user', 'has space', 'user'] } },
        { nowSeconds: nowSeconds(verifier) },
      );
      const verdict = verifier.trust.verify(token);
      assert.equal(verdict.valid, true);
      assert.ok(verdict.valid);
      assert.deepEqual(verdict.identity, {
        id: 'f1c3a6e2-0d1b-4c57-9a51-8d4cbe0c7a10',
        username: 'alice',
        roles: ['admin', 'user'],
      });
      assert.equal(verdict.issuer, idp.issuer);
      assert.equal(verdict.tokenVersion, 0);
      assert.equal(verdict.expiresAt, (nowSeconds(verifier) + 300) * 1000);
      assert.equal(verdict.tokenId, verdict.claims?.jti);
      assert.deepEqual(verdict.claims?.realm_access, { roles: ['idp-admins', 'user', 'has space', 'user'] });
    });

    it('verifies an ES256 token', async () => {
      const token = await idp.sign({}, { key: key('ES256'), nowSeconds: nowSeconds(verifier) });
      assert.equal(verifier.trust.verify(token).valid, true);
    });

    it('takes roles from a space-separated scope string, mapped only when mapOnly', async (t) => {
      const scoped = await startVerifier([
        entryFor(idp, { rolesClaim: 'scope', roleMap: { 'items:write': 'editor' }, mapOnly: true }),
      ]);
      t.after(() => scoped.trust.close());
      const token = await idp.sign(
        { scope: 'openid profile items:write' },
        { nowSeconds: nowSeconds(scoped) },
      );
      const verdict = scoped.trust.verify(token);
      assert.ok(verdict.valid);
      assert.deepEqual(verdict.identity.roles, ['editor']);
    });

    it('accepts an aud array that contains the audience', async () => {
      const token = await idp.sign(
        { aud: ['account', FAKE_IDP_AUDIENCE] },
        { nowSeconds: nowSeconds(verifier) },
      );
      assert.equal(verifier.trust.verify(token).valid, true);
    });

    it('accepts a token expired by less than the leeway', async () => {
      const token = await idp.sign(
        { exp: nowSeconds(verifier) - 10 },
        { nowSeconds: nowSeconds(verifier) - 310 },
      );
      assert.equal(verifier.trust.verify(token).valid, true);
    });

    it('names the token by issuer, subject and iat when it has no jti', async () => {
      const iat = nowSeconds(verifier);
      const token = await idp.sign({ jti: undefined }, { nowSeconds: iat });
      const verdict = verifier.trust.verify(token);
      assert.ok(verdict.valid);
      assert.equal(verdict.tokenId, `${idp.issuer}#f1c3a6e2-0d1b-4c57-9a51-8d4cbe0c7a10#${iat}`);
    });

    it('routes by the unverified iss and knows only its entries', async () => {
      const token = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
      assert.equal(unverifiedIssuer(token), idp.issuer);
      assert.equal(verifier.trust.has(idp.issuer), true);
      assert.equal(verifier.trust.has(`${idp.issuer}/`), false);
      assert.equal(verifier.trust.has('https://other.example.com'), false);
      assert.equal(unverifiedIssuer('not-a-token'), undefined);
      assert.equal(unverifiedIssuer('eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln'), undefined);
    });
  });

  describe('tokens it refuses', () => {
    const cases: readonly {
      readonly name: string;
      readonly claims?: (now: number) => Record<string, unknown>;
      readonly header?: Record<string, unknown>;
      readonly alg?: string;
      readonly reason: string;
    }[] = [
      { name: 'a token for another audience', claims: () => ({ aud: 'other-app' }), reason: 'token_invalid' },
      {
        name: 'an aud array without the audience',
        claims: () => ({ aud: ['a', 'b'] }),
        reason: 'token_invalid',
      },
      { name: 'a token without aud', claims: () => ({ aud: undefined }), reason: 'token_invalid' },
      {
        name: 'an expired token',
        claims: (now) => ({ iat: now - 600, exp: now - 60 }),
        reason: 'token_expired',
      },
      { name: 'a token without exp', claims: () => ({ exp: undefined }), reason: 'token_invalid' },
      {
        name: 'a token with a string exp',
        claims: (now) => ({ exp: String(now + 60) }),
        reason: 'token_invalid',
      },
      {
        name: 'a token not valid before a minute from now',
        claims: (now) => ({ nbf: now + 60 }),
        reason: 'token_not_yet_valid',
      },
      {
        name: 'a token issued a minute in the future',
        claims: (now) => ({ iat: now + 60, exp: now + 600 }),
        reason: 'token_not_yet_valid',
      },
      { name: 'a token without sub', claims: () => ({ sub: undefined }), reason: 'token_invalid' },
      { name: 'a token with an empty sub', claims: () => ({ sub: '' }), reason: 'token_invalid' },
      {
        name: 'a token without the username claim',
        claims: () => ({ preferred_username: undefined }),
        reason: 'token_invalid',
      },
      {
        name: 'a username that is not a string',
        claims: () => ({ preferred_username: ['alice'] }),
        reason: 'token_invalid',
      },
      {
        name: 'a username that would inject a header',
        claims: () => ({ preferred_username: 'alice\r\nX-User-Roles: admin' }),
        reason: 'token_invalid',
      },
      {
        name: "another issuer's token signed with this provider's key",
        claims: () => ({ iss: 'https://idp.example.com/realms/main' }),
        reason: 'token_invalid',
      },
      { name: 'an EdDSA token, EdDSA not being listed', alg: 'EdDSA', reason: 'token_invalid' },
      {
        name: 'a token naming its key by jku',
        header: { jku: 'https://attacker.example/jwks.json' },
        reason: 'token_invalid',
      },
      { name: 'a logout token (typ logout+jwt)', header: { typ: 'logout+jwt' }, reason: 'token_invalid' },
    ];
    for (const { name, claims, header, alg, reason } of cases) {
      it(`refuses ${name}`, async () => {
        const now = nowSeconds(verifier);
        const token = await idp.sign(claims?.(now) ?? {}, {
          nowSeconds: now,
          ...(header === undefined ? {} : { header }),
          ...(alg === undefined ? {} : { key: key(alg) }),
        });
        assertRefused(verifier.trust.verify(token), reason);
      });
    }

    it('refuses a token embedding its own key (jwk), even the published one', async () => {
      const rs = key('RS256');
      const token = await idp.sign({}, { nowSeconds: nowSeconds(verifier), header: { jwk: rs.publicJwk } });
      assertRefused(verifier.trust.verify(token), 'token_invalid');
    });

    it('refuses a token signed by an attacker with its own key under a published kid', async () => {
      const attacker = await generateFakeIdpKey('RS256', key('RS256').kid);
      const token = await idp.sign({}, { key: attacker, nowSeconds: nowSeconds(verifier) });
      assertRefused(verifier.trust.verify(token), 'token_invalid');
    });

    it("refuses a token whose alg is not its key's own (ES256 header, RSA key's kid)", async () => {
      const token = await idp.sign(
        {},
        { key: key('ES256'), header: { kid: key('RS256').kid }, nowSeconds: nowSeconds(verifier) },
      );
      assertRefused(verifier.trust.verify(token), 'token_invalid');
    });

    it('refuses a token with a tampered payload', async () => {
      const token = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
      const [header, payload, signature] = token.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
      const forged = Buffer.from(JSON.stringify({ ...claims, preferred_username: 'admin' })).toString(
        'base64url',
      );
      assertRefused(verifier.trust.verify(`${header}.${forged}.${signature}`), 'token_invalid');
    });

    it('refuses a token of an issuer it does not trust', async () => {
      const token = await idp.sign(
        { iss: 'https://unknown.example.com' },
        { nowSeconds: nowSeconds(verifier) },
      );
      assert.equal(verifier.trust.has('https://unknown.example.com'), false);
      assertRefused(verifier.trust.verify(token), 'token_invalid');
    });

    it('refuses garbage and oversized tokens with the matching reasons', () => {
      assertRefused(verifier.trust.verify('x'.repeat(9000)), 'token_too_large');
      assertRefused(verifier.trust.verify('abc'), 'token_invalid');
    });

    it('never logs a token', async () => {
      const token = await idp.sign(
        {},
        { nowSeconds: nowSeconds(verifier), header: { kid: 'not-published' } },
      );
      verifier.trust.verify(token);
      await verifier.trust.keyArrival(token);
      const [, payload, signature] = token.split('.') as [string, string, string];
      assert.equal(verifier.logs.text.includes(payload), false);
      assert.equal(verifier.logs.text.includes(signature), false);
    });
  });
});

describe('trusted issuer keys over time', () => {
  it('picks up a rotated key through one refetch for its unknown kid', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    const verifier = await startVerifier([entryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    const old = idp.keys[0];
    assert.ok(old);
    const oldToken = await idp.sign({}, { key: old, nowSeconds: nowSeconds(verifier) });
    assert.equal(verifier.trust.verify(oldToken).valid, true);
    assert.equal(verifier.trust.keyArrival(oldToken), undefined, 'no fetch is pending');

    const fresh = await idp.rotate('RS256');
    const token = await idp.sign({}, { key: fresh, nowSeconds: nowSeconds(verifier) });
    assertRefused(verifier.trust.verify(token), 'token_invalid');
    const arrival = verifier.trust.keyArrival(token);
    assert.ok(arrival, 'a refetch is pending for the unknown kid');
    await arrival;
    assert.equal(verifier.trust.verify(token).valid, true);
    assertRefused(verifier.trust.verify(oldToken), 'token_invalid');
    assert.equal(idp.fetches.jwks, 2);
  });

  it('lets 1,000 tokens with made-up kids cost the provider at most two JWKS fetches', async (t) => {
    const idp = await startFakeIdp(['ES256']);
    const verifier = await startVerifier([entryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    const fetchesAtStart = idp.fetches.jwks;
    for (let i = 0; i < 1000; i += 1) {
      const token = await idp.sign({}, { header: { kid: `kid-${i}` }, nowSeconds: nowSeconds(verifier) });
      assertRefused(verifier.trust.verify(token), 'token_invalid');
      await verifier.trust.keyArrival(token);
    }
    assert.ok(idp.fetches.jwks - fetchesAtStart <= 2, `got ${idp.fetches.jwks - fetchesAtStart} refetches`);
  });

  it('refetches for made-up kids at most once per interval of its clock', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    const verifier = await startVerifier([entryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    const fetchesAtStart = idp.fetches.jwks;
    const template = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
    const [, payload, signature] = template.split('.') as [string, string, string];
    for (let i = 0; i < 1000; i += 1) {
      const kid = `made-up-${Math.random().toString(36).slice(2)}`;
      const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid })).toString('base64url');
      const token = `${header}.${payload}.${signature}`;
      assertRefused(verifier.trust.verify(token), 'token_invalid');
      // Waiting now and then lets each refetch finish, so the interval (not a running fetch) limits the next.
      if (i % 100 === 0) await verifier.trust.keyArrival(token);
      // Ten seconds a hundred tokens: the flood spans 100 s of the verifier's clock, three intervals of 30 s.
      if (i % 100 === 99) verifier.clock.ms += 10_000;
    }
    // At 0, 30, 60 and 90 s of the clock.
    assert.equal(idp.fetches.jwks - fetchesAtStart, 4);
  });

  it('keeps the keys it has while the provider is down, and stays ready', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    const verifier = await startVerifier([entryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    idp.mode = 'error';
    const unknown = await idp.sign({}, { header: { kid: 'unknown' }, nowSeconds: nowSeconds(verifier) });
    assertRefused(verifier.trust.verify(unknown), 'token_invalid');
    await verifier.trust.keyArrival(unknown);

    const failed = eventsOf(verifier.logs, 'trust.keys.fetch_failed');
    assert.equal(failed.length, 1);
    assert.equal(failed[0]?.issuer, idp.issuer);
    assert.equal(failed[0]?.reason, 'http_status');
    assert.equal(failed[0]?.status, 500);

    const token = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
    assert.equal(verifier.trust.verify(token).valid, true);
    assert.deepEqual(verifier.trust.readiness(), { waitingFor: [] });

    await idp.close();
    verifier.clock.ms += 31_000;
    verifier.trust.verify(unknown);
    await verifier.trust.keyArrival(unknown);
    assert.equal(eventsOf(verifier.logs, 'trust.keys.fetch_failed')[1]?.reason, 'network');
    assert.equal(verifier.trust.verify(token).valid, true);
    assert.deepEqual(verifier.trust.readiness(), { waitingFor: [] });
  });

  it('gives up a fetch after the timeout when the provider never answers', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    idp.mode = 'hang';
    const started = Date.now();
    const verifier = await startVerifier([entryFor(idp)], { fetchTimeoutMs: 300 });
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    assert.ok(Date.now() - started < 3000, 'start() resolved after the timeout');
    assert.equal(eventsOf(verifier.logs, 'trust.keys.fetch_failed')[0]?.reason, 'timeout');
    assert.deepEqual(verifier.trust.readiness(), { waitingFor: [idp.issuer] });
  });

  it('refuses an oversized JWKS and keeps waiting for keys', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    idp.jwksBody = JSON.stringify({ keys: [], padding: 'x'.repeat(600 * 1024) });
    const verifier = await startVerifier([entryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    assert.equal(eventsOf(verifier.logs, 'trust.keys.fetch_failed')[0]?.reason, 'too_large');
    assert.deepEqual(verifier.trust.readiness(), { waitingFor: [idp.issuer] });
  });

  it('lists an issuer whose keys were never fetched in readiness, and still serves the others', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    const deadPort = await findFreePort();
    const unreachable = 'https://unreachable.example.com/realms/main';
    const verifier = await startVerifier([
      entryFor(idp),
      { ...entryFor(idp), issuer: unreachable, jwksUrl: `http://127.0.0.1:${deadPort}/certs` },
    ]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    assert.deepEqual(verifier.trust.readiness(), { waitingFor: [unreachable] });
    const fetched = eventsOf(verifier.logs, 'trust.keys.fetched');
    assert.deepEqual(
      fetched.map(({ issuer, keys }) => ({ issuer, keys })),
      [{ issuer: idp.issuer, keys: 1 }],
    );
    assert.equal(eventsOf(verifier.logs, 'trust.keys.fetch_failed')[0]?.issuer, unreachable);

    const theirs = await idp.sign({ iss: unreachable }, { nowSeconds: nowSeconds(verifier) });
    assertRefused(verifier.trust.verify(theirs), 'token_invalid');
    const ours = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
    assert.equal(verifier.trust.verify(ours).valid, true);
  });

  it('skips published keys it cannot use and keeps the others', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    const encryption = await generateFakeIdpKey('RS256', 'enc-key');
    const smallRsa = {
      kty: 'RSA',
      kid: 'rsa-1024',
      e: 'AQAB',
      n: Buffer.alloc(128, 0xc5).toString('base64url'),
    };
    idp.extraJwks.push(
      { ...encryption.publicJwk, use: 'enc' },
      smallRsa,
      { ...(await generateFakeIdpKey('ES256')).publicJwk, alg: 'ES384' },
      { kty: 'oct', kid: 'hmac', k: Buffer.alloc(32).toString('base64url') },
      { ...(await generateFakeIdpKey('EdDSA')).publicJwk, kid: undefined },
      'not-a-key',
    );
    const verifier = await startVerifier([entryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    const skipped = eventsOf(verifier.logs, 'trust.keys.skipped').map(({ kid, reason }) => ({ kid, reason }));
    assert.deepEqual(skipped, [
      { kid: 'enc-key', reason: 'not_for_signatures' },
      { kid: 'rsa-1024', reason: 'unsupported_key' },
      { kid: skipped[2]?.kid, reason: 'unsupported_alg' },
      { kid: 'hmac', reason: 'unsupported_key' },
      { kid: undefined, reason: 'missing_kid' },
      { kid: undefined, reason: 'not_an_object' },
    ]);
    assert.equal(eventsOf(verifier.logs, 'trust.keys.fetched')[0]?.keys, 1);
    const token = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
    assert.equal(verifier.trust.verify(token).valid, true);
  });

  it("matches a token without kid to a JWKS's single key without kid, and to nothing else", async (t) => {
    const idp = await startFakeIdp(['ES256']);
    const only = idp.keys[0];
    assert.ok(only);
    idp.jwksBody = JSON.stringify({ keys: [{ ...only.publicJwk, kid: undefined }] });
    const verifier = await startVerifier([entryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    const withoutKid = await idp.sign({}, { header: { kid: undefined }, nowSeconds: nowSeconds(verifier) });
    assert.equal(verifier.trust.verify(withoutKid).valid, true);
    const withKid = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
    assertRefused(verifier.trust.verify(withKid), 'token_invalid');
  });
});

describe('trusted issuers found through OpenID discovery', () => {
  it('fetches the JWKS its discovery document names', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    const verifier = await startVerifier([discoveryEntryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    assert.deepEqual(idp.fetches, { discovery: 1, jwks: 1 });
    const token = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
    assert.equal(verifier.trust.verify(token).valid, true);

    const fresh = await idp.rotate('RS256');
    const rotated = await idp.sign({}, { key: fresh, nowSeconds: nowSeconds(verifier) });
    verifier.trust.verify(rotated);
    await verifier.trust.keyArrival(rotated);
    assert.equal(verifier.trust.verify(rotated).valid, true);
    assert.deepEqual(idp.fetches, { discovery: 1, jwks: 2 }, 'an unknown kid refetches the JWKS alone');
  });

  it('refuses a discovery document naming another issuer', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    idp.discoveryIssuer = 'https://attacker.example.com/realms/main';
    const verifier = await startVerifier([discoveryEntryFor(idp)]);
    t.after(async () => {
      verifier.trust.close();
      await idp.close();
    });
    assert.equal(idp.fetches.jwks, 0, 'the JWKS it names is never fetched');
    assert.equal(eventsOf(verifier.logs, 'trust.keys.fetch_failed')[0]?.reason, 'discovery_issuer_mismatch');
    assert.deepEqual(verifier.trust.readiness(), { waitingFor: [idp.issuer] });
    const token = await idp.sign({}, { nowSeconds: nowSeconds(verifier) });
    assertRefused(verifier.trust.verify(token), 'token_invalid');
  });
});

describe('closing', () => {
  it('stops fetching once closed', async (t) => {
    const idp = await startFakeIdp(['RS256']);
    const verifier = await startVerifier([entryFor(idp)], { minRefetchIntervalMs: 0 });
    t.after(() => idp.close());
    verifier.trust.close();
    const token = await idp.sign({}, { header: { kid: 'unknown' }, nowSeconds: nowSeconds(verifier) });
    assertRefused(verifier.trust.verify(token), 'token_invalid');
    assert.equal(verifier.trust.keyArrival(token), undefined);
    assert.equal(idp.fetches.jwks, 1);
  });
});
