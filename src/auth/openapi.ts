import { z } from 'zod';
import type { Config } from '../config/schema.js';
import { ProblemError, problemTypeUri, type ProblemCode } from '../errors.js';
import { FORWARD_AUTH_PATH } from '../http/forward-auth.js';
import {
  healthBody,
  openApiDocumentBody,
  problemBody,
  publicUserBody,
  readinessBody,
  responseSchemas,
  tokenResponseBody,
  updatedUserBody,
  userListBody,
} from './response-schemas.js';
import {
  loginBody,
  logoutBody,
  passwordChangeBody,
  refreshBody,
  registerBody,
  userChangesBody,
} from './schemas.js';

/** Where the document is served, by the auth router. */
export const OPENAPI_PATH = '/auth/openapi.json';

export interface OpenApiOptions {
  /** The package version, as `info.version`. */
  readonly version: string;
  /** The names of the identity headers that GET /auth/verify answers with. */
  readonly identity: Config['identity'];
}

/** A JSON value of the document; the document is plain data, built once and serialized once. */
type Json = Record<string, unknown>;

type Method = 'get' | 'post' | 'patch' | 'delete';

/** A response other than a problem: its status, and its JSON body when it has one. */
interface Answer {
  readonly status: number;
  readonly description: string;
  /** A schema registered in `responseSchemas`; none for an empty body. */
  readonly body?: z.ZodType;
  readonly headers?: Readonly<Record<string, Json>>;
}

/** One operation, as the handler in src/auth (or src/http) implements it. */
interface Operation {
  readonly method: Method;
  /** OpenAPI path syntax: `{id}` where express has `:id`. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: 'session' | 'users' | 'forward-auth' | 'service';
  readonly summary: string;
  readonly description?: string;
  readonly auth: 'none' | 'bearer' | 'optional-bearer';
  /** The zod schema the handler validates its body with (`parseBody`). */
  readonly body?: { readonly schema: z.ZodType; readonly required: boolean };
  readonly parameters?: readonly Json[];
  readonly answers: readonly Answer[];
  /** Every problem the operation can answer with; grouped into one response per status. */
  readonly problems: readonly ProblemCode[];
}

/** What any endpoint with a JSON body can answer before its handler runs (router.ts). */
const JSON_BODY_PROBLEMS: readonly ProblemCode[] = [
  'invalid_request',
  'unsupported_media_type',
  'payload_too_large',
];
/** What an endpoint that needs a bearer token answers without a valid one (require-caller.ts). */
const BEARER_PROBLEMS: readonly ProblemCode[] = ['unauthenticated', 'invalid_token'];
const ADMIN_PROBLEMS: readonly ProblemCode[] = [...BEARER_PROBLEMS, 'forbidden'];

/** Problem codes that always come with a header, and that header (see the ProblemErrors thrown). */
const PROBLEM_HEADERS: Partial<Record<ProblemCode, string>> = {
  unauthenticated: 'WWW-Authenticate',
  invalid_token: 'WWW-Authenticate',
  too_many_requests: 'Retry-After',
  server_busy: 'Retry-After',
};

const HEADERS: Readonly<Record<string, Json>> = {
  'X-Request-Id': {
    description: "The id of the request in the logs: the client's own when well-formed, else a new UUID.",
    required: true,
    schema: { type: 'string' },
  },
  'WWW-Authenticate': {
    description: 'RFC 6750 §3: `Bearer`, or `Bearer error="invalid_token"` for a token that was refused.',
    schema: { type: 'string' },
  },
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    schema: { type: 'integer', minimum: 1 },
  },
  'Cache-Control': {
    description: 'Always `no-store`.',
    required: true,
    schema: { type: 'string', const: 'no-store' },
  },
};

const headerRef = (name: string): Json => ({ $ref: `#/components/headers/${name}` });

