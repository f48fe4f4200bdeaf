import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Endpoint } from '../src/endpoints/model.js';
import { DuplicateEndpointError, EndpointRepository } from '../src/endpoints/repository.js';
import { findProjectByName, getProject } from '../src/identity/repository.js';
import { applySeed } from '../src/identity/seed.js';
import { openStore, SQLITE_FILE, type Store } from '../src/store/database.js';
import { ReadCache, writtenTable } from '../src/store/read-cache.js';
import { WriteBatch } from '../src/store/write-batch.js';
import { bumpVersion, StoreVersion } from '../src/store/version.js';
import { migrateToLatest } from '../src/store/migrations.js';
import { DEFAULT_JOURNAL, RequestJournal } from '../src/journal/request-journal.js';
import { toWire } from '../src/endpoints/model.js';
import { scratch, waitFor } from './support/harness.js';
import { STORE_KIND } from './support/stores.js';
import { ORG_A, P1, storedEndpoint, WORLD } from './support/world.js';

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
    const e = endpoint(0);
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
    const listed = repo.page(P1, 'AWS', 0, 100);
    release();
    await assert.rejects(transaction, /rolled back/);
    assert.equal(await seen, undefined);
    assert.deepEqual(await listed, { totalCount: 0, resultsJson: '[]' });
    assert.equal(await repo.find(P1, 'AWS', e.id), undefined);
  } finally {
    await store.close();
  }
});

const endpoint = (i: number, region = `R${i}`): Endpoint =>
  storedEndpoint(`6650f0c0a1b2c3d4e5f6${(0xcafe + i).toString(16).padStart(4, '0')}`, i === 0 ? 'US_EAST_1' : region);

/** A request journal row, as the journal writes one. */
/** A batch of one request journal entry, with an id of its own. */
let journalIds = 0;
const journalBatch = () => {
  const id = ++journalIds;
  return { first_id: id, last_id: id, last_at: 1, entries: JSON.stringify([[1, 'GET', '/', null, 'get', null, 200, null, null, 1, 'r', 'n']]) };
};

/** Runs `work` on the server's kind of SQLite store (batched commits, deferred fsync, background checkpoints), seeded; closes it after. */
async function withServerStore(work: (s: { store: Store; file: string; repo: EndpointRepository }) => Promise<void>): Promise<void> {
  const s = await fresh();
  const store = await openStore({ ...s.options, deferSync: true });
  try {
    await applySeed(store, WORLD);
    await store.durable();
    await work({ store, file: join(s.dir, SQLITE_FILE), repo: new EndpointRepository(store.db, store.dialect) });
  } finally {
    await store.close();
  }
}

/** What another connection (a CLI command, say) sees in the file. */
function countElsewhere(file: string): number {
  const other = new SqliteDatabase(file, { readonly: true });
  try {
    return other.prepare('select count(*) from private_endpoints').pluck().get() as number;
  } finally {
    other.close();
  }
}

const sqliteOnly = { skip: STORE_KIND !== 'sqlite' && 'batched commits are how the SQLite store writes' };

test('writes made in one turn commit together at its end; each resolves once committed, and durable() then waits for the fsync', sqliteOnly, async () => {
  await withServerStore(async ({ store, file, repo }) => {
    const writes = Array.from({ length: 20 }, (_, i) => repo.insert(endpoint(i + 1)));
    // Still the same turn: queued, so neither written nor seen anywhere yet.
    assert.equal((await repo.page(P1, 'AWS', 0, 100)).totalCount, 0);
    assert.equal(countElsewhere(file), 0);
    await Promise.all(writes);
    assert.equal(countElsewhere(file), 20, 'committed, all at once, by the time they resolve');
    assert.equal((await repo.page(P1, 'AWS', 0, 100)).resultsJson.match(/"id"/g)?.length, 20);
    const durable = store.durable();
    assert.ok(durable, 'their fsync is owed');
    await durable;
    assert.equal(store.durable(), null, 'nothing left to wait for');
  });
});

