import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { migrateToLatest } from './migrations.js';
import type { Tables } from './schema.js';

export type Db = Kysely<Tables>;

export interface Store {
  db: Db;
  dialect: 'sqlite';
  /** Where the data lives, for messages (never includes credentials). */
  location: string;
  close(): Promise<void>;
}

export interface StoreOptions {
  dataDir: string;
}

export const SQLITE_FILE = 'snaplink.db';

/** Opens (creating if needed) the store and brings its schema up to date. */
export async function openStore(options: StoreOptions): Promise<Store> {
  const dir = resolve(options.dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, SQLITE_FILE);
  const sqlite = new SqliteDatabase(file);
  // WAL lets readers run beside the writer; synchronous=FULL fsyncs every commit, so an
  // answered write survives not only a killed process but a power cut.
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // CLI commands may write while a server runs on the same file.
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    await migrateToLatest(db);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
}

/** Whether a write failed on a unique or primary-key constraint. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
