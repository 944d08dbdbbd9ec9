/**
 * GET /metrics as Prometheus scrapes it: decisions by rule, response classes, upstream latency,
 * auth events, token cache lookups, store writes and the process metrics, on `metrics.port` or,
 * when asked for with `metrics.onPublicPort`, on the public port; by default on neither.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { JSON_HEADERS, register } from '../helpers/auth-client.js';
import { findFreePort } from '../helpers/cli-process.js';
import { uniqueUsername } from '../helpers/contract.js';
import { seedUser, startSidecar, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

/** The value of one sample line, e.g. `auth_sidecar_requests_total{rule="rules[0]",decision="allowed"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  let upstream: TestUpstream;
  before(async () => {
    upstream = await startUpstream();
  });
  after(() => upstream.close());

  describe('on the public port (metrics.onPublicPort: true)', () => {
    let sidecar: TestSidecar;
    let metrics: string;

    before(async () => {
      sidecar = await startSidecar({
        upstreamUrl: upstream.url,
        config: { metrics: { onPublicPort: true } },
      });
      const user = await seedUser(sidecar, 'metrics-user', ['user']);
      const agent = request(sidecar.url);
      await agent.get('/public/page').expect(200);
      await agent.get('/api/items').set('Authorization', `Bearer ${user.token}`).expect(200);
      await agent.get('/api/items').set('Authorization', `Bearer ${user.token}`).expect(200);
      await agent.get('/api/items').expect(401);
      await agent.get('/admin/panel').set('Authorization', `Bearer ${user.token}`).expect(403);
      await agent.get('/public/%2e%2e/admin').expect(400);
      const username = uniqueUsername('metrics');
      await register(sidecar.url, username);
      await agent
        .post('/auth/login')
        .set(JSON_HEADERS)
        .send({ username, password: 'wrong-password-1' })
        .expect(401);
      const response = await agent.get('/metrics').expect(200);
      assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      metrics = response.text;
    });
    after(() => sidecar.stop({ removeData: true }));

    it('counts proxied requests by rule and decision', () => {
      const count = (rule: string, decision: string) =>
        sample(metrics, `auth_sidecar_requests_total{rule="${rule}",decision="${decision}"}`);
      assert.equal(count('rules[0]', 'allowed'), 1);
      assert.equal(count('rules[3]', 'allowed'), 2);
      assert.equal(count('rules[3]', 'unauthenticated'), 1);
      assert.equal(count('rules[1]', 'forbidden'), 1);
      assert.equal(count('none', 'invalid_request'), 1);
    });

    it('counts responses by status class, the sidecar’s own included', () => {
      assert.ok((sample(metrics, 'auth_sidecar_responses_total{code_class="2xx"}') ?? 0) >= 4);
      assert.ok((sample(metrics, 'auth_sidecar_responses_total{code_class="4xx"}') ?? 0) >= 4);
    });

    it('times the upstream: one observation per forwarded request', () => {
      assert.equal(sample(metrics, 'auth_sidecar_upstream_duration_seconds_count'), 3);
    });

    it('counts auth events by type', () => {
      assert.equal(sample(metrics, 'auth_sidecar_auth_events_total{event="auth.register"}'), 1);
      assert.equal(sample(metrics, 'auth_sidecar_auth_events_total{event="auth.login.failure"}'), 1);
      assert.equal(sample(metrics, 'auth_sidecar_auth_events_total{event="auth.denied"}'), 3);
    });

    it('counts token cache hits and misses', () => {
      // The same token twice on /api and once on /admin: one miss, then hits.
      assert.equal(sample(metrics, 'auth_sidecar_token_cache_lookups_total{result="miss"}'), 1);
      assert.equal(sample(metrics, 'auth_sidecar_token_cache_lookups_total{result="hit"}'), 2);
    });

    it('times store writes and reports the process', () => {
      assert.ok((sample(metrics, 'auth_sidecar_store_write_duration_seconds_count') ?? 0) >= 2);
      assert.ok(metrics.includes('auth_sidecar_process_cpu_user_seconds_total'));
      assert.ok(metrics.includes('auth_sidecar_nodejs_eventloop_lag_seconds'));
    });

    it('never forwards /metrics to the backend', async () => {
      const before = upstream.requests.length;
      await request(sidecar.url).get('/metrics').expect(200);
      assert.equal(upstream.requests.length, before);
    });
  });

  describe('on metrics.port', () => {
    let sidecar: TestSidecar;
    let metricsPort: number;

    before(async () => {
      metricsPort = await findFreePort();
      sidecar = await startSidecar({ upstreamUrl: upstream.url, config: { metrics: { port: metricsPort } } });
    });
    after(() => sidecar.stop({ removeData: true }));

    it('serves /metrics there and nothing else', async () => {
      const metricsUrl = `http://127.0.0.1:${metricsPort}`;
      const response = await request(metricsUrl).get('/metrics').expect(200);
      assert.ok(response.text.includes('auth_sidecar_requests_total'));
      await request(metricsUrl).get('/public/page').expect(404);
    });

    it('leaves /metrics on the public port to the rules (default deny: 401)', async () => {
      await request(sidecar.url).get('/metrics').expect(401);
    });
  });

  describe('by default', () => {
    let sidecar: TestSidecar;

    before(async () => {
      sidecar = await startSidecar({ upstreamUrl: upstream.url });
    });
    after(() => sidecar.stop({ removeData: true }));

    it('does not serve /metrics on the public port: the path is left to the rules (default deny: 401)', async () => {
      const before = upstream.requests.length;
      const response = await request(sidecar.url).get('/metrics').expect(401);
      assert.doesNotMatch(response.text, /auth_sidecar_/);
      assert.equal(upstream.requests.length, before);
    });
  });
});
