import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { compileRules, type RuleSet } from '../../src/pipeline/rules.js';

/** Rules go through the real config schema, as they would from the YAML file. */
function ruleSet(rules: unknown[], fallback: 'deny' | 'authenticated' = 'deny'): RuleSet {
  return compileRules(configSchema.parse({ rules, default: fallback }));
}

/** A single rule set: `true` when the one rule matches, `false` when the default does. */
function matches(glob: string, path: string, method = 'GET'): boolean {
  return ruleSet([{ path: glob, public: true }]).match(path, method).ref.id === 'rules[0]';
}

describe('rule matching', () => {
  describe('spellings', () => {
    const cases: [string, string, string, boolean][] = [
      ['a raw colon in a glob matches the encoded colon, decoded', '/v1/jobs:purge', '/v1/jobs:purge', true],
      ['a non-ASCII glob matches its UTF-8 escapes', '/über/**', '/%C3%BCber/x', true],
      ['a glob written with escapes matches the same path', '/%c3%bcber/**', '/%C3%BCber/x', true],
      ['an encoded colon in a glob matches the raw colon', '/v1/jobs%3Apurge', '/v1/jobs:purge', true],
      ['a raw bracket in a glob matches the escaped bracket', '/a[1]', '/a%5B1%5D', true],
      ['a composed ü does not match a decomposed one (octets are compared)', '/über', '/u%CC%88ber', false],
    ];
    for (const [name, glob, path, expected] of cases) {
      it(`${name}: ${glob} against ${path} is ${expected}`, () => {
        assert.equal(matches(glob, path), expected);
      });
    }

    const refused: [string, string, RegExp][] = [
      ['an encoded slash', '/a%2Fb', /cannot contain %2F: requests holding an encoded/],
      ['an encoded dot', '/a/%2e%2e/b', /cannot contain %2e/],
      ['an encoded control character', '/a%0Ab', /cannot contain %0A/],
      ['an encoded * (it would be the wildcard)', '/a/%2A', /cannot contain %2A/],
      ['a % that starts no escape', '/a%zz', /must start a %-escape/],
      ['escapes that are not UTF-8', '/a%C3%28', /must spell UTF-8/],
      [
        'a trailing slash',
        '/console/',
        /write \/console \(matches \/console and \/console\/\) or \/console\/\*\*/,
      ],
    ];
    for (const [name, glob, message] of refused) {
      it(`refuses a glob with ${name}: ${glob}`, () => {
        const result = configSchema.safeParse({ rules: [{ path: glob, public: true }] });
        assert.equal(result.success, false);
        assert.match(result.error?.issues[0]?.message ?? '', message);
      });
    }
  });

  describe('globs', () => {
    const cases: [string, string, string, boolean][] = [
      ['a literal glob matches its path', '/health/live', '/health/live', true],
      ['a literal glob does not match a longer path', '/health', '/health/live', false],
      ['a literal glob does not match a path it is a prefix of', '/health', '/healthy', false],
      ['a literal glob does not match a shorter path', '/health/live', '/health', false],
      ['a literal dot is not a wildcard', '/v1.0/x', '/v1a0/x', false],
      ['a literal dot matches itself', '/v1.0/x', '/v1.0/x', true],
      ['* matches one segment', '/files/*', '/files/a.txt', true],
      ['* does not match two segments', '/files/*', '/files/a/b', false],
      ['* does not match an empty segment', '/files/*', '/files/', false],
      ['* does not match a missing segment', '/files/*', '/files', false],
      ['* in the middle matches one segment', '/docs/*/edit', '/docs/intro/edit', true],
      ['* in the middle does not match two segments', '/docs/*/edit', '/docs/a/b/edit', false],
      ['* in the middle does not match zero segments', '/docs/*/edit', '/docs/edit', false],
      ['two * match exactly two segments', '/u/*/*', '/u/a/b', true],
      ['two * do not match one segment', '/u/*/*', '/u/a', false],
      ['** matches its own root', '/api/**', '/api', true],
      ['** matches its root with a trailing slash', '/api/**', '/api/', true],
      ['** matches one segment', '/api/**', '/api/x', true],
      ['** matches any depth', '/api/**', '/api/a/b/c/d', true],
      ['** does not match a path sharing only a prefix', '/public/**', '/publicity', false],
      ['** does not match below a path sharing only a prefix', '/public/**', '/publicity/page', false],
      ['** does not match a sibling', '/api/**', '/apis/x', false],
      ['** does not match the parent', '/api/v1/**', '/api', false],
      ['/** matches the root', '/**', '/', true],
      ['/** matches anything', '/**', '/any/thing/at/all', true],
      ['* then ** matches one segment and anything below', '/t/*/**', '/t/a/b/c', true],
      ['* then ** matches the one segment alone', '/t/*/**', '/t/a', true],
      ['* then ** needs the one segment', '/t/*/**', '/t', false],
      ['matching is case-sensitive', '/admin/**', '/Admin/x', false],
    ];
    for (const [name, glob, path, expected] of cases) {
      it(`${name} (${glob} vs ${path})`, () => {
        assert.equal(matches(glob, path), expected);
      });
    }
  });

  describe('methods', () => {
    const rules = ruleSet([
      { path: '/reports/**', methods: ['GET'], roles: ['analyst'] },
      { path: '/reports/**', methods: ['POST', 'DELETE'], roles: ['admin'] },
      { path: '/reports/**', authenticated: true },
      { path: '/open/**', public: true },
    ]);
    const cases: [string, string, string, string][] = [
      ['a listed method matches', 'GET', '/reports/q1', 'rules[0]'],
      ['HEAD matches wherever GET is listed', 'HEAD', '/reports/q1', 'rules[0]'],
      ['an unlisted method goes on to the next rule', 'POST', '/reports/q1', 'rules[1]'],
      ['each listed method of a rule matches', 'DELETE', '/reports/q1', 'rules[1]'],
      ['a method no limited rule lists reaches the rule without methods', 'PUT', '/reports/q1', 'rules[2]'],
      ['PATCH reaches the rule without methods', 'PATCH', '/reports/q1', 'rules[2]'],
      ['a rule without methods matches every method', 'OPTIONS', '/open/x', 'rules[3]'],
      ['a rule without methods matches DELETE', 'DELETE', '/open/x', 'rules[3]'],
      ['a rule without methods matches HEAD', 'HEAD', '/open/x', 'rules[3]'],
      ['a path no rule matches gets the default', 'GET', '/closed', 'default'],
    ];
    for (const [name, method, path, id] of cases) {
      it(`${name} (${method} ${path} → ${id})`, () => {
        assert.equal(rules.match(path, method).ref.id, id);
      });
    }

    it('HEAD does not match a rule that lists other methods but not GET', () => {
      const limited = ruleSet([
        { path: '/x/**', methods: ['POST'], public: true },
        { path: '/x/**', authenticated: true },
      ]);
      assert.equal(limited.match('/x/y', 'HEAD').ref.id, 'rules[1]');
    });
  });

  describe('order', () => {
    it('the first matching rule wins over a later, more specific one', () => {
      const rules = ruleSet([
        { path: '/api/**', authenticated: true },
        { path: '/api/admin/**', roles: ['admin'] },
      ]);
      assert.equal(rules.match('/api/admin/x', 'GET').ref.id, 'rules[0]');
    });

    it('the first matching rule wins over a later, broader one', () => {
      const rules = ruleSet([
        { path: '/api/admin/**', roles: ['admin'] },
        { path: '/api/**', public: true },
      ]);
      assert.equal(rules.match('/api/admin/x', 'GET').ref.id, 'rules[0]');
      assert.equal(rules.match('/api/other', 'GET').ref.id, 'rules[1]');
    });

    it('an empty rule list gives every path to the default', () => {
      assert.equal(ruleSet([]).match('/anything', 'GET').ref.id, 'default');
    });
  });

  describe('access modes', () => {
    const rules = ruleSet([
      { path: '/p/**', public: true },
      { path: '/a/**', authenticated: true },
      { path: '/r/**', roles: ['admin', 'ops'] },
    ]);

    it('public: true is public access', () => {
      assert.deepEqual(rules.match('/p/x', 'GET').access, { kind: 'public' });
    });

    it('authenticated: true needs a user', () => {
      assert.deepEqual(rules.match('/a/x', 'GET').access, { kind: 'authenticated' });
    });

    it('roles needs one of the listed roles', () => {
      const access = rules.match('/r/x', 'GET').access;
      assert.equal(access.kind, 'roles');
      assert.deepEqual(access.kind === 'roles' && [...access.roles].sort(), ['admin', 'ops']);
    });

    it('default: deny denies', () => {
      assert.deepEqual(ruleSet([], 'deny').match('/x', 'GET').access, { kind: 'deny' });
    });

    it('default: authenticated needs a user', () => {
      assert.deepEqual(ruleSet([], 'authenticated').match('/x', 'GET').access, { kind: 'authenticated' });
    });

    it('the default is deny when not configured', () => {
      assert.deepEqual(compileRules(configSchema.parse({})).match('/x', 'GET').access, { kind: 'deny' });
    });
  });

  describe('rules the schema refuses', () => {
    const refused: [string, Record<string, unknown>][] = [
      ['a rule with no access mode', { path: '/x' }],
      ['a rule with two access modes', { path: '/x', public: true, authenticated: true }],
      ['a rule with public and roles', { path: '/x', public: true, roles: ['admin'] }],
      ['a rule with all three access modes', { path: '/x', public: true, authenticated: true, roles: ['a'] }],
    ];
    for (const [name, rule] of refused) {
      it(`refuses ${name}`, () => {
        assert.equal(configSchema.safeParse({ rules: [rule] }).success, false);
      });
    }
  });
});
