/**
 * A browser session's life with the lowdb store, over real HTTP to a recording upstream: what ends
 * it at once (sign-out, a password change, disabling, a role change, deletion), the idle timeout
 * and the maximum age on the test clock, a burst of requests while the ticket is renewed, a new
 * session at every sign-in, a restart, and a WebSocket opened with the cookie. Each case checks
 * the status and what the upstream saw, or that it saw nothing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { login } from '../helpers/auth-client.js';
import { createUser, postForm } from '../helpers/browser-client.js';
import {
  assertClearsCookie,
  assertNoTicketLogged,
  browserGet,
  getWithCookie,
  SESSION_COOKIE,
  sessionEnds,
  sessionSetCookies,
  SessionJar,
  startedSessionIds,
} from '../helpers/browser-session.js';
import { createTestClock, type TestClock } from '../helpers/contract.js';
import { deleteWith, patchJson, postJson } from '../helpers/session-client.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { connect, startEchoUpstream, type EchoUpstream } from '../helpers/websocket.js';

const PASSWORD = 'correct-horse-1';
const NEW_PASSWORD = 'correct-horse-2';
const MINUTE = 60_000;
/** Plain http in the tests: the cookie goes as `auth-sidecar`, without the __Host- prefix. */
const BROWSER = { cookie: { secure: false } };

/** A browser signed in through the form: its ticket and the session the sidecar audited for it. */
interface SignedIn {
  readonly userId: string;
  readonly username: string;
  readonly ticket: string;
  readonly sessionId: string;
}

/**
 * Signs `username` in through POST /auth/sign-in, carrying `cookie` (`name=value`) if given, and
 * reads the new session's id from its `auth.session.start` audit event.
 */
async function signInThroughForm(
  sidecar: TestSidecar,
  userId: string,
  username: string,
  options: { readonly password?: string; readonly cookie?: string } = {},
): Promise<SignedIn> {
  const started = startedSessionIds(sidecar.logs.entries).length;
  const password = options.password ?? PASSWORD;
  const response = await postForm(
    sidecar.url,
    '/auth/sign-in',
    { username, password, rd: '/' },
    options.cookie === undefined ? {} : { cookie: options.cookie },
  );
  assert.equal(response.status, 303, `sign-in of ${username}: ${response.status} ${response.text}`);
  const [field] = sessionSetCookies(response);
  assert.ok(field && field.value !== '', `sign-in sets the cookie: ${JSON.stringify(response.headers)}`);
  const newIds = startedSessionIds(sidecar.logs.entries).slice(started);
  assert.equal(newIds.length, 1, 'one auth.session.start per sign-in');
  return { userId, username, ticket: field.value, sessionId: newIds[0] ?? '' };
}

/** The cookie `ticket` is accepted on a proxied GET, and the upstream sees `username`, not the cookie. */
async function assertCookieWorks(
  sidecar: TestSidecar,
  upstream: TestUpstream,
  ticket: string,
  username: string,
  path = '/api/items',
): Promise<void> {
  const seen = upstream.requests.length;
  const response = await getWithCookie(sidecar.url, path, ticket);
  assert.equal(response.status, 200, `${username}: ${response.status} ${response.text}`);
  const recorded = onlyForwardedSince(upstream, seen);
  assert.equal(recorded.headers['x-user'], username);
  assert.equal(recorded.headers.cookie, undefined, 'the session cookie never reaches the upstream');
}

/**
 * The cookie `ticket` no longer authenticates: a navigation is sent to sign in, a fetch gets the
 * 401 problem, both clear the cookie, and the upstream sees neither.
 */
async function assertCookieRefused(
  sidecar: TestSidecar,
  upstream: TestUpstream,
  ticket: string,
): Promise<void> {
  const seen = upstream.requests.length;
  const navigation = await getWithCookie(sidecar.url, '/api/items?page=2', ticket, 'navigate');
  assert.equal(navigation.status, 302, `a navigation: ${navigation.status} ${navigation.text}`);
  assert.equal(navigation.headers.location, '/auth/sign-in?rd=%2Fapi%2Fitems%3Fpage%3D2');
  assertClearsCookie(navigation);
  const fetched = await getWithCookie(sidecar.url, '/api/items', ticket);
  assertRefused(fetched, 401, 'unauthenticated');
  assertClearsCookie(fetched);
  assertNothingForwarded(upstream, seen);
}

