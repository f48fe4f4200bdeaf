import type SqliteDatabase from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import { type ReadCache, writtenTable } from './read-cache.js';
import { UNSYNCED_TABLES } from './schema.js';
import type { WalSync } from './wal-sync.js';
import type { WriteBatch } from './write-batch.js';
import type { WriteHealth } from './write-health.js';

// Kysely over the server's one SQLite connection. A read runs at once. A write is queued in the
// turn's write batch (store/write-batch.ts) and resolves once committed, so no read ever sees a
// write that may yet be rolled back. An explicit transaction holds the connection from BEGIN
// to its end: its statements run at once, inside it; queued writes run before it begins, and
// reads (or writes) outside it wait for its end rather than see its uncommitted state.

/**
 * Kysely prepares every query it runs; preparing costs more than running our small queries, so
 * statements are kept per SQL text (the set of texts is small and fixed by the code). SQLite
 * re-prepares a kept statement by itself if the schema changes.
 */
export function statementCache(sqlite: SqliteDatabase.Database): { close(): void; prepare(text: string): SqliteDatabase.Statement } {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string): SqliteDatabase.Statement {
      let stmt = statements.get(text);
      if (!stmt) {
        if (statements.size >= 1000) statements.clear();
        stmt = sqlite.prepare(text);
        // A failed COMMIT or statement (a full disk) may have rolled the transaction back already:
        // Kysely's ROLLBACK after it would fail ("no transaction is active") and hide why.
        if (/^\s*rollback\b/i.test(text)) stmt = rollbackIfActive(sqlite, stmt);
        statements.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** A ROLLBACK that does nothing when no transaction is open (SQLite ended it already). */
function rollbackIfActive(sqlite: SqliteDatabase.Database, stmt: SqliteDatabase.Statement): SqliteDatabase.Statement {
  return {
    reader: false,
    readonly: stmt.readonly,
    all: (...a: unknown[]) => (sqlite.inTransaction ? stmt.all(...a) : []),
    run: (...a: unknown[]) => (sqlite.inTransaction ? stmt.run(...a) : { changes: 0, lastInsertRowid: 0 }),
    iterate: (...a: unknown[]) => (sqlite.inTransaction ? stmt.iterate(...a) : [][Symbol.iterator]()),
  } as unknown as SqliteDatabase.Statement;
}

/** One holder at a time, in the order they asked; and a way to wait until nobody holds it. */
class Mutex {
  private held = false;
  private readonly waiting: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];

  get locked(): boolean {
    return this.held;
  }

  lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  unlock(): void {
    const next = this.waiting.shift();
    if (next) return next();
    this.held = false;
    const idle = this.idleWaiters;
    this.idleWaiters = [];
    for (const resume of idle) resume();
  }

  idle(): Promise<void> {
    return this.held ? new Promise((resolve) => this.idleWaiters.push(resolve)) : Promise.resolve();
  }
}

export interface BatchedSqlite {
  sqlite: SqliteDatabase.Database;
  statements: ReturnType<typeof statementCache>;
  batch: WriteBatch;
  reads: ReadCache | undefined;
  walSync: WalSync | undefined;
  writes: WriteHealth;
}

export function batchedSqliteDialect({ sqlite, statements, batch, reads, walSync, writes }: BatchedSqlite): Dialect {
  const transaction = new Mutex();
  const begin = statements.prepare('begin');
  const commit = statements.prepare('commit');
  const rollback = statements.prepare('rollback');

  /** Runs a statement now; a write tells the read cache what it may have changed, and a refusal tells `writes`. */
  const now = <R>(stmt: SqliteDatabase.Statement, query: CompiledQuery, write: boolean): QueryResult<R> => {
    const parameters = query.parameters as unknown[];
    // A read, or what SQLite calls read-only though it returns nothing (a PRAGMA that sets).
    if (!write) return stmt.reader ? { rows: stmt.all(parameters) as R[] } : (stmt.run(parameters), { rows: [] });
    let failed = true;
    try {
      let result: QueryResult<R>;
      // INSERT/UPDATE … RETURNING are "readers" to better-sqlite3.
      if (stmt.reader) result = { rows: stmt.all(parameters) as R[] };
      else {
        const { changes, lastInsertRowid } = stmt.run(parameters);
        result = { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
      }
      failed = false;
      return result;
    } catch (err) {
      writes.failed(err);
      throw err;
    } finally {
      // What was read before a write may be stale after it: the cache drops what the statement
      // may have changed — everything after a failure, which may have undone more than it.
      reads?.wrote(failed ? undefined : writtenTable(query.sql));
    }
  };

  class Connection implements DatabaseConnection {
    inTransaction = false;

    async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const stmt = statements.prepare(query.sql);
      if (this.inTransaction) return now<R>(stmt, query, !stmt.readonly);
      // An explicit transaction holds the connection: its uncommitted state must not show.
      if (transaction.locked) await transaction.idle();
      if (stmt.readonly) return now<R>(stmt, query, false);
      const table = writtenTable(query.sql);
      // A write to an unsynced table (schema.ts) alone keeps no answer waiting for an fsync.
      return batch.write(() => now<R>(stmt, query, true), table === undefined || !UNSYNCED_TABLES.has(table));
    }

    async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
      yield await this.executeQuery<R>(query);
    }
  }

  const end = (connection: Connection) => {
    connection.inTransaction = false;
    transaction.unlock();
    batch.resume();
  };

  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => new Connection(),
    beginTransaction: async (connection) => {
      await transaction.lock();
      try {
        // The writes queued so far commit first, in their own batch.
        batch.flush();
        begin.run();
      } catch (err) {
        // Kysely rolls back only a transaction that began: the lock is let go here, or every later query waits for it.
        transaction.unlock();
        batch.resume();
        throw err;
      }
      (connection as Connection).inTransaction = true;
    },
    commitTransaction: async (connection) => {
      try {
        commit.run();
      } catch (err) {
        // Kysely rolls back next, which ends the transaction.
        writes.failed(err);
        throw err;
      }
      // COMMIT, which SQLite calls read-only, is when the transaction's frames reach the WAL.
      walSync?.wrote();
      end(connection as Connection);
    },
    rollbackTransaction: async (connection) => {
      try {
        rollback.run();
      } finally {
        reads?.changed();
        end(connection as Connection);
      }
    },
    releaseConnection: async () => {},
    destroy: async () => {
      statements.close();
    },
  };
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => driver,
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createIntrospector: (db: Kysely<any>) => new SqliteIntrospector(db),
  };
}
