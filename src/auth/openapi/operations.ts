/**
 * The sidecar's own endpoints, one entry each, as their handlers implement them: what they take,
 * what they answer, and every problem they can answer. openapi.ts turns the list into the document.
 */
/** Where the document is served, by the auth router. */
import type { z } from 'zod';
import type { Config } from '../../config/schema.js';
import type { ProblemCode } from '../../errors.js';
import { FORWARD_AUTH_PATH } from '../../http/own-paths.js';
import {
  healthBody,
  jwksBody,
  openApiDocumentBody,
  publicUserBody,
  readinessBody,
  tokenResponseBody,
  updatedUserBody,
  userListBody,
} from '../schemas/responses.js';
import {
  loginBody,
  logoutBody,
  passwordChangeBody,
  refreshBody,
  registerBody,
  userChangesBody,
} from '../schemas/requests.js';

/** Where the document is served, by the auth router. */
const OPENAPI_PATH = '/auth/openapi.json';

/** A JSON value of the document; the document is plain data, built once and serialized once. */
export type Json = Record<string, unknown>;

type Method = 'get' | 'post' | 'patch' | 'delete';

/** A response other than a problem: its status, and its JSON body when it has one. */
export interface Answer {
  readonly status: number;
  readonly description: string;
  /** A schema registered in `responseSchemas`; none for an empty body. */
  readonly body?: z.ZodType;
  readonly headers?: Readonly<Record<string, Json>>;
}

/** One operation, as the handler in src/auth/endpoints (or, for forward-auth, src/front) implements it. */
export interface Operation {
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

export const headerRef = (name: string): Json => ({ $ref: `#/components/headers/${name}` });

export function operations(identity: Config['identity']): readonly Operation[] {
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
        '(`limits.register`), and the hashing on its password checks (`limits.passwordChecks`).',
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
        'The credentials are read from the JSON body only; an empty field, or a `username` or ' +
        '`password` parameter in the URL, is 400. One answer (401) ' +
        'whether the user is unknown, disabled or the password wrong. Counted per username and per ' +
        'client before the password is checked (`limits.login`, and `limits.passwordChecks` whatever ' +
        'the outcome).',
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
        'session, every access token of it included, since one of its two holders is not who they ' +
        'claim. Metered per session and per user (429, the session left as it was).',
      auth: 'none',
      body: { schema: refreshBody, required: true },
      answers: [tokens(200, 'A new access and refresh token.')],
      problems: [...JSON_BODY_PROBLEMS, 'invalid_refresh_token', 'too_many_requests'],
    },
    {
      method: 'post',
      path: '/auth/logout',
      operationId: 'logout',
      tag: 'session',
      summary: 'End a session',
      description:
        'The session of the access token presented ends: it, the access tokens of earlier refreshes ' +
        "and its refresh token are refused from now on; the refresh token, when given and the caller's, " +
        'ends its session too.',
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
        'Every token of the user issued before stops working. Wrong current passwords count per user ' +
        'in a bucket of their own (`limits.passwordChange`), which failed logins never fill.',
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
        originalHeader(
          'X-Original-Method',
          'The method of the original request; required with forwardAuth.headers: original (the default).',
        ),
        originalHeader(
          'X-Original-URI',
          'The URI of the original request; required with forwardAuth.headers: original (the default).',
        ),
        originalHeader(
          'X-Forwarded-Method',
          'As X-Original-Method, with forwardAuth.headers: forwarded; a header of the pair not configured, or one sent twice, is answered 400.',
        ),
        originalHeader('X-Forwarded-Uri', 'As X-Original-URI, with forwardAuth.headers: forwarded.'),
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
      problems: [
        'invalid_request',
        'invalid_path',
        'unauthenticated',
        'invalid_token',
        'forbidden',
        'method_not_allowed',
      ],
    },
    {
      method: 'get',
      path: '/auth/jwks.json',
      operationId: 'getJwks',
      tag: 'service',
      summary: 'Public signing keys',
      description:
        "The public keys that verify the sidecar's tokens and identity assertions, by `kid`. Only with tokens.keys; with an HS256 secret, 404.",
      auth: 'none',
      answers: [
        {
          status: 200,
          description: 'The JWK Set; cacheable for 5 minutes.',
          body: jwksBody,
          headers: { 'Cache-Control': { schema: { type: 'string', example: 'public, max-age=300' } } },
        },
      ],
      problems: ['not_found'],
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
          description:
            'Not ready, with the reason: shutting down, the store is unavailable (unless `store.unavailable` is serve-verified), or every backend connection (`upstream.maxConnections`) is in use.',
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
