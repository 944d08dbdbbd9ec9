/**
 * Forward-auth: a proxy in front asks GET /auth/verify about the request it holds, and gets the
 * same decision the sidecar would make as the proxy itself: 200 with the identity headers, or the
 * same 401/403/400 problem. Nothing is ever forwarded from here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { assertProblem } from '../helpers/problem.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

describe('forward-auth: GET /auth/verify', () => {
  let upstream: TestUpstream;
  let sidecar: TestSidecar;
  let user: SeededUser;
  let admin: SeededUser;

  before(async () => {
    upstream = await startUpstream();
    sidecar = await startSidecar({ upstreamUrl: upstream.url });
    user = await seedUser(sidecar, 'fwd-user', ['user']);
    admin = await seedUser(sidecar, 'fwd-admin', ['admin']);
  });
  after(async () => {
    assert.equal(upstream.requests.length, 0, 'forward-auth never forwards');
    await sidecar.stop({ removeData: true });
    await upstream.close();
  });

  const verify = (headers: Record<string, string>) => {
    let call = request(sidecar.url).get('/auth/verify');
    for (const [name, value] of Object.entries(headers)) call = call.set(name, value);
    return call;
  };

  it('answers 200 with the identity headers for an allowed request (nginx-style headers, the default)', async () => {
    const response = await verify({
      'X-Original-Method': 'GET',
      'X-Original-URI': '/admin/users?page=2',
      Authorization: `Bearer ${admin.token}`,
    });
    assert.equal(response.status, 200, response.text);
    assert.equal(response.headers['x-user'], 'fwd-admin');
    assert.equal(response.headers['x-user-id'], admin.id);
    assert.equal(response.headers['x-user-roles'], 'admin');
    assert.equal(response.headers['cache-control'], 'no-store');
  });

  it('reads Traefik-style X-Forwarded-Method and X-Forwarded-Uri with forwardAuth.headers: forwarded', async () => {
    const traefik = await startSidecar({
      upstreamUrl: upstream.url,
      config: { forwardAuth: { headers: 'forwarded' } },
    });
    try {
      const user2 = await seedUser(traefik, 'fwd-traefik', ['user']);
      const response = await request(traefik.url)
        .get('/auth/verify')
        .set('X-Forwarded-Method', 'GET')
        .set('X-Forwarded-Uri', '/api/items')
        .set('Authorization', `Bearer ${user2.token}`);
      assert.equal(response.status, 200, response.text);
      assert.equal(response.headers['x-user'], 'fwd-traefik');
    } finally {
      await traefik.stop({ removeData: true });
    }
  });

  it('refuses Traefik-style headers by default with 400 naming the key', async () => {
    const response = await verify({
      'X-Forwarded-Method': 'GET',
      'X-Forwarded-Uri': '/api/items',
      Authorization: `Bearer ${user.token}`,
    });
    assertProblem(response, 400);
    assert.match((response.body as { detail: string }).detail, /forwardAuth\.headers/);
  });

  it('answers a public path 200 without identity headers when no token came', async () => {
    const response = await verify({ 'X-Original-Method': 'GET', 'X-Original-URI': '/public/page' });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-user'], undefined);
  });

  it('answers 401 with the proxy’s own problem and challenge when the token is missing', async () => {
    const viaVerify = await verify({ 'X-Original-Method': 'GET', 'X-Original-URI': '/api/items' });
    const viaProxy = await request(sidecar.url).get('/api/items');
    assertProblem(viaVerify, 401);
    assert.equal(viaVerify.headers['www-authenticate'], viaProxy.headers['www-authenticate']);
    assert.equal((viaVerify.body as { code: string }).code, (viaProxy.body as { code: string }).code);
  });

  it('answers 403 for a role the user lacks, deciding on the canonical path', async () => {
    const response = await verify({
      'X-Original-Method': 'GET',
      'X-Original-URI': '/public/../admin/users',
      Authorization: `Bearer ${user.token}`,
    });
    assertProblem(response, 403);
  });

  it('applies the method: a POST where the rule allows only GET and HEAD falls to the next rule', async () => {
    const get = await verify({
      'X-Original-Method': 'GET',
      'X-Original-URI': '/api/reports/q1',
      Authorization: `Bearer ${user.token}`,
    });
    assertProblem(get, 403);
    const post = await verify({
      'X-Original-Method': 'POST',
      'X-Original-URI': '/api/reports/q1',
      Authorization: `Bearer ${user.token}`,
    });
    assert.equal(post.status, 200, 'the /api/** rule lets any authenticated user POST');
  });

  it('answers 400 for a path that cannot be made canonical', async () => {
    assertProblem(
      await verify({ 'X-Original-Method': 'GET', 'X-Original-URI': '/public/%2e%2e/admin' }),
      400,
    );
  });

  it('answers 400 when the proxy did not say which URI it holds', async () => {
    assertProblem(await verify({ 'X-Original-Method': 'GET', Authorization: `Bearer ${admin.token}` }), 400);
  });

  it('ignores a forged X-User on the question: identity comes only from the token', async () => {
    const response = await verify({
      'X-Original-Method': 'GET',
      'X-Original-URI': '/public/page',
      'X-User': 'root',
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers['x-user'], undefined);
  });
});
