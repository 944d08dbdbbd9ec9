/**
 * Token attacks (RFC 8725, RFC 7519): tokens the sidecar never issued, made to look as if it had.
 * The algorithm is pinned to HS256; header parameters that point at other keys or demand
 * extensions are refused; `exp`, `jti` and `ver` are required; `nbf` and `iat` may lie in the
 * future by the leeway only; `iss` and `aud` must match; a token over 8 KB is not read; the
 * Authorization field must hold exactly one Bearer token. Every refusal is a 401 problem with
 * `WWW-Authenticate: Bearer error="invalid_token"`, and nothing reaches the upstream. Each attack is
 * first shown to get through the naive setup (test/helpers/naive-proxy.ts) where it does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { createTestClock, type TestClock } from '../helpers/contract.js';
import {
  base64urlJson,
  claimsOf,
  forgeToken,
  forgeTokenOfLength,
  forgeUnsignedToken,
  withAlteredPayload,
  type ForgedSubject,
} from '../helpers/forged-tokens.js';
import { startNaiveProxy } from '../helpers/naive-proxy.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const OTHER_SECRET = 'not-the-sidecar-secret-not-the-sidecar-secret!!';
const INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"';

/** What an attack builds its Authorization fields from. */
interface Forge {
  /** A real user of the sidecar: its id and token version pass the session check. */
  readonly who: ForgedSubject;
  /** Seconds since the epoch, on the clock of the setup the token is sent to. */
  readonly nowSeconds: number;
}

interface TokenAttack {
  readonly name: string;
  /** Defaults to /api/items, which needs any signed-in user. */
  readonly path?: string;
  /** The Authorization field values, one field each, in this order. */
  readonly authorization: (forge: Forge) => readonly string[];
  /** Absent: the naive setup forwards it. Present: why only the sidecar side is shown. */
  readonly naiveStops?: string;
}

const bearer = (token: string) => [`Bearer ${token}`];
const asAdmin = (who: ForgedSubject): ForgedSubject => ({ ...who, roles: ['admin'] });

const ALGORITHM_ATTACKS: readonly TokenAttack[] = [
  {
    name: 'an unsigned token (alg: none) claims the admin role',
    path: '/admin/users',
    authorization: ({ who, nowSeconds }) => bearer(forgeUnsignedToken(asAdmin(who), { nowSeconds })),
    naiveStops: 'jsonwebtoken refuses an unsigned token when it is given a secret',
  },
  {
    name: 'an unsigned token spelled alg: NONE claims the admin role',
    path: '/admin/users',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeUnsignedToken(asAdmin(who), { nowSeconds, header: { alg: 'NONE' } })),
    naiveStops: 'jsonwebtoken refuses an unsigned token when it is given a secret',
  },
  {
    name: 'an HS512 token signed with the right secret claims the admin role',
    path: '/admin/users',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(asAdmin(who), { nowSeconds, algorithm: 'HS512' })),
  },
  {
    name: 'an HS384 token signed with the right secret claims the admin role',
    path: '/admin/users',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(asAdmin(who), { nowSeconds, algorithm: 'HS384' })),
  },
  {
    name: 'an HS256 token signed with another key claims the admin role',
    path: '/admin/users',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(asAdmin(who), { nowSeconds, secret: OTHER_SECRET })),
    naiveStops: 'the naive setup checks the signature against its secret',
  },
];

/** Signed with the right secret and HS256: only the header says the token came from elsewhere. */
const HEADER_ATTACKS: readonly TokenAttack[] = (
  [
    ['kid', 'points at another key (kid: ../../../../dev/null)', '../../../../dev/null'],
    ['jku', 'points at the attacker’s key set (jku)', 'https://attacker.example/jwks.json'],
    ['x5u', 'points at the attacker’s certificate (x5u)', 'https://attacker.example/cert.pem'],
    ['x5c', 'embeds a certificate chain (x5c)', ['MIIBszCCAVmgAwIBAgIUattacker']],
    [
      'jwk',
      'embeds the attacker’s own key (jwk)',
      { kty: 'oct', k: Buffer.from('attacker-key').toString('base64url') },
    ],
    ['crit', 'demands an extension the sidecar does not know (crit)', ['x-attacker']],
  ] as const
).map(([parameter, what, value]) => ({
  name: `a token signed with the right secret whose header ${what}`,
  authorization: ({ who, nowSeconds }: Forge) =>
    bearer(
      forgeToken(who, {
        nowSeconds,
        header: parameter === 'crit' ? { crit: value, 'x-attacker': true } : { [parameter]: value },
      }),
    ),
}));