test('a duplicate in a batch fails alone; the batch\'s other writes commit', sqliteOnly, async () => {
  await withServerStore(async ({ store, file, repo }) => {
    const results = await Promise.allSettled([repo.insert(endpoint(1, 'EU_WEST_1')), repo.insert(endpoint(2, 'EU_WEST_1')), repo.insert(endpoint(3, 'EU_WEST_2'))]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.ok((results[1] as PromiseRejectedResult).reason instanceof DuplicateEndpointError);
    await store.durable();
    assert.equal(countElsewhere(file), 2);
  });
});

test('an explicit transaction first commits the batch under way, and rolls back alone', sqliteOnly, async () => {
  await withServerStore(async ({ store, file, repo }) => {
    await repo.insert(endpoint(1));
    await assert.rejects(
      store.db.transaction().execute(async (trx) => {
        await new EndpointRepository(trx, store.dialect).insert(endpoint(2));
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.equal(countElsewhere(file), 1, 'the batch was committed when the transaction began');
    await store.durable();
    assert.equal(await repo.find(P1, 'AWS', endpoint(2).id), undefined);
    assert.ok(await repo.find(P1, 'AWS', endpoint(1).id));
  });
});

/** A plain SQLite file of its own (foreign keys on), for the store's mechanisms tested alone; closed after `work`. */
async function withSqliteFile(name: string, work: (sqlite: SqliteDatabase.Database, file: string) => Promise<void>): Promise<void> {
  const file = join((await fresh()).dir, name);
  const sqlite = new SqliteDatabase(file);
  try {
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    await work(sqlite, file);
  } finally {
    sqlite.close();
  }
}

test('the read cache keeps answers across writes to other tables, and drops what a write or its cascades may change', sqliteOnly, async () => {
  await withSqliteFile('cache.db', async (sqlite, file) => {
    sqlite.exec(`create table parent (id text primary key);
      create table child (id text primary key, parent_id text references parent (id) on delete cascade);
      create table grandchild (id text primary key, child_id text references child (id) on delete cascade);
      create table other (id integer primary key);
      insert into parent values ('p'); insert into child values ('c', 'p'); insert into grandchild values ('g', 'c');`);
    const cache = new ReadCache(sqlite);
    const runs = new Map<string, number>();
    const read = (table: string) =>
      cache.read(`select * from "${table}"`, [], () => {
        runs.set(table, (runs.get(table) ?? 0) + 1);
        return sqlite.prepare(`select * from "${table}"`).all();
      });
    const write = (statement: string) => {
      sqlite.prepare(statement).run();
      cache.wrote(writtenTable(statement));
    };
    const readAll = () => ['parent', 'child', 'grandchild', 'other'].map((t) => read(t).length);
    assert.deepEqual(readAll(), [1, 1, 1, 0]);
    assert.deepEqual(readAll(), [1, 1, 1, 0]);
    assert.deepEqual([...runs.values()], [1, 1, 1, 1], 'asked twice, read once');

    write('insert into "other" ("id") values (1)');
    assert.deepEqual(readAll(), [1, 1, 1, 1]);
    assert.deepEqual([...runs.values()], [1, 1, 1, 2], 'a write to one table keeps the others\' answers');

    write('delete from "parent" where "id" = \'p\'');
    assert.deepEqual(readAll(), [0, 0, 0, 1], 'the cascade\'s tables are read again');
    assert.deepEqual([...runs.values()], [2, 2, 2, 2]);

    cache.wrote(writtenTable('create table later (id integer)'));
    readAll();
    assert.deepEqual([...runs.values()], [3, 3, 3, 3], 'a statement it cannot name a table for drops everything');
    cache.wrote(undefined);
    readAll();
    assert.deepEqual([...runs.values()], [4, 4, 4, 4], 'so does a failed write (SQLite may have rolled back more than it)');

    // Another process commits: seen at the next turn's first read.
    const other = new SqliteDatabase(file);
    other.prepare("insert into parent values ('q')").run();
    other.close();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(readAll(), [1, 0, 0, 1]);
    assert.deepEqual([...runs.values()], [5, 5, 5, 5]);
  });
});

test('on the server\'s store, a write that cascades is seen by the next cached read', sqliteOnly, async () => {
  await withServerStore(async ({ store, repo }) => {
    const e = endpoint(1);
    await repo.insert(e);
    await store.durable();
    assert.ok(await repo.findWire(P1, 'AWS', e.id));
    // A request journal entry in between keeps the answer; deleting the project takes the endpoint with it.
    await store.db.insertInto('request_journal_batches').values(journalBatch()).execute();
    assert.ok(await repo.findWire(P1, 'AWS', e.id));
    await store.db.deleteFrom('projects').where('id', '=', P1).execute();
    assert.equal(await repo.findWire(P1, 'AWS', e.id), undefined);
    assert.equal((await repo.page(P1, 'AWS', 0, 100)).totalCount, 0);
  });
});

test('request journal writes alone keep no answer waiting for a commit or an fsync; an endpoint write does', sqliteOnly, async () => {
  await withServerStore(async ({ store, repo }) => {
    await store.db.insertInto('request_journal_batches').values(journalBatch()).execute();
    assert.equal(store.durable(), null, 'a batch of journal rows only');
    await new Promise((r) => setImmediate(r));
    assert.equal(store.durable(), null, 'committed, and no fsync owed for it');
    await store.db.insertInto('request_journal_batches').values(journalBatch()).execute();
    await repo.insert(endpoint(1));
    assert.ok(store.durable(), 'the same batch with an endpoint in it');
    await store.durable();
    assert.equal(store.durable(), null);
  });
});

test('a write resolves once committed with the others of its turn; a batch that fails rejects its own writes and nothing else', sqliteOnly, async () => {
  await withSqliteFile('batch.db', async (sqlite) => {
    // A deferred foreign key is checked at COMMIT: a row that breaks it makes the batch's commit fail.
    sqlite.exec('create table parent (id integer primary key); create table child (id integer primary key, parent_id integer references parent (id) deferrable initially deferred)');
    const batches: { ok: boolean; synced: boolean }[] = [];
    const batch = new WriteBatch(sqlite, (ok, synced) => batches.push({ ok, synced }));
    const parent = sqlite.prepare('insert into parent values (?)');
    const orphan = sqlite.prepare('insert into child values (?, 999)');
    const parents = () => sqlite.prepare('select count(*) from parent').pluck().get();

    const first = [batch.write(() => parent.run(1)), batch.write(() => parent.run(2))];
    assert.equal(parents(), 0, 'nothing is written, nor seen, before the turn ends');
    await Promise.all(first);
    assert.equal(parents(), 2);
    assert.deepEqual(batches, [{ ok: true, synced: true }], 'one transaction for the turn');

    const duplicate = batch.write(() => parent.run(1));
    const beside = batch.write(() => parent.run(3));
    await assert.rejects(duplicate, /UNIQUE/);
    await beside;
    assert.equal(parents(), 3, 'a write that fails alone is undone alone');

    const refused = [batch.write(() => orphan.run(1)), batch.write(() => parent.run(4))];
    for (const w of refused) await assert.rejects(w, /FOREIGN KEY/);
    assert.equal(parents(), 3, 'a batch that failed to commit left nothing');
    await batch.write(() => parent.run(5));
    assert.equal(parents(), 4, 'and the next batch is not failed by it');

    await batch.write(() => parent.run(6), false);
    assert.deepEqual(batches.at(-1), { ok: true, synced: false }, 'a batch of unsynced writes owes no fsync');
  });
});

test('a batch that cannot begin (its store closed) rejects its writes rather than throwing on the event loop', sqliteOnly, async () => {
  await withSqliteFile('closed.db', async (sqlite) => {
    sqlite.exec('create table t (id integer primary key)');
    const batches: boolean[] = [];
    const batch = new WriteBatch(sqlite, (ok) => batches.push(ok));
    const insert = sqlite.prepare('insert into t values (?)');
    sqlite.close();
    await assert.rejects(Promise.all([batch.write(() => insert.run(1)), batch.write(() => insert.run(2))]), /not open/);
    assert.deepEqual(batches, [false], 'told once, as a batch that failed');
  });
});

test('the server\'s store copies its WAL into the database file off the event loop', sqliteOnly, async () => {
  // The server's connection checkpoints by itself only past 20,000 pages; well below that, the
  // database file grows only if the background checkpointer ran.
  await withServerStore(async ({ store, file, repo }) => {
    const before = statSync(file).size;
    for (let i = 1; i <= 400; i++) {
      await repo.insert(endpoint(i));
      await store.durable(); // a batch, and a WAL commit, each
    }
    assert.ok(statSync(`${file}-wal`).size > 1000 * 4096, 'enough frames in the WAL for SQLite\'s own threshold');
    await waitFor(async () => statSync(file).size, (size) => size > before, 10_000, 'the database file to receive the checkpointed pages');
  });
});

test('a version change made in this process is seen by the next refresh, even within one turn', async () => {
  const store = await openStore((await fresh()).options);
  try {
    const version = new StoreVersion(store.db);
    const v = await version.refresh();
    assert.equal(await version.refresh(), v, 'refreshes of one turn agree');
    await bumpVersion(store.db);
    assert.equal(await version.refresh(), v + 1);
  } finally {
    await store.close();
  }
});

/** A Kysely of its own on a fresh store, before openStore() brings it up to date (as an older release left it). */
const rawStore = (s: Awaited<ReturnType<typeof fresh>>) =>
  new Kysely<any>({
    dialect: s.databaseUrl ? new PostgresDialect({ pool: new pg.Pool({ connectionString: s.databaseUrl }) }) : new SqliteDialect({ database: new SqliteDatabase(join(s.dir, SQLITE_FILE)) }),
  });

test('migration 0006 keeps every endpoint and gives each its wire JSON', async () => {
  // A store as the previous release left it, with endpoints in it, then upgraded.
  const s = await fresh();
  const old = rawStore(s);
  const rows = [
    { id: '6650f0c0a1b2c3d4e5f6d001', status: 'ACTIVE', connection_name: 'vpce-0123456789abcdef0', error_message: null },
    { id: '6650f0c0a1b2c3d4e5f6d002', status: 'FAILED', connection_name: null, error_message: 'Quote " backslash \\ tab \t line \u2028 and é' },
  ];
  try {
    await migrateToLatest(old, '0005_endpoint_generation');
    await old.insertInto('organizations').values({ id: WORLD.organizations![0]!.id, name: 'a', created_at: 0 }).execute();
    await old.insertInto('projects').values({ id: P1, org_id: WORLD.organizations![0]!.id, name: 'p', created_at: 0 }).execute();
    for (const [i, r] of rows.entries()) {
      await old
        .insertInto('private_endpoints')
        .values({ ...r, group_id: P1, cloud_provider: 'AWS', region_name: i ? 'EU_WEST_1' : 'US_EAST_1', vpc_region_name: 'US_EAST_1', created_at: 1, updated_at: 1, due_at: null })
        .execute();
    }
  } finally {
    await old.destroy();
  }
  const store = await openStore(s.options);
  try {
    const repo = new EndpointRepository(store.db, store.dialect);
    for (const r of rows) {
      const e = await repo.find(P1, 'AWS', r.id);
      assert.ok(e, `endpoint ${r.id} kept`);
      const wire = (await sql<{ wire: string }>`select wire from private_endpoints where id = ${r.id}`.execute(store.db)).rows[0]!.wire;
      assert.equal(wire, JSON.stringify(toWire(e)));
    }
    assert.equal((await repo.page(P1, 'AWS', 0, 100)).resultsJson, `[${(await Promise.all(rows.map(async (r) => JSON.stringify(toWire((await repo.find(P1, 'AWS', r.id))!))))).join(',')}]`);
  } finally {
    await store.close();
  }
});

test('migration 0009 keeps the journal\'s entries and ids, and hands out none of them again', async () => {
  const s = await fresh();
  const old = rawStore(s);
  const row = (i: number) => ({ at: 1_700_000_000_000 + i, method: 'GET', path: `/p?${i}`, group_id: i % 2 ? P1 : null, operation: 'get', principal: 'k', status: 200 + i, error_code: i === 3 ? 'CODE' : null, error_detail: i === 3 ? 'why "not"' : null, duration_ms: i / 4, request_id: `r${i}`, node: 'n' });
  try {
    await migrateToLatest(old, '0008_endpoint_history_and_request_journal');
    for (let i = 1; i <= 5; i++) await old.insertInto('request_journal').values(row(i)).execute();
    // A gap (trimmed or rolled back), and the newest id gone (cleared): ids 1, 3 and 4 are left.
    await old.deleteFrom('request_journal').where('id', 'in', [2, 5]).execute();
  } finally {
    await old.destroy();
  }
  const store = await openStore(s.options);
  try {
    const j = new RequestJournal(store.db, { ...DEFAULT_JOURNAL, size: 100, flushMs: 60_000 }, (m) => assert.fail(m));
    const kept = (await j.query({ limit: 100 })).results;
    assert.deepEqual(
      kept.map((e) => [e.id, e.requestId, e.at, e.groupId, e.status, e.errorCode, e.errorDetail, e.durationMs]),
      [4, 3, 1].map((i) => [i, `r${i}`, new Date(row(i).at).toISOString(), row(i).group_id, 200 + i, row(i).error_code, row(i).error_detail, i / 4]),
    );
    j.record({ at: 1, method: 'GET', url: '/', groupId: null, operation: 'get', principal: null, status: 200, errorCode: null, errorDetail: null, durationMs: 1, requestId: 'r6', node: 'n', faultId: null, pathId: null, requestHeaders: {}, requestBody: undefined, responseHeaders: {}, responseBody: undefined });
    assert.deepEqual((await j.query({ limit: 1 })).results.map((e) => e.id), [6]);
  } finally {
    await store.close();
  }
});

test('migration 0010 gives every project no tags and the default alert settings, and its name lookups an index', async () => {
  const s = await fresh();
  const old = rawStore(s);
  try {
    await migrateToLatest(old, '0009_request_journal_batches');
    await old.insertInto('organizations').values({ id: ORG_A, name: 'Acme', created_at: 0 }).execute();
    await old.insertInto('projects').values({ id: P1, org_id: ORG_A, name: 'payments', created_at: 1_700_000_000_000 }).execute();
  } finally {
    await old.destroy();
  }
  const store = await openStore(s.options);
  try {
    assert.deepEqual(await getProject(store.db, P1), { id: P1, orgId: ORG_A, name: 'payments', createdAt: 1_700_000_000_000, tags: [], withDefaultAlertsSettings: true });
    assert.equal((await findProjectByName(store.db, ORG_A, 'payments'))?.id, P1);
  } finally {
    await store.close();
  }
});
