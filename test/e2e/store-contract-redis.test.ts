import { randomUUID } from 'node:crypto';
import { describe } from 'node:test';
import { openRedisStore } from '../../src/store/redis-store.js';
import { describeStoreContract } from '../contract/store-contract.js';
import { redisSkipReason, startRedisServer } from '../helpers/redis-server.js';

if (redisSkipReason) {
  describe('store contract: redis', { skip: redisSkipReason }, () => undefined);
} else {
  describeStoreContract('redis', async () => {
    const redis = await startRedisServer();
    const store = await openRedisStore({
      url: redis.url,
      keyPrefix: `contract-${randomUUID().slice(0, 8)}:`,
    });
    return {
      store,
      async cleanup() {
        await store.close();
        await redis.cleanup();
      },
    };
  });
}
