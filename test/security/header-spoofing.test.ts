/**
 * Header spoofing: a client telling the backend who it is, where it comes from, which method or
 * path it "really" asked for, or hiding a header from the proxy. The backend trusts the identity
 * headers, so none that a client sent may reach it under any spelling; override and forwarding
 * headers are dropped (forwarding headers are kept only from a trusted hop); headers too many or
 * too large are refused with 431; hop-by-hop headers stay on their hop. Every attack is first
 * shown to get through the naive setup (test/helpers/naive-proxy.ts) where it does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { startNaiveProxy } from '../helpers/naive-proxy.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';

type Field = readonly [string, string];
type Caller = 'anonymous' | 'user' | 'analyst';

/** Every spoofed value carries this, so a leak anywhere in the forwarded headers is found. */
const SPOOFED = 'spoofed';

interface HeaderAttack {
  readonly name: string;
  /** Defaults to a public path. */
  readonly path?: string;
  readonly method?: string;
  readonly caller?: Caller;
  /** Sent in this order and spelling, after Host. */
  readonly sent: readonly Field[];
  /** What the naive setup's upstream receives (lower-cased name, value): the attack gets through. */
  readonly naiveShows?: Field;
  /** Why there is no naive side; it becomes part of the test name. */
  readonly sidecarOnly?: string;
}

const DEFAULT_IDENTITY = ['x-user', 'x-user-id', 'x-user-roles'] as const;
const CONFIGURED_IDENTITY = ['x-auth-user', 'x-auth-id', 'x-auth-roles'] as const;

const IDENTITY_ATTACKS: readonly HeaderAttack[] = [
  {
    name: 'an anonymous client sends X-User, X-User-Id and X-User-Roles on a public path',
    sent: [
      ['X-User', `${SPOOFED}-admin`],
      ['X-User-Id', `${SPOOFED}-1`],
      ['X-User-Roles', `admin,${SPOOFED}`],
    ],
    naiveShows: ['x-user', `${SPOOFED}-admin`],
  },
  {
    name: 'an anonymous client sends the identity headers in other cases (X-USER, x-user-id, X-User-ROLES)',
    sent: [
      ['X-USER', `${SPOOFED}-admin`],
      ['x-user-id', `${SPOOFED}-1`],
      ['X-User-ROLES', `admin,${SPOOFED}`],
    ],
    naiveShows: ['x-user-roles', `admin,${SPOOFED}`],
  },
  {
    name: 'an anonymous client spells them with underscores (X_User, x_user_roles, X_USER_ID), as CGI, PHP and Python backends read X-User',
    sent: [
      ['X_User', `${SPOOFED}-admin`],
      ['x_user_roles', `admin,${SPOOFED}`],
      ['X_USER_ID', `${SPOOFED}-1`],
    ],
    naiveShows: ['x_user', `${SPOOFED}-admin`],
  },
  {
    name: 'an anonymous client mixes dashes and underscores (X-User_Roles, x_user-id)',
    sent: [
      ['X-User_Roles', `admin,${SPOOFED}`],
      ['x_user-id', `${SPOOFED}-1`],
    ],
    naiveShows: ['x-user_roles', `admin,${SPOOFED}`],
  },
  {
    name: 'an anonymous client sends X-User twice, hoping one copy survives',
    sent: [
      ['X-User', `${SPOOFED}-a`],
      ['X-User', `${SPOOFED}-b`],
    ],
    naiveShows: ['x-user', `${SPOOFED}-a, ${SPOOFED}-b`],
  },
  {
    name: 'a signed-in user claims X-User-Roles: admin beside its real identity',
    path: '/api/items',
    caller: 'user',
    sent: [['X-User-Roles', `admin,${SPOOFED}`]],
    naiveShows: ['x-user-roles', `admin,${SPOOFED}`],
  },
  {
    name: 'a signed-in user adds X_User and x_user_roles beside the real identity headers',
    path: '/api/items',
    caller: 'user',
    sent: [
      ['X_User', `${SPOOFED}-admin`],
      ['x_user_roles', `admin,${SPOOFED}`],
    ],
    naiveShows: ['x_user_roles', `admin,${SPOOFED}`],
  },
  {
    name: 'a signed-in user lists the identity headers in Connection to have them removed after they are set',
    path: '/api/items',
    caller: 'user',
    sent: [['Connection', 'X-User, X-User-Id, X-User-Roles']],
    sidecarOnly: 'the naive setup ignores Connection, so there is nothing to show on its side',
  },
  {
    name: 'a signed-in user lists x_user in Connection and sends X_User with it',
    path: '/api/items',
    caller: 'user',
    sent: [
      ['Connection', 'keep-alive, x_user'],
      ['X_User', `${SPOOFED}-admin`],
    ],
    naiveShows: ['x_user', `${SPOOFED}-admin`],
  },
];

