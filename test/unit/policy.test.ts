import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainRequest, formatExplanation, ruleAsYamlFlow } from '../../src/cli/explain.js';
import { configSchema } from '../../src/config/schema.js';
import {
  decideAs,
  describeMismatch,
  describePolicyTest,
  outcomeOf,
  policyFailures,
  runPolicyTests,
} from '../../src/pipeline/policy-tests.js';
import { compileRules } from '../../src/pipeline/rules.js';

const RULES = [
  { path: '/public/**', public: true },
  { path: '/admin/**', roles: ['admin'] },
  { path: '/api/reports/**', methods: ['GET'], roles: ['analyst', 'admin'] },
  { path: '/api/**', authenticated: true },
];
const RULE_LINES = [11, 13, 15, 18];

function configWith(tests: unknown[] = [], extra: Record<string, unknown> = {}) {
  return configSchema.parse({ rules: RULES, tests, ...extra });
}

const config = configWith();
const rules = compileRules(config, RULE_LINES);

describe('decideAs', () => {
  const cases: [string, { method: string; target: string; roles?: string[] }, 'forward' | number][] = [
    ['an anonymous request to a public path is forwarded', { method: 'GET', target: '/public/a' }, 'forward'],
    ['an anonymous request to a role path gets 401', { method: 'GET', target: '/admin/a' }, 401],
    ['a user without the role gets 403', { method: 'GET', target: '/admin/a', roles: ['user'] }, 403],
    ['a user with the role is forwarded', { method: 'GET', target: '/admin/a', roles: ['admin'] }, 'forward'],
    [
      'a user with no roles passes an authenticated rule',
      { method: 'GET', target: '/api/x', roles: [] },
      'forward',
    ],
    [
      'a lower-case method is decided as upper case',
      { method: 'get', target: '/api/reports/q', roles: ['analyst'] },
      'forward',
    ],
    [
      'a path that does not match any rule gets the default',
      { method: 'GET', target: '/x', roles: ['admin'] },
      403,
    ],
    ['an ambiguous path gets 400 before any rule', { method: 'GET', target: '/api/%2e%2e/admin' }, 400],
    ['the canonical path is what the rules see', { method: 'GET', target: '/public/../admin/x' }, 401],
  ];
  for (const [name, request, expected] of cases) {
    it(name, () => {
      assert.equal(outcomeOf(decideAs(rules, request)), expected);
    });
  }

  it('forwards with the synthetic identity holding the given roles', () => {
    const decision = decideAs(rules, { method: 'GET', target: '/admin/a', roles: ['admin', 'ops'] });
    assert.equal(decision.outcome, 'allow');
    assert.deepEqual(decision.identity, { id: 'explain', username: 'explain', roles: ['admin', 'ops'] });
  });

  it('names the rule that decided, with its line', () => {
    const decision = decideAs(rules, { method: 'GET', target: '/admin/a', roles: ['user'] });
    assert.deepEqual(decision.rule, { id: 'rules[1]', index: 1, path: '/admin/**', line: 13 });
  });
});

describe('runPolicyTests', () => {
  const tests = configWith([
    { request: 'GET /admin/users', as: { roles: ['user'] }, expect: 403 },
    { request: 'GET /admin/users', as: { roles: ['admin'] }, expect: 'forward' },
    { request: 'POST /public/form', expect: 'forward' },
    { request: 'GET /api/x', expect: 401 },
    { request: 'GET /api/%2e%2e/admin', expect: 400 },
    { request: 'GET /admin/users', as: { roles: ['user'] }, expect: 'forward' },
    { request: 'GET /nowhere', expect: 'forward' },
  ]).tests;
  const results = runPolicyTests(rules, tests);

  it('passes the tests the rules satisfy and fails the others', () => {
    assert.deepEqual(
      results.map((result) => result.passed),
      [true, true, true, true, true, false, false],
    );
  });

  it('describes a test as method, target, who and expectation', () => {
    assert.equal(describePolicyTest(tests[0]!), 'GET /admin/users as [user] → 403');
    assert.equal(describePolicyTest(tests[2]!), 'POST /public/form as anonymous → forward');
  });

  it('describes a failure with the actual outcome and the rule that decided', () => {
    assert.equal(describeMismatch(results[5]!), 'expected forward, got 403 (rules[1], line 13)');
    assert.equal(describeMismatch(results[6]!), 'expected forward, got 401 (default)');
  });

  it('lists one line per failing test, by index', () => {
    assert.deepEqual(policyFailures(results), [
      'tests[5] GET /admin/users as [user] → forward: expected forward, got 403 (rules[1], line 13)',
      'tests[6] GET /nowhere as anonymous → forward: expected forward, got 401 (default)',
    ]);
  });

  it('decides with the config match settings', () => {
    const insensitive = configWith([{ request: 'GET /PUBLIC/x', expect: 'forward' }], {
      match: { caseInsensitive: true },
    });
    assert.deepEqual(policyFailures(runPolicyTests(compileRules(insensitive), insensitive.tests)), []);
    const sensitive = configWith([{ request: 'GET /PUBLIC/x', expect: 'forward' }]);
    assert.equal(policyFailures(runPolicyTests(compileRules(sensitive), sensitive.tests)).length, 1);
  });
});

