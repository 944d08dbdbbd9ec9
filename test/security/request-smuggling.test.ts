/**
 * Request smuggling: one stream of bytes that the sidecar and the backend would split into
 * requests differently, so that a request hidden in the first one's body reaches the backend
 * without ever being decided on. Every attack here hides `GET /admin/secret`; each must be refused
 * with 400 before anything is forwarded, and the sidecar must go on serving new connections.
 *
 * Most framing conflicts are already refused by Node's own HTTP parser, in front of the naive
 * setup as much as in front of the sidecar; for those only the sidecar side is asserted, and the
 * test name says so. The hidden-body attacks that Node lets through are shown getting through the
 * naive setup (test/helpers/naive-proxy.ts) first.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertRefused, assertStillServes, forwardedSince, onlyForwardedSince } from '../helpers/attack.js';
import { startBodyBlindUpstream, type BodyBlindUpstream } from '../helpers/body-blind-upstream.js';
import { startNaiveProxy } from '../helpers/naive-proxy.js';
import { assertProblem } from '../helpers/problem.js';
import { startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { sendBytes } from '../helpers/wire.js';

/** The request the attacker wants the backend to run unchecked. */
const HIDDEN = 'GET /admin/secret HTTP/1.1\r\nHost: backend\r\n\r\n';
/** Where every attack request is aimed: a public path, so the outer request itself is allowed. */
const ATTACK_PATH = '/public/attack';
/** A harmless request written after the attack on the same connection; it closes the connection. */
const AFTER_ATTACK_PATH = '/public/after-attack';

const CHUNKED_HIDDEN = `0\r\n\r\n${HIDDEN}`;

interface Smuggle {
  readonly name: string;
  readonly method?: 'GET' | 'POST';
  /** Header lines after Host, byte for byte (no CRLF at the end). */
  readonly fields: readonly string[];
  readonly body: string;
  /** Node's own parser refuses it, in front of both setups: only the sidecar side is asserted. */
  readonly nodeRefuses?: true;
}