const OVERRIDE_ATTACKS: readonly HeaderAttack[] = [
  {
    name: 'an analyst turns an allowed GET on /api/reports into a DELETE with X-HTTP-Method-Override',
    path: '/api/reports/1',
    caller: 'analyst',
    sent: [['X-HTTP-Method-Override', 'DELETE']],
    naiveShows: ['x-http-method-override', 'DELETE'],
  },
  {
    name: 'an analyst turns an allowed GET on /api/reports into a DELETE with X-HTTP-Method',
    path: '/api/reports/1',
    caller: 'analyst',
    sent: [['X-HTTP-Method', 'DELETE']],
    naiveShows: ['x-http-method', 'DELETE'],
  },
  {
    name: 'an analyst turns an allowed GET on /api/reports into a DELETE with X-Method-Override',
    path: '/api/reports/1',
    caller: 'analyst',
    sent: [['X-Method-Override', 'DELETE']],
    naiveShows: ['x-method-override', 'DELETE'],
  },
  {
    name: 'an anonymous client routes a public request to /admin/secret with X-Original-URL',
    sent: [['X-Original-URL', '/admin/secret']],
    naiveShows: ['x-original-url', '/admin/secret'],
  },
  {
    name: 'an anonymous client routes a public request to /admin/secret with X-Original-URI',
    sent: [['X-Original-URI', '/admin/secret']],
    naiveShows: ['x-original-uri', '/admin/secret'],
  },
  {
    name: 'an anonymous client routes a public request to /admin/secret with X-Rewrite-URL',
    sent: [['X-Rewrite-URL', '/admin/secret']],
    naiveShows: ['x-rewrite-url', '/admin/secret'],
  },
  {
    name: 'an anonymous client claims another address, scheme and host with Forwarded',
    sent: [['Forwarded', `for=10.6.6.6;proto=https;host=${SPOOFED}.example`]],
    naiveShows: ['forwarded', `for=10.6.6.6;proto=https;host=${SPOOFED}.example`],
  },
  {
    name: 'an anonymous client claims another address with X-Real-IP',
    sent: [['X-Real-IP', '10.6.6.6']],
    naiveShows: ['x-real-ip', '10.6.6.6'],
  },
];

/** Header fields `count` long, none of them meaningful. */
function padding(count: number, valueLength = 1): Field[] {
  return Array.from({ length: count }, (_, i) => [`X-Pad-${i}`, 'p'.repeat(valueLength)] as const);
}

const HOP_BY_HOP_ATTACKS: readonly HeaderAttack[] = [
  {
    name: 'a header the client lists in Connection (X-Custom) is not passed on',
    sent: [
      ['Connection', 'close, X-Custom'],
      ['X-Custom', `${SPOOFED}-value`],
    ],
    naiveShows: ['x-custom', `${SPOOFED}-value`],
  },
  {
    name: 'Proxy-Authorization, the client’s credentials for this hop, is not passed on',
    sent: [['Proxy-Authorization', `Basic ${Buffer.from(`${SPOOFED}:secret`).toString('base64')}`]],
    naiveShows: ['proxy-authorization', `Basic ${Buffer.from(`${SPOOFED}:secret`).toString('base64')}`],
  },
  {
    name: 'Keep-Alive is not passed on',
    sent: [['Keep-Alive', 'timeout=600, max=100000']],
    naiveShows: ['keep-alive', 'timeout=600, max=100000'],
  },
  {
    name: 'TE is not passed on',
    sent: [['TE', 'trailers']],
    naiveShows: ['te', 'trailers'],
  },
  {
    name: 'Proxy-Connection is not passed on',
    sent: [['Proxy-Connection', 'keep-alive']],
    naiveShows: ['proxy-connection', 'keep-alive'],
  },
  {
    name: 'Upgrade without an upgrade in Connection is not passed on',
    sent: [['Upgrade', 'h2c']],
    naiveShows: ['upgrade', 'h2c'],
  },
  {
    name: 'Trailer is not passed on',
    sent: [['Trailer', 'X-Checksum']],
    sidecarOnly:
      'not sent to the naive setup: http-proxy-middleware throws ERR_HTTP_TRAILER_INVALID there, which ends its process',
  },
];

