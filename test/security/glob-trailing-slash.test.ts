/**
 * A rule glob with a trailing slash: a request's trailing slash is optional, so `/console/` could
 * only ever protect `/console/`, and `/console` itself fell through to a later, weaker rule. Such a
 * glob is refused at load, with a message naming the two spellings the operator may have meant;
 * both of those protect `/console` with and without the slash.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { assertNothingForwarded, assertRefused, onlyForwardedSince } from '../helpers/attack.js';
import { rawRequest } from '../helpers/raw-http.js';
import { seedUser, startSidecar, type SeededUser, type TestSidecar } from '../helpers/sidecar.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

const CATCH_ALL_PUBLIC = { path: '/**', public: true };

describe('a rule glob with a trailing slash', () => {
  let upstream: TestUpstream;

  before(async () => {
    upstream = await startUpstream();
  });
  after(async () => {
    await upstream.close();
  });

  it('is refused at load, naming /console and /console/**, so /console never reaches the backend as public', async () => {
    const seen = upstream.requests.length;
    let sidecar: TestSidecar | undefined;
    let refusal: unknown;
    try {
      sidecar = await startSidecar({
        upstreamUrl: upstream.url,
        config: { rules: [{ path: '/console/', roles: ['admin'] }, CATCH_ALL_PUBLIC] },
      });
    } catch (err) {
      refusal = err;
    }
    if (sidecar) {
      // The old behaviour: the sidecar started, and the bare path went to the public rule.
      const response = await rawRequest(sidecar.url, { target: '/console' });
      await sidecar.stop({ removeData: true });
      assert.fail(`the config was accepted; GET /console answered ${response.status}`);
    }
    assert.ok(refusal instanceof ConfigError, String(refusal));
    const [problem] = refusal.problems;
    assert.equal(problem?.key, 'rules[0].path');
    assert.match(problem?.message ?? '', /cannot end with \//);
    assert.match(problem?.message ?? '', /write \/console \(matches \/console and \/console\/\)/);
    assert.match(problem?.message ?? '', /or \/console\/\*\* \(and everything under it\)/);
    assertNothingForwarded(upstream, seen);
  });

  for (const glob of ['/console', '/console/**']) {
    describe(`written as ${glob}, as the message suggests`, () => {
      let sidecar: TestSidecar;
      let admin: SeededUser;
      before(async () => {
        sidecar = await startSidecar({
          upstreamUrl: upstream.url,
          config: { rules: [{ path: glob, roles: ['admin'] }, CATCH_ALL_PUBLIC] },
        });
        admin = await seedUser(sidecar, 'slash-admin', ['admin']);
      });
      after(async () => {
        await sidecar.stop({ removeData: true });
      });

      for (const target of ['/console', '/console/']) {
        it(`answers an anonymous GET ${target} with 401 and forwards nothing`, async () => {
          const seen = upstream.requests.length;
          assertRefused(await rawRequest(sidecar.url, { target }), 401, 'unauthenticated');
          assertNothingForwarded(upstream, seen);
        });
        it(`forwards GET ${target} from an admin as exactly ${target}`, async () => {
          const seen = upstream.requests.length;
          const response = await rawRequest(sidecar.url, {
            target,
            headers: [['Authorization', `Bearer ${admin.token}`]],
          });
          assert.equal(response.status, 200, response.raw);
          assert.equal(onlyForwardedSince(upstream, seen).url, target);
        });
      }
    });
  }
});
