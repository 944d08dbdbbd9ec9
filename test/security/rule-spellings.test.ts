/**
 * One path, several spellings: `/v1/jobs:purge` and `/v1/jobs%3Apurge` are the same resource to a
 * backend that routes on the decoded path (nginx, Go, Spring, Django), and `/über` is only ever
 * sent as `/%C3%BCber`. Rules and requests are compared in one canonical form, and the backend
 * receives that form, so a protected glob protects every spelling and the backend sees the path
 * the rules decided on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

interface Spelling {
  readonly name: string;
  /** Sent byte for byte. */
  readonly target: string;
  /** What the backend receives when an admin sends it: the form the rules decided on. */
  readonly canonical: string;
}

/** Each character of a glob that used to match only when the request spelled it raw. */
const GLOB_CHARACTERS = [':', '$', '@', '(', ')', '+', ',', '=', "'", '[', ']', '{', '}'] as const;
/** RFC 3986 §3.3: these may stand raw in a path; the others are %-escapes in the canonical form. */
const RAW_IN_PATH = new Set<string>([':', '$', '@', '(', ')', '+', ',', '=', "'"]);

function hexOf(char: string): string {
  return char.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
}

const SPELLINGS: readonly Spelling[] = [
  { name: 'an encoded colon, /v1/jobs%3Apurge', target: '/v1/jobs%3Apurge', canonical: '/v1/jobs:purge' },
  {
    name: 'a lower-case encoded colon, /v1/jobs%3apurge',
    target: '/v1/jobs%3apurge',
    canonical: '/v1/jobs:purge',
  },
  { name: 'the raw colon, /v1/jobs:purge', target: '/v1/jobs:purge', canonical: '/v1/jobs:purge' },
  { name: 'UTF-8 escapes of ü, /%C3%BCber/x', target: '/%C3%BCber/x', canonical: '/%C3%BCber/x' },
  { name: 'lower-case UTF-8 escapes of ü, /%c3%bcber/x', target: '/%c3%bcber/x', canonical: '/%C3%BCber/x' },
  ...GLOB_CHARACTERS.flatMap((char): Spelling[] => {
    const canonical = `/chars/a${RAW_IN_PATH.has(char) ? char : `%${hexOf(char)}`}b`;
    return [
      { name: `${char} encoded as %${hexOf(char)}`, target: `/chars/a%${hexOf(char)}b`, canonical },
      {
        name: `${char} encoded in lower-case hex`,
        target: `/chars/a%${hexOf(char).toLowerCase()}b`,
        canonical,
      },
      { name: `${char} sent raw`, target: `/chars/a${char}b`, canonical },
    ];
  }),
];

describe('rules match every spelling of a path', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let user: SeededUser;
  let admin: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({
      upstreamUrl: upstream.url,
      config: {
        rules: [
          { path: '/v1/jobs:purge', roles: ['admin'] },
          { path: '/über/**', roles: ['admin'] },
          ...GLOB_CHARACTERS.map((char) => ({ path: `/chars/a${char}b`, roles: ['admin'] })),
          { path: '/**', public: true },
        ],
      },
    });
    user = await seedUser(sidecar, 'spelling-user', ['user']);
    admin = await seedUser(sidecar, 'spelling-admin', ['admin']);
  });
  after(async () => {
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  const bearer = (who: SeededUser): [string, string][] => [['Authorization', `Bearer ${who.token}`]];

  for (const spelling of SPELLINGS) {
    describe(spelling.name, () => {
      it('is refused to a plain user with 403 and never reaches the backend', async () => {
        const seen = upstream.requests.length;
        const response = await rawRequest(sidecar.url, { target: spelling.target, headers: bearer(user) });
        assertRefused(response, 403, 'forbidden');
        assertNothingForwarded(upstream, seen);
      });
      it('is refused to an anonymous caller with 401 and never reaches the backend', async () => {
        const seen = upstream.requests.length;
        assertRefused(await rawRequest(sidecar.url, { target: spelling.target }), 401, 'unauthenticated');
        assertNothingForwarded(upstream, seen);
      });
      it(`reaches the backend from an admin as exactly ${spelling.canonical}, the path the rules decided on`, async () => {
        const seen = upstream.requests.length;
        const response = await rawRequest(sidecar.url, {
          target: `${spelling.target}?q=%3A`,
          headers: bearer(admin),
        });
        assert.equal(response.status, 200, response.raw);
        assert.equal(onlyForwardedSince(upstream, seen).url, `${spelling.canonical}?q=%3A`);
      });
    });
  }

  it('still forwards a public path unchanged', async () => {
    const seen = upstream.requests.length;
    const response = await rawRequest(sidecar.url, { target: '/v1/jobs/list' });
    assert.equal(response.status, 200, response.raw);
    assert.equal(onlyForwardedSince(upstream, seen).url, '/v1/jobs/list');
  });
});
