/**
 * Operations defaults an attacker reads or leans on: with a default config, the public port does
 * not answer the sidecar's own /metrics (the Node version, the rule layout, live login and
 * reuse-detection counters); the path is then the backend's, decided by the rules like any other.
 * And a sidecar whose every request comes from one or two addresses that trustProxy does not list
 * (a load balancer in front, whose clients then share one per-IP login budget: 50 wrong logins
 * lock everyone out) says so once in its log.
 */
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startSidecar, TEST_RULES, type TestSidecar } from '../helpers/sidecar.js';
import { PEER_SAMPLE } from '../../src/http/peer-watch.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('/metrics on the public port with a default config', () => {
  let upstream: TestUpstream;
  let denied: TestSidecar;
  let open: TestSidecar;

  before(async () => {
    upstream = await startUpstream();
    denied = await startSidecar({ upstreamUrl: upstream.url });
    open = await startSidecar({
      upstreamUrl: upstream.url,
      config: { rules: [...TEST_RULES, { path: '/**', public: true }] },
    });
  });
  after(async () => {
    await denied.stop({ removeData: true });
    await open.stop({ removeData: true });
    await upstream.close();
  });

  it('an anonymous client asking for /metrics gets the rules’ 401, not the sidecar’s counters', async () => {
    const before = upstream.requests.length;
    const response = await rawRequest(denied.url, { target: '/metrics' });
    assertRefused(response, 401, 'unauthenticated');
    assert.doesNotMatch(response.body, /auth_sidecar_|nodejs_version_info/);
    assertNothingForwarded(upstream, before);
  });

  it('behind a catch-all public rule, /metrics is the backend’s own path and reaches it', async () => {
    const before = upstream.requests.length;
    const response = await rawRequest(open.url, { target: '/metrics' });
    assert.equal(response.status, 200, response.raw);
    assert.doesNotMatch(response.body, /auth_sidecar_|nodejs_version_info/);
    assert.equal(onlyForwardedSince(upstream, before).url, '/metrics');
  });
});

/** GET `path` from the local address `from` (any of 127/8 is this host); resolves with the status. */
function getFrom(baseUrl: string, path: string, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = get(`${baseUrl}${path}`, { localAddress: from, agent: false }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    });
    req.once('error', reject);
  });
}

describe('every request from one or two addresses that trustProxy does not list', () => {
  const warnings = (sidecar: TestSidecar) =>
    sidecar.logs.entries.filter((line) => line.event === 'trust_proxy.unlisted_proxy');

  /** Sends PEER_SAMPLE requests (and more) round-robin from `peers`, after some probes. */
  async function traffic(sidecar: TestSidecar, peers: readonly string[]): Promise<void> {
    for (let i = 0; i < 5; i++) await getFrom(sidecar.url, '/healthz', '127.0.0.9');
    for (let i = 0; i < PEER_SAMPLE + 20; i++) {
      assert.equal(await getFrom(sidecar.url, '/api/items', peers[i % peers.length]!), 401);
    }
  }

  it('with trustProxy: [] behind one proxy (all from 127.0.0.1), logs trust_proxy.unlisted_proxy once', async () => {
    const sidecar = await startSidecar();
    after(() => sidecar.stop({ removeData: true }));
    await traffic(sidecar, ['127.0.0.1']);
    const lines = warnings(sidecar);
    assert.equal(lines.length, 1, 'exactly one line, not one per request');
    assert.equal(lines[0]?.level, 'warn');
    assert.deepEqual(lines[0]?.peers, ['127.0.0.1']);
    assert.equal(lines[0]?.requests, PEER_SAMPLE);
  });

  it('with a placeholder trustProxy that matches no peer, behind two proxies, logs it once too', async () => {
    const sidecar = await startSidecar({ config: { trustProxy: ['192.0.2.0/24'] } });
    after(() => sidecar.stop({ removeData: true }));
    await traffic(sidecar, ['127.0.0.1', '127.0.0.2']);
    assert.equal(warnings(sidecar).length, 1);
    assert.deepEqual(warnings(sidecar)[0]?.peers, ['127.0.0.1', '127.0.0.2']);
  });

  it('logs nothing when the proxy in front is listed in trustProxy', async () => {
    const sidecar = await startSidecar({ config: { trustProxy: ['127.0.0.1'] } });
    after(() => sidecar.stop({ removeData: true }));
    await traffic(sidecar, ['127.0.0.1']);
    assert.deepEqual(warnings(sidecar), []);
  });

  it('logs nothing when clients arrive from three or more addresses', async () => {
    const sidecar = await startSidecar();
    after(() => sidecar.stop({ removeData: true }));
    await traffic(sidecar, ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    assert.deepEqual(warnings(sidecar), []);
  });
});