const CONFLICTING_FRAMING: readonly Smuggle[] = [
  {
    name: 'Content-Length then Transfer-Encoding: chunked (CL.TE) ends the chunked body early, before the hidden request',
    fields: [`Content-Length: ${CHUNKED_HIDDEN.length}`, 'Transfer-Encoding: chunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding: chunked then a short Content-Length (TE.CL) leaves the hidden request after 4 bytes',
    fields: ['Transfer-Encoding: chunked', `Content-Length: ${`${HIDDEN.length.toString(16)}\r\n`.length}`],
    body: `${HIDDEN.length.toString(16)}\r\n${HIDDEN}\r\n0\r\n\r\n`,
    nodeRefuses: true,
  },
];

const DUPLICATE_CONTENT_LENGTH: readonly Smuggle[] = [
  {
    name: 'two Content-Length fields with the same value',
    fields: [`Content-Length: ${HIDDEN.length}`, `Content-Length: ${HIDDEN.length}`],
    body: HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'two Content-Length fields with different values (0 for one reader, the hidden request for the other)',
    fields: ['Content-Length: 0', `Content-Length: ${HIDDEN.length}`],
    body: HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'one Content-Length field listing two different values',
    fields: [`Content-Length: 0, ${HIDDEN.length}`],
    body: HIDDEN,
    nodeRefuses: true,
  },
];

const OBFUSCATED_TRANSFER_ENCODING: readonly Smuggle[] = [
  {
    name: 'Transfer-Encoding: xchunked, which one reader takes for chunked and another ignores',
    fields: ['Transfer-Encoding: xchunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding: chunked, identity, where chunked is not the final coding',
    fields: ['Transfer-Encoding: chunked, identity'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding with a vertical tab before chunked',
    fields: ['Transfer-Encoding:\u000bchunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding with a form feed before chunked',
    fields: ['Transfer-Encoding:\u000cchunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding with a space before the colon',
    fields: ['Transfer-Encoding : chunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding folded onto a continuation line ( chunked)',
    fields: ['Transfer-Encoding:\r\n chunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding: chunked sent twice',
    fields: ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
  {
    name: 'Transfer-Encoding: chunked, chunked in one field',
    fields: ['Transfer-Encoding: chunked, chunked'],
    body: CHUNKED_HIDDEN,
    nodeRefuses: true,
  },
];

const INVALID_CHUNKS: readonly Smuggle[] = [
  {
    name: 'a chunk size that is not hex (zz)',
    fields: ['Transfer-Encoding: chunked'],
    body: `zz\r\n${HIDDEN}\r\n0\r\n\r\n`,
    nodeRefuses: true,
  },
  {
    name: 'a negative chunk size (-1)',
    fields: ['Transfer-Encoding: chunked'],
    body: `-1\r\n${HIDDEN}\r\n0\r\n\r\n`,
    nodeRefuses: true,
  },
  {
    name: 'a chunk size that overflows 64 bits (fffffffffffffffff)',
    fields: ['Transfer-Encoding: chunked'],
    body: `fffffffffffffffff\r\n${HIDDEN}\r\n0\r\n\r\n`,
    nodeRefuses: true,
  },
];

const HIDDEN_IN_BODY = {
  contentLength: {
    name: 'a GET whose Content-Length body is the next request, for a backend that reads no body on GET',
    method: 'GET',
    fields: [`Content-Length: ${HIDDEN.length}`],
    body: HIDDEN,
  },
  chunked: {
    name: 'a GET whose chunked body is the next request, for a backend that reads no body on GET',
    method: 'GET',
    fields: ['Transfer-Encoding: chunked'],
    body: `${HIDDEN.length.toString(16)}\r\n${HIDDEN}\r\n0\r\n\r\n`,
  },
} as const satisfies Record<string, Smuggle>;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The attack request, byte for byte, with `extra` header lines after the attack's own. */
function attackBytes(attack: Smuggle, host: string, extra: readonly string[] = []): string {
  const fields = [`Host: ${host}`, ...attack.fields, ...extra];
  return `${attack.method ?? 'POST'} ${ATTACK_PATH} HTTP/1.1\r\n${fields.map((f) => `${f}\r\n`).join('')}\r\n${attack.body}`;
}

function afterAttack(host: string): string {
  return `GET ${AFTER_ATTACK_PATH} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}

describe('request smuggling', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let naiveUpstream: TestUpstream;
  let naive: Awaited<ReturnType<typeof startNaiveProxy>>;
  let blindUpstream: BodyBlindUpstream;
  let naiveBeforeBlind: Awaited<ReturnType<typeof startNaiveProxy>>;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url });
    naiveUpstream = await startUpstream();
    naive = await startNaiveProxy(naiveUpstream.url);
    blindUpstream = await startBodyBlindUpstream();
    naiveBeforeBlind = await startNaiveProxy(blindUpstream.url);
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
    await naive.close();
    await naiveBeforeBlind.close();
    await upstream.close();
    await naiveUpstream.close();
    await blindUpstream.close();
  });

  /**
   * Writes the attack and a closing request after it on one keep-alive connection, and reads
   * until the sidecar closes it. The attack must be answered 400; the only other answer allowed
   * on that connection is the closing request's. Then a new connection must still be served, and
   * nothing but those two harmless requests may have reached the upstream.
   */
  async function assertSidecarRefuses(attack: Smuggle, code?: string): Promise<void> {
    const host = new URL(sidecar.url).host;
    const seen = upstream.requests.length;
    const exchange = await sendBytes(sidecar.url, attackBytes(attack, host) + afterAttack(host));
    assert.ok(exchange.closedByServer, 'the sidecar ends the connection');
    const [first, ...rest] = exchange.responses;
    if (code === undefined) {
      assert.ok(first, `a response; got ${JSON.stringify(exchange.raw)}`);
      assertProblem(first, 400);
    } else {
      assertRefused(first, 400, code);
    }
    assert.ok(
      rest.length <= 1,
      `one answer for the attack, at most one more: ${JSON.stringify(exchange.raw)}`,
    );
    for (const later of rest) {
      assert.equal(later.status, 200, `only the closing request may be answered after it: ${later.raw}`);
      assert.equal((JSON.parse(later.body) as { url: string }).url, AFTER_ATTACK_PATH);
    }

    const stillServing = await assertStillServes(sidecar.url, upstream);
    const forwarded = forwardedSince(upstream, seen).map((r) => r.url);
    assert.ok(
      !forwarded.some((url) => url.includes('/admin/secret')),
      'the hidden request never reaches the upstream',
    );
    assert.deepEqual(
      forwarded.filter((url) => url !== AFTER_ATTACK_PATH),
      [stillServing.url],
      'the attack request is never forwarded',
    );
    for (const recorded of forwardedSince(upstream, seen)) {
      assert.equal(recorded.bodyBytes, 0, `${recorded.url} carries no body`);
    }
  }

  function describeNodeRefused(title: string, attacks: readonly Smuggle[]): void {
    describe(title, () => {
      for (const attack of attacks) {
        it(`${attack.name}: refused by the sidecar with 400 before anything is forwarded (Node's parser refuses it for both setups; sidecar side only)`, async () => {
          assert.ok(attack.nodeRefuses);
          await assertSidecarRefuses(attack, 'invalid_request');
        });
      }
    });
  }

  describeNodeRefused('conflicting Content-Length and Transfer-Encoding', CONFLICTING_FRAMING);
  describeNodeRefused('duplicate Content-Length', DUPLICATE_CONTENT_LENGTH);
  describeNodeRefused('obfuscated Transfer-Encoding', OBFUSCATED_TRANSFER_ENCODING);
  describeNodeRefused('invalid chunk sizes', INVALID_CHUNKS);

  describe('a second request hidden in the first one’s body', () => {
    describe(HIDDEN_IN_BODY.contentLength.name, () => {
      it('gets through the naive setup: a backend that reads no body on GET runs GET /admin/secret', async () => {
        const host = new URL(naiveBeforeBlind.url).host;
        const bytes = attackBytes(HIDDEN_IN_BODY.contentLength, host, ['Connection: close']);
        const exchange = await sendBytes(naiveBeforeBlind.url, bytes);
        assert.equal(exchange.responses[0]?.status, 200, exchange.raw);
        await blindUpstream.arrived('GET /admin/secret ');
        assert.ok(blindUpstream.requestLines.includes(`GET ${ATTACK_PATH} HTTP/1.1`));
      });
      it('is refused by the sidecar with 400 and neither request reaches the upstream', async () => {
        await assertSidecarRefuses(HIDDEN_IN_BODY.contentLength);
      });
    });

    describe(HIDDEN_IN_BODY.chunked.name, () => {
      it('gets through the naive setup: the upstream receives the hidden request as the GET’s body', async () => {
        const host = new URL(naive.url).host;
        const seen = naiveUpstream.requests.length;
        const exchange = await sendBytes(
          naive.url,
          attackBytes(HIDDEN_IN_BODY.chunked, host, ['Connection: close']),
        );
        assert.equal(exchange.responses[0]?.status, 200, exchange.raw);
        const forwarded = onlyForwardedSince(naiveUpstream, seen);
        assert.equal(forwarded.method, 'GET');
        assert.equal(forwarded.url, ATTACK_PATH);
        assert.equal(forwarded.bodySha256, sha256(HIDDEN));
      });
      it('is refused by the sidecar with 400 and neither request reaches the upstream', async () => {
        await assertSidecarRefuses(HIDDEN_IN_BODY.chunked);
      });
    });
  });

  describe('after every refusal', () => {
    it('a request pipelined after a refused one on the same connection is never read', async () => {
      const host = new URL(sidecar.url).host;
      const seen = upstream.requests.length;
      const refused = attackBytes(CONFLICTING_FRAMING[0] as Smuggle, host);
      const exchange = await sendBytes(
        sidecar.url,
        `${refused}GET /public/pipelined HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      );
      assert.ok(exchange.closedByServer);
      assert.equal(exchange.responses.length, 1, exchange.raw);
      assertRefused(exchange.responses[0], 400, 'invalid_request');
      assert.equal(exchange.responses[0]?.headers.connection, 'close');
      const stillServing = await assertStillServes(sidecar.url, upstream);
      assert.deepEqual(
        forwardedSince(upstream, seen).map((r) => r.url),
        [stillServing.url],
      );
    });
  });
});
