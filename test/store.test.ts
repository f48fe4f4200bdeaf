import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Endpoint } from '../src/endpoints/model.js';
import { EndpointRepository } from '../src/endpoints/repository.js';
import { applySeed } from '../src/identity/seed.js';
import { openStore } from '../src/store/database.js';
import { scratch } from './support/harness.js';
import { P1, WORLD } from './support/world.js';

// The store's own promises, below the HTTP layer.

const { fresh, cleanup } = scratch();
after(cleanup);

test('a read never sees the uncommitted writes of a transaction under way (then rolled back)', async () => {
  // On SQLite, read-only queries skip Kysely's connection queue and run on the one connection
  // directly — which would show a transaction's writes before it commits. They must not.
  const store = await openStore((await fresh()).options);
  try {
    await applySeed(store, WORLD);
    const repo = new EndpointRepository(store.db, store.dialect);
    const now = Date.now();
    const e: Endpoint = {
      id: '6650f0c0a1b2c3d4e5f6cafe',
      groupId: P1,
      cloudProvider: 'AWS',
      regionName: 'US_EAST_1',
      vpcRegionName: 'US_EAST_1',
      status: 'INITIATING',
      connectionName: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
      dueAt: null,
      attempts: 0,
      generation: 0,
    };
    let inserted!: () => void;
    let release!: () => void;
    const insertedNow = new Promise<void>((r) => (inserted = r));
    const held = new Promise<void>((r) => (release = r));
    const transaction = store.db.transaction().execute(async (trx) => {
      await new EndpointRepository(trx, store.dialect).insert(e);
      inserted();
      await held;
      throw new Error('rolled back');
    });
    await insertedNow;
    const seen = repo.find(P1, 'AWS', e.id);
    const listed = repo.pageJson(P1, 'AWS', 0, 100);
    release();
    await assert.rejects(transaction, /rolled back/);
    assert.equal(await seen, undefined);
    assert.equal(await listed, '[]');
    assert.equal(await repo.find(P1, 'AWS', e.id), undefined);
  } finally {
    await store.close();
  }
});