function operations(identity: Config['identity']): readonly Operation[] {
  const noStore = { 'Cache-Control': headerRef('Cache-Control') };
  const tokens = (status: number, description: string): Answer => ({
    status,
    description,
    body: tokenResponseBody,
    headers: noStore,
  });
  const userId: Json = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The user id.',
    schema: { type: 'string' },
  };
  const originalHeader = (name: string, description: string): Json => ({
    name,
    in: 'header',
    required: false,
    description,
    schema: { type: 'string' },
  });
  const identityHeader = (description: string): Json => ({ description, schema: { type: 'string' } });

  const all: Operation[] = [
    {
      method: 'post',
      path: '/auth/register',
      operationId: 'register',
      tag: 'session',
      summary: 'Create an account and start a session',
      description:
        'The username and password are checked further by policy (400). Counted against the client ' +
        'IP (`limits.register`).',
      auth: 'none',
      body: { schema: registerBody, required: true },
      answers: [tokens(201, 'The account was created; a new session.')],
      problems: [
        ...JSON_BODY_PROBLEMS,
        'registration_disabled',
        'username_taken',
        'too_many_requests',
        'server_busy',
      ],
    },
    {
      method: 'post',
      path: '/auth/login',
      operationId: 'login',
      tag: 'session',
      summary: 'Start a session with a username and password',
      description:
        'One answer (401) whether the user is unknown, disabled or the password wrong. Counted per ' +
        'username and per client IP before the password is checked (`limits.login`).',
      auth: 'none',
      body: { schema: loginBody, required: true },
      answers: [tokens(200, 'A new session.')],
      problems: [...JSON_BODY_PROBLEMS, 'invalid_credentials', 'too_many_requests', 'server_busy'],
    },
    {
      method: 'post',
      path: '/auth/refresh',
      operationId: 'refresh',
      tag: 'session',
      summary: 'Exchange a refresh token for a new pair',
      description:
        'The token presented stops working. Presenting one that was already exchanged ends its whole ' +
        'family, since one of its two holders is not who they claim.',
      auth: 'none',
      body: { schema: refreshBody, required: true },
      answers: [tokens(200, 'A new access and refresh token.')],
      problems: [...JSON_BODY_PROBLEMS, 'invalid_refresh_token'],
    },
    {
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      tag: 'session',
      summary: 'End a session',
      description:
        'The access token presented is refused from now on; the refresh token, when given and the ' +
        "caller's, stops working with its family.",
      auth: 'bearer',
      body: { schema: logoutBody, required: false },
      answers: [{ status: 204, description: 'Logged out.' }],
      problems: [...JSON_BODY_PROBLEMS, ...BEARER_PROBLEMS],
    },
    {
      method: 'get',
      path: '/auth/me',
      operationId: 'getMe',
      tag: 'session',
      summary: 'The signed-in user',
      auth: 'bearer',
      answers: [{ status: 200, description: 'The caller.', body: publicUserBody, headers: noStore }],
      problems: BEARER_PROBLEMS,
    },
    {
      method: 'post',
      path: '/auth/password',
      operationId: 'changePassword',
      tag: 'session',
      summary: 'Change the password',
      description:
        'Every token of the user issued before stops working. Wrong current passwords count against ' +
        'the login limit of the username.',
      auth: 'bearer',
      body: { schema: passwordChangeBody, required: true },
      answers: [{ status: 204, description: 'Changed; sign in again.' }],
      problems: [
        ...JSON_BODY_PROBLEMS,
        ...BEARER_PROBLEMS,
        'wrong_password',
        'too_many_requests',
        'server_busy',
      ],
    },
    {
      method: 'get',
      path: '/auth/users',
      operationId: 'listUsers',
      tag: 'users',
      summary: 'List the users (admin role)',
      auth: 'bearer',
      answers: [{ status: 200, description: 'Every user.', body: userListBody, headers: noStore }],
      problems: ADMIN_PROBLEMS,
    },
    {
      method: 'patch',
      path: '/auth/users/{id}',
      operationId: 'updateUser',
      tag: 'users',
      summary: "Change a user's roles or disable them (admin role)",
      description:
        "The user's access tokens are superseded (a refresh brings the new roles); disabling also ends " +
        'every session.',
      auth: 'bearer',
      parameters: [userId],
      body: { schema: userChangesBody, required: true },
      answers: [
        { status: 200, description: 'The user as changed.', body: updatedUserBody, headers: noStore },
      ],
      problems: [...JSON_BODY_PROBLEMS, ...ADMIN_PROBLEMS, 'not_found'],
    },
    {
      method: 'delete',
      path: '/auth/users/{id}',
      operationId: 'deleteUser',
      tag: 'users',
      summary: 'Delete a user (admin role)',
      description: "The user's tokens are refused at once.",
      auth: 'bearer',
      parameters: [userId],
      answers: [{ status: 204, description: 'Deleted.' }],
      problems: [...ADMIN_PROBLEMS, 'not_found'],
    },
    {
      method: 'get',
      path: FORWARD_AUTH_PATH,
      operationId: 'verify',
      tag: 'forward-auth',
      summary: 'Decide on a request for a proxy in front (nginx auth_request, Traefik ForwardAuth, …)',
      description:
        'Makes the original URI canonical and applies the rules exactly as when proxying, with the ' +
        'Authorization of the original request. Nothing is forwarded.',
      auth: 'optional-bearer',
      parameters: [
        originalHeader('X-Forwarded-Method', 'The method of the original request (default GET).'),
        originalHeader(
          'X-Forwarded-Uri',
          'The URI of the original request; this or X-Original-URI is required.',
        ),
        originalHeader('X-Original-Method', 'As X-Forwarded-Method (nginx).'),
        originalHeader('X-Original-URI', 'As X-Forwarded-Uri (nginx).'),
      ],
      answers: [
        {
          status: 200,
          description: 'Allowed; with the identity headers when a valid token came along.',
          headers: {
            ...noStore,
            [identity.userHeader]: identityHeader('The username.'),
            [identity.idHeader]: identityHeader('The user id.'),
            [identity.rolesHeader]: identityHeader('The roles, comma-separated.'),
          },
        },
      ],
      problems: ['invalid_request', 'invalid_path', 'unauthenticated', 'invalid_token', 'forbidden'],
    },
    {
      method: 'get',
      path: OPENAPI_PATH,
      operationId: 'getOpenApiDocument',
      tag: 'service',
      summary: 'This document',
      auth: 'none',
      answers: [
        {
          status: 200,
          description: 'The OpenAPI 3.1 document of these endpoints.',
          body: openApiDocumentBody,
        },
      ],
      problems: [],
    },
    {
      method: 'get',
      path: '/healthz',
      operationId: 'liveness',
      tag: 'service',
      summary: 'Liveness',
      auth: 'none',
      answers: [{ status: 200, description: 'The process serves.', body: healthBody, headers: noStore }],
      problems: [],
    },
    {
      method: 'get',
      path: '/readyz',
      operationId: 'readiness',
      tag: 'service',
      summary: 'Readiness',
      auth: 'none',
      answers: [
        { status: 200, description: 'The store is open.', body: readinessBody, headers: noStore },
        {
          status: 503,
          description: 'Not ready: starting, shutting down or the store is closed.',
          body: readinessBody,
          headers: noStore,
        },
      ],
      problems: [],
    },
  ];
  // With the Redis store, whatever reads or writes it answers 503 while Redis is unreachable.
  return all.map((operation) =>
    STORELESS_OPERATIONS.has(operation.operationId)
      ? operation
      : { ...operation, problems: [...operation.problems, 'store_unavailable'] },
  );
}

