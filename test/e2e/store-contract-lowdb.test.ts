import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import { describeStoreContract } from '../contract/store-contract.js';

describeStoreContract('lowdb', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'auth-sidecar-contract-'));
  const store = await openLowdbStore({ path: join(dir, 'store.json') });
  return {
    store,
    async cleanup() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