/** Every ticket a response of `jar` and the sign-ins carried, for the "never logged" check. */
function ticketsOf(...sources: (SignedIn | SessionJar | string)[]): string[] {
  return sources.flatMap((source) =>
    typeof source === 'string'
      ? [source]
      : source instanceof SessionJar
        ? source.received.map((field) => field.value)
        : [source.ticket],
  );
}

describe('a browser session ends at once, and its cookie reaches the upstream no more', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let admin: SeededUser;
  const tickets = new Set<string>();

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { browser: BROWSER } });
    admin = await seedUser(sidecar, 'root', ['admin']);
  });
  after(async () => {
    await sidecar?.stop({ removeData: true });
    await upstream?.close();
  });

  async function signedInUser(username: string): Promise<SignedIn> {
    const userId = await createUser(sidecar, username, PASSWORD);
    const session = await signInThroughForm(sidecar, userId, username);
    tickets.add(session.ticket);
    await assertCookieWorks(sidecar, upstream, session.ticket, username);
    return session;
  }

  const endings: {
    readonly name: string;
    readonly reason: 'sign_out' | 'revoked';
    readonly end: (session: SignedIn) => Promise<void>;
  }[] = [
    {
      name: 'signing out with POST /auth/sign-out',
      reason: 'sign_out',
      async end(session) {
        const response = await postForm(
          sidecar.url,
          '/auth/sign-out',
          {},
          { cookie: `${SESSION_COOKIE}=${session.ticket}` },
        );
        assert.equal(response.status, 303, response.text);
        assert.equal(response.headers.location, '/auth/sign-in');
        assertClearsCookie(response);
      },
    },
    {
      name: 'a password change through POST /auth/password, with the bearer token of another login of the user',
      reason: 'revoked',
      async end(session) {
        const api = await login(sidecar.url, session.username, PASSWORD);
        const response = await postJson(
          sidecar.url,
          '/auth/password',
          { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
          api.accessToken,
        );
        assert.equal(response.status, 204, response.text);
      },
    },
    {
      name: 'a password change on the account page of another browser of the user (which goes on in a new session)',
      reason: 'revoked',
      async end(session) {
        const other = await signInThroughForm(sidecar, session.userId, session.username);
        tickets.add(other.ticket);
        const response = await postForm(
          sidecar.url,
          '/auth/account/password',
          { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
          { cookie: `${SESSION_COOKIE}=${other.ticket}` },
        );
        assert.equal(response.status, 303, response.text);
        assert.equal(response.headers.location, '/auth/account?changed=1');
        const [renewed] = sessionSetCookies(response);
        assert.ok(renewed && renewed.value !== '', 'the browser that changed it gets a new cookie');
        tickets.add(renewed.value);
        await assertCookieRefused(sidecar, upstream, other.ticket);
        await assertCookieWorks(sidecar, upstream, renewed.value, session.username);
      },
    },
    {
      name: 'disabling the user (PATCH /auth/users/:id by an admin)',
      reason: 'revoked',
      async end(session) {
        const response = await patchJson(
          sidecar.url,
          `/auth/users/${session.userId}`,
          { disabled: true },
          admin.token,
        );
        assert.equal(response.status, 200, response.text);
      },
    },
    {
      name: 'changing the user’s roles (PATCH /auth/users/:id by an admin)',
      reason: 'revoked',
      async end(session) {
        const response = await patchJson(
          sidecar.url,
          `/auth/users/${session.userId}`,
          { roles: ['user', 'analyst'] },
          admin.token,
        );
        assert.equal(response.status, 200, response.text);
      },
    },
    {
      name: 'deleting the user (DELETE /auth/users/:id by an admin)',
      reason: 'revoked',
      async end(session) {
        const response = await deleteWith(sidecar.url, `/auth/users/${session.userId}`, admin.token);
        assert.equal(response.status, 204, response.text);
      },
    },
  ];

  for (const [index, ending] of endings.entries()) {
    it(`ends on ${ending.name}: the cookie is refused and cleared, audited as ${ending.reason}, never logged`, async () => {
      const session = await signedInUser(`ender-${index}`);
      await ending.end(session);
      await assertCookieRefused(sidecar, upstream, session.ticket);

      const ends = sessionEnds(sidecar.logs.entries, session.sessionId);
      assert.equal(ends[0]?.reason, ending.reason, JSON.stringify(ends));
      assert.equal(ends[0]?.userId, session.userId);
      if (ending.reason === 'sign_out') {
        // The cookie replayed afterwards is told once more that its session is over.
        assert.ok(
          ends.slice(1).every((entry) => entry.reason === 'revoked'),
          JSON.stringify(ends),
        );
      }
      assertNoTicketLogged(sidecar.logs.text, tickets);
    });
  }

  it('starts a new session at sign-in for a browser that carried a garbage cookie', async () => {
    const userId = await createUser(sidecar, 'fixed-garbage', PASSWORD);
    const planted = 'planted-by-someone-else';
    const session = await signInThroughForm(sidecar, userId, 'fixed-garbage', {
      cookie: `${SESSION_COOKIE}=${planted}`,
    });
    tickets.add(session.ticket);
    assert.notEqual(session.ticket, planted);
    await assertCookieWorks(sidecar, upstream, session.ticket, 'fixed-garbage');
    assertNoTicketLogged(sidecar.logs.text, tickets);
  });

  it('starts a new session at sign-in for a browser that carried another user’s valid cookie', async () => {
    const other = await signedInUser('fixed-planter');
    const userId = await createUser(sidecar, 'fixed-victim', PASSWORD);
    const session = await signInThroughForm(sidecar, userId, 'fixed-victim', {
      cookie: `${SESSION_COOKIE}=${other.ticket}`,
    });
    tickets.add(session.ticket);
    assert.notEqual(session.ticket, other.ticket, 'a new cookie value');
    assert.notEqual(session.sessionId, other.sessionId, 'names a new session');
    await assertCookieWorks(sidecar, upstream, session.ticket, 'fixed-victim');
    assertNoTicketLogged(sidecar.logs.text, tickets);
  });

  it('ends the earlier session when a signed-in browser signs in again', async () => {
    const first = await signedInUser('twice');
    const second = await signInThroughForm(sidecar, first.userId, 'twice', {
      cookie: `${SESSION_COOKIE}=${first.ticket}`,
    });
    tickets.add(second.ticket);
    assert.notEqual(second.ticket, first.ticket);
    assert.notEqual(second.sessionId, first.sessionId);
    await assertCookieRefused(sidecar, upstream, first.ticket);
    await assertCookieWorks(sidecar, upstream, second.ticket, 'twice');
    assert.equal(sessionEnds(sidecar.logs.entries, first.sessionId)[0]?.reason, 'sign_out');
    assertNoTicketLogged(sidecar.logs.text, tickets);
  });
});

