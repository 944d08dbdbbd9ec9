import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import {
  findUnheldRoles,
  globCovers,
  globsOverlap,
  lintRules,
  overlapExample,
  type RuleFinding,
} from '../../src/config/rule-lint.js';
import { globToRegExp } from '../../src/pipeline/rules.js';
import { TEST_RULES } from '../helpers/sidecar.js';

/** Rules go through the real config schema, as they would from the YAML file. */
function lint(rules: unknown[], extra: Record<string, unknown> = {}): RuleFinding[] {
  const config = configSchema.parse({ rules, ...extra });
  return lintRules(
    config,
    config.rules.map((_, index) => 10 + index),
  );
}

function summary(findings: readonly RuleFinding[]): string[] {
  return findings.map((finding) => `${finding.severity} rules[${finding.index}]`);
}

describe('rule lint', () => {
  describe('globCovers', () => {
    const cases: [string, string, string, boolean][] = [
      ['a deep glob covers a literal under it', '/api/**', '/api/users', true],
      ['a deep glob covers its own prefix', '/api/**', '/api', true],
      ['a deep glob covers a trailing-slash glob under it', '/api/**', '/api/', true],
      ['a deep glob covers a deeper deep glob', '/api/**', '/api/v1/**', true],
      ['a deep glob covers itself', '/api/**', '/api/**', true],
      ['/** covers the root', '/**', '/', true],
      ['/** covers every glob', '/**', '/a/*/b/**', true],
      ['a literal does not cover a deep glob', '/api/users', '/api/**', false],
      ['a deeper deep glob does not cover a shallower one', '/api/v1/**', '/api/**', false],
      ['a literal covers itself', '/api/users', '/api/users', true],
      ['a literal does not cover another literal', '/api/users', '/api/user', false],
      ['* covers a literal segment', '/files/*', '/files/a.txt', true],
      ['* does not cover a deep glob (it may be empty or several segments)', '/files/*', '/files/**', false],
      ['* does not cover the prefix itself', '/files/*', '/files', false],
      ['* in the middle covers a literal there', '/docs/*/edit', '/docs/intro/edit', true],
      ['a literal does not cover *', '/docs/intro/edit', '/docs/*/edit', false],
      ['* does not cover the root', '/*', '/', false],
      ['the root does not cover /**', '/', '/**', false],
      ['/* does not cover a trailing-slash literal with two segments', '/*', '/a/', false],
      ['a trailing-slash glob does not cover the same path without it', '/api/', '/api', false],
      ['a glob without trailing slash does not cover a trailing-slash glob', '/api', '/api/', false],
      ['a deep glob covers * under it', '/a/**', '/a/*/c', true],
      ['*/** covers */x', '/*/**', '/*/x', true],
      ['*/** does not cover /**', '/*/**', '/**', false],
    ];
    for (const [name, a, b, expected] of cases) {
      it(`${name}: globCovers(${a}, ${b}) is ${expected}`, () => {
        assert.equal(globCovers(a, b), expected);
      });
    }

    it('compares literals case-insensitively only under match.caseInsensitive', () => {
      assert.equal(globCovers('/API/**', '/api/users'), false);
      assert.equal(globCovers('/API/**', '/api/users', { caseInsensitive: true }), true);
    });
  });

  describe('globsOverlap', () => {
    const cases: [string, string, string, string | undefined][] = [
      ['a deep glob and a literal under it', '/api/**', '/api/users', '/api/users'],
      ['two deep globs on one branch', '/api/**', '/api/v1/**', '/api/v1'],
      ['* and a deep glob', '/files/*', '/files/**', '/files/x'],
      ['* and another * in a different place', '/a/*/c', '/a/b/*', '/a/b/c'],
      ['/** and the root', '/**', '/', '/'],
      ['different literals', '/api/**', '/apis/**', undefined],
      ['a literal and a longer literal', '/api', '/api/users', undefined],
      ['* and the root', '/*', '/', undefined],
      ['* and its own prefix', '/files/*', '/files', undefined],
      ['two lengths of *', '/*/*', '/*', undefined],
      ['a trailing slash glob and a deep glob', '/api/', '/api/**', '/api/'],
    ];
    for (const [name, a, b, example] of cases) {
      it(`${name}: ${a} and ${b} ${example ? `both match ${example}` : 'share no path'}`, () => {
        assert.equal(globsOverlap(a, b), example !== undefined);
        assert.equal(globsOverlap(b, a), example !== undefined);
        assert.equal(overlapExample(a, b), example);
      });
    }

    it('compares literals case-insensitively only under match.caseInsensitive', () => {
      assert.equal(globsOverlap('/Admin/**', '/admin/users'), false);
      assert.equal(globsOverlap('/Admin/**', '/admin/users', { caseInsensitive: true }), true);
    });
  });

  describe('agrees with the compiled matcher on every sample path', () => {
    const globs = [
      '/',
      '/**',
      '/*',
      '/*/**',
      '/a',
      '/a/',
      '/a/**',
      '/a/*',
      '/a/*/**',
      '/a/b',
      '/a/b/**',
      '/a/*/c',
      '/*/b',
      '/b/**',
      '/*/*',
    ];
    const segments = ['a', 'b', 'c', 'x', ''];
    const paths = ['/'];
    let level = [''];
    for (let depth = 0; depth < 4; depth++) {
      level = level.flatMap((prefix) => segments.map((segment) => `${prefix}/${segment}`));
      paths.push(...level.filter((path) => path !== '/'));
    }

    for (const a of globs) {
      for (const b of globs) {
        it(`${a} against ${b}`, () => {
          const aPattern = globToRegExp(a);
          const bPattern = globToRegExp(b);
          const both = paths.filter((path) => aPattern.test(path) && bPattern.test(path));
          if (globCovers(a, b)) {
            const escaped = paths.filter((path) => bPattern.test(path) && !aPattern.test(path));
            assert.deepEqual(escaped, [], 'globCovers said yes, yet these paths escape');
          } else {
            assert.ok(
              paths.some((path) => bPattern.test(path) && !aPattern.test(path)),
              'globCovers said no, yet no sample path shows why',
            );
          }
          const example = overlapExample(a, b);
          if (example === undefined) assert.deepEqual(both, [], 'no overlap was found, yet these match both');
          else assert.ok(aPattern.test(example) && bPattern.test(example), `${example} does not match both`);
        });
      }
    }
  });

  describe('findings', () => {
    it('finds nothing in the shipped rules, the rules most tests use', () => {
      assert.deepEqual(lint(TEST_RULES), []);
    });

    it('reports a rule that a deep glob for all methods before it shadows, as an error', () => {
      const findings = lint([
        { path: '/api/**', authenticated: true },
        { path: '/api/users', roles: ['admin'] },
      ]);
      assert.deepEqual(summary(findings), ['error rules[1]']);
      assert.match(findings[0]?.message ?? '', /never matches: rules\[0\] \(line 10\)/);
    });

    it('reports a rule shadowed for its methods only (HEAD implied by GET)', () => {
      assert.deepEqual(
        summary(
          lint([
            { path: '/api/**', methods: ['GET'], authenticated: true },
            { path: '/api/users', methods: ['HEAD', 'GET'], roles: ['admin'] },
          ]),
        ),
        ['error rules[1]'],
      );
    });

    it('does not report a rule with a method the earlier rule lacks', () => {
      assert.deepEqual(
        lint([
          { path: '/api/**', methods: ['GET'], authenticated: true },
          { path: '/api/users', methods: ['GET', 'POST'], roles: ['admin'] },
        ]),
        [],
      );
    });

    it('does not report a rule for all methods after a rule for some', () => {
      assert.deepEqual(
        lint([
          { path: '/items/**', methods: ['POST', 'DELETE'], roles: ['admin'] },
          { path: '/items/**', authenticated: true },
        ]),
        [],
      );
    });

    it('reports a rule whose methods two earlier rules share between them', () => {
      const findings = lint([
        { path: '/api/**', methods: ['GET'], authenticated: true },
        { path: '/api/**', methods: ['POST'], authenticated: true },
        { path: '/api/users', methods: ['GET', 'POST'], roles: ['admin'] },
      ]);
      assert.deepEqual(summary(findings), ['error rules[2]']);
      assert.match(findings[0]?.message ?? '', /rules\[0\] \(line 10\) and rules\[1\] \(line 11\)/);
    });

    it('reports a shadowed rule under match.caseInsensitive only', () => {
      const rules = [
        { path: '/API/**', authenticated: true },
        { path: '/api/users', roles: ['admin'] },
      ];
      assert.deepEqual(lint(rules), []);
      assert.deepEqual(summary(lint(rules, { match: { caseInsensitive: true } })), ['error rules[1]']);
    });

    it('reports the second of two identical rules as a duplicate', () => {
      const findings = lint([
        { path: '/admin/**', methods: ['GET'], roles: ['admin', 'ops'] },
        { path: '/admin/**', methods: ['GET', 'HEAD'], roles: ['ops', 'admin'] },
      ]);
      assert.deepEqual(summary(findings), ['error rules[1]']);
      assert.match(findings[0]?.message ?? '', /duplicate of rules\[0\] \(line 10\)/);
    });

    it('reports the same path and methods with another access as shadowed, not duplicate', () => {
      const findings = lint([
        { path: '/admin/**', roles: ['admin'] },
        { path: '/admin/**', authenticated: true },
      ]);
      assert.deepEqual(summary(findings), ['error rules[1]']);
      assert.match(findings[0]?.message ?? '', /never matches/);
    });

    it('warns when a public rule overlaps a later protected rule, naming both and a path', () => {
      const findings = lint([
        { path: '/docs/*', public: true },
        { path: '/docs/**', roles: ['editor'] },
      ]);
      assert.deepEqual(summary(findings), ['warning rules[1]']);
      assert.match(findings[0]?.message ?? '', /rules\[0\] \(line 10\) \/docs\/\*/);
      assert.match(findings[0]?.message ?? '', /\/docs\/\*\*: e\.g\. \/docs\/x \(every method\)/);
    });

    it('names only the methods both rules share in the warning', () => {
      const findings = lint([
        { path: '/api/**', methods: ['GET', 'POST'], public: true },
        { path: '/api/admin/**', methods: ['POST', 'DELETE'], roles: ['admin'] },
      ]);
      assert.deepEqual(summary(findings), ['warning rules[1]']);
      assert.match(findings[0]?.message ?? '', /e\.g\. \/api\/admin \(POST\)/);
    });

    it('does not warn when the methods are disjoint, or the protected rule comes first', () => {
      assert.deepEqual(
        lint([
          { path: '/api/**', methods: ['GET'], public: true },
          { path: '/api/admin/**', methods: ['POST'], roles: ['admin'] },
        ]),
        [],
      );
      assert.deepEqual(
        lint([
          { path: '/docs/*/edit', roles: ['editor'] },
          { path: '/docs/**', public: true },
        ]),
        [],
      );
    });

    it('warns at a method-limited protected rule followed by a public one, naming what falls through', () => {
      const findings = lint([
        { path: '/files/**', methods: ['POST', 'PUT', 'PATCH', 'DELETE'], roles: ['admin'] },
        { path: '/files/**', public: true },
      ]);
      assert.deepEqual(summary(findings), ['warning rules[0]']);
      const message = findings[0]?.message ?? '';
      assert.match(
        message,
        /^only POST, PUT, PATCH, DELETE are protected here: GET, HEAD, OPTIONS, TRACE, CONNECT, ACL,/,
      );
      assert.match(
        message,
        /MOVE, .*PROPFIND, .*PURGE, QUERY, .* and every other method reach \/files\/\*\* as public/,
      );
      assert.match(message, /through the later rule rules\[1\] \(line 11\) \/files\/\*\*/);
    });

    it('names an example path when the public rule covers only part of the protected one', () => {
      const findings = lint([
        { path: '/files/**', methods: ['DELETE'], roles: ['admin'] },
        { path: '/files/public/**', public: true },
      ]);
      assert.deepEqual(summary(findings), ['warning rules[0]']);
      assert.match(
        findings[0]?.message ?? '',
        /^only DELETE is protected here: .* reach \/files\/public as public/,
      );
    });

    it('leaves out methods that a method-limited rule in between takes first', () => {
      const findings = lint([
        { path: '/files/**', methods: ['POST', 'PUT'], roles: ['admin'] },
        { path: '/files/**', methods: ['GET', 'MOVE'], authenticated: true },
        { path: '/files/**', public: true },
      ]);
      assert.deepEqual(summary(findings), ['warning rules[0]', 'warning rules[1]']);
      const [first = '', second = ''] = findings.map((finding) => finding.message);
      assert.doesNotMatch(first, /[ :]GET,|[ :]HEAD,|MOVE/);
      assert.match(first, /here: PATCH, DELETE, OPTIONS, TRACE, CONNECT, ACL,/);
      assert.match(second, /^only GET, MOVE, HEAD are protected here: POST, PUT, PATCH/);
    });

    it('does not warn when a protected rule for every method, or a method-limited public rule, follows', () => {
      assert.deepEqual(
        lint([
          { path: '/files/**', methods: ['DELETE'], roles: ['admin'] },
          { path: '/files/**', authenticated: true },
          { path: '/**', public: true },
        ]),
        [],
      );
      assert.deepEqual(
        lint([
          { path: '/files/**', methods: ['DELETE'], roles: ['admin'] },
          { path: '/files/**', methods: ['GET'], public: true },
        ]),
        [],
      );
      assert.deepEqual(
        lint([
          { path: '/files/**', methods: ['DELETE'], roles: ['admin'] },
          { path: '/other/**', public: true },
        ]),
        [],
      );
    });

    it('compares globs in the canonical form: a shadowed encoded spelling is an error', () => {
      const findings = lint([
        { path: '/v1/jobs:purge', roles: ['admin'] },
        { path: '/v1/jobs%3Apurge', public: true },
      ]);
      assert.deepEqual(summary(findings), ['error rules[1]', 'warning rules[1]']);
      assert.match(findings[0]?.message ?? '', /never matches: rules\[0\]/);
    });

    it('warns at a glob spelled otherwise than the form it is compared in, naming that form', () => {
      const findings = lint([
        { path: '/v1/jobs%3Apurge', roles: ['admin'] },
        { path: '/a[1]', roles: ['admin'] },
        { path: '/%c3%bcber/**', roles: ['admin'] },
      ]);
      assert.deepEqual(summary(findings), ['warning rules[0]', 'warning rules[1]', 'warning rules[2]']);
      const messages = findings.map((finding) => finding.message);
      assert.match(messages[0] ?? '', /^\/v1\/jobs%3Apurge is compared as \/v1\/jobs:purge/);
      assert.match(messages[1] ?? '', /^\/a\[1\] is compared as \/a%5B1%5D/);
      assert.match(messages[2] ?? '', /^\/%c3%bcber\/\*\* is compared as \/über\/\*\*/);
    });

    it('does not warn at non-ASCII written raw or as upper-case escapes', () => {
      assert.deepEqual(lint([{ path: '/über/**', roles: ['admin'] }]), []);
      assert.deepEqual(lint([{ path: '/%C3%BCber/**', roles: ['admin'] }]), []);
    });

    it('warns at a glob that is not in Unicode NFC', () => {
      const findings = lint([{ path: '/u\u0308ber/**', roles: ['admin'] }]);
      assert.deepEqual(summary(findings), ['warning rules[0]']);
      assert.match(findings[0]?.message ?? '', /is not in Unicode NFC/);
    });

    it('warns at a glob whose every path is refused before the rules (%25XX, NFKC), naming the switch', () => {
      const findings = lint([
        { path: '/files/%2541/**', roles: ['admin'] },
        { path: '/\uFF41dmin/**', roles: ['admin'] },
      ]);
      assert.deepEqual(summary(findings), ['warning rules[0]', 'warning rules[1]']);
      assert.match(
        findings[0]?.message ?? '',
        /matches no request: .*\(double_encoding\).*match\.allowEncodedPercent: true/,
      );
      assert.match(
        findings[1]?.message ?? '',
        /matches no request: .*\(not_nfkc\).*match\.allowNonNfkcPaths: true/,
      );
    });

    it('does not warn at those globs once the switch lets such paths through', () => {
      const rules = [
        { path: '/files/%2541/**', roles: ['admin'] },
        { path: '/\uFF41dmin/**', roles: ['admin'] },
      ];
      assert.deepEqual(lint(rules, { match: { allowEncodedPercent: true, allowNonNfkcPaths: true } }), []);
    });

    it('reports a protected rule that a public rule wholly shadows as an error only', () => {
      assert.deepEqual(
        summary(
          lint([
            { path: '/**', public: true },
            { path: '/admin/**', roles: ['admin'] },
          ]),
        ),
        ['error rules[1]'],
      );
    });
  });

  describe('findUnheldRoles', () => {
    const config = configSchema.parse({
      registration: { defaultRoles: ['reader'] },
      rules: [
        { path: '/admin/**', roles: ['admin', 'ops'] },
        { path: '/read/**', roles: ['reader'] },
      ],
    });

    it('warns for each rule role that no user holds and registration does not grant', () => {
      const findings = findUnheldRoles(config, new Set(['admin']));
      assert.deepEqual(summary(findings), ['warning rules[0]']);
      assert.match(findings[0]?.message ?? '', /role ops is held by no user/);
    });

    it('is silent when every role is held or granted', () => {
      assert.deepEqual(findUnheldRoles(config, new Set(['admin', 'ops'])), []);
    });
  });

  describe('loadConfig', () => {
    const fixture = (name: string) =>
      fileURLToPath(new URL(`../../../test/fixtures/${name}`, import.meta.url));

    it('throws the lint errors as ConfigError problems with file:line and rules[i]', async () => {
      const path = fixture('lint-shadowed.yaml');
      await assert.rejects(loadConfig({ path, requireSecret: false }), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(
          err.problems.map((problem) => `${problem.line} ${problem.key}`),
          ['7 rules[2]', '9 rules[3]'],
        );
        return true;
      });
    });

    it('returns the lint warnings formatted as file:line rules[i]: message', async () => {
      const path = fixture('lint-public-overlap.yaml');
      const loaded = await loadConfig({ path, requireSecret: false });
      assert.equal(loaded.warnings?.length, 1);
      assert.match(
        loaded.warnings?.[0] ?? '',
        /^.*lint-public-overlap\.yaml:8 rules\[1\]: the earlier public rule/,
      );
    });

    it('leaves warnings out for the shipped config and valid.yaml', async () => {
      for (const path of [fixture('valid.yaml'), fixture('../../config/auth-sidecar.yaml')]) {
        const loaded = await loadConfig({ path, requireSecret: false });
        assert.equal(loaded.warnings, undefined, path);
      }
    });
  });
});
