import { z } from 'zod';
import type { Config } from '../../config/schema.js';
import { ProblemError, problemTypeUri, type ProblemCode } from '../../errors.js';
import { headerRef, operations, type Answer, type Json, type Operation } from './operations.js';
import { problemBody, responseSchemas } from '../schemas/responses.js';

export interface OpenApiOptions {
  /** The package version, as `info.version`. */
  readonly version: string;
  /** The names of the identity headers that GET /auth/verify answers with. */
  readonly identity: Config['identity'];
}

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