const CLAIM_ATTACKS: readonly TokenAttack[] = [
  {
    name: 'a token without exp, good for ever',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { exp: undefined } })),
  },
  {
    name: 'a token whose exp passed 60 s ago, past the 30 s leeway',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { iat: nowSeconds - 960, exp: nowSeconds - 60 } })),
    naiveStops: 'jsonwebtoken checks exp',
  },
  {
    name: 'a token whose nbf lies 60 s ahead, past the 30 s leeway',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { nbf: nowSeconds + 60 } })),
    naiveStops: 'jsonwebtoken checks nbf',
  },
  {
    name: 'a token issued 60 s in the future (iat), past the 30 s leeway',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { iat: nowSeconds + 60, exp: nowSeconds + 960 } })),
  },
  {
    name: 'a token issued by another issuer (iss: https://other-idp.example)',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { iss: 'https://other-idp.example' } })),
  },
  {
    name: 'a token meant for another audience (aud: billing-service)',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { aud: 'billing-service' } })),
  },
  {
    name: 'a token without jti, which no logout can revoke',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { jti: undefined } })),
  },
  {
    name: 'a token without ver, which no password or role change can supersede',
    authorization: ({ who, nowSeconds }) =>
      bearer(forgeToken(who, { nowSeconds, claims: { ver: undefined } })),
  },
  {
    name: 'a token of 8193 characters, one over 8 KB, signed with the right secret',
    authorization: ({ who, nowSeconds }) => bearer(forgeTokenOfLength(who, { nowSeconds }, 8193)),
  },
  {
    name: 'a genuine token whose payload was altered to claim the admin role, its signature kept',
    path: '/admin/users',
    authorization: ({ who, nowSeconds }) =>
      bearer(
        withAlteredPayload(forgeToken(who, { nowSeconds }), (claims) => ({ ...claims, roles: ['admin'] })),
      ),
    naiveStops: 'the signature no longer matches, which jsonwebtoken sees',
  },
];

const FIELD_ATTACKS: readonly TokenAttack[] = [
  {
    name: 'Basic credentials instead of a bearer token',
    authorization: () => [`Basic ${Buffer.from('admin:admin').toString('base64')}`],
    naiveStops: 'the naive setup reads only "Bearer " fields and finds no user',
  },
  {
    name: 'two tokens in one field (Bearer a b)',
    authorization: ({ who, nowSeconds }) => [
      `Bearer ${forgeToken(who, { nowSeconds })} ${forgeToken(asAdmin(who), { nowSeconds })}`,
    ],
    naiveStops: 'jsonwebtoken cannot parse the two tokens as one',
  },
  {
    name: 'two Authorization fields: the caller’s own token, then a junk one for a backend that reads the last',
    authorization: ({ who, nowSeconds }) => [
      `Bearer ${forgeToken(who, { nowSeconds })}`,
      'Bearer junk.junk.junk',
    ],
  },
  {
    name: 'the scheme alone, without a token (Bearer)',
    authorization: () => ['Bearer'],
    naiveStops: 'the naive setup reads only "Bearer " fields and finds no user',
  },
  {
    name: 'junk that is no credential at all',
    authorization: () => ['!!junk!! <script>'],
    naiveStops: 'the naive setup reads only "Bearer " fields and finds no user',
  },
  {
    name: 'a token with characters outside the b64token syntax (a JSON object)',
    authorization: () => [`Bearer {"alg":"none","roles":["admin"]}`],
    naiveStops: 'jsonwebtoken cannot parse it',
  },
];

