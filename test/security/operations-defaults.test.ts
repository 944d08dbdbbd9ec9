/**
 * Operations defaults an attacker reads or leans on: with a default config, the public port does
 * not answer the sidecar's own /metrics (the Node version, the rule layout, live login and
 * reuse-detection counters); the path is then the backend's, decided by the rules like any other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startSidecar, TEST_RULES, type TestSidecar } from '../helpers/sidecar.js';
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
