import type SqliteDatabase from 'better-sqlite3';

// The answers of the server's hot reads on SQLite (an endpoint, a page, a count, the store
// version), kept until anything may have changed them. SQLite is one file served by one
// process, so "anything" is known without asking the store for it:
//
// - every write on the server's connection (a create, a delete, a transition, an identity or
//   fault change; a commit or rollback) drops them all, before and after it runs;
// - another process (a CLI command) that commits moves SQLite's `PRAGMA data_version`, read once
//   per event-loop turn before the turn's first cached read — the same promise as the store
//   version's shared read (store/version.ts): every request of the turn arrived before that
//   check, so it sees every change committed before it arrived.
//
// A deleted endpoint or a revoked credential is therefore never served from here. PostgreSQL
// has no such cache: other nodes write to it unseen.

const MAX_ENTRIES = 10_000;

export class ReadCache {
  private readonly entries = new Map<string, unknown[]>();
  private readonly dataVersionStmt;
  private dataVersion: unknown;
  private checkedThisTurn = false;

  constructor(sqlite: SqliteDatabase.Database) {
    this.dataVersionStmt = sqlite.prepare('PRAGMA data_version').pluck();
    this.dataVersion = this.dataVersionStmt.get();
  }

  /** Something on this connection changed, or may have: nothing read before is kept. */
  changed(): void {
    if (this.entries.size > 0) this.entries.clear();
  }

  /** `run()`'s rows for this statement and these parameters, read once per state of the store. */
  read(sql: string, parameters: readonly unknown[], run: () => unknown[]): unknown[] {
    if (!this.checkedThisTurn) {
      this.checkedThisTurn = true;
      setImmediate(() => {
        this.checkedThisTurn = false;
      });
      const now = this.dataVersionStmt.get();
      if (now !== this.dataVersion) {
        this.dataVersion = now;
        this.changed();
      }
    }
    const key = parameters.length === 0 ? sql : `${sql}\u0000${JSON.stringify(parameters)}`;
    let rows = this.entries.get(key);
    if (rows === undefined) {
      rows = run();
      // Full: the oldest entry goes.
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
      this.entries.set(key, rows);
    }
    return rows;
  }
}
