import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import request from 'supertest';
import type { z } from 'zod';
import { buildOpenApiDocument } from '../../src/auth/openapi/document.js';
import {
  healthBody,
  problemBody,
  publicUserBody,
  readinessBody,
  tokenResponseBody,
  updatedUserBody,
  userListBody,
} from '../../src/auth/schemas/responses.js';
import { createAuthApp } from '../../src/auth/endpoints/router.js';
import { packageVersion } from '../../src/runtime.js';
import { JSON_HEADERS, login, register, type Session } from '../helpers/auth-client.js';
import { uniqueUsername } from '../helpers/contract.js';
import { assertProblem } from '../helpers/problem.js';
import { deleteWith, getWith, patchJson, postJson } from '../helpers/session-client.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';

const PASSWORD = 'correct-horse-1';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

type Json = Record<string, unknown>;

interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly version: string };
  readonly paths: Readonly<Record<string, Readonly<Record<string, Json>>>>;
  readonly components: { readonly schemas: Readonly<Record<string, Json>> };
}

/** `METHOD /path` of every operation in the document, path in OpenAPI syntax. */
function documentedOperations(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.filter((method) => item[method] !== undefined).map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** What express keeps of a route or a mounted router (router@2 layers; `rawPath` is the mount path). */
interface RouterLayer {
  readonly name: string;
  readonly rawPath?: string;
  readonly route?: { readonly path: string; readonly methods: Readonly<Record<string, boolean>> };
  readonly handle: { readonly stack?: readonly RouterLayer[] };
}

/** `METHOD /path` of every route an express router serves, `:id` written as `{id}`. */
function servedOperations(layers: readonly RouterLayer[], prefix = ''): string[] {
  return layers.flatMap((layer) => {
    if (layer.route) {
      const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods)
        .filter((method) => method !== '_all')
        .map((method) => `${method.toUpperCase()} ${path}`);
    }
    if (layer.name === 'router') {
      assert.equal(typeof layer.rawPath, 'string', 'a mounted router knows its mount path');
      return servedOperations(layer.handle.stack ?? [], `${prefix}${layer.rawPath}`);
    }
    return [];
  });
}

