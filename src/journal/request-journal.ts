import type { Db } from '../store/database.js';
import { prepared } from '../store/prepared.js';
import type { RequestJournalTable } from '../store/schema.js';

// The request journal: a summary of every Atlas API and OAuth request — what was asked, who
// asked, what was answered — kept in the store, so on PostgreSQL every node's requests are in
// one journal. Entries are written off the request's path: collected in memory and inserted
// in batches a moment later, so an answer never waits for its journal row. The journal is for
// looking, not a record of what was acknowledged: a batch the store refuses is dropped with a
// warning, and the oldest entries are trimmed beyond its size.

export interface JournalEntry {
  id?: number;
  /** Wall-clock time the request arrived, ISO 8601. */
  at: string;
  method: string;
  /** Path and query; for OAuth the path only. */
  path: string;
  groupId: string | null;
  /** list, create, get, delete, oauth, or unrouted. */
  operation: string;
  /** The public key or client id, when known. Never a secret. */
  principal: string | null;
  status: number;
  errorCode: string | null;
  errorDetail: string | null;
  durationMs: number;
  requestId: string;
  node: string;
}

export interface JournalQuery {
  groupId?: string;
  operation?: string;
  /** An exact status (409) or a class (4xx). */
  status?: string;
  errorCode?: string;
  /** Only entries at or after this time (ms since the epoch). */
  since?: number;
  /** Only entries with a larger id (what a poller has not seen yet). */
  after?: number;
  limit: number;
}

export interface JournalSettings {
  /** Entries kept; 0 turns the journal off. */
  size: number;
  /** How long entries wait in memory before their batch is written. */
  flushMs: number;
}

export const DEFAULT_JOURNAL: JournalSettings = { size: 10_000, flushMs: 100 };
/** Rows per INSERT: well under either store's limit of bound parameters. */
const CHUNK = 200;
/**
 * Entries queued before a batch is written at once, without waiting for flushMs: memory stays
 * bounded under any load, and under heavy load batches are few and large (each is a commit).
 */
const MAX_QUEUED = 10 * CHUNK;

type Row = Omit<JournalEntry, 'id' | 'at'> & { at: number };

/** The columns an entry is written to; valuesOf() gives a row's values in this order. */
const COLUMNS = ['at', 'method', 'path', 'group_id', 'operation', 'principal', 'status', 'error_code', 'error_detail', 'duration_ms', 'request_id', 'node'] as const;
const valuesOf = (r: Row) => [r.at, r.method, r.path, r.groupId, r.operation, r.principal, r.status, r.errorCode, r.errorDetail, r.durationMs, r.requestId, r.node];
type Insertable = { [C in (typeof COLUMNS)[number]]: RequestJournalTable[C] };
/** `count` rows' worth of placeholders (COLUMNS.length each) as Kysely insert values. */
const rowsOf = (args: unknown[], count: number): Insertable[] =>
  Array.from({ length: count }, (_, r) => Object.fromEntries(COLUMNS.map((c, i) => [c, args[r * COLUMNS.length + i]])) as Insertable);

export class RequestJournal {
  private pending: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  // Compiled once (store/prepared.ts): compiling a 200-row INSERT cost ≈ 2.5 µs a row, about
  // half of what running it costs. A batch is written as INSERTs of these many rows, largest
  // first (a batch of 735: 3 × 200, 2 × 50, 3 × 10, 5 × 1).
  private readonly inserts: { rows: number; run: (...values: unknown[]) => Promise<unknown> }[];
  private readonly trim;

  constructor(
    private readonly db: Db,
    readonly settings: JournalSettings,
    /** Told when a batch is dropped. */
    private readonly warn: (message: string) => void,
  ) {
    this.inserts = [CHUNK, 50, 10, 1].map((rows) => ({
      rows,
      run: prepared<unknown[], never>(db, rows * COLUMNS.length, (...a) => db.insertInto('request_journal').values(rowsOf(a, rows))),
    }));
    // Ids grow with every row, on every node: the newest `size` are kept.
    this.trim = prepared<[number], never>(db, 1, (size) =>
      db.deleteFrom('request_journal').where('id', '<=', (eb) => eb.selectFrom('request_journal').select((e) => e(e.fn.max('id'), '-', size).as('last'))),
    );
  }

  get enabled(): boolean {
    return this.settings.size > 0;
  }

  /** Queues one entry; its batch is written within flushMs. */
  record(row: Row): void {
    if (!this.enabled) return;
    this.pending.push(row);
    if (this.pending.length >= MAX_QUEUED) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.settings.flushMs).unref();
  }

  /** Writes what is queued (batches are written one after another); resolves when it is in the store. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const rows = this.pending;
    this.pending = [];
    if (rows.length > 0) this.writing = this.writing.then(() => this.write(rows));
    return this.writing;
  }

  private async write(rows: Row[]): Promise<void> {
    try {
      let i = 0;
      for (const insert of this.inserts) {
        for (; i + insert.rows <= rows.length; i += insert.rows) await insert.run(...rows.slice(i, i + insert.rows).flatMap(valuesOf));
      }
      await this.trim(this.settings.size);
    } catch (err) {
      this.warn(`request journal: a batch of ${rows.length} entries could not be written (${(err as Error).message})`);
    }
  }

  /** Newest first. */
  async query(q: JournalQuery): Promise<JournalEntry[]> {
    await this.flush();
    let s = this.db.selectFrom('request_journal').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.groupId !== undefined) s = s.where('group_id', '=', q.groupId);
    if (q.operation !== undefined) s = s.where('operation', '=', q.operation);
    if (q.errorCode !== undefined) s = s.where('error_code', '=', q.errorCode);
    if (q.since !== undefined) s = s.where('at', '>=', q.since);
    if (q.after !== undefined) s = s.where('id', '>', q.after);
    if (q.status !== undefined) {
      const cls = /^([1-5])xx$/i.exec(q.status);
      s = cls ? s.where('status', '>=', Number(cls[1]) * 100).where('status', '<', Number(cls[1]) * 100 + 100) : s.where('status', '=', Number(q.status));
    }
    return (await s.execute()).map((r) => ({
      id: Number(r.id),
      at: new Date(Number(r.at)).toISOString(),
      method: r.method,
      path: r.path,
      groupId: r.group_id,
      operation: r.operation,
      principal: r.principal,
      status: Number(r.status),
      errorCode: r.error_code,
      errorDetail: r.error_detail,
      durationMs: Number(r.duration_ms),
      requestId: r.request_id,
      node: r.node,
    }));
  }

  /** Empties the journal (what is still queued too); returns how many entries went. */
  async clear(): Promise<number> {
    await this.flush();
    return Number((await this.db.deleteFrom('request_journal').executeTakeFirst()).numDeletedRows);
  }

  close(): Promise<void> {
    return this.flush();
  }
}
