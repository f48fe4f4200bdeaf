import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { sql } from 'kysely';
import { type Db, type Store, transaction } from './database.js';
import type { Tables } from './schema.js';

// The whole world as one JSON document, and back: `snaplink export` and `snaplink import`, to
// move a store from SQLite to PostgreSQL (or the reverse, or to a fresh store of the same kind).
// Table-driven: what travels is EXPORTED_TABLES, each row as the store holds it — so API keys
// and service accounts travel as the hashes stored, never as a secret, and everything still
// signs in after the move.

/**
 * Every table that travels, parents before children (the order rows are inserted in, so
 * foreign keys hold). A new table holding state goes here; one holding nothing worth moving
 * goes in NOT_EXPORTED. test/backup.test.ts fails while a table of the store is in neither.
 */
export const EXPORTED_TABLES = [
  'organizations',
  'projects',
  'credentials',
  'api_keys',
  'service_accounts',
  'roles',
  'access_list',
  'access_tokens',
  'private_endpoints',
  // Each endpoint's statuses and why, in the order they happened (their ids are the new store's).
  'endpoint_history',
  'faults',
  // The virtual clock's offset and the store version.
  'counters',
  'settings',
] as const satisfies readonly (keyof Tables)[];

/** Tables that stay behind, and why. */
export const NOT_EXPORTED: Readonly<Record<string, string>> = {
  digest_nonce_uses: 'nonce-counts already used: the nonces are signed with a secret that does not travel, so they are void after a move anyway',
  auth_failures: 'brute-force failures: short-lived, per address',
  auth_lockouts: 'brute-force lockouts: short-lived, per address',
  request_journal_batches: 'summaries of past requests, for looking: bounded, and emptied by every reset',
};

/** Columns the database computes (they are not inserted). */
const GENERATED: Readonly<Record<string, readonly string[]>> = { private_endpoints: ['wire'], endpoint_history: ['id'] };

/** Tables whose rows' order is their meaning: exported in it, so imported rows get ids in it. */
const ORDERED: Readonly<Record<string, string>> = { endpoint_history: 'id' };

/** Rows of `settings` that stay behind: secrets (an export holds none). */
export const SECRET_SETTINGS: readonly string[] = ['digest_nonce_secret', 'token_signing_secret', 'events_ticket_secret'];

export const EXPORT_FORMAT = 'snaplink-export';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** The snaplink that wrote it. */
  snaplink: string;
  exportedAt: string;
  /** The schema migrations the exporting store had. */
  migrations: string[];
}

export interface ExportDocument extends ExportHeader {
  tables: Record<string, Record<string, unknown>[]>;
}

export class TransferError extends Error {}