describe('a browser session across a restart', () => {
  it('keeps working after the sidecar restarts on the same data folder', async () => {
    const upstream = await startUpstream();
    const config = { browser: BROWSER };
    let sidecar = await startSidecar({ upstreamUrl: upstream.url, config });
    try {
      const userId = await createUser(sidecar, 'restarted', PASSWORD);
      const session = await signInThroughForm(sidecar, userId, 'restarted');
      await assertCookieWorks(sidecar, upstream, session.ticket, 'restarted');
      await sidecar.stop();
      sidecar = await startSidecar({ upstreamUrl: upstream.url, config, dataDir: sidecar.dataDir });
      await assertCookieWorks(sidecar, upstream, session.ticket, 'restarted');
      await assertCookieWorks(sidecar, upstream, session.ticket, 'restarted', '/api/again');
    } finally {
      await sidecar.stop({ removeData: true });
      await upstream.close();
    }
  });

  it('keeps a signed-out session ended after the sidecar restarts on the same data folder', async () => {
    const upstream = await startUpstream();
    const config = { browser: BROWSER };
    let sidecar = await startSidecar({ upstreamUrl: upstream.url, config });
    try {
      const userId = await createUser(sidecar, 'signed-out', PASSWORD);
      const session = await signInThroughForm(sidecar, userId, 'signed-out');
      const signedOut = await postForm(
        sidecar.url,
        '/auth/sign-out',
        {},
        { cookie: `${SESSION_COOKIE}=${session.ticket}` },
      );
      assert.equal(signedOut.status, 303, signedOut.text);
      await sidecar.stop();
      sidecar = await startSidecar({ upstreamUrl: upstream.url, config, dataDir: sidecar.dataDir });
      await assertCookieRefused(sidecar, upstream, session.ticket);
    } finally {
      await sidecar.stop({ removeData: true });
      await upstream.close();
    }
  });
});