describe('the tests key of the config schema', () => {
  it('defaults to an empty list', () => {
    assert.deepEqual(configSchema.parse({}).tests, []);
  });

  it('reads the request as method and target, the method upper-cased', () => {
    const [test] = configWith([{ request: 'delete /a?b=c', as: {}, expect: 403 }]).tests;
    assert.deepEqual(test, {
      request: { method: 'DELETE', target: '/a?b=c' },
      as: { roles: [] },
      expect: 403,
    });
  });

  it('reads any RFC 9110 method token, upper-cased (WebDAV, PURGE, QUERY)', () => {
    const tests = configWith([
      { request: 'PROPFIND /a', expect: 401 },
      { request: 'purge /a', expect: 401 },
    ]).tests;
    assert.deepEqual(
      tests.map((test) => test.request.method),
      ['PROPFIND', 'PURGE'],
    );
  });

  const invalid: [string, unknown, string][] = [
    ['a request without a target', { request: 'GET', expect: 401 }, 'expected METHOD TARGET'],
    ['a method that is not a token', { request: 'GE(T) /a', expect: 401 }, 'expected an HTTP method token'],
    [
      'an expectation other than forward, 400, 401 or 403',
      { request: 'GET /a', expect: 404 },
      'expected forward, 400, 401 or 403',
    ],
    ['an unknown key', { request: 'GET /a', expect: 401, user: 'x' }, 'Unrecognized key'],
    [
      'a role name with a comma',
      { request: 'GET /a', as: { roles: ['a,b'] }, expect: 401 },
      'expected a role name',
    ],
  ];
  for (const [name, test, message] of invalid) {
    it(`refuses ${name}`, () => {
      const result = configSchema.safeParse({ tests: [test] });
      assert.equal(result.success, false);
      assert.ok(
        result.error.issues.some((issue) => issue.message.includes(message) && issue.path[0] === 'tests'),
        JSON.stringify(result.error.issues),
      );
    });
  }
});

describe('explain', () => {
  const loaded = { file: 'config/auth-sidecar.yaml', config, ruleLines: RULE_LINES };

  it('writes a rule as YAML flow, as it could stand in the file', () => {
    assert.equal(ruleAsYamlFlow(config.rules[1]!), '{ path: /admin/**, roles: [admin] }');
    assert.equal(
      ruleAsYamlFlow(config.rules[2]!),
      '{ path: /api/reports/**, methods: [GET], roles: [analyst, admin] }',
    );
    assert.equal(ruleAsYamlFlow(config.rules[0]!), '{ path: /public/**, public: true }');
  });

  it('explains a refusal for missing roles', () => {
    const text = formatExplanation(
      explainRequest(loaded, { method: 'GET', target: '/admin/users', roles: ['user'] }),
    );
    assert.equal(
      text,
      [
        'request: GET /admin/users (as [user])',
        'path:    /admin/users',
        'rule:    rules[1] at config/auth-sidecar.yaml:13 { path: /admin/**, roles: [admin] }',
        'outcome: 403 forbidden (role_missing): Your roles do not grant access to this path.',
        '',
      ].join('\n'),
    );
  });

  it('explains a forward with the identity headers of the config', () => {
    const explanation = explainRequest(loaded, { method: 'GET', target: '/api/x?q=1', roles: ['user'] });
    assert.deepEqual(explanation.path, { ok: true, canonical: '/api/x', query: '?q=1' });
    assert.deepEqual(explanation.outcome, {
      decision: 'forward',
      headers: { 'X-User': 'explain', 'X-User-Id': 'explain', 'X-User-Roles': 'user' },
      reason: 'allowed',
    });
    assert.match(
      formatExplanation(explanation),
      /^outcome: forward with X-User: explain, X-User-Id: explain/m,
    );
  });

  it('explains a public forward without identity', () => {
    const explanation = explainRequest(loaded, { method: 'POST', target: '/public/form' });
    assert.equal(explanation.as, null);
    assert.deepEqual(explanation.outcome, { decision: 'forward', headers: {}, reason: 'public' });
  });

  it('explains a WebDAV method like any other, by the rules that name it or not', () => {
    const explanation = explainRequest(loaded, { method: 'PROPFIND', target: '/api/reports/q1' });
    assert.equal(explanation.rule?.id, 'rules[3]');
    assert.equal(explanation.outcome.decision === 'deny' && explanation.outcome.status, 401);
  });

  it('explains a _method query parameter as refused before any rule', () => {
    const explanation = explainRequest(loaded, { method: 'POST', target: '/api/reports/q1?_method=GET' });
    assert.equal(explanation.rule, null);
    assert.match(formatExplanation(explanation), /^outcome: 400 invalid_request \(method_override\)/m);
  });

  it('explains a refused path with no rule', () => {
    const explanation = explainRequest(loaded, { method: 'GET', target: '/api/%2e%2e/admin' });
    assert.equal(explanation.rule, null);
    assert.equal(explanation.path.ok, false);
    assert.equal(explanation.outcome.decision === 'deny' && explanation.outcome.status, 400);
    const text = formatExplanation(explanation);
    assert.match(text, /^path: {4}refused \(encoded_delimiter\): /m);
    assert.match(text, /^rule: {4}none/m);
    assert.match(text, /^outcome: 400 invalid_path \(encoded_delimiter\)/m);
  });

  it('explains the default when no rule matches', () => {
    const explanation = explainRequest(loaded, { method: 'GET', target: '/elsewhere' });
    assert.deepEqual(explanation.rule, {
      id: 'default',
      index: null,
      file: 'config/auth-sidecar.yaml',
      line: null,
      text: '{ default: deny }',
    });
    assert.equal(explanation.outcome.decision === 'deny' && explanation.outcome.reason, 'token_missing');
  });
});
