import type SqliteDatabase from 'better-sqlite3';

// The answers of the server's hot reads on SQLite (an endpoint, a page, a count, the store
// version), kept until something may have changed them. SQLite is one file served by one
// process, so "something" is known without asking the store for it:
//
// - a write on the server's connection drops the answers read from the table it writes, and
//   from every table whose rows a foreign key may cascade it to (the schema's own foreign keys,
//   read from SQLite); so the request journal's batches and history rows keep them all;
// - anything this cannot name a table for — a statement it does not recognise (DDL), a
//   rollback, a write or commit that failed — drops them all;
// - another process (a CLI command) that commits moves SQLite's `PRAGMA data_version`, read once
//   per event-loop turn before the turn's first cached read — the same promise as the store
//   version's shared read (store/version.ts): every request of the turn arrived before that
//   check, so it sees every change committed before it arrived. It drops them all.
//
// A deleted endpoint or a revoked credential is therefore never served from here. PostgreSQL
// has no such cache: other nodes write to it unseen.

/** Answers kept per statement (the oldest goes first). */
const MAX_ENTRIES = 10_000;

/** The table a write statement writes: INSERT [OR …] INTO, REPLACE INTO, UPDATE [OR …], DELETE FROM. */
const WRITTEN_TABLE = /^\s*(?:insert(?:\s+or\s+\w+)?\s+into|replace\s+into|update(?:\s+or\s+\w+)?|delete\s+from)\s+"?(\w+)"?/i;

/** The table a statement writes (lower case); undefined when it is not a plain write of one table. */
export const writtenTable = (sql: string): string | undefined => WRITTEN_TABLE.exec(sql)?.[1]?.toLowerCase();
/** The tables a read reads (Kysely quotes every identifier). */
const READ_TABLES = /\b(?:from|join)\s+"(\w+)"/gi;

/** One statement's kept answers, by their parameters. */
interface Kept {
  tables: ReadonlySet<string>;
  answers: Map<string, unknown[]>;
}

export class ReadCache {
  private readonly kept = new Map<string, Kept>();
  /** For each table, the tables a write to it may change (itself and its cascades); built on demand. */
  private reach = new Map<string, ReadonlySet<string>>();
  private readonly dataVersionStmt;
  private readonly foreignKeysStmt;
  private dataVersion: unknown;
  private checkedThisTurn = false;

  constructor(sqlite: SqliteDatabase.Database) {
    this.dataVersionStmt = sqlite.prepare('PRAGMA data_version').pluck();
    this.foreignKeysStmt = sqlite.prepare("select m.name as child, f.\"table\" as parent from sqlite_master m, pragma_foreign_key_list(m.name) f where m.type = 'table'");
    this.dataVersion = this.dataVersionStmt.get();
  }

  /** Anything may have changed (or the schema did): nothing read before is kept. */
  changed(): void {
    for (const k of this.kept.values()) k.answers.clear();
    this.reach.clear();
  }

  /**
   * A statement ran on the server's connection that wrote `table` (writtenTable()), or
   * undefined: one that may have changed anything (DDL, a rollback, a write that failed).
   */
  wrote(table: string | undefined): void {
    if (table === undefined) {
      this.changed();
      return;
    }
    const reached = this.reachOf(table);
    for (const k of this.kept.values()) {
      if (k.answers.size === 0) continue;
      for (const t of k.tables) {
        if (reached.has(t)) {
          k.answers.clear();
          break;
        }
      }
    }
  }

  /** `run()`'s rows for this statement and these parameters, read once per state of what it reads. */
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
    let kept = this.kept.get(sql);
    if (kept === undefined) {
      kept = { tables: new Set([...sql.matchAll(READ_TABLES)].map((m) => m[1]!.toLowerCase())), answers: new Map() };
      this.kept.set(sql, kept);
    }
    const key = parameters.length === 0 ? '' : JSON.stringify(parameters);
    let rows = kept.answers.get(key);
    if (rows === undefined) {
      rows = run();
      if (kept.answers.size >= MAX_ENTRIES) kept.answers.delete(kept.answers.keys().next().value as string);
      kept.answers.set(key, rows);
    }
    return rows;
  }

  /** The table and every table that references it, directly or through others (a delete may cascade). */
  private reachOf(table: string): ReadonlySet<string> {
    let reached = this.reach.get(table);
    if (reached === undefined) {
      const children = new Map<string, string[]>();
      for (const { child, parent } of this.foreignKeysStmt.all() as { child: string; parent: string }[]) {
        const p = parent.toLowerCase();
        children.set(p, [...(children.get(p) ?? []), child.toLowerCase()]);
      }
      const found = new Set([table]);
      for (const t of found) for (const c of children.get(t) ?? []) found.add(c);
      reached = found;
      this.reach.set(table, reached);
    }
    return reached;
  }
}
