import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findPasswordProblem, MAX_PASSWORD_BYTES } from '../../src/auth/passwords/password-hasher.js';
import { normalizeUsername } from '../../src/auth/endpoints/username.js';

describe('username policy', () => {
  const accepted: [string, string, string][] = [
    ['a lower-case name is kept as it is', 'alice', 'alice'],
    ['upper-case letters are lower-cased', 'Alice', 'alice'],
    ['an all-capitals name is lower-cased', 'ALICE', 'alice'],
    ['full-width letters are NFKC-normalized to ASCII', 'Ａｌｉｃｅ', 'alice'],
    ['full-width digits are NFKC-normalized to ASCII', 'bob１２３', 'bob123'],
    ['the Kelvin sign is NFKC-normalized to k', '\u212Aelvin', 'kelvin'],
    ['digits, dots, underscores and hyphens are allowed', 'a.b_c-9', 'a.b_c-9'],
    ['three characters is the shortest allowed', 'abc', 'abc'],
    ['sixty-four characters is the longest allowed', 'a'.repeat(64), 'a'.repeat(64)],
  ];
  for (const [name, input, expected] of accepted) {
    it(name, () => {
      assert.equal(normalizeUsername(input), expected);
    });
  }

  const refused: [string, string][] = [
    ['two characters are too few', 'al'],
    ['two full-width characters are too few after normalization', 'Ａｌ'],
    ['sixty-five characters are too many', 'a'.repeat(65)],
    ['the empty name is refused', ''],
    ['a space is refused', 'a b'],
    ['an exclamation mark is refused', 'al!ce'],
    ['an at sign is refused', 'alice@example.com'],
    ['a letter outside a-z is refused', 'ålice'],
    ['a leading space is refused', ' alice'],
  ];
  for (const [name, input] of refused) {
    it(name, () => {
      assert.equal(normalizeUsername(input), undefined);
    });
  }

  it('maps the different spellings of one name to one account', () => {
    const spellings = ['alice', 'Alice', 'ALICE', 'Ａｌｉｃｅ', 'ＡＬＩＣＥ'];
    assert.deepEqual(new Set(spellings.map(normalizeUsername)), new Set(['alice']));
  });
});

describe('password policy', () => {
  const policy = { minLength: 8 };

  it('allows at most 72 bytes', () => {
    assert.equal(MAX_PASSWORD_BYTES, 72);
  });

  const accepted: [string, string][] = [
    ['a password of exactly minLength characters is accepted', 'abcdefgh'],
    ['a 72-byte ASCII password is accepted', 'a'.repeat(72)],
    ['72 bytes of two-byte characters (36 × é) are accepted', 'é'.repeat(36)],
    ['72 bytes of three-byte characters (24 × €) are accepted', '€'.repeat(24)],
    ['72 bytes of four-byte characters (18 emoji) are accepted', '😀'.repeat(18)],
    ['minLength counts characters, so 8 emoji are enough', '😀'.repeat(8)],
  ];
  for (const [name, password] of accepted) {
    it(name, () => {
      assert.equal(findPasswordProblem(password, policy), undefined);
    });
  }

  const tooLong: [string, string][] = [
    ['a 73-byte ASCII password is refused', 'a'.repeat(73)],
    ['73 bytes in 37 characters (36 × é and one a) are refused', 'é'.repeat(36) + 'a'],
    ['75 bytes in 25 characters (25 × €) are refused', '€'.repeat(25)],
    ['76 bytes in 19 characters (19 emoji) are refused', '😀'.repeat(19)],
  ];
  for (const [name, password] of tooLong) {
    it(name, () => {
      assert.match(findPasswordProblem(password, policy) ?? 'accepted', /at most 72 bytes/);
    });
  }

  const tooShort: [string, string, number][] = [
    ['one character fewer than minLength is refused', 'abcdefg', 8],
    ['the empty password is refused', '', 8],
    ['minLength comes from the policy', 'a'.repeat(11), 12],
    ['minLength counts characters, not bytes (7 × é are 14 bytes)', 'é'.repeat(7), 8],
    ['minLength counts characters, not UTF-16 units (4 emoji are 8 units)', '😀'.repeat(4), 8],
  ];
  for (const [name, password, minLength] of tooShort) {
    it(name, () => {
      assert.match(
        findPasswordProblem(password, { minLength }) ?? 'accepted',
        new RegExp(`at least ${minLength} characters`),
      );
    });
  }
});