/** Replaces every local `$ref` with what it points to, so each schema compiles on its own. */
function inlineRefs(node: unknown, document: OpenApiDocument): unknown {
  if (Array.isArray(node)) return node.map((item) => inlineRefs(item, document));
  if (typeof node !== 'object' || node === null) return node;
  const { $ref, ...rest } = node as Json;
  const inlinedRest = Object.fromEntries(
    Object.entries(rest).map(([key, value]) => [key, inlineRefs(value, document)]),
  );
  if ($ref === undefined) return inlinedRest;
  assert.equal(typeof $ref, 'string');
  assert.match($ref as string, /^#\//, 'only local references');
  const target = ($ref as string)
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((at, part) => (at as Json | undefined)?.[part], document);
  assert.ok(target !== undefined, `${$ref as string} resolves`);
  return { ...(inlineRefs(target, document) as Json), ...inlinedRest };
}

describe('GET /auth/openapi.json', () => {
  let sidecar: TestSidecar;
  let document: OpenApiDocument;
  let admin: SeededUser;
  let member: SeededUser;
  /** Changed and deleted by the admin cases; `member` stays as it is. */
  let target: SeededUser;
  // Formats are left to the patterns zod writes beside them (email, date-time); ajv has no formats built in.
  const ajv = new Ajv2020({ allErrors: true, validateFormats: false });

  const operation = (key: string): Json => {
    const [method = '', path = ''] = key.split(' ');
    const found = document.paths[path]?.[method.toLowerCase()];
    assert.ok(found, `${key} is documented`);
    return found;
  };

  const compile = (schema: unknown): ValidateFunction => ajv.compile(inlineRefs(schema, document) as Json);

  const requestBodyValidator = (key: string): ValidateFunction => {
    const body = operation(key).requestBody as { content: Record<string, { schema: unknown }> } | undefined;
    const media = body?.content['application/json'];
    assert.ok(media, `${key} documents an application/json request body`);
    return compile(media.schema);
  };

  /**
   * Asserts that `response` is one the document names for `key`: its status (not just `default`),
   * its media type and a body that validates, or no body where none is documented, and the
   * headers documented as required.
   */
  const assertDocumented = (key: string, response: request.Response): void => {
    const context = `${key} answered ${response.status}: ${response.text.slice(0, 300)}`;
    const responses = operation(key).responses as Record<string, Json>;
    const documented = responses[String(response.status)];
    assert.ok(documented, `${context}; documented: ${Object.keys(responses).join(', ')}`);
    const resolved = inlineRefs(documented, document) as {
      headers?: Record<string, { required?: boolean }>;
      content?: Record<string, { schema: unknown }>;
    };
    for (const [name, header] of Object.entries(resolved.headers ?? {})) {
      if (header.required) assert.ok(response.headers[name.toLowerCase()], `${context}; header ${name}`);
    }
    if (resolved.content === undefined) {
      assert.equal(response.text, '', `${context}; no body is documented`);
      return;
    }
    const mediaType = String(response.headers['content-type']).split(';')[0]?.trim() ?? '';
    const media = resolved.content[mediaType];
    assert.ok(media, `${context}; ${mediaType} is documented: ${Object.keys(resolved.content).join(', ')}`);
    const validate = compile(media.schema);
    assert.ok(validate(response.body), `${context}; ${ajv.errorsText(validate.errors)}`);
  };

  before(async () => {
    sidecar = await startSidecar();
    admin = await seedUser(sidecar, uniqueUsername('admin'), ['admin']);
    member = await seedUser(sidecar, uniqueUsername('member'), ['user']);
    target = await seedUser(sidecar, uniqueUsername('target'), ['user']);
    const response = await request(sidecar.url).get('/auth/openapi.json');
    assert.equal(response.status, 200, response.text);
    document = response.body as OpenApiDocument;
  });

  after(async () => {
    await sidecar.stop({ removeData: true });
  });

  describe('the document', () => {
    it('is OpenAPI 3.1.0, served as application/json, with the package version', async () => {
      const response = await request(sidecar.url).get('/auth/openapi.json');
      assert.match(String(response.headers['content-type']), /^application\/json\b/);
      assert.equal(document.openapi, '3.1.0');
      assert.equal(document.info.version, packageVersion());
      assertDocumented('GET /auth/openapi.json', response);
    });

    it('is the one built from the zod schemas at start-up', () => {
      const { identity } = sidecar.deps.config;
      assert.deepEqual(document, buildOpenApiDocument({ version: packageVersion(), identity }));
    });

    it('documents bearer JWT as its security scheme and has no absolute server', () => {
      const components = document.components as unknown as { securitySchemes: Json };
      assert.deepEqual(components.securitySchemes.bearerAuth, {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'The `accessToken` of a token response.',
      });
      assert.equal((document as unknown as Json).servers, undefined);
      assert.deepEqual(operation('GET /auth/me').security, [{ bearerAuth: [] }]);
      assert.equal(operation('POST /auth/login').security, undefined);
    });

    it('has schemas that all compile as JSON Schema 2020-12 in strict mode', () => {
      for (const [name, schema] of Object.entries(document.components.schemas)) {
        assert.doesNotThrow(() => compile(schema), `components.schemas.${name}`);
      }
      for (const key of documentedOperations(document)) {
        const op = operation(key);
        const body = op.requestBody as { content: Record<string, { schema: unknown }> } | undefined;
        for (const media of Object.values(body?.content ?? {})) compile(media.schema);
        for (const response of Object.values(op.responses as Record<string, Json>)) {
          const { content } = inlineRefs(response, document) as {
            content?: Record<string, { schema: unknown }>;
          };
          for (const media of Object.values(content ?? {})) compile(media.schema);
        }
      }
    });

    it('documents exactly the operations the express app serves, plus forward-auth', () => {
      // The sign-in pages are HTML for people, not operations of the JSON API the document describes.
      const app = createAuthApp({ ...sidecar.deps, browser: undefined }, () => undefined) as unknown as {
        router: { stack: RouterLayer[] };
      };
      const served = [...servedOperations(app.router.stack), 'GET /auth/verify'];
      assert.deepEqual(documentedOperations(document).sort(), served.sort());
    });
  });

  describe('every documented operation is answered', () => {
    it('with a documented status and body, never 404 or 405, when called without credentials', async () => {
      for (const key of documentedOperations(document)) {
        const [method = '', template = ''] = key.split(' ');
        const path = template.replace('{id}', 'no-such-user');
        const test = request(sidecar.url)[method.toLowerCase() as 'get' | 'post' | 'patch' | 'delete'](path);
        const response =
          method === 'GET' || method === 'DELETE' ? await test : await test.set(JSON_HEADERS).send({});
        // The JWKS's own 404 (an HS256 sidecar publishes no keys) is an answer, not a missing route.
        const noKeys =
          key === 'GET /auth/jwks.json' &&
          /^No public keys/.test(String((response.body as { detail?: unknown }).detail));
        if (!noKeys) assert.notEqual(response.status, 404, `${key}: ${response.text}`);
        assert.notEqual(response.status, 405, `${key}: ${response.text}`);
        assertDocumented(key, response);
      }
    });

    it('and any other method on an /auth path gets 405 with Allow naming the documented methods', async () => {
      for (const [template, item] of Object.entries(document.paths)) {
        if (!template.startsWith('/auth/')) continue;
        const path = template.replace('{id}', admin.id);
        const response = await request(sidecar.url).put(path).set(JSON_HEADERS).send({});
        assertProblem(response, 405);
        assert.ok(compile(document.components.schemas.Problem)(response.body), response.text);
        const methods = Object.keys(item).map((method) => method.toUpperCase());
        const expected = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
        const allowed = String(response.headers.allow).split(/,\s*/);
        assert.deepEqual(allowed.sort(), expected.sort(), `Allow for ${template}`);
      }
    });
  });

  describe('request body schemas agree with the server', () => {
    const cases: {
      name: string;
      operation: string;
      body: () => unknown;
      token?: () => string;
      path?: () => string;
      valid: boolean;
    }[] = [
      {
        name: 'a registration with username and password is valid and is not refused as a bad request',
        operation: 'POST /auth/register',
        body: () => ({ username: uniqueUsername('schema'), password: PASSWORD }),
        valid: true,
      },
      {
        name: 'a registration with an email that is no email address is invalid and refused with 400',
        operation: 'POST /auth/register',
        body: () => ({ username: uniqueUsername('schema'), password: PASSWORD, email: 'not-an-email' }),
        valid: false,
      },
      {
        name: 'a registration whose password is a number is invalid and refused with 400',
        operation: 'POST /auth/register',
        body: () => ({ username: uniqueUsername('schema'), password: 12345678 }),
        valid: false,
      },
      {
        name: 'a login with username and password is valid and is not refused as a bad request',
        operation: 'POST /auth/login',
        body: () => ({ username: uniqueUsername('nobody'), password: PASSWORD }),
        valid: true,
      },
      {
        name: 'a login without a password is invalid and refused with 400',
        operation: 'POST /auth/login',
        body: () => ({ username: 'someone' }),
        valid: false,
      },
      {
        name: 'a refresh with an empty refresh token is invalid and refused with 400',
        operation: 'POST /auth/refresh',
        body: () => ({ refreshToken: '' }),
        valid: false,
      },
      {
        name: 'a logout whose refresh token is a number is invalid and refused with 400',
        operation: 'POST /auth/logout',
        body: () => ({ refreshToken: 42 }),
        token: () => member.token,
        valid: false,
      },
      {
        name: 'a password change without the new password is invalid and refused with 400',
        operation: 'POST /auth/password',
        body: () => ({ currentPassword: PASSWORD }),
        token: () => member.token,
        valid: false,
      },
      {
        name: 'a user change {disabled: false} is valid and is not refused as a bad request',
        operation: 'PATCH /auth/users/{id}',
        path: () => `/auth/users/${target.id}`,
        body: () => ({ disabled: false }),
        token: () => admin.token,
        valid: true,
      },
      {
        name: 'an empty user change {} is invalid and refused with 400',
        operation: 'PATCH /auth/users/{id}',
        path: () => `/auth/users/${target.id}`,
        body: () => ({}),
        token: () => admin.token,
        valid: false,
      },
      {
        name: 'a user change with an unknown key is invalid and refused with 400',
        operation: 'PATCH /auth/users/{id}',
        path: () => `/auth/users/${target.id}`,
        body: () => ({ roles: ['user'], admin: true }),
        token: () => admin.token,
        valid: false,
      },
      {
        name: 'a user change with a role name holding a space is invalid and refused with 400',
        operation: 'PATCH /auth/users/{id}',
        path: () => `/auth/users/${target.id}`,
        body: () => ({ roles: ['site admin'] }),
        token: () => admin.token,
        valid: false,
      },
    ];
    for (const testCase of cases) {
      it(testCase.name, async () => {
        const body = testCase.body();
        const validate = requestBodyValidator(testCase.operation);
        assert.equal(validate(body), testCase.valid, ajv.errorsText(validate.errors));
        const [method = '', template = ''] = testCase.operation.split(' ');
        const path = testCase.path?.() ?? template;
        const token = testCase.token?.();
        const response =
          method === 'PATCH'
            ? await patchJson(sidecar.url, path, body, token)
            : await postJson(sidecar.url, path, body, token);
        if (testCase.valid) assert.notEqual(response.status, 400, response.text);
        else assert.equal((assertProblem(response, 400) as unknown as Json).code, 'invalid_request');
        assertDocumented(testCase.operation, response);
      });
    }
  });

  describe('real responses match the documented schemas', () => {
    let session: Session;
    /** A second session for the refresh cases: a replayed refresh token ends its whole session. */
    let refreshed: Session;
    let username: string;

    before(async () => {
      username = uniqueUsername('documented');
      session = await register(sidecar.url, username, PASSWORD);
      refreshed = await login(sidecar.url, username, PASSWORD);
    });

    const cases: {
      name: string;
      operation: string;
      send: () => request.Test;
      status: number;
      /** The zod schema of the body, which must accept it as well. */
      schema?: z.ZodType;
    }[] = [
      {
        name: 'register answers 201 with a token response',
        operation: 'POST /auth/register',
        send: () =>
          postJson(sidecar.url, '/auth/register', { username: uniqueUsername('new'), password: PASSWORD }),
        status: 201,
        schema: tokenResponseBody,
      },
      {
        name: 'register of a taken username answers 409 username_taken',
        operation: 'POST /auth/register',
        send: () => postJson(sidecar.url, '/auth/register', { username, password: PASSWORD }),
        status: 409,
        schema: problemBody,
      },
      {
        name: 'register with a username of one letter answers a 400 problem',
        operation: 'POST /auth/register',
        send: () => postJson(sidecar.url, '/auth/register', { username: 'a', password: PASSWORD }),
        status: 400,
        schema: problemBody,
      },
      {
        name: 'register with a text/plain body answers 415',
        operation: 'POST /auth/register',
        send: () =>
          request(sidecar.url).post('/auth/register').set('Content-Type', 'text/plain').send('hello'),
        status: 415,
        schema: problemBody,
      },
      {
        name: 'register with a body over 16 KB answers 413',
        operation: 'POST /auth/register',
        send: () =>
          postJson(sidecar.url, '/auth/register', { username: 'x'.repeat(17_000), password: PASSWORD }),
        status: 413,
        schema: problemBody,
      },
      {
        name: 'login answers 200 with a token response',
        operation: 'POST /auth/login',
        send: () => postJson(sidecar.url, '/auth/login', { username, password: PASSWORD }),
        status: 200,
        schema: tokenResponseBody,
      },
      {
        name: 'login with a wrong password answers 401 invalid_credentials',
        operation: 'POST /auth/login',
        send: () => postJson(sidecar.url, '/auth/login', { username, password: 'wrong-password-1' }),
        status: 401,
        schema: problemBody,
      },
      {
        name: 'refresh answers 200 with a token response',
        operation: 'POST /auth/refresh',
        send: () => postJson(sidecar.url, '/auth/refresh', { refreshToken: refreshed.refreshToken }),
        status: 200,
        schema: tokenResponseBody,
      },
      {
        name: 'refresh with a token that was already exchanged answers 401 invalid_refresh_token',
        operation: 'POST /auth/refresh',
        send: () => postJson(sidecar.url, '/auth/refresh', { refreshToken: refreshed.refreshToken }),
        status: 401,
        schema: problemBody,
      },
      {
        name: 'me answers 200 with the user',
        operation: 'GET /auth/me',
        send: () => getWith(sidecar.url, '/auth/me', member.token),
        status: 200,
        schema: publicUserBody,
      },
      {
        name: 'me without a token answers 401 unauthenticated with WWW-Authenticate',
        operation: 'GET /auth/me',
        send: () => getWith(sidecar.url, '/auth/me'),
        status: 401,
        schema: problemBody,
      },
      {
        name: 'me with a token that is no JWT answers 401 invalid_token',
        operation: 'GET /auth/me',
        send: () => getWith(sidecar.url, '/auth/me', 'not-a-token'),
        status: 401,
        schema: problemBody,
      },
      {
        name: 'a password change with a wrong current password answers 403 wrong_password',
        operation: 'POST /auth/password',
        send: () =>
          postJson(
            sidecar.url,
            '/auth/password',
            { currentPassword: 'wrong-password-1', newPassword: 'another-password-2' },
            session.accessToken,
          ),
        status: 403,
        schema: problemBody,
      },
      {
        name: 'the users list as admin answers 200 with every user',
        operation: 'GET /auth/users',
        send: () => getWith(sidecar.url, '/auth/users', admin.token),
        status: 200,
        schema: userListBody,
      },
      {
        name: 'the users list without the admin role answers 403 forbidden',
        operation: 'GET /auth/users',
        send: () => getWith(sidecar.url, '/auth/users', member.token),
        status: 403,
        schema: problemBody,
      },
      {
        name: 'a user change as admin answers 200 with the user',
        operation: 'PATCH /auth/users/{id}',
        send: () =>
          patchJson(sidecar.url, `/auth/users/${target.id}`, { roles: ['user', 'ops'] }, admin.token),
        status: 200,
        schema: updatedUserBody,
      },
      {
        name: 'a user change for an unknown id answers 404 not_found',
        operation: 'PATCH /auth/users/{id}',
        send: () => patchJson(sidecar.url, '/auth/users/no-such-user', { disabled: true }, admin.token),
        status: 404,
        schema: problemBody,
      },
      {
        name: 'deleting an unknown user answers 404 not_found',
        operation: 'DELETE /auth/users/{id}',
        send: () => deleteWith(sidecar.url, '/auth/users/no-such-user', admin.token),
        status: 404,
        schema: problemBody,
      },
      {
        name: 'forward-auth of an allowed request answers 200 with the identity headers',
        operation: 'GET /auth/verify',
        send: () =>
          getWith(sidecar.url, '/auth/verify', member.token)
            .set('X-Original-Method', 'GET')
            .set('X-Original-URI', '/api/items'),
        status: 200,
      },
      {
        name: 'forward-auth without a token for a path that needs one answers 401',
        operation: 'GET /auth/verify',
        send: () =>
          getWith(sidecar.url, '/auth/verify')
            .set('X-Original-Method', 'GET')
            .set('X-Original-URI', '/api/items'),
        status: 401,
        schema: problemBody,
      },
      {
        name: 'forward-auth for a path the roles do not grant answers 403',
        operation: 'GET /auth/verify',
        send: () =>
          getWith(sidecar.url, '/auth/verify', member.token)
            .set('X-Original-Method', 'GET')
            .set('X-Original-URI', '/admin/panel'),
        status: 403,
        schema: problemBody,
      },
      {
        name: 'forward-auth without the original URI answers 400',
        operation: 'GET /auth/verify',
        send: () => getWith(sidecar.url, '/auth/verify', member.token),
        status: 400,
        schema: problemBody,
      },
      {
        name: 'healthz answers 200',
        operation: 'GET /healthz',
        send: () => getWith(sidecar.url, '/healthz'),
        status: 200,
        schema: healthBody,
      },
      {
        name: 'readyz answers 200',
        operation: 'GET /readyz',
        send: () => getWith(sidecar.url, '/readyz'),
        status: 200,
        schema: readinessBody,
      },
      {
        name: 'logout answers 204 with no body',
        operation: 'POST /auth/logout',
        send: () => postJson(sidecar.url, '/auth/logout', {}, session.accessToken),
        status: 204,
      },
      {
        name: 'deleting a user as admin answers 204 with no body',
        operation: 'DELETE /auth/users/{id}',
        send: () => deleteWith(sidecar.url, `/auth/users/${target.id}`, admin.token),
        status: 204,
      },
    ];
    it("forward-auth's 200 carries the configured identity headers that the document names", async () => {
      const { identity } = sidecar.deps.config;
      const response = await getWith(sidecar.url, '/auth/verify', member.token)
        .set('X-Original-Method', 'GET')
        .set('X-Original-URI', '/api/a');
      assert.equal(response.status, 200, response.text);
      const responses = operation('GET /auth/verify').responses as Record<string, { headers: Json }>;
      const documented = Object.keys(responses['200']?.headers ?? {});
      const sent = {
        [identity.userHeader]: member.username,
        [identity.idHeader]: member.id,
        [identity.rolesHeader]: member.roles.join(','),
      };
      for (const [name, value] of Object.entries(sent)) {
        assert.ok(documented.includes(name), `${name} is documented`);
        assert.equal(response.headers[name.toLowerCase()], value, name);
      }
    });

    // In order: the refresh cases exchange the same token, the deletion comes last.
    for (const testCase of cases) {
      it(testCase.name, async () => {
        const response = await testCase.send();
        assert.equal(response.status, testCase.status, response.text);
        assertDocumented(testCase.operation, response);
        if (testCase.schema) {
          const parsed = testCase.schema.safeParse(response.body);
          assert.ok(parsed.success, `the zod schema accepts it too: ${parsed.error?.message ?? ''}`);
        }
      });
    }
  });
});
