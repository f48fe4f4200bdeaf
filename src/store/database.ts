import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresAdapter, PostgresDialect, sql, SqliteDialect } from 'kysely';
import pg from 'pg';
import { migrateToLatest } from './migrations.js';
import { type Tables, UNSYNCED_TABLES } from './schema.js';
import { noteLocalChange } from './version.js';
import { WalSync } from './wal-sync.js';
import { WriteBatch } from './write-batch.js';
import { BACKSTOP_PAGES, Checkpointer } from './checkpointer.js';
import { ReadCache, writtenTable } from './read-cache.js';

// The store: embedded SQLite (one file, one process) or PostgreSQL (any number of nodes),
// behind one Kysely query layer. Nothing above this folder knows which.

export type Db = Kysely<Tables>;
export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Db;
  dialect: Dialect;
  /** Where the data lives, for messages (never includes credentials). */
  location: string;
  /**
   * Resolves once every write made so far is on disk. Await it before acknowledging a write.
   * Null when there is nothing to wait for: always on PostgreSQL and wherever commits sync
   * themselves (see `deferSync`). `since`, a writeMark() taken before the caller wrote or read
   * anything: it rejects if a write made since was rolled back (store/write-batch.ts) — the
   * caller may have seen it succeed.
   */
  durable(since?: number): Promise<void> | null;
  /** A mark for durable(), taken before a request reads or writes. */
  writeMark(): number;
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
       * (store/write-batch.ts), and with `full` commits do not fsync on the event loop:
       * `durable()` does it on the thread pool, shared by concurrent writers (store/wal-sync.ts).
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
  // The server (deferSync) keeps its hot reads' answers until a write (store/read-cache.ts).
  const reads = deferSync ? new ReadCache(sqlite) : undefined;
  const batch = deferSync
    ? new WriteBatch(sqlite, (ok, synced) => {
        if (synced) walSync?.wrote();
        // A batch that failed to commit was rolled back: reads may have seen its writes.
        if (!ok) reads?.changed();
      })
    : undefined;
  let checkpointer: Checkpointer | undefined;
  if (deferSync) {
    sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
    checkpointer = new Checkpointer(file, (m) => warn(`background checkpoint failed: ${m}`));
  }
  const statements = withStatementCache(sqlite, walSync, batch, reads);
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: statements }) });
  // Not while an explicit transaction is open on the connection: its uncommitted writes would
  // show, and it may yet roll back. (A batch's may show: answers wait for its commit.)
  const explicit = () => (batch ? batch.inExplicitTransaction : sqlite.inTransaction);
  directReads.set(db, (text, parameters, cached) => {
    if (explicit()) return undefined;
    const run = () => statements.prepare(text).all(parameters as unknown[]);
    return cached && reads ? reads.read(text, parameters, run) : run();
  });
  return {
    db,
    dialect: 'sqlite',
    location: file,
    writeMark: () => batch?.mark() ?? 0,
    durable: (since) => {
      const failed = since === undefined ? undefined : batch?.failedSince(since);
      if (failed) return Promise.reject(failed.err);
      const committing = batch?.pending;
      if (committing) return walSync ? committing.then(() => walSync.durable()) : committing;
      return walSync?.pending ? walSync.durable() : null;
    },
    close: async () => {
      try {
        batch?.flush();
        await checkpointer?.close();
        await walSync?.close();
      } finally {
        await db.destroy();
      }
    },
  };
}

/**
 * Read-only prepared statements (store/prepared.ts) may skip Kysely's executor. On SQLite they
 * run on the connection directly: better-sqlite3 is synchronous, so Kysely's asynchronous
 * connection queue only adds latency — except while an explicit transaction is open on the one
 * connection, whose uncommitted writes would show: then this answers `undefined` and the read
 * goes through Kysely. On PostgreSQL they run as named prepared statements, which each pooled
 * connection parses and plans once instead of on every request (Kysely sends unnamed ones).
 * Writes always go through Kysely, which orders them with transactions.
 */
type DirectRead = (sql: string, parameters: readonly unknown[], cached: boolean) => unknown[] | Promise<unknown[]> | undefined;
const directReads = new WeakMap<Db, DirectRead>();
export const directReadsOf = (db: Db) => directReads.get(db);

