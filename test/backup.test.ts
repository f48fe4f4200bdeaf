import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openStore, SQLITE_FILE, type StoreOptions } from '../src/store/database.js';
import { EXPORTED_TABLES, NOT_EXPORTED, SECRET_SETTINGS, storeTables } from '../src/store/transfer.js';
import { callControl, CheckedClient, mintToken, scratch } from './support/harness.js';
import { snaplinkCli, spawnServer } from './support/process.js';
import { STORE_KIND, tableSnapshot, tempDir } from './support/stores.js';
import { collectionPath, KEYS, P1, P2, SERVICE_ACCOUNTS } from './support/world.js';
import { writeSeed } from './support/harness.js';

// Backing up, exporting and importing a store with the `snaplink` command, as an operator does:
// against the store of a running server, into a fresh store of the same kind. (SQLite to
// PostgreSQL at 100,000 endpoints: test/postgres/move.test.ts.)

const { fresh, cleanup } = scratch();
after(cleanup);
const ADMIN = 'backup-test-admin-token';

async function withOpen<T>(options: StoreOptions, work: (db: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> {
  const store = await openStore(options);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** Every exported table's rows, sorted; settings without the secrets that stay behind. */
async function snapshot(options: StoreOptions) {
  return withOpen(options, async (store) => {
    const all = JSON.parse(await tableSnapshot(store.db, EXPORTED_TABLES)) as Record<string, string[]>;
    all.settings = all.settings!.filter((r) => !SECRET_SETTINGS.some((key) => r.includes(`"${key}"`)));
    return all;
  });
}

describe('export and import', () => {
  test('every table of the store is either exported or declared as staying behind', async () => {
    const { options } = await fresh();
    const tables = await withOpen(options, (store) => storeTables(store));
    const declared = new Set<string>([...EXPORTED_TABLES, ...Object.keys(NOT_EXPORTED)]);
    assert.deepEqual(tables.filter((t) => !declared.has(t)), [], 'add the new table to EXPORTED_TABLES (or NOT_EXPORTED) in src/store/transfer.ts');
  });

  test('a running store exported, imported into a new one: the same world, no secret in the file, the same keys and tokens work', { timeout: 120_000 }, async () => {
    const a = await fresh();
    const b = await fresh();
    const server = await spawnServer([...a.args, '--seed', writeSeed(a.dir), '--admin-token', ADMIN]);
    let token: string;
    const ids: string[] = [];
    try {
      const api = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerA });
      for (const [groupId, regionName] of [[P1, 'US_EAST_1'], [P1, 'EU_WEST_1'], [P2, 'AP_SOUTH_1']] as const) ids.push((await api.createPrivateEndpoint(groupId, { regionName })).id);
      assert.equal((await callControl(server.url, ADMIN, 'POST', '/_snaplink/clock/advance', { seconds: 3600 })).status, 200);
      assert.equal((await callControl(server.url, ADMIN, 'POST', '/_snaplink/faults', { kind: 'HTTP_ERROR', operation: 'list', groupId: P2, status: 503, errorCode: 'SERVICE_UNAVAILABLE' })).status, 201);
      token = await mintToken(server.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
      // Exported while the server runs.
      const file = join(a.dir, 'world.json');
      const exported = await snaplinkCli(['export', file, ...a.args]);
      assert.equal(exported.code, 0, exported.stderr);
      const text = readFileSync(file, 'utf8');
      const secrets = [...Object.values(KEYS).map((k) => k.privateKey), ...Object.values(SERVICE_ACCOUNTS).map((s) => s.clientSecret), ADMIN, token];
      const storeSecrets = await withOpen(a.options, async (s) => (await s.db.selectFrom('settings').select('value').where('key', 'in', SECRET_SETTINGS).execute()).map((r) => r.value));
      assert.equal(storeSecrets.length, 3, 'the nonce secret, the token signing key and the event stream ticket key');
      for (const secret of [...secrets, ...storeSecrets]) assert.ok(!text.includes(secret), `the export holds a secret: ${secret.slice(0, 6)}…`);
      const doc = JSON.parse(text);
      assert.equal(doc.tables.private_endpoints.length, 3);

      const imported = await snaplinkCli(['import', file, ...b.args]);
      assert.equal(imported.code, 0, imported.stderr);
      assert.equal(JSON.parse(imported.stdout).imported.private_endpoints, 3);
      // Into a store that holds anything: refused, and nothing changes.
      const before = await snapshot(b.options);
      const again = await snaplinkCli(['import', file, ...b.args]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /not empty/);
      assert.deepEqual(await snapshot(b.options), before);
    } finally {
      await server.stop();
    }
    assert.deepEqual(await snapshot(b.options), await snapshot(a.options), 'every exported table is the same in both stores');

    // A server on the new store: the old keys sign in (Digest), the old token works. (The admin
    // token given with --admin-token is configuration, not state: it is given again.)
    const moved = await spawnServer([...b.args, '--admin-token', ADMIN]);
    try {
      const api = new CheckedClient({ baseUrl: moved.url, ...KEYS.orgOwnerA });
      assert.deepEqual((await api.listPrivateEndpoints(P1)).results.map((e) => e.id), ids.slice(0, 2));
      assert.equal((await new CheckedClient({ baseUrl: moved.url, accessToken: token }).request('GET', collectionPath(P1))).status, 200);
      assert.equal((await api.request('GET', collectionPath(P2))).status, 503, 'the fault moved too');
      const clock = await callControl(moved.url, ADMIN, 'GET', '/_snaplink/clock');
      assert.equal(clock.status, 200);
      assert.ok(clock.body.offsetSeconds >= 3600, 'the virtual clock moved too');
      await mintToken(moved.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
    } finally {
      await moved.stop();
    }
  });

  test('an import that fails part-way leaves the store empty', async () => {
    const a = await fresh();
    const seeded = await snaplinkCli(['seed', writeSeed(a.dir), ...a.args]);
    assert.equal(seeded.code, 0, seeded.stderr);
    const file = join(a.dir, 'world.json');
    assert.equal((await snaplinkCli(['export', file, ...a.args])).code, 0);
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    // The last rows name a project that is not there: the whole import must roll back.
    doc.tables.private_endpoints = [
      { id: '6650f0c0a1b2c3d4e5f6aaaa', group_id: '6650f0c0a1b2c3d4e5f6ffff', cloud_provider: 'AWS', region_name: 'US_EAST_1', vpc_region_name: 'US_EAST_1', status: 'ACTIVE', connection_name: null, error_message: null, created_at: 1, updated_at: 1, due_at: null, lease_owner: null, lease_until: null, attempts: 0, generation: 0 },
    ];
    writeFileSync(file, JSON.stringify(doc));
    const b = await fresh();
    const res = await snaplinkCli(['import', file, ...b.args]);
    assert.equal(res.code, 1, res.stderr);
    const left = await snapshot(b.options);
    assert.deepEqual(Object.entries(left).filter(([, rows]) => rows.length > 0), [], 'nothing was imported');
  });

  test('a file that is not an export is refused before any store is made', async () => {
    const dir = tempDir();
    const file = join(dir, 'nope.json');
    writeFileSync(file, JSON.stringify({ organizations: [] }));
    const res = await snaplinkCli(['import', file, '--data-dir', join(dir, 'store')]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /not a snaplink export/);
    assert.throws(() => readFileSync(join(dir, 'store', SQLITE_FILE)));
  });
});

describe('snaplink backup', { skip: STORE_KIND === 'postgres' ? 'copies an SQLite store; PostgreSQL is backed up with pg_dump' : undefined }, () => {
  test('a running, writing store is copied consistently; a server on the copy has everything acknowledged before it began', { timeout: 120_000 }, async () => {
    const a = await fresh();
    const server = await spawnServer([...a.args, '--seed', writeSeed(a.dir), '--admin-token', ADMIN]);
    const api = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerA });
    const before: string[] = [];
    try {
      for (const regionName of ['US_EAST_1', 'US_EAST_2', 'US_WEST_1']) before.push((await api.createPrivateEndpoint(P1, { regionName })).id);
      // Writes go on during the backup.
      let writing = true;
      const writes = (async () => {
        for (const regionName of ['EU_WEST_1', 'EU_WEST_2', 'EU_WEST_3', 'EU_CENTRAL_1', 'EU_NORTH_1', 'AP_SOUTH_1', 'AP_EAST_1']) {
          if (!writing) break;
          await api.createPrivateEndpoint(P2, { regionName });
        }
      })();
      const copy = join(tempDir(), 'copy.db');
      const res = await snaplinkCli(['backup', copy, ...a.args]);
      writing = false;
      await writes;
      assert.equal(res.code, 0, res.stderr);
      assert.equal((await snaplinkCli(['backup', copy, ...a.args])).code, 2, 'an existing file is never overwritten');
      const restored = tempDir();
      mkdirSync(restored, { recursive: true });
      copyFileSync(copy, join(restored, SQLITE_FILE));
      const check = await withOpen({ dataDir: restored }, async (s) => (await s.db.selectNoFrom((eb) => eb.val('x').as('x')).execute()) && (await import('kysely')).sql<{ integrity_check: string }>`pragma integrity_check`.execute(s.db));
      assert.deepEqual(check.rows, [{ integrity_check: 'ok' }]);
      const onCopy = await spawnServer(['--data-dir', restored]);
      try {
        const ids = (await new CheckedClient({ baseUrl: onCopy.url, ...KEYS.orgOwnerA }).listPrivateEndpoints(P1)).results.map((e) => e.id);
        assert.deepEqual(ids, before);
      } finally {
        await onCopy.stop();
      }
    } finally {
      await server.stop();
    }
  });
});
