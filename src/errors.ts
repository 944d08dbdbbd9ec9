/**
 * Every error a client can see, with a stable code, and the one function that renders them
 * as RFC 9457 problem details. This module imports nothing from the rest of the sidecar.
 */

/** Stable problem codes: part of the public contract, never renamed. */
export type ProblemCode =
  | 'invalid_request'
  | 'invalid_path'
  | 'unsupported_media_type'
  | 'payload_too_large'
  | 'request_timeout'
  | 'header_fields_too_large'
  | 'unauthenticated'
  | 'invalid_token'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'too_many_requests'
  | 'wrong_password'
  | 'upgrade_refused'
  | 'invalid_credentials'
  | 'invalid_refresh_token'
  | 'username_taken'
  | 'registration_disabled'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  | 'store_unavailable'
  | 'server_busy'
  | 'internal';

const PROBLEM_TYPES: Readonly<Record<ProblemCode, { status: number; title: string }>> = {
  invalid_request: { status: 400, title: 'Invalid request' },
  invalid_path: { status: 400, title: 'Invalid request path' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  request_timeout: { status: 408, title: 'Request timeout' },
  header_fields_too_large: { status: 431, title: 'Request header fields too large' },
  unauthenticated: { status: 401, title: 'Authentication required' },
  invalid_token: { status: 401, title: 'Invalid access token' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  too_many_requests: { status: 429, title: 'Too many requests' },
  wrong_password: { status: 403, title: 'Wrong password' },
  upgrade_refused: { status: 501, title: 'Protocol upgrade not supported' },
  invalid_credentials: { status: 401, title: 'Invalid credentials' },
  invalid_refresh_token: { status: 401, title: 'Invalid refresh token' },
  username_taken: { status: 409, title: 'Username taken' },
  registration_disabled: { status: 403, title: 'Registration disabled' },
  upstream_unavailable: { status: 502, title: 'Upstream unavailable' },
  upstream_timeout: { status: 504, title: 'Upstream timeout' },
  store_unavailable: { status: 503, title: 'Store unavailable' },
  server_busy: { status: 503, title: 'Server busy' },
  internal: { status: 500, title: 'Internal error' },
};

/** RFC 9457 §3.1.1: the type URI is the problem type's primary identifier. */
export function problemTypeUri(code: ProblemCode): string {
  return `urn:auth-sidecar:problem:${code}`;
}

export interface ProblemOptions {
  /** Response headers that belong to this problem, such as `WWW-Authenticate`. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** An error that a client caused or must be told about; rendered as problem+json. */
export class ProblemError extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ProblemCode, detail: string, options: ProblemOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    const type = PROBLEM_TYPES[code];
    this.name = 'ProblemError';
    this.code = code;
    this.status = type.status;
    this.title = type.title;
    this.detail = detail;
    this.headers = options.headers ?? {};
  }
}

/** The JSON body of an `application/problem+json` response. */
export interface ProblemBody {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ProblemCode;
  readonly requestId?: string;
}

export interface Problem {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ProblemBody;
}

/** Errors raised by body-parser (express.json) carry a `type` and a `status`. */
interface BodyParserError {
  readonly type: string;
  readonly status: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as { type?: unknown }).type === 'string' &&
    typeof (err as { status?: unknown }).status === 'number'
  );
}

function fromBodyParser(err: BodyParserError): ProblemError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return new ProblemError('invalid_request', 'The request body is not valid JSON.');
    case 'entity.too.large':
      return new ProblemError('payload_too_large', 'The request body is larger than allowed.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ProblemError('unsupported_media_type', 'The request body encoding is not supported.');
    case 'request.aborted':
    case 'request.size.invalid':
      return new ProblemError('invalid_request', 'The request body was not received completely.');
    default:
      return undefined;
  }
}

/**
 * Maps any thrown value to the problem a client sees. Unknown errors become a 500 whose detail
 * reveals nothing of the cause; the caller logs the cause.
 */
export function toProblem(err: unknown, requestId?: string): Problem {
  const problem =
    err instanceof ProblemError
      ? err
      : ((isBodyParserError(err) ? fromBodyParser(err) : undefined) ??
        new ProblemError('internal', 'The request could not be completed.'));
  return {
    status: problem.status,
    headers: problem.headers,
    body: {
      type: problemTypeUri(problem.code),
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      code: problem.code,
      ...(requestId === undefined ? {} : { requestId }),
    },
  };
}
