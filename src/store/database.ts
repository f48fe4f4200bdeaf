import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import type { Db, Dialect, Tables } from './schema.js';
import { registerDirectReads } from './direct-reads.js';
import { noteLocalChange } from './version.js';
import { WalSync } from './wal-sync.js';
import { WriteBatch } from './write-batch.js';
import { BACKSTOP_PAGES, Checkpointer } from './checkpointer.js';
import { ReadCache } from './read-cache.js';
import { batchedSqliteDialect, statementCache } from './sqlite-driver.js';
import { WriteHealth } from './write-health.js';

// The store: embedded SQLite (one file, one process) or PostgreSQL (any number of nodes),
// behind one Kysely query layer. Nothing above this folder knows which.

export type { Db, Dialect } from './schema.js';

export interface Store {
  db: Db;
  /** Whether the store takes writes right now (a full disk refuses them). */
  writes: WriteHealth;
  dialect: Dialect;
  /** Where the data lives, for messages (never includes credentials). */
  location: string;
  /**
   * Resolves once every write committed so far is on disk. Await it before an answer that
   * follows a write or may show one. Null when there is nothing to wait for: always on
   * PostgreSQL and wherever commits sync themselves (see `deferSync`). A write itself resolves
   * once committed, on both stores; no read sees it before.
   */
  durable(): Promise<void> | null;
  close(): Promise<void>;
}

/** Whether opening may create a store that is not there (only `serve` and `seed` may). */
interface Creation {
  create?: boolean;
}

/** Refused: asked to open an existing store, and there is none where it was looked for. */
export class StoreMissingError extends Error {}

export type StoreOptions = Creation &
  (
  | {
      dataDir: string;
      databaseUrl?: undefined;
      sqliteSync?: 'normal' | 'full';
      /**
       * For a caller that awaits `durable()` before every acknowledgement — the server. Writes
       * of one event-loop turn share a transaction committed at the turn's end
       * (store/write-batch.ts, store/sqlite-driver.ts), and with `full` commits do not fsync on
       * the event loop: `durable()` does it on the thread pool, shared by concurrent writers
       * (store/wal-sync.ts).
       */
      deferSync?: boolean;
      /** Told of trouble off the request path (a failed background checkpoint). */
      warn?: (message: string) => void;
    }
  | {
      databaseUrl: string;
      poolSize?: number;
      /** Names this process's connections in pg_stat_activity (the server gives its node's name). */
      applicationName?: string;
      dataDir?: undefined;
      deferSync?: boolean;
      warn?: (message: string) => void;
    }
  );

export const SQLITE_FILE = 'snaplink.db';

