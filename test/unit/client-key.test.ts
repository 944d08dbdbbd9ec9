import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientKeyOf, UNPARSABLE_CLIENT_KEY } from '../../src/http/client-key.js';

describe('clientKeyOf', () => {
  const sameKey: [string, string[]][] = [
    [
      'an IPv4 address, mapped into IPv6 in any spelling, or with a port',
      [
        '203.0.113.7',
        '::ffff:203.0.113.7',
        '::FFFF:203.0.113.7',
        '0:0:0:0:0:ffff:203.0.113.7',
        '::ffff:cb00:7107',
        '203.0.113.7:51234',
        '[::ffff:203.0.113.7]:443',
        ' 203.0.113.7 ',
      ],
    ],
    [
      'every spelling of one IPv6 address',
      [
        '2001:db8::1',
        '2001:DB8::1',
        '2001:0db8:0000:0000:0000:0000:0000:0001',
        '2001:db8:0:0:0:0:0:1',
        '[2001:db8::1]',
        '[2001:db8::1]:8443',
        '2001:db8::0.0.0.1',
      ],
    ],
    [
      'every address of one /64',
      [
        '2001:db8:1:2::1',
        '2001:db8:1:2:ffff:ffff:ffff:ffff',
        '2001:db8:1:2:a:b:c:d',
        '[2001:db8:1:2::dead:beef]:1234',
      ],
    ],
    ['a link-local address with and without its zone id', ['fe80::1%eth0', 'fe80::1', '[fe80::2%25en0]:80']],
  ];
  for (const [what, spellings] of sameKey) {
    it(`gives ${what} one key`, () => {
      const keys = new Set(spellings.map((address) => clientKeyOf(address, 64)));
      assert.equal(keys.size, 1, [...keys].join(' | '));
    });
  }

  it('spells an IPv4 client as its dotted quad and an IPv6 client as its RFC 5952 network with the length', () => {
    assert.equal(clientKeyOf('::ffff:10.0.0.1', 64), '10.0.0.1');
    assert.equal(clientKeyOf('2001:0DB8:0001:0002:0003::1', 64), '2001:db8:1:2::/64');
    assert.equal(clientKeyOf('2001:db8::1', 128), '2001:db8::1/128');
    assert.equal(clientKeyOf('2001:db8:0:0:1:0:0:1', 128), '2001:db8::1:0:0:1/128');
    assert.equal(clientKeyOf('2001:db8:abcd:12ff::1', 56), '2001:db8:abcd:1200::/56');
    assert.equal(clientKeyOf('::1', 64), '::/64');
  });

  it('keeps addresses of different prefixes, and different IPv4 addresses, apart', () => {
    assert.notEqual(clientKeyOf('2001:db8:1:2::1', 64), clientKeyOf('2001:db8:1:3::1', 64));
    assert.notEqual(clientKeyOf('203.0.113.7', 64), clientKeyOf('203.0.113.8', 64));
    assert.notEqual(clientKeyOf('2001:db8::1', 128), clientKeyOf('2001:db8::2', 128));
  });

  it('uses a /64 when no prefix length is given', () => {
    assert.equal(clientKeyOf('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  });

  it('gives every unparsable address the one shared key, which no address key can equal', () => {
    for (const junk of [
      '',
      'unknown',
      'not-an-ip',
      '1.2.3',
      '010.0.0.1',
      '256.1.1.1',
      '1:2:3',
      '[::1',
      'a::b::c',
      '2001:db8::1:443:',
    ]) {
      assert.equal(clientKeyOf(junk, 64), UNPARSABLE_CLIENT_KEY, junk);
    }
  });

  it('refuses a prefix length outside 0 to 128 as caller misuse', () => {
    for (const bad of [-1, 129, 64.5, Number.NaN]) {
      assert.throws(() => clientKeyOf('::1', bad), TypeError);
    }
  });
});