async function migrationsOf(db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from snaplink_migrations order by name`.execute(db);
  return rows.map((r) => r.name);
}

/** Every table of the store (not the migrator's own). */
export async function storeTables(store: Pick<Store, 'db' | 'dialect'>): Promise<string[]> {
  const { rows } =
    store.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db)
      : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db);
  return rows.map((r) => r.name).filter((n) => !n.startsWith('snaplink_migrations')).sort();
}

function rowsOf(db: Db, table: string) {
  const omit = GENERATED[table] ?? [];
  const order = ORDERED[table];
  const query = db.selectFrom(table as keyof Tables).selectAll();
  return (order ? query.orderBy(order as never) : query)
    .execute()
    .then((rows) =>
      rows
        .map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !omit.includes(k))))
        .filter((row) => table !== 'settings' || !SECRET_SETTINGS.includes(String(row.key))),
    );
}

/**
 * Writes the whole store to `file` (or stdout) as one JSON document, read in one transaction
 * (a consistent snapshot, while a server goes on writing). Rows are written as they are
 * serialised, one per line, so a large store never becomes one large string.
 */
export async function exportStore(store: Store, snaplinkVersion: string, file: string | undefined): Promise<Record<string, number>> {
  const out = file === undefined ? process.stdout : createWriteStream(file, { flags: 'wx' });
  if (file !== undefined) await once(out, 'open');
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const counts: Record<string, number> = {};
  const snapshot = async (trx: Db) => {
    const header: ExportHeader = { format: EXPORT_FORMAT, version: EXPORT_VERSION, snaplink: snaplinkVersion, exportedAt: new Date().toISOString(), migrations: await migrationsOf(trx) };
    await write(`${JSON.stringify(header).slice(0, -1)},\n"tables":{`);
    for (const [i, table] of EXPORTED_TABLES.entries()) {
      const rows = await rowsOf(trx, table);
      counts[table] = rows.length;
      await write(`${i ? ',' : ''}\n${JSON.stringify(table)}:[`);
      for (const [j, row] of rows.entries()) await write(`${j ? ',' : ''}\n${JSON.stringify(row)}`);
      await write(']');
    }
    await write('\n}}\n');
  };
  if (store.dialect === 'postgres') await store.db.transaction().setIsolationLevel('repeatable read').execute(snapshot);
  else await transaction(store.db, snapshot);
  if (file !== undefined) {
    out.end();
    await once(out, 'finish');
  }
  return counts;
}

/** Checks a parsed document's shape; the reason it cannot be imported, or the document. */
export function checkDocument(doc: unknown, knownMigrations: readonly string[]): ExportDocument {
  const d = doc as Partial<ExportDocument> | null;
  if (d === null || typeof d !== 'object' || d.format !== EXPORT_FORMAT) throw new TransferError('not a snaplink export (no "format": "snaplink-export")');
  if (d.version !== EXPORT_VERSION) throw new TransferError(`export format version ${String(d.version)} is not one this snaplink reads (${EXPORT_VERSION})`);
  const newer = (d.migrations ?? []).filter((m) => !knownMigrations.includes(m));
  if (newer.length > 0) throw new TransferError(`the export comes from a newer snaplink (schema ${newer.join(', ')}): import it with that version or later`);
  if (d.tables === null || typeof d.tables !== 'object') throw new TransferError('the export has no "tables"');
  const unknown = Object.keys(d.tables).filter((t) => !(EXPORTED_TABLES as readonly string[]).includes(t));
  if (unknown.length > 0) throw new TransferError(`the export holds tables this snaplink does not know: ${unknown.join(', ')}`);
  for (const [t, rows] of Object.entries(d.tables)) if (!Array.isArray(rows)) throw new TransferError(`table ${t} is not a list of rows`);
  return d as ExportDocument;
}

/**
 * Loads an export into an empty store, in one transaction: all of it or, on any error,
 * nothing. Refuses a store that holds anything.
 */
export async function importStore(store: Store, doc: ExportDocument): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  await transaction(store.db, async (trx) => {
    for (const table of EXPORTED_TABLES) {
      const any = (await trx.selectFrom(table).select(sql`1`.as('one')).limit(1).execute()).length > 0;
      if (any) throw new TransferError(`the store is not empty (table ${table} has rows): import only into a new store`);
    }
    for (const table of EXPORTED_TABLES) {
      const rows = doc.tables[table] ?? [];
      counts[table] = rows.length;
      if (rows.length === 0) continue;
      const columns = Object.keys(rows[0]!).length;
      // Under both databases' limits on bound parameters per statement.
      const chunk = Math.max(1, Math.floor(30_000 / Math.max(1, columns)));
      for (let i = 0; i < rows.length; i += chunk) {
        await trx
          .insertInto(table)
          .values(rows.slice(i, i + chunk) as never)
          .execute();
      }
    }
  });
  return counts;
}

/** A consistent copy of a (running) SQLite store into a new file, with SQLite's VACUUM INTO. */
export async function backupSqlite(store: Store, file: string): Promise<void> {
  if (store.dialect !== 'sqlite') throw new TransferError('snaplink backup copies an SQLite store; for PostgreSQL use pg_dump (see docs/operations.md)');
  await sql`vacuum into ${file}`.execute(store.db);
}
