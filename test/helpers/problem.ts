import assert from 'node:assert/strict';

/** What both a supertest response and a raw-socket response offer. */
export interface ResponseLike {
  readonly status: number;
  readonly headers: Readonly<Record<string, unknown>>;
  /** Parsed JSON (supertest) or the raw text (raw socket). */
  readonly body: unknown;
  readonly text?: string;
}

/** Body of an RFC 9457 problem response, as far as the contract goes. */
export interface ProblemJson {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
}

/** The four RFC 9457 members the contract names, for comparing two problems. */
export function problemCore(problem: ProblemJson): ProblemJson {
  const { type, title, status, detail } = problem;
  return { type, title, status, detail };
}

/** Asserts the status and `application/problem+json`, for HEAD, whose body is never sent. */
export function assertProblemHeaders(response: ResponseLike, status: number): void {
  const context = `${response.status} ${typeof response.body === 'string' ? response.body : (response.text ?? '')}`;
  assert.equal(response.status, status, context);
  assert.match(String(response.headers['content-type']), /^application\/problem\+json\b/, context);
}

/** Asserts an RFC 9457 problem response: status, content type, and type, title, status and detail. */
export function assertProblem(response: ResponseLike, status: number): ProblemJson {
  assertProblemHeaders(response, status);
  const raw = typeof response.body === 'string' ? (JSON.parse(response.body) as unknown) : response.body;
  const body = raw as Record<string, unknown>;
  for (const member of ['type', 'title', 'detail'] as const) {
    assert.equal(typeof body[member], 'string', `problem.${member} is a string`);
    assert.notEqual(body[member], '', `problem.${member} is not empty`);
  }
  assert.equal(body.status, status, 'problem.status repeats the response status');
  return body as unknown as ProblemJson;
}