function foldName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/** The fields of a recorded request whose name folds (any case, `_` for `-`) to one of `names`. */
function fieldsFolding(recorded: RecordedRequest, names: readonly string[]): [string, string][] {
  const found: [string, string][] = [];
  const raw = recorded.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (names.includes(foldName(name))) found.push([name.toLowerCase(), raw[i + 1] ?? '']);
  }
  return found.sort(([a], [b]) => a.localeCompare(b));
}

function assertNoSpoofedValue(recorded: RecordedRequest): void {
  const leaked = recorded.rawHeaders.filter((text) => text.toLowerCase().includes(SPOOFED));
  assert.deepEqual(leaked, [], 'no spoofed name or value reaches the upstream');
}

describe('header spoofing', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let trustingUpstream: TestUpstream;
  let trustingSidecar: TestSidecar;
  let namedUpstream: TestUpstream;
  let namedSidecar: TestSidecar;
  let naiveUpstream: TestUpstream;
  let naive: Awaited<ReturnType<typeof startNaiveProxy>>;
  let callers: Record<Exclude<Caller, 'anonymous'>, SeededUser>;
  let trustingUser: SeededUser;
  let namedUser: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url });
    trustingUpstream = await startUpstream();
    trustingSidecar = await startSidecar({
      upstreamUrl: trustingUpstream.url,
      config: { trustProxy: ['127.0.0.1'] },
    });
    namedUpstream = await startUpstream();
    namedSidecar = await startSidecar({
      upstreamUrl: namedUpstream.url,
      config: { identity: { userHeader: 'X-Auth-User', idHeader: 'X-Auth-Id', rolesHeader: 'X-Auth-Roles' } },
    });
    naiveUpstream = await startUpstream();
    naive = await startNaiveProxy(naiveUpstream.url);
    callers = {
      user: await seedUser(sidecar, 'header-user', ['user']),
      analyst: await seedUser(sidecar, 'header-analyst', ['analyst']),
    };
    trustingUser = await seedUser(trustingSidecar, 'header-trusting-user', ['user']);
    namedUser = await seedUser(namedSidecar, 'header-named-user', ['user']);
  });

  after(async () => {
    for (const running of [sidecar, trustingSidecar, namedSidecar]) await running.stop({ removeData: true });
    await naive.close();
    for (const running of [upstream, trustingUpstream, namedUpstream, naiveUpstream]) await running.close();
  });

  function send(
    baseUrl: string,
    attack: Pick<HeaderAttack, 'path' | 'method' | 'sent'>,
    user: SeededUser | undefined,
  ): Promise<RawResponse> {
    const auth: Field[] = user ? [['Authorization', `Bearer ${user.token}`]] : [];
    return rawRequest(baseUrl, {
      method: attack.method ?? 'GET',
      target: attack.path ?? '/public/x',
      headers: [...auth, ...attack.sent],
    });
  }

  function callerOf(attack: HeaderAttack): SeededUser | undefined {
    const caller = attack.caller ?? 'anonymous';
    return caller === 'anonymous' ? undefined : callers[caller];
  }

  /** Sends `attack` through the sidecar; it must be forwarded once, as asked. Returns what arrived. */
  async function forwardedBySidecar(
    attack: HeaderAttack,
    target = { sidecar, upstream },
    user = callerOf(attack),
  ): Promise<RecordedRequest> {
    const seen = target.upstream.requests.length;
    const response = await send(target.sidecar.url, attack, user);
    assert.equal(response.status, 200, response.raw);
    const recorded = onlyForwardedSince(target.upstream, seen);
    assert.equal(recorded.method, attack.method ?? 'GET', 'the method is the one the rules decided on');
    assert.equal(recorded.url, attack.path ?? '/public/x', 'the path is the one the rules decided on');
    return recorded;
  }

  /** The naive side: the upstream receives what the attacker sent. */
  function itGetsThroughNaive(attack: HeaderAttack): void {
    const shows = attack.naiveShows;
    if (shows === undefined) return;
    it('gets through the naive setup: the upstream receives it', async () => {
      const seen = naiveUpstream.requests.length;
      const response = await send(naive.url, attack, callerOf(attack));
      assert.equal(response.status, 200, response.raw);
      const recorded = onlyForwardedSince(naiveUpstream, seen);
      assert.equal(recorded.headers[shows[0]], shows[1]);
    });
  }

  function sidecarSuffix(attack: HeaderAttack): string {
    return attack.sidecarOnly === undefined ? '' : ` (sidecar side only: ${attack.sidecarOnly})`;
  }

  describe('identity headers', () => {
    for (const attack of IDENTITY_ATTACKS) {
      describe(attack.name, () => {
        itGetsThroughNaive(attack);
        it(`never reaches the upstream from the sidecar: only the verified identity does${sidecarSuffix(attack)}`, async () => {
          const user = callerOf(attack);
          const recorded = await forwardedBySidecar(attack);
          const expected: [string, string][] = user
            ? [
                ['x-user', user.username],
                ['x-user-id', user.id],
                ['x-user-roles', user.roles.join(',')],
              ]
            : [];
          assert.deepEqual(fieldsFolding(recorded, DEFAULT_IDENTITY), expected);
          assertNoSpoofedValue(recorded);
        });
      });
    }

    describe('a client behind a trusted hop (trustProxy: [127.0.0.1]) sends X-User and X_User_Roles', () => {
      const attack: HeaderAttack = {
        name: 'trusted hop',
        sent: [
          ['X-User', `${SPOOFED}-admin`],
          ['X_User_Roles', `admin,${SPOOFED}`],
        ],
      };
      it('never reaches the upstream: trusting a hop’s forwarding headers is not trusting identity (sidecar side only)', async () => {
        const anonymous = await forwardedBySidecar(
          attack,
          { sidecar: trustingSidecar, upstream: trustingUpstream },
          undefined,
        );
        assert.deepEqual(fieldsFolding(anonymous, DEFAULT_IDENTITY), []);
        assertNoSpoofedValue(anonymous);
        const signedIn = await forwardedBySidecar(
          { ...attack, path: '/api/items' },
          { sidecar: trustingSidecar, upstream: trustingUpstream },
          trustingUser,
        );
        assert.deepEqual(fieldsFolding(signedIn, DEFAULT_IDENTITY), [
          ['x-user', trustingUser.username],
          ['x-user-id', trustingUser.id],
          ['x-user-roles', 'user'],
        ]);
        assertNoSpoofedValue(signedIn);
      });
    });

    describe('a client sends the configured identity headers (X-Auth-User, x_auth_roles, X-AUTH-ID)', () => {
      const attack: HeaderAttack = {
        name: 'configured names',
        sent: [
          ['X-Auth-User', `${SPOOFED}-admin`],
          ['x_auth_roles', `admin,${SPOOFED}`],
          ['X-AUTH-ID', `${SPOOFED}-1`],
        ],
        naiveShows: ['x_auth_roles', `admin,${SPOOFED}`],
      };
      itGetsThroughNaive(attack);
      it('never reaches the upstream from a sidecar configured with those names, anonymous or signed in', async () => {
        const target = { sidecar: namedSidecar, upstream: namedUpstream };
        const anonymous = await forwardedBySidecar(attack, target, undefined);
        assert.deepEqual(fieldsFolding(anonymous, CONFIGURED_IDENTITY), []);
        assertNoSpoofedValue(anonymous);
        const signedIn = await forwardedBySidecar({ ...attack, path: '/api/items' }, target, namedUser);
        assert.deepEqual(fieldsFolding(signedIn, CONFIGURED_IDENTITY), [
          ['x-auth-id', namedUser.id],
          ['x-auth-roles', 'user'],
          ['x-auth-user', namedUser.username],
        ]);
        assertNoSpoofedValue(signedIn);
      });
    });
  });

  describe('method and path overrides, Forwarded and X-Real-IP', () => {
    for (const attack of OVERRIDE_ATTACKS) {
      describe(attack.name, () => {
        itGetsThroughNaive(attack);
        it('is not passed on by the sidecar: the upstream gets the method and path the rules decided on', async () => {
          const [name] = attack.sent[0] ?? [''];
          const recorded = await forwardedBySidecar(attack);
          assert.deepEqual(fieldsFolding(recorded, [foldName(name)]), []);
          assertNoSpoofedValue(recorded);
        });
      });
    }
  });

  describe('forwarding headers', () => {
    describe('an untrusted client claims another address, scheme and host with X-Forwarded-For/-Proto/-Host', () => {
      const attack: HeaderAttack = {
        name: 'untrusted forwarding headers',
        sent: [
          ['X-Forwarded-For', '10.6.6.6'],
          ['X-Forwarded-Proto', 'https'],
          ['X-Forwarded-Host', `${SPOOFED}.example`],
        ],
        naiveShows: ['x-forwarded-for', '10.6.6.6'],
      };
      itGetsThroughNaive(attack);
      it('is replaced by the sidecar’s own view: X-Forwarded-For is the peer 127.0.0.1', async () => {
        const recorded = await forwardedBySidecar(attack);
        assert.deepEqual(
          fieldsFolding(recorded, ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']),
          [
            ['x-forwarded-for', '127.0.0.1'],
            ['x-forwarded-host', new URL(sidecar.url).host],
            ['x-forwarded-proto', 'http'],
          ],
        );
        assertNoSpoofedValue(recorded);
      });
    });

    describe('an untrusted client sends X-Forwarded-For twice', () => {
      const attack: HeaderAttack = {
        name: 'two X-Forwarded-For',
        sent: [
          ['X-Forwarded-For', '10.6.6.6'],
          ['X-Forwarded-For', '10.7.7.7'],
        ],
        naiveShows: ['x-forwarded-for', '10.6.6.6, 10.7.7.7'],
      };
      itGetsThroughNaive(attack);
      it('is replaced by the peer address alone', async () => {
        const recorded = await forwardedBySidecar(attack);
        assert.deepEqual(fieldsFolding(recorded, ['x-forwarded-for']), [['x-forwarded-for', '127.0.0.1']]);
      });
    });

    describe('an untrusted client spells them with underscores (X_Forwarded_For, x_forwarded_host)', () => {
      const attack: HeaderAttack = {
        name: 'underscore forwarding headers',
        sent: [
          ['X_Forwarded_For', '10.6.6.6'],
          ['x_forwarded_host', `${SPOOFED}.example`],
        ],
        naiveShows: ['x_forwarded_for', '10.6.6.6'],
      };
      itGetsThroughNaive(attack);
      it('never reaches the upstream in any spelling', async () => {
        const recorded = await forwardedBySidecar(attack);
        assert.deepEqual(fieldsFolding(recorded, ['x-forwarded-for', 'x-forwarded-host']), [
          ['x-forwarded-for', '127.0.0.1'],
          ['x-forwarded-host', new URL(sidecar.url).host],
        ]);
        assertNoSpoofedValue(recorded);
      });
    });

    describe('a trusted hop (trustProxy: [127.0.0.1]) passes on its client’s X-Forwarded-For/-Proto/-Host', () => {
      const target = () => ({ sidecar: trustingSidecar, upstream: trustingUpstream });
      it('the chain is kept with the peer appended, and Proto and Host are kept (sidecar side only: not an attack)', async () => {
        const recorded = await forwardedBySidecar(
          {
            name: 'trusted',
            sent: [
              ['X-Forwarded-For', '203.0.113.7'],
              ['X-Forwarded-Proto', 'https'],
              ['X-Forwarded-Host', 'public.example'],
            ],
          },
          target(),
          undefined,
        );
        assert.equal(recorded.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
        assert.equal(recorded.headers['x-forwarded-proto'], 'https');
        assert.equal(recorded.headers['x-forwarded-host'], 'public.example');
      });
      it('a chain sent as two fields is kept whole, with the peer appended (sidecar side only)', async () => {
        const recorded = await forwardedBySidecar(
          {
            name: 'trusted, two fields',
            sent: [
              ['X-Forwarded-For', '203.0.113.7'],
              ['X-Forwarded-For', '198.51.100.2'],
            ],
          },
          target(),
          undefined,
        );
        assert.equal(recorded.headers['x-forwarded-for'], '203.0.113.7, 198.51.100.2, 127.0.0.1');
      });
      it('without forwarding headers the sidecar sets its own view (sidecar side only)', async () => {
        const recorded = await forwardedBySidecar({ name: 'trusted, none', sent: [] }, target(), undefined);
        assert.equal(recorded.headers['x-forwarded-for'], '127.0.0.1');
        assert.equal(recorded.headers['x-forwarded-proto'], 'http');
        assert.equal(recorded.headers['x-forwarded-host'], new URL(trustingSidecar.url).host);
      });
    });
  });

  describe('too many or too large header fields', () => {
    /** Sends Host plus `fields`; rawRequest adds nothing else when Connection is among them. */
    async function assertTooLarge(fields: readonly Field[]): Promise<void> {
      const seen = upstream.requests.length;
      const response = await send(sidecar.url, { sent: fields }, undefined);
      assertRefused(response, 431, 'header_fields_too_large');
      assertNothingForwarded(upstream, seen);
    }

    it('a single 17 KB header field is refused by the sidecar with 431 and never forwarded (Node refuses it for both setups; sidecar side only)', async () => {
      await assertTooLarge([
        ['X-Big', 'b'.repeat(17 * 1024)],
        ['Connection', 'close'],
      ]);
    });

    it('40 header fields of 500 bytes (20 KB in all) are refused by the sidecar with 431 and never forwarded (Node refuses them for both setups; sidecar side only)', async () => {
      await assertTooLarge([...padding(40, 500), ['Connection', 'close']]);
    });

    const counts: readonly { name: string; fields: Field[] }[] = [
      { name: '101 header fields, one over the limit', fields: [...padding(99), ['Connection', 'close']] },
      { name: '150 header fields', fields: [...padding(148), ['Connection', 'close']] },
      {
        name: 'an X-User hidden behind 100 padding fields, past where a count limit stops reading',
        fields: [['Connection', 'close'], ...padding(100), ['X-User', `${SPOOFED}-admin`]],
      },
    ];
    for (const { name, fields } of counts) {
      describe(name, () => {
        it('gets through the naive setup: the upstream receives every field', async () => {
          const seen = naiveUpstream.requests.length;
          const response = await send(naive.url, { sent: fields }, undefined);
          assert.equal(response.status, 200, response.raw);
          const recorded = onlyForwardedSince(naiveUpstream, seen);
          for (const [field, value] of fields) {
            if (field !== 'Connection') assert.equal(recorded.headers[field.toLowerCase()], value, field);
          }
        });
        it('is refused by the sidecar with 431 and never forwarded', async () => {
          // Host is field number one.
          assert.ok(fields.length + 1 > 100);
          await assertTooLarge(fields);
        });
      });
    }

    it('exactly 100 header fields are still forwarded (the limit, not an attack)', async () => {
      const fields: Field[] = [...padding(98), ['Connection', 'close']];
      assert.equal(fields.length + 1, 100);
      const recorded = await forwardedBySidecar({ name: '100 fields', sent: fields });
      assert.equal(recorded.headers['x-pad-97'], 'p');
    });
  });

  describe('hop-by-hop headers', () => {
    for (const attack of HOP_BY_HOP_ATTACKS) {
      describe(attack.name, () => {
        itGetsThroughNaive(attack);
        it(`stays on the client’s hop: the sidecar does not forward it${sidecarSuffix(attack)}`, async () => {
          const recorded = await forwardedBySidecar(attack);
          for (const [name] of attack.sent) {
            if (name === 'Connection') continue;
            assert.deepEqual(fieldsFolding(recorded, [foldName(name)]), [], name);
          }
          assert.ok(
            ['keep-alive', 'close'].includes(recorded.headers.connection ?? ''),
            `the client’s Connection options stay behind: ${recorded.headers.connection}`,
          );
          assertNoSpoofedValue(recorded);
        });
      });
    }
  });
});
