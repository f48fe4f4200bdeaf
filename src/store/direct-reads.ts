import type { Db } from './schema.js';

/**
 * Read-only prepared statements (store/prepared.ts) may skip Kysely's executor. On SQLite they
 * run on the connection directly: better-sqlite3 is synchronous, so Kysely's asynchronous
 * connection queue only adds latency — except while an explicit transaction is open on the one
 * connection, whose uncommitted writes would show: then this answers `undefined` and the read
 * goes through Kysely. On PostgreSQL they run as named prepared statements, which each pooled
 * connection parses and plans once instead of on every request (Kysely sends unnamed ones).
 * Writes always go through Kysely, which orders them with transactions.
 */
export type DirectRead = (sql: string, parameters: readonly unknown[], cached: boolean) => unknown[] | Promise<unknown[]> | undefined;
const directReads = new WeakMap<Db, DirectRead>();

/** How `db` reads directly (store/database.ts registers it when it opens the store). */
export const registerDirectReads = (db: Db, read: DirectRead): void => {
  directReads.set(db, read);
};

export const directReadsOf = (db: Db): DirectRead | undefined => directReads.get(db);
