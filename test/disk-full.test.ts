import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { sql } from 'kysely';
import { EndpointRepository } from '../src/endpoints/repository.js';
import { applySeed } from '../src/identity/seed.js';
import { isStoreFull, openStore, SQLITE_FILE } from '../src/store/database.js';
import { allEndpointIds, basicAuth, CheckedClient, createUntilRefused, mintToken, tokenRequest, writeSeed } from './support/harness.js';
import { type ServerProcess, spawnServer } from './support/process.js';
import { STORE_KIND } from './support/stores.js';
import { collectionPath, itemPath, KEYS, P1, SERVICE_ACCOUNTS, storedEndpoint, WORLD } from './support/world.js';

// A store that really runs out of room: the SQLite store on a 2 MB tmpfs, filled up. A write is
// refused with 507 INSUFFICIENT_STORAGE, reads are served, nothing acknowledged is lost, and
// writes work again once there is room — without a restart.

/** Mounts a small tmpfs (root, or CAP_SYS_ADMIN); the reason when it cannot. */
function mountSmall(dir: string): string | undefined {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `cannot mount a small tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}): a real full disk needs root or CAP_SYS_ADMIN`;
  }
}

const dir = mkdtempSync(join(tmpdir(), 'snaplink-full-'));
const skip = STORE_KIND === 'postgres' ? 'the SQLite store; PostgreSQL has test/postgres/disk-full.test.ts' : mountSmall(dir);
let server: ServerProcess | undefined;
const start = async () => (server = await spawnServer(['--data-dir', dir, '--seed', join(dir, 'seed.json'), '--timings', 'none', '--rate-limit-capacity', '100000']));

after(async () => {
  await server?.stop();
  if (!skip) execFileSync('umount', [dir]);
  rmSync(dir, { recursive: true, force: true });
});

describe('disk full (SQLite)', { skip }, () => {
  before(async () => {
    writeSeed(dir);
    await start();
  });

  test('writes get 507 and change nothing, reads go on, writes work again when room returns, nothing acknowledged is lost', { timeout: 120_000 }, async () => {
    const api = new CheckedClient({ baseUrl: server!.url, ...KEYS.ownerP1 });
    const filler = join(dir, 'filler');
    const free = statfsSync(dir);
    // All the room but half a megabyte, so some writes fit (each is a few WAL pages, with its history
    // entry and the request journal's batches) and then one does not.
    writeFileSync(filler, Buffer.alloc(Number(free.bavail * free.bsize) - 512 * 1024));

    const { acknowledged, refused, refusedBody } = await createUntilRefused(api, P1);
    assert.ok(refused, 'the store filled up');
    assert.equal(refused!.status, 507);
    assert.equal(refused!.body.errorCode, 'INSUFFICIENT_STORAGE');
    assert.ok(acknowledged.length > 0, 'some writes fitted before it filled');

    // Reads are served while it is full, and show every acknowledged write.
    assert.deepEqual((await allEndpointIds(api, P1)).sort(), [...acknowledged].sort());
    assert.equal((await api.request('GET', itemPath(P1, acknowledged[0]!))).status, 200);
    // The token endpoint refuses to mint (a token is a write) with its own kind of body. A token
    // row is small: it may still fit in the last pages' slack, so mint until the room is gone.
    let token: Awaited<ReturnType<typeof tokenRequest>> | undefined;
    for (let i = 0; i < 500; i++) {
      token = await tokenRequest(server!.url, { authorization: basicAuth(SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret) });
      if (token.status !== 200) break;
    }
    assert.equal(token!.status, 507);
    assert.equal(token!.body.error, 'temporarily_unavailable');

    // Room returns: the same process writes again.
    rmSync(filler);
    // The refused create again: it left nothing behind to conflict with.
    const again = await api.request<any>('POST', collectionPath(P1), { body: refusedBody });
    assert.equal(again.status, 201);
    acknowledged.push(again.body.id);
    await mintToken(server!.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);

    // Restarted, the store holds exactly what was acknowledged: the refused create left nothing.
    await server!.stop();
    await start();
    const after = await allEndpointIds(new CheckedClient({ baseUrl: server!.url, ...KEYS.ownerP1 }), P1);
    assert.deepEqual(after.sort(), [...acknowledged].sort());
  });
});

// The same guarantee one level down, where it is hardest: the writes of one event-loop turn
// share a transaction (store/write-batch.ts), and SQLite may roll a whole transaction back when
// a statement in it finds the disk full — after earlier writes of the turn returned, and while
// later ones open a new batch. Whatever was acknowledged (the write resolved, then
// durable(mark) did, as the server's answers wait) must be in the file.
const batchDir = mkdtempSync(join(tmpdir(), 'snaplink-full-batch-'));
const batchSkip = STORE_KIND === 'postgres' ? 'the SQLite store\'s write batches' : mountSmall(batchDir);

after(() => {
  if (!batchSkip) execFileSync('umount', [batchDir]);
  rmSync(batchDir, { recursive: true, force: true });
});

describe('disk full inside a write batch (SQLite)', { skip: batchSkip }, () => {
  test('writes of one turn that the full disk refuses or rolls back are never acknowledged; those acknowledged are all there', { timeout: 120_000 }, async () => {
    const data = join(batchDir, 'data');
    mkdirSync(data);
    const store = await openStore({ dataDir: data, deferSync: true });
    const acknowledged: string[] = [];
    let refused = 0;
    try {
      await applySeed(store, WORLD);
      await store.durable();
      // A page cache of a few pages: a transaction spills to the WAL before its COMMIT, so the disk
      // can fill up in the middle of a batch, not only at its end.
      await sql`pragma cache_size = 4`.execute(store.db);
      const repo = new EndpointRepository(store.db, store.dialect);
      const free = statfsSync(batchDir);
      writeFileSync(join(batchDir, 'filler'), Buffer.alloc(Number(free.bavail * free.bsize) - 256 * 1024));
      let next = 0;
      // Long, distinct regions: each row takes room, and none conflicts with another.
      const endpoint = () => storedEndpoint((0x6650f0c0a1b2c3d4e5000000n + BigInt(next)).toString(16), `R${next++}-${'x'.repeat(1500)}`);
      // Turns of 20 concurrent writes until one is refused.
      for (let turn = 0; turn < 500 && refused === 0; turn++) {
        const outcomes = await Promise.allSettled(
          Array.from({ length: 20 }, () => {
            const e = endpoint();
            // As the server does: a mark as the request arrives, durable(mark) before the answer.
            const mark = store.writeMark();
            return repo.insert(e).then(async () => {
              await store.durable(mark);
              return e.id;
            });
          }),
        );
        for (const o of outcomes) {
          if (o.status === 'fulfilled') acknowledged.push(o.value);
          else if (isStoreFull(o.reason)) refused++;
          else throw o.reason;
        }
      }
      assert.ok(refused > 0, 'the disk filled up');
      assert.ok(acknowledged.length > 0, 'some writes fitted first');
    } finally {
      await store.close().catch(() => {});
    }
    // What another connection finds in the file: every acknowledged write.
    const file = new SqliteDatabase(join(data, SQLITE_FILE), { readonly: true });
    try {
      const ids = new Set((file.prepare('select id from private_endpoints').pluck().all() as string[]));
      assert.deepEqual(acknowledged.filter((id) => !ids.has(id)), [], 'acknowledged, then lost');
    } finally {
      file.close();
    }
  });
});