/** Opens (creating if needed, unless `create` is false) the store and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const mustExist = options.create === false;
  if (mustExist && options.databaseUrl === undefined && !existsSync(join(resolve(options.dataDir), SQLITE_FILE))) {
    throw new StoreMissingError(
      `no snaplink store at ${join(resolve(options.dataDir), SQLITE_FILE)} (from --data-dir ${options.dataDir}): name the right one with --data-dir or --database, or create one with \`snaplink serve\` or \`snaplink seed\``,
    );
  }
  const store = options.databaseUrl !== undefined ? openPostgres(options.databaseUrl, options.poolSize ?? 10, options.applicationName ?? 'snaplink') : openSqlite(options.dataDir, options.sqliteSync ?? 'full', options.deferSync ?? false, options.warn ?? ((m) => console.error(m)));
  try {
    if (mustExist && store.dialect === 'postgres') {
      const { rows } = await sql<{ t: string | null }>`select to_regclass('snaplink_migrations')::text as t`.execute(store.db);
      if (rows[0]?.t == null) {
        throw new StoreMissingError(`no snaplink store in the database ${store.location} (its tables are not there): name the right one with --database, or create one with \`snaplink serve\` or \`snaplink seed\``);
      }
    }
    await migrateToLatest(store.db);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function openSqlite(dataDir: string, sync: 'normal' | 'full', deferSync: boolean, warn: (message: string) => void): Store {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, SQLITE_FILE);
  const sqlite = new SqliteDatabase(file);
  // WAL lets readers run beside the writer. FULL (the default) fsyncs each commit before the
  // answer goes out, so an answered write survives a power cut. NORMAL leaves the fsync to
  // checkpoints: still safe from a killed process, but a power cut may lose the last commits —
  // an opt-in for throwaway CI stores, where the fsync per write is the cost of a create.
  sqlite.pragma('journal_mode = WAL');
  // Deferred commits are batched (write-batch.ts); with `full` they are then fsynced off the
  // event loop (wal-sync.ts), so a WAL syncer never exists without a batch.
  const walSync = sync === 'full' && deferSync ? new WalSync(`${file}-wal`) : undefined;
  sqlite.pragma(`synchronous = ${sync === 'full' && !walSync ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('foreign_keys = ON');
  // CLI commands may write while a server runs on the same file.
  sqlite.pragma('busy_timeout = 5000');
  // 16 MiB of page cache (the default is 2 MiB): the upper levels of every index stay in memory
  // even with a million endpoints, so a lookup costs the same at 10 thousand or a million.
  sqlite.pragma('cache_size = -16384');
  const statements = statementCache(sqlite);
  const writes = new WriteHealth();
  // The CLI (no deferSync): Kysely's own driver, one transaction (and fsync) per write.
  if (!deferSync) {
    const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: statements }) });
    registerDirectReads(db, (text, parameters) => (sqlite.inTransaction ? undefined : statements.prepare(text).all(parameters as unknown[])));
    return { db, writes, dialect: 'sqlite', location: file, durable: () => null, close: () => db.destroy() };
  }
  // The server keeps its hot reads' answers until a write (store/read-cache.ts), batches its
  // writes (store/write-batch.ts) and checkpoints on a thread of its own (store/checkpointer.ts).
  const reads = new ReadCache(sqlite);
  // Rows changed so far: a commit that changed none (an UPDATE that matched nothing) proves
  // nothing about room on the disk.
  const totalChanges = sqlite.prepare('select total_changes()').pluck();
  let changed = 0;
  const batch = new WriteBatch(sqlite, (ok, synced, err) => {
    if (synced) walSync?.wrote();
    // Rolled back: what the batch's statements told the read cache they changed is undone.
    if (!ok) reads.changed();
    const before = changed;
    changed = totalChanges.get() as number;
    if (ok && changed > before) writes.succeeded();
    else if (!ok) writes.failed(err);
  });
  sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const checkpointer = new Checkpointer(
    file,
    (m) => warn(`background checkpoints fail (${m}): the WAL grows until one succeeds`),
    () => {
      warn('background checkpoints succeed again');
      // It copied pages into the database file: there is room again.
      writes.succeeded();
    },
  );
  const db = new Kysely<Tables>({ dialect: batchedSqliteDialect({ sqlite, statements, batch, reads, walSync, writes }) });
  // Not while an explicit transaction is open on the connection: its uncommitted writes would
  // show, and it may yet roll back. (Nothing else is ever uncommitted outside a batch's commit.)
  registerDirectReads(db, (text, parameters, cached) => {
    if (sqlite.inTransaction) return undefined;
    const run = () => statements.prepare(text).all(parameters as unknown[]);
    return cached ? reads.read(text, parameters, run) : run();
  });
  return {
    db,
    writes,
    dialect: 'sqlite',
    location: file,
    durable: () => (walSync?.pending ? walSync.durable() : null),
    close: async () => {
      try {
        batch.flush();
        await checkpointer.close();
        await walSync?.close();
      } finally {
        await db.destroy();
      }
    },
  };
}


/** bigint (int8) columns hold milliseconds and counts: read them as numbers, not strings. */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format),
};

const WRITES = new Set(['InsertQueryNode', 'UpdateQueryNode', 'DeleteQueryNode']);

function openPostgres(url: string, poolSize: number, applicationName: string): Store {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    // Fail fast while the database is away (the request gets a 503), recover when it is back.
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    types: types as pg.CustomTypesConfig,
    application_name: applicationName,
  });
  // A connection whose server went away emits 'error' — on the pool while idle, on the client
  // while checked out. Either must not take the process down: the query under way fails (and
  // answers 503), and the pool replaces the connection.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  const writes = new WriteHealth();
  // Every statement tells whether the store took it: a full disk (53100) refuses writes, the
  // next statement that writes ends that.
  const db = new Kysely<Tables>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level === 'error') writes.failed(event.error);
      else if (WRITES.has(event.query.query.kind)) writes.succeeded();
    },
  });
  const names = new Map<string, string>();
  registerDirectReads(db, async (text, parameters) => {
    let name = names.get(text);
    if (!name) {
      name = `snaplink_${names.size}`;
      names.set(text, name);
    }
    return (await pool.query({ name, text, values: parameters as unknown[] })).rows;
  });
  return { db, writes, dialect: 'postgres', location: redactedUrl(url), durable: () => null, close: () => db.destroy() };
}

/** A PostgreSQL URL without its credentials, for messages. */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * Runs `work` in a transaction that no other node runs at the same time for the same `name`
 * (PostgreSQL: a transaction-scoped advisory lock; SQLite: one process writes at a time anyway).
 */
export async function exclusively<T>(store: Pick<Store, 'db' | 'dialect'>, name: string, work: (trx: Db) => Promise<T>): Promise<T> {
  return transaction(store.db, async (trx) => {
    await holdLock(trx, name);
    return work(trx);
  });
}

/** Whether `db` (or a transaction on it) speaks to PostgreSQL. */
export const isPostgres = (db: Db): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

/**
 * Inside a transaction: no other node runs past this point for the same `name` until the
 * transaction ends (PostgreSQL: an advisory lock; SQLite: one process writes at a time anyway).
 */
export async function holdLock(trx: Db, name: string): Promise<void> {
  if (isPostgres(trx)) await sql`select pg_advisory_xact_lock(hashtext(${`snaplink:${name}`}))`.execute(trx);
}

/** Runs `work` in one transaction — or in the one `db` already is. */
export async function transaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  if (db.isTransaction) return work(db);
  try {
    return await db.transaction().execute(work);
  } finally {
    // A store-version bump inside the transaction became visible only now.
    noteLocalChange();
  }
}
