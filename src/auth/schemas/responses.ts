import { z } from 'zod';
import type { ProblemCode } from '../../errors.js';

/**
 * The response bodies of the sidecar's own endpoints. Each is registered under the name it has in
 * the OpenAPI document's `components.schemas`; the e2e tests validate real responses against them.
 */
export const responseSchemas = z.registry<{ id: string }>();

/** Every stable problem code; `satisfies` fails the build when errors.ts gains or loses one. */
const PROBLEM_CODES = {
  invalid_request: 'invalid_request',
  invalid_path: 'invalid_path',
  unsupported_media_type: 'unsupported_media_type',
  payload_too_large: 'payload_too_large',
  request_timeout: 'request_timeout',
  header_fields_too_large: 'header_fields_too_large',
  unauthenticated: 'unauthenticated',
  invalid_token: 'invalid_token',
  forbidden: 'forbidden',
  not_found: 'not_found',
  method_not_allowed: 'method_not_allowed',
  too_many_requests: 'too_many_requests',
  wrong_password: 'wrong_password',
  upgrade_refused: 'upgrade_refused',
  invalid_credentials: 'invalid_credentials',
  invalid_refresh_token: 'invalid_refresh_token',
  username_taken: 'username_taken',
  registration_disabled: 'registration_disabled',
  upstream_unavailable: 'upstream_unavailable',
  upstream_timeout: 'upstream_timeout',
  store_unavailable: 'store_unavailable',
  server_busy: 'server_busy',
  internal: 'internal',
} as const satisfies { readonly [C in ProblemCode]: C };

/** A compact JWS (RFC 7515 §7.1): three base64url parts. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** `{id, username, roles}`: the user of a token response and of GET /auth/me. */
export const publicUserBody = z
  .strictObject({
    id: z.string().min(1).describe('The user id; the `sub` claim of the access token.'),
    username: z.string().min(1).describe('The normalized username (NFKC, lower case).'),
    roles: z.array(z.string()),
  })
  .describe('A user as the user sees themselves.')
  .register(responseSchemas, { id: 'User' });

/** The body of register (201), login and refresh (200). */
export const tokenResponseBody = z
  .strictObject({
    user: publicUserBody,
    accessToken: z.string().regex(COMPACT_JWT).describe('An HS256 JWT, valid for `expiresIn` seconds.'),
    refreshToken: z
      .string()
      .min(1)
      .describe('Opaque; exchange it at POST /auth/refresh for a new pair. Each works once.'),
    tokenType: z.literal('Bearer'),
    expiresIn: z.int().positive().describe("The access token's lifetime in seconds."),
  })
  .describe('A new session or a renewed one (RFC 6749 §5.1); sent with Cache-Control: no-store.')
  .register(responseSchemas, { id: 'TokenResponse' });

/** A user as the admin endpoints show it: never the password hash. */
export const adminUserBody = z
  .strictObject({
    id: z.string().min(1),
    username: z.string().min(1),
    roles: z.array(z.string()),
    disabled: z.boolean(),
    createdAt: z.iso.datetime(),
    email: z.string().optional(),
  })
  .describe('A user as the admin endpoints show it.')
  .register(responseSchemas, { id: 'AdminUser' });

export const userListBody = z
  .strictObject({ users: z.array(adminUserBody) })
  .register(responseSchemas, { id: 'UserList' });

export const updatedUserBody = z
  .strictObject({ user: adminUserBody })
  .register(responseSchemas, { id: 'UpdatedUser' });

/** RFC 9457 problem details, with the sidecar's stable `code` and the request id. */
export const problemBody = z
  .strictObject({
    type: z.string().describe('`urn:auth-sidecar:problem:` followed by the code.'),
    title: z.string().min(1),
    status: z.int().min(400).max(599).describe('The response status, repeated.'),
    detail: z.string().min(1),
    code: z.enum(PROBLEM_CODES).describe('Stable: never renamed, safe to switch on.'),
    requestId: z.string().optional().describe('The X-Request-Id of the response, for the logs.'),
  })
  .describe('An RFC 9457 problem (application/problem+json).')
  .register(responseSchemas, { id: 'Problem' });

export const healthBody = z
  .strictObject({ status: z.literal('ok') })
  .register(responseSchemas, { id: 'Health' });

export const readinessBody = z
  .strictObject({
    status: z.enum(['ready', 'not_ready']),
    reason: z
      .enum(['shutting_down', 'store_unavailable', 'upstream_saturated'])
      .optional()
      .describe('Why not ready: stopping, the store unavailable, or every backend connection in use.'),
  })
  .register(responseSchemas, { id: 'Readiness' });

/** This document's own outline; the OpenAPI 3.1 schema proper is the specification's. */
export const openApiDocumentBody = z
  .looseObject({
    openapi: z.string(),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .describe('An OpenAPI 3.1 document.')
  .register(responseSchemas, { id: 'OpenApiDocument' });

export const jwksBody = z
  .strictObject({
    keys: z.array(
      z.looseObject({
        kty: z.enum(['OKP', 'EC', 'RSA']),
        kid: z.string(),
        alg: z.enum(['EdDSA', 'ES256', 'RS256']),
        use: z.literal('sig'),
      }),
    ),
  })
  .describe('The public keys of tokens.keys (RFC 7517 JWK Set), the signing key first.')
  .register(responseSchemas, { id: 'JsonWebKeySet' });
