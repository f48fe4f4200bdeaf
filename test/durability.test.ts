import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { AtlasClient } from '../src/client/index.js';
import { scratch, writeSeed } from './support/harness.js';
import { spawnServer } from './support/process.js';
import { KEYS, P1, P2 } from './support/world.js';
import { AWS_REGIONS } from '../src/atlas/regions.js';

// What was acknowledged survives the process being killed without warning. (Realistic timings
// keep the endpoints where they were left; lifecycle-restart.test.ts covers them moving on.)

const { fresh, cleanup } = scratch();
after(cleanup);

test('creates answered 201 and deletes answered 204 survive kill -9', async () => {
  const { dir, args: store } = await fresh();
  const seed = writeSeed(dir);
  const first = await spawnServer([...store, '--seed', seed, '--timings', 'realistic']);
  const c = new AtlasClient({ baseUrl: first.url, ...KEYS.orgOwnerA });
  const acknowledged: string[] = [];
  // Writes in flight while the process dies: only what was answered must be there after.
  const create = (groupId: string, regionName: string) =>
    c.createPrivateEndpoint(groupId, { regionName }).then(
      (e) => void acknowledged.push(e.id),
      () => undefined, // cut off by the kill: never acknowledged
    );
  await Promise.all(AWS_REGIONS.slice(0, 20).map((r) => create(P1, r)));
  const inFlight = AWS_REGIONS.slice(20).map((r) => create(P1, r));
  const deleted = acknowledged[0]!;
  await c.deletePrivateEndpoint(P1, deleted);
  const pending = create(P2, 'US_EAST_1');
  first.proc.kill('SIGKILL');
  assert.equal(await first.exited, 'SIGKILL');
  await Promise.allSettled([...inFlight, pending]);
  const acked = [...acknowledged];

  const second = await spawnServer([...store, '--seed', seed, '--timings', 'realistic']);
  try {
    const c2 = new AtlasClient({ baseUrl: second.url, ...KEYS.orgOwnerA });
    const stored = new Map<string, string>();
    for (const g of [P1, P2]) for (const e of (await c2.listPrivateEndpoints(g, { itemsPerPage: 500 })).results) stored.set(e.id, e.status);
    for (const id of acked) assert.ok(stored.has(id), `acknowledged endpoint ${id} was lost`);
    assert.equal(stored.get(deleted), 'DELETING');
    assert.ok(acked.length >= 20);
  } finally {
    second.proc.kill('SIGTERM');
    await second.exited;
  }
});
