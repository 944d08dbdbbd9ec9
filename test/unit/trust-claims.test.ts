/**
 * Reading a trusted provider's claims: dotted paths over own properties only, roles from arrays
 * and separated strings through the role map, header text that cannot split or smuggle a header;
 * and how long a fetched JWKS is kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimAt, headerValueOf, rolesFrom } from '../../src/trust/claims.js';
import {
  DEFAULT_KEYS_LIFETIME_MS,
  keysLifetimeMs,
  MAX_KEYS_LIFETIME_MS,
  MIN_KEYS_LIFETIME_MS,
} from '../../src/trust/fetch-json.js';

/** Claims as a provider's token decodes them: through JSON.parse, so `__proto__` is an own member. */
const CLAIMS = JSON.parse(`{
  "sub": "user-1",
  "preferred_username": "alice",
  "realm_access": { "roles": ["idp-admins", "user"] },
  "resource_access": { "my-app": { "roles": ["editor"] } },
  "with:colon": { "$dollar": "yes" },
  "nested": { "list": [{ "deep": "no" }] },
  "nothing": null,
  "__proto__": { "polluted": "yes" }
}`) as Record<string, unknown>;

describe('claimAt', () => {
  const cases: readonly [string, string, unknown][] = [
    ['reads a top-level claim', 'preferred_username', 'alice'],
    ['follows a dotted path into objects', 'realm_access.roles', ['idp-admins', 'user']],
    ['follows member names with dashes, colons and dollars', 'resource_access.my-app.roles', ['editor']],
    ['reads members whose names carry : and $', 'with:colon.$dollar', 'yes'],
    ['gives undefined for a missing claim', 'email', undefined],
    ['gives undefined for a missing step in the middle', 'realm_access.groups.names', undefined],
    ['does not index into arrays', 'nested.list.0', undefined],
    ['does not step through null', 'nothing.inner', undefined],
    ['does not step into a string', 'preferred_username.length', undefined],
    ['never reads __proto__, even as an own member of parsed JSON', '__proto__.polluted', undefined],
    ['never reads inherited constructor', 'constructor', undefined],
    ['never reads inherited toString', 'toString', undefined],
    ['never reads prototype', 'realm_access.prototype', undefined],
  ];
  for (const [name, path, expected] of cases) {
    it(name, () => assert.deepEqual(claimAt(CLAIMS, path), expected));
  }
});

describe('rolesFrom', () => {
  const map = { 'idp-admins': 'admin', 'read:items': 'reader' };
  const cases: readonly [string, unknown, boolean, readonly string[]][] = [
    [
      'maps an array through roleMap and keeps unmapped names',
      ['idp-admins', 'user'],
      false,
      ['admin', 'user'],
    ],
    ['drops unmapped names when mapOnly', ['idp-admins', 'user'], true, ['admin']],
    [
      'splits a space-separated scope string',
      'openid read:items  profile',
      false,
      ['openid', 'reader', 'profile'],
    ],
    ['splits a comma-separated string', 'user,idp-admins, auditor', false, ['user', 'admin', 'auditor']],
    ['keeps only mapped scopes when mapOnly', 'openid read:items profile', true, ['reader']],
    [
      'drops names that are not role names',
      ['ok', 'has space', '', '-leading', 'x'.repeat(65)],
      false,
      ['ok'],
    ],
    [
      'skips non-string members of an array',
      ['user', 7, null, { role: 'admin' }, ['admin']],
      false,
      ['user'],
    ],
    [
      'keeps each role once, first occurrence first',
      ['user', 'idp-admins', 'admin', 'user'],
      false,
      ['user', 'admin'],
    ],
    ['grants nothing for a number', 42, false, []],
    ['grants nothing for an object', { admin: true }, false, []],
    ['grants nothing for an absent claim', undefined, false, []],
    ['grants nothing for an empty string', '   ', false, []],
  ];
  for (const [name, value, mapOnly, expected] of cases) {
    it(name, () => assert.deepEqual(rolesFrom(value, map, mapOnly), expected));
  }

  it('maps only through own entries of roleMap, never inherited ones', () => {
    assert.deepEqual(rolesFrom(['constructor', 'toString'], {}, true), []);
    assert.deepEqual(rolesFrom(['toString'], {}, false), ['toString']);
  });

  it('drops a mapped role that is not a role name', () => {
    assert.deepEqual(rolesFrom(['group'], { group: 'not a role' }, false), []);
  });
});

describe('headerValueOf', () => {
  const cases: readonly [string, unknown, string | undefined][] = [
    ['gives a string as it is', 'alice@example.com', 'alice@example.com'],
    ['keeps spaces', 'Alice Liddell', 'Alice Liddell'],
    ['gives an empty string as it is', '', ''],
    ['writes a number', 42, '42'],
    ['writes a fraction', 1.5, '1.5'],
    ['writes a boolean', true, 'true'],
    ['joins an array of scalars with commas', ['a', 1, false], 'a,1,false'],
    ['gives an empty array as empty text', [], ''],
    ['refuses an object', { a: 1 }, undefined],
    ['refuses null', null, undefined],
    ['refuses undefined', undefined, undefined],
    ['refuses an array holding an object', ['a', { b: 1 }], undefined],
    ['refuses a nested array', ['a', ['b']], undefined],
    ['refuses CR LF (header injection)', 'alice\r\nX-Admin: true', undefined],
    ['refuses a NUL', 'alice\u0000', undefined],
    ['refuses a tab', 'a\tb', undefined],
    ['refuses DEL', 'alice\u007f', undefined],
    ['refuses an array with a control character in one element', ['ok', 'bad\n'], undefined],
    ['refuses Latin-1 text a UTF-8 backend would misread', 'José', undefined],
    ['refuses text node cannot put in a header', 'Michał', undefined],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => assert.equal(headerValueOf(value), expected));
  }
});

describe('keysLifetimeMs', () => {
  const cases: readonly [string, string | undefined, number][] = [
    ['defaults to an hour without Cache-Control', undefined, DEFAULT_KEYS_LIFETIME_MS],
    ['uses max-age in range', 'public, max-age=7200', 7_200_000],
    ['clamps a short max-age up to five minutes', 'max-age=10', MIN_KEYS_LIFETIME_MS],
    ['clamps a long max-age down to a day', 'max-age=31536000', MAX_KEYS_LIFETIME_MS],
    ['takes no-cache as the minimum', 'no-cache', MIN_KEYS_LIFETIME_MS],
    ['takes no-store as the minimum, whatever max-age says', 'max-age=3600, no-store', MIN_KEYS_LIFETIME_MS],
    ['reads directives case-insensitively', 'Max-Age=900', 900_000],
    ['defaults when max-age is unreadable', 'max-age=soon', DEFAULT_KEYS_LIFETIME_MS],
  ];
  for (const [name, header, expected] of cases) {
    it(name, () => assert.equal(keysLifetimeMs(header), expected));
  }
});
