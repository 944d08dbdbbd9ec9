import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import type { Identity } from '../../src/identity.js';
import { createDecider, type Decider, type Decision } from '../../src/pipeline/decide.js';
import { hasMethodOverrideParameter, mayCarryMethodOverride } from '../../src/http/method-override.js';
import { compileRules } from '../../src/pipeline/rules.js';
import { createAccessTokens } from '../../src/tokens/access-token.js';
import { secretKeys } from '../../src/tokens/token-keys.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';
import { mintToken, unsignedToken } from '../helpers/tokens.js';

const accessTokens = createAccessTokens({
  keys: secretKeys(Buffer.from(TEST_JWT_SECRET)),
  issuer: 'auth-sidecar',
  audience: 'upstream',
  ttlMs: 15 * 60_000,
  leewayMs: 30_000,
});

const RULES = [
  { path: '/public/**', public: true },
  { path: '/admin/**', roles: ['admin'] },
  { path: '/api/reports/**', methods: ['GET'], roles: ['analyst', 'admin'] },
  { path: '/api/**', authenticated: true },
];

function deciderFor(fallback: 'deny' | 'authenticated'): Decider {
  return createDecider({
    rules: compileRules(configSchema.parse({ rules: RULES, default: fallback })),
    verifyAccessToken: (token) => accessTokens.verify(token),
  });
}

const decider = deciderFor('deny');

const USER: Identity = { id: 'u-1', username: 'alice', roles: ['user'] };
const ANALYST: Identity = { id: 'u-2', username: 'bob', roles: ['user', 'analyst'] };
const ADMIN: Identity = { id: 'u-3', username: 'root', roles: ['admin'] };

function bearer(identity: Identity): string {
  return `Bearer ${accessTokens.issue({ ...identity, tokenVersion: 0 }).token}`;
}

const ADMIN_CLAIMS = { sub: ADMIN.id, username: ADMIN.username, roles: [...ADMIN.roles] };
const EXPIRED = `Bearer ${mintToken({ ...ADMIN_CLAIMS, expiresIn: -3600 })}`;

/** Authorization values that must never identify anyone. */
const INVALID: [string, string][] = [
  ['a token that is not a JWT', 'Bearer not-a-jwt'],
  ['a JWT signed with another secret', `Bearer ${mintToken({ ...ADMIN_CLAIMS, secret: 'z'.repeat(48) })}`],
  ['an expired JWT', EXPIRED],
  ['an unsigned JWT (alg none)', `Bearer ${unsignedToken({ roles: ['admin'] })}`],
  ['a JWT from another issuer', `Bearer ${mintToken({ ...ADMIN_CLAIMS, iss: 'elsewhere' })}`],
  ['a JWT for another audience', `Bearer ${mintToken({ ...ADMIN_CLAIMS, aud: 'another-service' })}`],
  ['a JWT signed with HS512', `Bearer ${mintToken({ ...ADMIN_CLAIMS, algorithm: 'HS512' })}`],
  ['a JWT whose payload was changed after signing', `Bearer ${tamper(bearer(USER).slice(7))}`],
  ['credentials in another scheme', 'Basic cm9vdDpodW50ZXIy'],
];

/** Re-encodes the payload with the admin role and keeps the old signature. */
function tamper(token: string): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;
  const forged = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}

function decide(target: string, authorization?: string, method = 'GET', on = decider): Decision {
  return on.decide({ method, target, authorization });
}

function assertAllowed(decision: Decision, path: string, identity?: Identity): void {
  assert.equal(decision.outcome, 'allow', JSON.stringify(decision));
  assert.equal(decision.path, path);
  if (decision.outcome !== 'allow') return;
  if (identity === undefined) assert.equal(decision.identity, undefined);
  else assert.deepEqual(decision.identity, identity);
}

function assertDenied(decision: Decision, status: 400 | 401 | 403 | 405, challenge?: string): void {
  assert.equal(decision.outcome, 'deny', JSON.stringify(decision));
  if (decision.outcome !== 'deny') return;
  assert.equal(decision.error.status, status);
  assert.equal(decision.error.headers['WWW-Authenticate'], challenge);
}