describe('a browser session on the test clock (idleTimeout 30m, maxAge 2h)', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let clock: TestClock;

  before(async () => {
    clock = createTestClock();
    upstream = await startUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      now: clock.now,
      config: { browser: { ...BROWSER, session: { idleTimeout: '30m', maxAge: '2h' } } },
    });
  });
  after(async () => {
    await sidecar?.stop({ removeData: true });
    await upstream?.close();
  });

  /** Signs a new user in; the jar holds the cookie as the browser would. */
  async function signedInJar(username: string): Promise<{ jar: SessionJar; session: SignedIn; at: number }> {
    const userId = await createUser(sidecar, username, PASSWORD);
    const at = clock.now();
    const session = await signInThroughForm(sidecar, userId, username);
    return { jar: new SessionJar(session.ticket), session, at };
  }

  /** A fetch with the jar's cookie must be forwarded with `username`; returns the renewed cookie, if any. */
  async function forwardedWithJar(jar: SessionJar, username: string, path: string) {
    const seen = upstream.requests.length;
    const response = await browserGet(sidecar.url, path, jar);
    assert.equal(response.status, 200, `${path} at ${elapsedText()}: ${response.status} ${response.text}`);
    assert.equal(onlyForwardedSince(upstream, seen).headers['x-user'], username);
    const fields = sessionSetCookies(response);
    assert.ok(fields.length <= 1, JSON.stringify(fields));
    return fields[0];
  }

  let startedAt = 0;
  const elapsedText = () => `${Math.round((clock.now() - startedAt) / MINUTE)} min`;

  it('keeps a session alive past the idle timeout with a request every 20 minutes, on the renewed cookies', async () => {
    const { jar, session } = await signedInJar('steady');
    startedAt = clock.now();
    for (let step = 1; step <= 4; step++) {
      clock.advance(20 * MINUTE);
      const before = jar.value;
      const renewed = await forwardedWithJar(jar, 'steady', `/api/steady/${step}`);
      assert.ok(renewed, `a renewed cookie at ${elapsedText()}`);
      assert.notEqual(renewed.value, before, 'a new ticket');
      // The ticket's exp is whole seconds, rounded down: the idle timeout, to within a second.
      const maxAge = renewed.maxAge ?? 0;
      assert.ok(maxAge >= 30 * 60 - 1 && maxAge <= 30 * 60, `valid for the idle timeout: ${maxAge}`);
    }
    assert.deepEqual(sessionEnds(sidecar.logs.entries, session.sessionId), []);
    assertNoTicketLogged(sidecar.logs.text, ticketsOf(session, jar));
  });

  it('ends a session left 31 minutes without a request (audited as idle)', async () => {
    const { jar, session } = await signedInJar('idler');
    startedAt = clock.now();
    clock.advance(29 * MINUTE);
    assert.ok(await forwardedWithJar(jar, 'idler', '/api/idler/1'), 'renewed at 29 min');
    // Sent again at once: this ticket is now in the cache of verified tickets, which must not outlive it.
    assert.equal(await forwardedWithJar(jar, 'idler', '/api/idler/2'), undefined, 'not renewed again');
    clock.advance(31 * MINUTE);
    const ticket = jar.value ?? '';
    await assertCookieRefused(sidecar, upstream, ticket);
    const ends = sessionEnds(sidecar.logs.entries, session.sessionId);
    assert.equal(ends.length, 1, JSON.stringify(ends));
    assert.equal(ends[0]?.reason, 'idle');
    assert.equal(ends[0]?.userId, session.userId);
    assertNoTicketLogged(sidecar.logs.text, ticketsOf(session, jar));
  });

  it('ends an active session at its maximum age (audited as expired); no renewed cookie outlives it', async () => {
    const { jar, session, at } = await signedInJar('marathon');
    startedAt = at;
    const maxAgeEnd = at + 2 * 60 * MINUTE;
    const renewals: { at: number; maxAge: number }[] = [];
    for (const minute of [20, 40, 60, 80, 100, 119]) {
      clock.advance(at + minute * MINUTE - clock.now());
      const renewed = await forwardedWithJar(jar, 'marathon', `/api/marathon/${minute}`);
      if (renewed) renewals.push({ at: clock.now(), maxAge: renewed.maxAge ?? Infinity });
    }
    assert.ok(renewals.length >= 5, `renewed on the way: ${JSON.stringify(renewals)}`);
    for (const renewal of renewals) {
      assert.ok(
        renewal.at + renewal.maxAge * 1000 <= maxAgeEnd,
        `a cookie renewed at ${(renewal.at - at) / MINUTE} min with Max-Age=${renewal.maxAge} outlives maxAge`,
      );
    }
    // At 100 min the idle timeout would reach 130 min; maxAge cuts the cookie to the 120 min point.
    const at100 = renewals.find((renewal) => renewal.at === at + 100 * MINUTE);
    assert.ok(at100 && at100.maxAge <= 20 * 60 && at100.maxAge >= 20 * 60 - 1, JSON.stringify(at100));

    clock.advance(at + 121 * MINUTE - clock.now());
    await assertCookieRefused(sidecar, upstream, jar.value ?? '');
    const ends = sessionEnds(sidecar.logs.entries, session.sessionId);
    assert.equal(ends.length, 1, JSON.stringify(ends));
    assert.equal(ends[0]?.reason, 'expired');
    assertNoTicketLogged(sidecar.logs.text, ticketsOf(session, jar));
  });

  it('forwards all 30 requests a page fires at once on a ticket due for renewal, and every cookie returned works', async () => {
    const { session } = await signedInJar('burst');
    clock.advance(2 * MINUTE); // past the renewal interval (a minute)
    const seen = upstream.requests.length;
    const responses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => getWithCookie(sidecar.url, `/api/burst/${i}`, session.ticket)),
    );
    assert.deepEqual(
      responses.map((response) => response.status),
      Array.from({ length: 30 }, () => 200),
    );
    const forwarded = upstream.requests.slice(seen);
    assert.equal(forwarded.length, 30);
    for (const recorded of forwarded) {
      assert.equal(recorded.headers['x-user'], 'burst');
      assert.equal(recorded.headers.cookie, undefined);
    }
    const renewed = responses.flatMap((response) => sessionSetCookies(response));
    assert.equal(renewed.length, 30, 'each answer on a ticket due for renewal renews it');
    for (const field of renewed) {
      assert.notEqual(field.value, '', `a valid cookie, not a cleared one: ${field.field}`);
      assert.ok((field.maxAge ?? 0) > 0, field.field);
    }
    clock.advance(MINUTE / 2);
    for (const [i, field] of renewed.entries()) {
      await assertCookieWorks(sidecar, upstream, field.value, 'burst', `/api/burst/after-${i}`);
    }
    await assertCookieWorks(sidecar, upstream, session.ticket, 'burst', '/api/burst/first-ticket');
    const entries = sidecar.logs.entries;
    assert.deepEqual(
      entries.filter((entry) => entry.event === 'auth.refresh.reuse_detected'),
      [],
      'no refresh-token reuse detection',
    );
    assert.deepEqual(sessionEnds(entries, session.sessionId), []);
    assertNoTicketLogged(sidecar.logs.text, [session.ticket, ...renewed.map((field) => field.value)]);
  });
});