/**
 * Kysely prepares every query it runs; preparing costs more than running our small queries, so
 * statements are kept per SQL text (the set of texts is small and fixed by the code). SQLite
 * re-prepares a kept statement by itself if the schema changes.
 */
function withStatementCache(sqlite: SqliteDatabase.Database, walSync: WalSync | undefined, batch: WriteBatch | undefined, reads: ReadCache | undefined) {
  type Kept = Pick<SqliteDatabase.Statement, 'reader' | 'all' | 'run' | 'iterate'>;
  const statements = new Map<string, Kept>();
  const keep = (text: string, stmt: SqliteDatabase.Statement): Kept => {
    // Plain reads run as they are; so does everything where commits are not deferred (the CLI).
    if ((stmt.reader && stmt.readonly) || !batch) return stmt;
    const control = TRANSACTION_CONTROL.exec(text)?.[1]?.toLowerCase();
    // Writes (including INSERT/UPDATE … RETURNING, which are "readers" to better-sqlite3) go
    // through the batch, whose commit tells the WAL syncer. The other commits are explicit
    // transactions' own: a COMMIT, which SQLite calls read-only, yet is when a transaction's
    // frames reach the WAL, tells the WAL syncer after it ran; a BEGIN first commits the batch.
    const table = control === undefined ? writtenTable(text) : undefined;
    // A write to an unsynced table (schema.ts) alone does not make answers wait for an fsync.
    const synced = table === undefined || !UNSYNCED_TABLES.has(table);
    const wrap =
      <A extends unknown[], R>(f: (...a: A) => R) =>
      (...a: A): R => {
        let failed = true;
        try {
          let result: R;
          if (control === undefined) result = batch.write(() => f(...a), synced);
          else {
            if (control === 'begin') batch.flush();
            try {
              result = f(...a);
            } finally {
              walSync?.wrote();
            }
          }
          failed = false;
          return result;
        } finally {
          // Whatever was read before a write may be stale after it: the cache drops what the
          // statement may have changed — everything after a rollback or a failure, which may
          // have undone more than this statement.
          if (control === undefined || control === 'rollback' || failed) reads?.wrote(failed ? undefined : table);
        }
      };
    return { reader: stmt.reader, all: wrap(stmt.all.bind(stmt)), run: wrap(stmt.run.bind(stmt)), iterate: wrap(stmt.iterate.bind(stmt)) };
  };
  return {
    close: () => sqlite.close(),
    prepare(text: string) {
      let stmt = statements.get(text);
      if (!stmt) {
        if (statements.size >= 1000) statements.clear();
        stmt = keep(text, sqlite.prepare(text));
        statements.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** Statements that open or close transactions (Kysely's, for explicit ones) rather than write. */
const TRANSACTION_CONTROL = /^\s*(begin|commit|end|rollback|savepoint|release)\b/i;

/** bigint (int8) columns hold milliseconds and counts: read them as numbers, not strings. */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (v: string) => Number(v) : (pg.types.getTypeParser as (o: number, f?: string) => unknown)(oid, format),
};

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
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  const names = new Map<string, string>();
  directReads.set(db, async (text, parameters) => {
    let name = names.get(text);
    if (!name) {
      name = `snaplink_${names.size}`;
      names.set(text, name);
    }
    return (await pool.query({ name, text, values: parameters as unknown[] })).rows;
  });
  return { db, dialect: 'postgres', location: redactedUrl(url), durable: () => null, writeMark: () => 0, close: () => db.destroy() };
}

/** Whether a write failed on a unique or primary-key constraint. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** Whether an error means the database cannot be reached right now (worth a 503 and a retry). */
/** A PostgreSQL URL without its credentials, for messages. */
export function redactedUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * Whether a write failed because the store has no room: SQLite's disk (or its page limit) full,
 * PostgreSQL's disk full. Reads still work, and writes do again once there is room.
 */
export function isStoreFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === '53100';
}

export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'SQLITE_BUSY'].includes(code) ||
    /^(08|57P)/.test(code) || // connection exceptions, operator intervention (shutdown)
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connection is closed/i.test(message)
  );
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