describe('token attacks', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let clock: TestClock;
  let naiveUpstream: TestUpstream;
  let naive: Awaited<ReturnType<typeof startNaiveProxy>>;
  let user: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    clock = createTestClock();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, now: clock.now });
    naiveUpstream = await startUpstream();
    naive = await startNaiveProxy(naiveUpstream.url);
    user = await seedUser(sidecar, 'token-user', ['user']);
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await naive.close();
    await upstream.close();
    await naiveUpstream.close();
  });

  const who = (): ForgedSubject => ({ id: user.id, username: user.username, roles: user.roles });
  const sidecarNow = () => Math.floor(clock.now() / 1000);
  const realNow = () => Math.floor(Date.now() / 1000);

  function send(baseUrl: string, path: string, fields: readonly string[]): Promise<RawResponse> {
    return rawRequest(baseUrl, {
      target: path,
      headers: fields.map((value) => ['Authorization', value] as const),
    });
  }

  function assertInvalidToken(response: RawResponse): void {
    assertRefused(response, 401, 'invalid_token');
    assert.equal(response.headers['www-authenticate'], INVALID_TOKEN_CHALLENGE);
  }

  /** Sends through the sidecar; it must be forwarded once, to `path`, as `user`. */
  async function assertAcceptedBySidecar(path: string, fields: readonly string[]): Promise<void> {
    const seen = upstream.requests.length;
    const response = await send(sidecar.url, path, fields);
    assert.equal(response.status, 200, response.raw);
    const recorded = onlyForwardedSince(upstream, seen);
    assert.equal(recorded.url, path);
    assert.equal(recorded.headers['x-user-id'], user.id);
  }

  function attackSuite(attacks: readonly TokenAttack[]): void {
    for (const attack of attacks) {
      const path = attack.path ?? '/api/items';
      describe(attack.name, () => {
        if (attack.naiveStops === undefined) {
          it('gets through the naive setup: the upstream receives the request', async () => {
            const seen = naiveUpstream.requests.length;
            const response = await send(
              naive.url,
              path,
              attack.authorization({ who: who(), nowSeconds: realNow() }),
            );
            assert.equal(response.status, 200, response.raw);
            assert.equal(onlyForwardedSince(naiveUpstream, seen).url, path);
          });
        }
        const suffix = attack.naiveStops === undefined ? '' : ` (sidecar side only: ${attack.naiveStops})`;
        it(`is refused by the sidecar with 401 invalid_token and never forwarded${suffix}`, async () => {
          const seen = upstream.requests.length;
          const response = await send(
            sidecar.url,
            path,
            attack.authorization({ who: who(), nowSeconds: sidecarNow() }),
          );
          assertInvalidToken(response);
          assertNothingForwarded(upstream, seen);
        });
        it('is refused by GET /auth/me with 401 invalid_token as well', async () => {
          const response = await send(
            sidecar.url,
            '/auth/me',
            attack.authorization({ who: who(), nowSeconds: sidecarNow() }),
          );
          assertInvalidToken(response);
        });
      });
    }
  }

  describe('the token the forgery helper makes with the defaults (the control for every attack below)', () => {
    it('is accepted by the sidecar as a token it issued: forwarded as the user (not an attack)', async () => {
      await assertAcceptedBySidecar('/api/items', bearer(forgeToken(who(), { nowSeconds: sidecarNow() })));
    });
    it('is accepted by GET /auth/me (not an attack)', async () => {
      const response = await send(
        sidecar.url,
        '/auth/me',
        bearer(forgeToken(who(), { nowSeconds: sidecarNow() })),
      );
      assert.equal(response.status, 200, response.raw);
      assert.equal((JSON.parse(response.body) as { id: string }).id, user.id);
    });
    it('matches a token the sidecar issues claim for claim, apart from jti', () => {
      const issued = claimsOf(user.token);
      const forged = claimsOf(forgeToken(who(), { nowSeconds: issued.iat as number }));
      assert.deepEqual({ ...forged, jti: 'x' }, { ...issued, jti: 'x' });
      const [issuedHeader] = user.token.split('.');
      assert.equal(issuedHeader, base64urlJson({ alg: 'HS256', typ: 'JWT' }));
    });
  });

  describe('algorithm', () => attackSuite(ALGORITHM_ATTACKS));
  describe('header parameters that name other keys or demand extensions', () => attackSuite(HEADER_ATTACKS));
  describe('claims', () => attackSuite(CLAIM_ATTACKS));
  describe('the Authorization field', () => attackSuite(FIELD_ATTACKS));

  describe('what is still accepted (not attacks; sidecar side only)', () => {
    const accepted: readonly { name: string; fields: (forge: Forge) => readonly string[] }[] = [
      {
        name: 'the scheme in lower case (bearer)',
        fields: ({ who: subject, nowSeconds }) => [`bearer ${forgeToken(subject, { nowSeconds })}`],
      },
      {
        name: 'the scheme in upper case (BEARER)',
        fields: ({ who: subject, nowSeconds }) => [`BEARER ${forgeToken(subject, { nowSeconds })}`],
      },
      {
        name: 'a token whose nbf lies 20 s ahead, within the 30 s leeway',
        fields: ({ who: subject, nowSeconds }) =>
          bearer(forgeToken(subject, { nowSeconds, claims: { nbf: nowSeconds + 20 } })),
      },
      {
        name: 'a token issued 20 s in the future (iat), within the 30 s leeway',
        fields: ({ who: subject, nowSeconds }) =>
          bearer(forgeToken(subject, { nowSeconds, claims: { iat: nowSeconds + 20 } })),
      },
      {
        name: 'a token of exactly 8192 characters (8 KB)',
        fields: ({ who: subject, nowSeconds }) => bearer(forgeTokenOfLength(subject, { nowSeconds }, 8192)),
      },
    ];
    for (const { name, fields } of accepted) {
      it(`${name} is forwarded as the user`, async () => {
        await assertAcceptedBySidecar('/api/items', fields({ who: who(), nowSeconds: sidecarNow() }));
      });
      it(`${name} is accepted by GET /auth/me`, async () => {
        const response = await send(
          sidecar.url,
          '/auth/me',
          fields({ who: who(), nowSeconds: sidecarNow() }),
        );
        assert.equal(response.status, 200, response.raw);
      });
    }
  });

  describe('a token the sidecar itself issued, presented once the clock has moved past its exp and the leeway', () => {
    it('is refused with 401 invalid_token and never forwarded (sidecar side only: time moves on the sidecar’s clock alone)', async () => {
      const localClock = createTestClock();
      const localUpstream = await startUpstream();
      const local = await startSidecar({ upstreamUrl: localUpstream.url, now: localClock.now });
      try {
        const owner = await seedUser(local, 'token-expiring-user', ['user']);
        const before = await send(local.url, '/api/items', bearer(owner.token));
        assert.equal(before.status, 200, before.raw);
        localClock.advance(15 * 60_000 + 30_000 + 1_000);
        const seen = localUpstream.requests.length;
        const response = await send(local.url, '/api/items', bearer(owner.token));
        assertInvalidToken(response);
        assertNothingForwarded(localUpstream, seen);
      } finally {
        await local.stop({ removeData: true });
        await localUpstream.close();
      }
    });
  });

  describe('a configured leeway (tokens.leeway: 5s) replaces the 30 s default', () => {
    let leewayUpstream: TestUpstream;
    let leewaySidecar: TestSidecar;
    let leewayClock: TestClock;
    let leewayUser: SeededUser;

    before(async () => {
      leewayUpstream = await startUpstream();
      leewayClock = createTestClock();
      leewaySidecar = await startSidecar({
        upstreamUrl: leewayUpstream.url,
        now: leewayClock.now,
        config: { tokens: { leeway: '5s' } },
      });
      leewayUser = await seedUser(leewaySidecar, 'token-leeway-user', ['user']);
    });

    after(async () => {
      await leewaySidecar.stop({ removeData: true });
      await leewayUpstream.close();
    });

    const leewayWho = (): ForgedSubject => ({
      id: leewayUser.id,
      username: leewayUser.username,
      roles: ['user'],
    });
    const leewayNow = () => Math.floor(leewayClock.now() / 1000);

    for (const [claim, label] of [
      ['nbf', 'whose nbf lies'],
      ['iat', 'issued'],
    ] as const) {
      it(`a token ${label} 20 s ahead, within the default but past 5 s, is refused with 401 and never forwarded`, async () => {
        const nowSeconds = leewayNow();
        const token = forgeToken(leewayWho(), { nowSeconds, claims: { [claim]: nowSeconds + 20 } });
        const seen = leewayUpstream.requests.length;
        const response = await send(leewaySidecar.url, '/api/items', bearer(token));
        assertInvalidToken(response);
        assertNothingForwarded(leewayUpstream, seen);
      });
      it(`a token ${label} 3 s ahead, within 5 s, is forwarded (not an attack)`, async () => {
        const nowSeconds = leewayNow();
        const token = forgeToken(leewayWho(), { nowSeconds, claims: { [claim]: nowSeconds + 3 } });
        const seen = leewayUpstream.requests.length;
        const response = await send(leewaySidecar.url, '/api/items', bearer(token));
        assert.equal(response.status, 200, response.raw);
        assert.equal(onlyForwardedSince(leewayUpstream, seen).headers['x-user-id'], leewayUser.id);
      });
    }
  });
});
