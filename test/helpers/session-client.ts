import assert from 'node:assert/strict';
import request from 'supertest';
import { assertRefused, onlyForwardedSince } from './attack.js';
import { JSON_HEADERS } from './auth-client.js';
import { assertTokenResponse, type TokenResponseBody } from './contract.js';
import type { TestUpstream } from './upstream.js';

/** POST `body` as JSON, with a bearer token when one is given. */
export function postJson(baseUrl: string, path: string, body: unknown, token?: string): request.Test {
  const test = request(baseUrl).post(path).set(JSON_HEADERS);
  if (token !== undefined) test.set('Authorization', `Bearer ${token}`);
  return test.send(body as object);
}

/** PATCH `body` as JSON with a bearer token. */
export function patchJson(baseUrl: string, path: string, body: unknown, token?: string): request.Test {
  const test = request(baseUrl).patch(path).set(JSON_HEADERS);
  if (token !== undefined) test.set('Authorization', `Bearer ${token}`);
  return test.send(body as object);
}

/** GET `path`, with a bearer token when one is given. */
export function getWith(baseUrl: string, path: string, token?: string): request.Test {
  const test = request(baseUrl).get(path);
  if (token !== undefined) test.set('Authorization', `Bearer ${token}`);
  return test;
}

/** DELETE `path`, with a bearer token when one is given. */
export function deleteWith(baseUrl: string, path: string, token?: string): request.Test {
  const test = request(baseUrl).delete(path);
  if (token !== undefined) test.set('Authorization', `Bearer ${token}`);
  return test;
}

/** Exchanges a refresh token; must succeed. */
export async function refreshOk(baseUrl: string, refreshToken: string): Promise<TokenResponseBody> {
  return assertTokenResponse(await postJson(baseUrl, '/auth/refresh', { refreshToken }), 200);
}

/** Asserts the 401 `invalid_token` problem with its RFC 6750 challenge. */
export function assertInvalidToken(response: request.Response): void {
  assertRefused(response, 401, 'invalid_token');
  assert.equal(response.headers['www-authenticate'], 'Bearer error="invalid_token"');
}

/** A GET through a proxy with `token` must reach `upstream` once, at `path`. Returns what arrived. */
export async function assertForwarded(
  baseUrl: string,
  upstream: TestUpstream,
  path: string,
  token: string,
): Promise<ReturnType<typeof onlyForwardedSince>> {
  const seen = upstream.requests.length;
  const response = await getWith(baseUrl, path, token);
  assert.equal(response.status, 200, response.text);
  const recorded = onlyForwardedSince(upstream, seen);
  assert.equal(recorded.url, path);
  return recorded;
}
