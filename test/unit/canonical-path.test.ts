import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalGlob, canonicalizeTarget } from '../../src/http/canonical-path.js';

describe('canonical path', () => {
  const accepted: [string, string, string][] = [
    ['a plain path is kept as it is', '/api/users', '/api/users'],
    ['the query string is kept apart and unchanged', '/api/users?x=%2F&y', '/api/users'],
    ['repeated slashes collapse', '//api///users', '/api/users'],
    ['a dot segment is removed', '/api/./users', '/api/users'],
    ['a dot-dot segment removes its parent', '/public/../admin/x', '/admin/x'],
    ['a trailing slash is kept', '/api/users/', '/api/users/'],
    ['a trailing dot-dot keeps a trailing slash', '/api/users/..', '/api/'],
    ['encoded unreserved characters are decoded', '/%61dmin/%7Euser', '/admin/~user'],
    ['other escapes keep their meaning, in upper-case hex', '/files/a%20b%c3%a9', '/files/a%20b%C3%A9'],
    ['an encoded colon is the colon', '/v1/jobs%3Apurge', '/v1/jobs:purge'],
    ['encoded sub-delims and @ are decoded', '/a%24%26%27%28%29%2a%2B%2C%3D%40%21', "/a$&'()*+,=@!"],
    [
      'a raw character not allowed in a path is escaped',
      '/a[1]{x}|^`"<>',
      '/a%5B1%5D%7Bx%7D%7C%5E%60%22%3C%3E',
    ],
    [
      'its encoded spelling is the same',
      '/a%5b1%5D%7bx%7D%7c%5e%60%22%3c%3e',
      '/a%5B1%5D%7Bx%7D%7C%5E%60%22%3C%3E',
    ],
    ['an encoded semicolon stays encoded (raw, it is a path parameter)', '/a%3bb', '/a%3Bb'],
    ['an encoded percent, ? and # stay encoded', '/a%25%3f%23', '/a%25%3F%23'],
    ['UTF-8 escapes are kept in upper-case hex', '/%c3%bcber/x', '/%C3%BCber/x'],
    ['an absolute-form target is reduced to its path', 'http://other.example/admin/x?q=1', '/admin/x'],
    ['an absolute-form target without a path is the root', 'http://other.example', '/'],
    ['the root is the root', '/', '/'],
  ];
  for (const [name, target, path] of accepted) {
    it(name, () => {
      const result = canonicalizeTarget(target);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.ok && result.path, path);
    });
  }

  describe('canonicalGlob puts a glob in the same form', () => {
    const globs: [string, string, string][] = [
      ['a plain glob is unchanged', '/api/**', '/api/**'],
      ['non-ASCII is written as its UTF-8 escapes', '/über/**', '/%C3%BCber/**'],
      ['UTF-8 escapes written by hand are the same', '/%c3%bcber/**', '/%C3%BCber/**'],
      ['an encoded colon is the colon', '/v1/jobs%3Apurge', '/v1/jobs:purge'],
      ['a raw bracket is escaped', '/a[1]/*', '/a%5B1%5D/*'],
    ];
    for (const [name, glob, expected] of globs) {
      it(`${name}: ${glob} is ${expected}`, () => {
        assert.equal(canonicalGlob(glob), expected);
        const request = canonicalizeTarget(expected.replace(/\*+/g, 'x'));
        assert.equal(
          request.ok && request.path,
          expected.replace(/\*+/g, 'x'),
          'a request path is already in that form',
        );
      });
    }
  });

  it('keeps the raw query after the canonical path', () => {
    assert.deepEqual(canonicalizeTarget('/a/./b?x=%2F'), { ok: true, path: '/a/b', query: '?x=%2F' });
  });

  const rejected: [string, string, string][] = [
    ['an encoded slash', '/api%2fadmin', 'encoded_delimiter'],
    ['an encoded backslash', '/api%5Cadmin', 'encoded_delimiter'],
    ['an encoded dot (it would hide a dot segment)', '/public/%2e%2e/admin', 'encoded_delimiter'],
    ['an encoded NUL', '/admin%00.png', 'encoded_delimiter'],
    ['a raw backslash', '/public\\..\\admin', 'forbidden_character'],
    ['a control character', '/adm\tin', 'forbidden_character'],
    ['a non-ASCII character', '/caf\u00e9', 'forbidden_character'],
    ['a truncated escape', '/api/%4', 'invalid_percent_encoding'],
    ['a non-hex escape', '/api/%zz', 'invalid_percent_encoding'],
    ['an escape that is not UTF-8', '/api/%C3%28', 'invalid_utf8'],
    ['dot-dot above the root', '/../etc/passwd', 'above_root'],
    ['dot-dot above the root after collapsing', '/a/../../b', 'above_root'],
    ['an asterisk-form target', '*', 'not_origin_form'],
  ];
  for (const [name, target, reason] of rejected) {
    it(`refuses ${name}`, () => {
      const result = canonicalizeTarget(target);
      assert.equal(result.ok, false);
      assert.equal(!result.ok && result.reason, reason);
    });
  }
});
