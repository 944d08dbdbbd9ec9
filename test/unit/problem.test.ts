import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProblemError } from '../../src/errors.js';
import { asProblem, rawProblemResponse } from '../../src/http/problem.js';
import { StoreOpenError, StoreUnavailableError } from '../../src/store/errors.js';

describe('store errors on the wire', () => {
  it('answers an unavailable store 503 store_unavailable with Retry-After: 1, as a store problem did', () => {
    const fromStore = new StoreUnavailableError('The store is unavailable; try again shortly.');
    const problem = new ProblemError('store_unavailable', 'The store is unavailable; try again shortly.', {
      headers: { 'Retry-After': '1' },
    });
    assert.equal(rawProblemResponse(fromStore, 'req-1'), rawProblemResponse(problem, 'req-1'));
    const mapped = asProblem(fromStore);
    assert.ok(mapped instanceof ProblemError);
    assert.equal(mapped.status, 503);
    assert.deepEqual(mapped.headers, { 'Retry-After': '1' });
  });

  it('leaves a store that could not open to the generic 500, revealing nothing', () => {
    const err = new StoreOpenError('redis://db:6379', 'cannot reach Redis');
    assert.equal(asProblem(err), err);
    assert.match(rawProblemResponse(err), /^HTTP\/1\.1 500 /);
    assert.doesNotMatch(rawProblemResponse(err), /redis/);
  });
});