describe('decide', () => {
  describe('public rules', () => {
    it('allow without a token and carry no identity', () => {
      assertAllowed(decide('/public/page'), '/public/page');
    });

    it('carry the identity when a valid token came along', () => {
      assertAllowed(decide('/public/page', bearer(ANALYST)), '/public/page', ANALYST);
    });

    for (const [name, authorization] of INVALID) {
      it(`ignore ${name}: allowed, no identity`, () => {
        assertAllowed(decide('/public/page', authorization), '/public/page');
      });
    }
  });

  describe('rules that need a user', () => {
    for (const path of ['/api/data', '/admin/panel']) {
      it(`${path} without a token is 401 with a bare Bearer challenge`, () => {
        assertDenied(decide(path), 401, 'Bearer');
      });

      it(`${path} with an empty Authorization header is 401 with a bare Bearer challenge`, () => {
        assertDenied(decide(path, ''), 401, 'Bearer');
      });

      for (const [name, authorization] of INVALID) {
        it(`${path} with ${name} is 401 invalid_token`, () => {
          assertDenied(decide(path, authorization), 401, 'Bearer error="invalid_token"');
        });
      }
    }

    it('an authenticated rule allows any valid token and carries its identity', () => {
      assertAllowed(decide('/api/data', bearer(USER)), '/api/data', USER);
    });

    it('a role rule is 403 for a valid token without a listed role', () => {
      assertDenied(decide('/admin/panel', bearer(ANALYST)), 403);
    });

    it('a role rule allows a token holding one of the listed roles', () => {
      assertAllowed(decide('/api/reports/q1', bearer(ANALYST)), '/api/reports/q1', ANALYST);
      assertAllowed(decide('/api/reports/q1', bearer(ADMIN)), '/api/reports/q1', ADMIN);
    });

    it("refuses a token the verifier's clock sees as expired beyond the leeway", () => {
      const issuedAt = Date.now();
      const tokensAt = (now: number) =>
        createAccessTokens({
          keys: secretKeys(Buffer.from(TEST_JWT_SECRET)),
          issuer: 'auth-sidecar',
          audience: 'upstream',
          ttlMs: 60_000,
          leewayMs: 0,
          now: () => now,
        });
      const later = tokensAt(issuedAt + 61_000);
      const lateDecider = createDecider({
        rules: compileRules(configSchema.parse({ rules: RULES })),
        verifyAccessToken: (token) => later.verify(token),
      });
      const authorization = `Bearer ${tokensAt(issuedAt).issue({ ...USER, tokenVersion: 0 }).token}`;
      assertDenied(
        decide('/api/data', authorization, 'GET', lateDecider),
        401,
        'Bearer error="invalid_token"',
      );
    });
  });

  describe('methods', () => {
    const cases: [string, string, Identity, 'allow' | 403][] = [
      ['GET on a GET-only role rule is 403 without the role', 'GET', USER, 403],
      ['HEAD on a GET-only role rule is 403 without the role', 'HEAD', USER, 403],
      ['HEAD on a GET-only role rule is allowed with the role', 'HEAD', ANALYST, 'allow'],
      ['POST skips the GET-only rule and is decided by /api/**', 'POST', USER, 'allow'],
      ['DELETE skips the GET-only rule and is decided by /api/**', 'DELETE', USER, 'allow'],
    ];
    for (const [name, method, identity, expected] of cases) {
      it(name, () => {
        const decision = decide('/api/reports/q1', bearer(identity), method);
        if (expected === 'allow') assertAllowed(decision, '/api/reports/q1', identity);
        else assertDenied(decision, 403);
      });
    }

    it('POST that skips the GET-only rule still needs a user', () => {
      assertDenied(decide('/api/reports/q1', undefined, 'POST'), 401, 'Bearer');
    });
  });

  describe('default: deny', () => {
    it('is 401 with a bare Bearer challenge without a token', () => {
      assertDenied(decide('/elsewhere'), 401, 'Bearer');
    });

    it('is 401 invalid_token with an invalid token', () => {
      assertDenied(decide('/elsewhere', 'Bearer not-a-jwt'), 401, 'Bearer error="invalid_token"');
    });

    it('is 403 with a valid token', () => {
      assertDenied(decide('/elsewhere', bearer(USER)), 403);
    });

    it('is 403 with a valid admin token too', () => {
      assertDenied(decide('/elsewhere', bearer(ADMIN)), 403);
    });

    it('decides a path that only shares a prefix with a public rule', () => {
      assertDenied(decide('/publicity'), 401, 'Bearer');
    });
  });

  describe('default: authenticated', () => {
    const open = deciderFor('authenticated');

    it('is 401 with a bare Bearer challenge without a token', () => {
      assertDenied(decide('/elsewhere', undefined, 'GET', open), 401, 'Bearer');
    });

    it('is 401 invalid_token with an expired token', () => {
      assertDenied(decide('/elsewhere', EXPIRED, 'GET', open), 401, 'Bearer error="invalid_token"');
    });

    it('allows any valid token and carries its identity', () => {
      assertAllowed(decide('/elsewhere', bearer(USER), 'GET', open), '/elsewhere', USER);
    });

    it('leaves matching rules in charge', () => {
      assertDenied(decide('/admin/x', bearer(USER), 'GET', open), 403);
    });
  });

  describe('the canonical path', () => {
    it('is decided on and handed on, with the query apart', () => {
      const decision = decide('//api//x/./y?z=1&z=%2F', bearer(USER));
      assertAllowed(decision, '/api/x/y', USER);
      assert.equal(decision.outcome === 'allow' && decision.query, '?z=1&z=%2F');
    });

    const hidden: [string, string][] = [
      ['a double slash', '//admin/x'],
      ['a dot-dot from a public path', '/public/../admin/x'],
      ['a dot segment', '/./admin/x'],
      ['an encoded letter', '/%61dmin/x'],
      ['an absolute-form target', 'http://other.example/admin/x'],
      ['an absolute-form target with a double slash', 'http://other.example//admin/x'],
    ];
    for (const [name, target] of hidden) {
      it(`${name} does not hide /admin: 403 for a user (${target})`, () => {
        const decision = decide(target, bearer(USER));
        assertDenied(decision, 403);
        assert.equal(decision.outcome === 'deny' && decision.path, '/admin/x');
      });

      it(`${name} is allowed for an admin as /admin/x (${target})`, () => {
        assertAllowed(decide(target, bearer(ADMIN)), '/admin/x', ADMIN);
      });
    }

    const invalid: [string, string][] = [
      ['an encoded slash', '/public%2fadmin'],
      ['an encoded slash in upper case', '/public/..%2Fadmin'],
      ['dot-dot above the root', '/../admin/x'],
      ['a backslash', '/public\\..\\admin'],
      ['an encoded dot-dot', '/public/%2e%2e/admin'],
      ['a double-encoded dot-dot', '/public/%252e%252e/admin'],
      ['fullwidth dots that NFKC folds into a dot-dot', '/public/%EF%BC%8E%EF%BC%8E/admin'],
      ['a fullwidth letter that NFKC folds into ASCII', '/public/%EF%BD%81dmin'],
    ];
    for (const [name, target] of invalid) {
      it(`refuses ${name} with 400 whatever the token (${target})`, () => {
        assertDenied(decide(target), 400);
        assertDenied(decide(target, bearer(ADMIN)), 400);
      });
    }

    it('lets the two spellings through when match allows them', () => {
      const lenient = createDecider({
        rules: compileRules(
          configSchema.parse({
            rules: RULES,
            match: { allowEncodedPercent: true, allowNonNfkcPaths: true },
          }),
        ),
        verifyAccessToken: (token) => accessTokens.verify(token),
      });
      for (const target of ['/public/%252e%252e/admin', '/public/%EF%BC%8E%EF%BC%8E/admin']) {
        assertAllowed(decide(target, undefined, 'GET', lenient), target);
      }
    });

    it('keeps %25 before non-hex and NFKC-stable letters (100%25, ü)', () => {
      assertAllowed(decide('/public/100%25'), '/public/100%25');
      assertAllowed(decide('/public/%C3%BC'), '/public/%C3%BC');
    });
  });

  describe('TRACE and TRACK', () => {
    for (const method of ['TRACE', 'TRACK', 'trace']) {
      it(`refuses ${method} with 405 on a public path, whatever the token`, () => {
        assertDenied(decide('/public/x', undefined, method), 405);
        assertDenied(decide('/public/x', bearer(ADMIN), method), 405);
      });
    }
  });

  describe('method overrides', () => {
    const form = (target: string, authorization?: string) =>
      decider.decide({ method: 'POST', target, authorization, mayOverrideMethod: true });

    it('refuses a _method query parameter with 400 invalid_request, reason method_override', () => {
      const decision = decide('/api/reports/q1?_method=GET', bearer(ANALYST), 'POST');
      assertDenied(decision, 400);
      assert.equal(decision.outcome === 'deny' && decision.reason, 'method_override');
      assert.equal(decision.outcome === 'deny' && decision.error.code, 'invalid_request');
    });

    it('decides a form POST as every method: refused where its GET is refused, naming that rule', () => {
      const decision = form('/api/reports/q1', bearer(USER));
      assertDenied(decision, 403);
      assert.equal(decision.rule?.id, 'rules[2]');
      assert.match(decision.outcome === 'deny' ? decision.error.detail : '', /_method/);
    });

    it('allows a form POST where every method is allowed, decided by its own rule', () => {
      const decision = form('/api/reports/q1', bearer(ANALYST));
      assertAllowed(decision, '/api/reports/q1', ANALYST);
      assert.equal(decision.rule?.id, 'rules[3]');
      assertAllowed(form('/api/items', bearer(USER)), '/api/items', USER);
    });

    it('answers a form POST without a token with 401 first, as a plain POST would be', () => {
      assertDenied(form('/api/reports/q1'), 401, 'Bearer');
    });

    const queries: [string, boolean][] = [
      ['', false],
      ['?a=1&b=2', false],
      ['?method=GET', false],
      ['?_methods=GET', false],
      ['?x=_method', false],
      ['?_method=GET', true],
      ['?_METHOD=put', true],
      ['?%5Fmethod=GET', true],
      ['?%5f%6d%65%74%68%6f%64=GET', true],
      ['?a;_method=GET', true],
      ['?_method[x]=GET', true],
      ['?.method=GET', true],
      ['?_method%00x=GET', true],
      ['?_method', true],
    ];
    for (const [query, expected] of queries) {
      it(`hasMethodOverrideParameter(${JSON.stringify(query)}) is ${expected}`, () => {
        assert.equal(hasMethodOverrideParameter(query), expected);
      });
    }

    const requests: [string, string, Record<string, string>, boolean][] = [
      ['a urlencoded form POST', 'POST', { 'content-type': 'application/x-www-form-urlencoded' }, true],
      ['a multipart form POST', 'POST', { 'content-type': 'Multipart/Form-Data; boundary=x' }, true],
      ['a POST with a body and no Content-Type', 'POST', { 'content-length': '3' }, true],
      ['a chunked POST with no Content-Type', 'POST', { 'transfer-encoding': 'chunked' }, true],
      ['a POST with no body and no Content-Type', 'POST', { 'content-length': '0' }, false],
      ['a JSON POST', 'POST', { 'content-type': 'application/json' }, false],
      [
        'a urlencoded PUT (frameworks override POST only)',
        'PUT',
        { 'content-type': 'application/x-www-form-urlencoded' },
        false,
      ],
      ['a GET', 'GET', {}, false],
    ];
    for (const [name, method, headers, expected] of requests) {
      it(`${name} ${expected ? 'may' : 'may not'} carry a _method override`, () => {
        assert.equal(mayCarryMethodOverride(method, headers), expected);
      });
    }
  });
});
