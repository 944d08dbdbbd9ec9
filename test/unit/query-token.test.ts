import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { takeQueryToken } from '../../src/http/query-token.js';

describe('takeQueryToken', () => {
  it('takes access_token out and keeps every other parameter byte for byte', () => {
    assert.deepEqual(takeQueryToken('/ws?a=%2F1&access_token=abc.def&b=x+y'), {
      target: '/ws?a=%2F1&b=x+y',
      tokens: ['abc.def'],
    });
  });

  it('drops the query entirely when the token was all of it', () => {
    assert.deepEqual(takeQueryToken('/ws?access_token=t'), { target: '/ws', tokens: ['t'] });
  });

  it('percent-decodes the token', () => {
    assert.deepEqual(takeQueryToken('/ws?access_token=a%2Eb').tokens, ['a.b']);
  });

  it('reports every token when there are several, for the caller to refuse', () => {
    assert.deepEqual(takeQueryToken('/ws?access_token=a&access_token=b').tokens, ['a', 'b']);
  });

  it('leaves a target without a query, or without the parameter, as it is', () => {
    assert.deepEqual(takeQueryToken('/ws'), { target: '/ws', tokens: [] });
    assert.deepEqual(takeQueryToken('/ws?x_access_token=1'), { target: '/ws?x_access_token=1', tokens: [] });
  });

  it('keeps a malformed token as an empty one, which verification refuses', () => {
    assert.deepEqual(takeQueryToken('/ws?access_token=%E0%A4%A').tokens, ['']);
  });
});