/** Operations that never touch the store. */
const STORELESS_OPERATIONS = new Set(['getOpenApiDocument', 'liveness', 'readiness']);

/**
 * The OpenAPI 3.1 document of the sidecar's own endpoints. Request bodies are the zod schemas the
 * handlers validate with, responses those of response-schemas.ts, so neither can drift from the code.
 */
export function buildOpenApiDocument(options: OpenApiOptions): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const operation of operations(options.identity)) {
    (paths[operation.path] ??= {})[operation.method] = describeOperation(operation);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'auth-sidecar',
      version: options.version,
      summary: "The sidecar's own endpoints: sessions, user management, forward-auth and health.",
      description:
        'Bodies are JSON: another type gets 415, one over 16 KB gets 413, malformed JSON 400. Errors are ' +
        'RFC 9457 application/problem+json with a stable `code` and the `requestId`. A method a path ' +
        'does not take gets 405 with `Allow`.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    tags: [
      { name: 'session', description: 'Accounts, tokens and sessions.' },
      { name: 'users', description: 'User management; needs the admin role.' },
      { name: 'forward-auth', description: 'Decisions for a proxy in front.' },
      { name: 'service', description: 'Health and this document.' },
    ],
    paths,
    components: {
      schemas: componentSchemas(),
      headers: HEADERS,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'The `accessToken` of a token response.',
        },
      },
    },
  };
}

