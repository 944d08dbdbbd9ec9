import assert from 'node:assert/strict';
import { assertProblem, type ResponseLike } from './problem.js';
import { rawRequest } from './raw-http.js';
import type { RecordedRequest, TestUpstream } from './upstream.js';

/**
 * Asserts a refusal: the status, an RFC 9457 problem body, and its stable `code`. Returns the
 * problem for further checks.
 */
export function assertRefused(
  response: ResponseLike | undefined,
  status: number,
  code: string,
): Record<string, unknown> {
  assert.ok(response, `expected a ${status} ${code} response, got none`);
  const problem = assertProblem(response, status) as unknown as Record<string, unknown>;
  assert.equal(problem.code, code, `problem.code of ${JSON.stringify(problem)}`);
  return problem;
}

/** What reached `upstream` since it had seen `before` requests. */
export function forwardedSince(upstream: TestUpstream, before: number): RecordedRequest[] {
  return upstream.requests.slice(before);
}

/** The one request that reached `upstream` since `before`; fails on none or several. */
export function onlyForwardedSince(upstream: TestUpstream, before: number): RecordedRequest {
  const seen = forwardedSince(upstream, before);
  assert.equal(seen.length, 1, `the upstream saw ${JSON.stringify(seen.map((r) => r.url))} for one request`);
  return seen[0] as RecordedRequest;
}

/** Asserts that nothing reached `upstream` since `before`. */
export function assertNothingForwarded(upstream: TestUpstream, before: number): void {
  const seen = forwardedSince(upstream, before).map((r) => `${r.method} ${r.url}`);
  assert.deepEqual(seen, [], 'the upstream saw nothing');
}

/**
 * A plain public request on a new connection: it must still be answered 200 and reach the
 * upstream. Returns what the upstream recorded for it.
 */
export async function assertStillServes(baseUrl: string, upstream: TestUpstream): Promise<RecordedRequest> {
  const path = `/public/still-serving-${upstream.requests.length}`;
  const response = await rawRequest(baseUrl, { target: path });
  assert.equal(response.status, 200, `a normal request on a new connection: ${response.raw}`);
  const recorded = upstream.requests.find((r) => r.url === path);
  assert.ok(recorded, `the upstream saw ${path}`);
  return recorded;
}