describe('a WebSocket opened with the session cookie', () => {
  /** Time allowed past websocket.recheck for the close to arrive (a busy machine), not a measurement. */
  const RECHECK_MS = 200;
  const SLACK_MS = 300;
  let upstream: EchoUpstream;
  let sidecar: TestSidecar;
  let clock: TestClock;
  let wsUrl: string;

  before(async () => {
    clock = createTestClock();
    upstream = await startEchoUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      now: clock.now,
      config: {
        browser: { ...BROWSER, session: { idleTimeout: '30m', maxAge: '2h' } },
        websocket: { recheck: `${RECHECK_MS}ms` },
      },
    });
    wsUrl = sidecar.url.replace('http:', 'ws:');
  });
  after(async () => {
    await sidecar?.stop({ removeData: true });
    await upstream?.close();
  });

  it(`is let in same-origin with X-User, and closed within websocket.recheck (${RECHECK_MS}ms) of signing out`, async () => {
    const userId = await createUser(sidecar, 'socket', PASSWORD);
    const session = await signInThroughForm(sidecar, userId, 'socket');
    const cookie = `${SESSION_COOKIE}=${session.ticket}; theme=dark`;
    const socket = await connect(`${wsUrl}/api/chat`, { Cookie: cookie, Origin: sidecar.url });
    assert.ok(socket instanceof WebSocket, `refused with ${typeof socket === 'number' ? socket : '?'}`);
    const seen = upstream.upgrades.at(-1);
    assert.equal(seen?.url, '/api/chat');
    assert.equal(seen?.headers['x-user'], 'socket');
    assert.equal(seen?.headers.cookie, 'theme=dark', 'the session cookie is stripped, the others pass');

    const reply = once(socket, 'message');
    socket.send('ping');
    assert.equal(String(((await reply) as [Buffer])[0]), 'ping');

    const closed = once(socket, 'close');
    const signedOut = await postForm(
      sidecar.url,
      '/auth/sign-out',
      {},
      { cookie: `${SESSION_COOKIE}=${session.ticket}` },
    );
    assert.equal(signedOut.status, 303, signedOut.text);
    const signedOutAt = performance.now();
    await closed;
    const elapsed = performance.now() - signedOutAt;
    assert.ok(elapsed <= RECHECK_MS + SLACK_MS, `closed ${Math.round(elapsed)} ms after the sign-out`);
    assert.ok(
      sidecar.logs.entries.some((entry) => entry.event === 'websocket.closed' && entry.userId === userId),
      'the close is logged',
    );
    assert.equal(await connect(`${wsUrl}/api/chat`, { Cookie: cookie, Origin: sidecar.url }), 401);
    assertNoTicketLogged(sidecar.logs.text, [session.ticket]);
  });

  it('stays open past the idle timeout (the connection is activity) and is closed at the session’s maximum age', async () => {
    const userId = await createUser(sidecar, 'long-socket', PASSWORD);
    const signedInAt = clock.now();
    const session = await signInThroughForm(sidecar, userId, 'long-socket');
    const socket = await connect(`${wsUrl}/api/chat`, {
      Cookie: `${SESSION_COOKIE}=${session.ticket}`,
      Origin: sidecar.url,
    });
    assert.ok(socket instanceof WebSocket, `refused with ${typeof socket === 'number' ? socket : '?'}`);
    const closed = once(socket, 'close');
    clock.advance(31 * MINUTE);
    await delay(3 * RECHECK_MS);
    assert.equal(socket.readyState, WebSocket.OPEN, 'open past the idle timeout');

    clock.advance(signedInAt + 2 * 60 * MINUTE + MINUTE - clock.now());
    const pastMaxAgeAt = performance.now();
    await closed;
    const elapsed = performance.now() - pastMaxAgeAt;
    assert.ok(elapsed <= RECHECK_MS + SLACK_MS, `closed ${Math.round(elapsed)} ms after maxAge`);
    assertNoTicketLogged(sidecar.logs.text, [session.ticket]);
  });
});