function describeOperation(operation: Operation): Json {
  const responses: Record<string, Json> = {};
  for (const answer of operation.answers) responses[String(answer.status)] = describeAnswer(answer);
  for (const [status, codes] of groupByStatus(operation.problems)) {
    if (responses[String(status)] !== undefined) {
      throw new TypeError(
        `openapi: ${operation.operationId} answers ${status} both with and without a problem`,
      );
    }
    responses[String(status)] = describeProblems(status, codes);
  }
  responses.default = {
    description: 'Any other failure, such as 500 `internal`, or 405 for a method the path does not take.',
    headers: { 'X-Request-Id': headerRef('X-Request-Id') },
    content: { 'application/problem+json': { schema: schemaRef(problemBody) } },
  };
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description === undefined ? {} : { description: operation.description }),
    ...securityOf(operation.auth),
    ...(operation.parameters === undefined ? {} : { parameters: operation.parameters }),
    ...(operation.body === undefined
      ? {}
      : {
          requestBody: {
            required: operation.body.required,
            content: { 'application/json': { schema: requestSchema(operation.body.schema) } },
          },
        }),
    responses,
  };
}

function securityOf(auth: Operation['auth']): Json {
  switch (auth) {
    case 'none':
      return {};
    case 'bearer':
      return { security: [{ bearerAuth: [] }] };
    case 'optional-bearer':
      // An empty requirement makes the token optional; the rules decide whether it is needed.
      return { security: [{}, { bearerAuth: [] }] };
  }
}

function describeAnswer(answer: Answer): Json {
  return {
    description: answer.description,
    headers: { 'X-Request-Id': headerRef('X-Request-Id'), ...answer.headers },
    ...(answer.body === undefined
      ? {}
      : { content: { 'application/json': { schema: schemaRef(answer.body) } } }),
  };
}

/** The problems of one status: the Problem schema narrowed to their codes, types and status. */
function describeProblems(status: number, codes: readonly ProblemError[]): Json {
  const headers: Record<string, Json> = { 'X-Request-Id': headerRef('X-Request-Id') };
  for (const name of new Set(codes.map((problem) => PROBLEM_HEADERS[problem.code]))) {
    if (name === undefined) continue;
    const always = codes.every((problem) => PROBLEM_HEADERS[problem.code] === name);
    headers[name] = always ? { ...HEADERS[name], required: true } : headerRef(name);
  }
  return {
    description: codes.map((problem) => `${problem.title} (\`${problem.code}\`)`).join('; '),
    headers,
    content: {
      'application/problem+json': {
        schema: {
          type: 'object',
          allOf: [schemaRef(problemBody)],
          properties: {
            type: { enum: codes.map((problem) => problemTypeUri(problem.code)) },
            status: { const: status },
            code: { enum: codes.map((problem) => problem.code) },
          },
        },
      },
    },
  };
}

/** Problems by HTTP status, in ascending order; a code listed twice counts once. */
function groupByStatus(codes: readonly ProblemCode[]): [number, ProblemError[]][] {
  const byStatus = new Map<number, ProblemError[]>();
  for (const code of new Set(codes)) {
    // A ProblemError knows the status and title of its code; errors.ts keeps that table private.
    const problem = new ProblemError(code, code);
    const group = byStatus.get(problem.status);
    if (group) group.push(problem);
    else byStatus.set(problem.status, [problem]);
  }
  return [...byStatus].sort(([a], [b]) => a - b);
}

/** A request body exactly as the handler's zod schema accepts it. */
function requestSchema(schema: z.ZodType): Json {
  const json: Json = z.toJSONSchema(schema, { io: 'input' });
  // OpenAPI 3.1 schemas take the document's dialect (a superset of draft 2020-12).
  delete json.$schema;
  return json;
}

function schemaRef(schema: z.ZodType): Json {
  const id = responseSchemas.get(schema)?.id;
  if (id === undefined) throw new TypeError('openapi: a response schema is not in responseSchemas');
  return { $ref: `#/components/schemas/${id}` };
}

function componentSchemas(): Record<string, Json> {
  const { schemas } = z.toJSONSchema(responseSchemas, {
    io: 'output',
    uri: (id) => `#/components/schemas/${id}`,
  });
  const components: Record<string, Json> = {};
  for (const [id, schema] of Object.entries(schemas)) {
    // zod names each one by `uri`; a fragment is no valid $id, and the dialect is the document's.
    const component: Json = { ...schema };
    delete component.$schema;
    delete component.$id;
    components[id] = component;
  }
  return components;
}
