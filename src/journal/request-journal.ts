import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import { type Db, transaction } from '../store/database.js';
import { isStoreFull, isUniqueViolation } from '../store/errors.js';
import { prepared } from '../store/prepared.js';
import { JOURNAL_FIELDS } from '../store/schema.js';
import { dropCounter, type WriteHealth } from '../store/write-health.js';

// The request journal: a summary of every Atlas API and OAuth request — what was asked, who
// asked, what was answered — kept in the store, so on PostgreSQL every node's requests are in
// one journal. Entries are written off the request's path: collected in memory and inserted
// in batches a moment later, so an answer never waits for its journal entry; each batch is one
// row (schema.ts), whatever its size. The journal is for looking, not a record of what was
// acknowledged: a batch the store refuses is dropped with a warning, and the oldest entries are
// trimmed beyond its size.

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
/**
 * Entries queued before a batch is written at once, without waiting for flushMs: memory stays
 * bounded under any load, and under heavy load batches are few and large (each is a commit).
 */
const MAX_QUEUED = 2000;
/** Batches read at a time by a query, newest first. */
const PAGE = 8;
/** Tries at a batch's INSERT when other nodes took the same ids first (PostgreSQL): each round, one of them wins. */
const TRIES = 20;

type Row = Omit<JournalEntry, 'id' | 'at'> & { at: number };

/** Each stored field and the property of a Row it holds. */
const PROPERTY = {
  at: 'at',
  method: 'method',
  path: 'path',
  group_id: 'groupId',
  operation: 'operation',
  principal: 'principal',
  status: 'status',
  error_code: 'errorCode',
  error_detail: 'errorDetail',
  duration_ms: 'durationMs',
  request_id: 'requestId',
  node: 'node',
} as const satisfies Record<(typeof JOURNAL_FIELDS)[number], keyof Row>;
const KEYS = JOURNAL_FIELDS.map((f) => PROPERTY[f]);
/** Where each property of a Row is in a stored entry. */
const AT = Object.fromEntries(KEYS.map((k, i) => [k, i])) as Record<keyof Row, number>;
/** A row as it is stored: its values in the order of JOURNAL_FIELDS. */
const valuesOf = (r: Row): unknown[] => KEYS.map((k) => r[k]);
const rowOf = (values: unknown[]): Row => Object.fromEntries(KEYS.map((k, i) => [k, values[i]])) as Row;

export class RequestJournal {
  private pending: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  // Compiled once (store/prepared.ts). A batch takes the ids after the newest batch's; two nodes
  // that take the same at once collide on the primary key, and the later tries again.
  private readonly insert;
  private readonly trim;

  private readonly dropped: (entries: number) => void;

  constructor(
    private readonly db: Db,
    readonly settings: JournalSettings,
    /** Told when a batch is dropped. */
    private readonly warn: (message: string) => void,
    /** While the store refuses writes, dropped batches are counted, and told once it takes them again. */
    writes?: WriteHealth,
  ) {
    this.dropped = dropCounter(writes, (n) => warn(`request journal: ${n} entries were dropped while the store refused writes`));
    this.insert = prepared<[number, number, string], never>(db, 3, (count, lastAt, entries) =>
      db
        .insertInto('request_journal_batches')
        .columns(['first_id', 'last_id', 'last_at', 'entries'])
        .expression((eb) =>
          eb.selectFrom('request_journal_batches').select((e) => {
            const newest = e.fn.coalesce(e.fn.max('last_id'), e.lit(0));
            return [e(newest, '+', 1).as('first_id'), e(newest, '+', count).as('last_id'), sql<number>`cast(${lastAt} as bigint)`.as('last_at'), sql<string>`${entries}`.as('entries')];
          }),
        ),
    );
    // Ids grow with every entry, on every node: batches holding none of the newest `size` go.
    this.trim = prepared<[number], never>(db, 1, (size) =>
      db.deleteFrom('request_journal_batches').where('last_id', '<=', (eb) => eb.selectFrom('request_journal_batches').select((e) => e(e.fn.max('last_id'), '-', size).as('floor'))),
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
      const entries = JSON.stringify(rows.map(valuesOf));
      const lastAt = rows.reduce((max, r) => Math.max(max, r.at), 0);
      for (let tried = 1; ; tried++) {
        try {
          await this.insert(rows.length, lastAt, entries);
          break;
        } catch (err) {
          if (tried >= TRIES || !isUniqueViolation(err)) throw err;
        }
      }
      await this.trim(this.settings.size);
    } catch (err) {
      // A full store refuses every batch until there is room: counted, and said once it has.
      if (isStoreFull(err)) this.dropped(rows.length);
      else this.warn(`request journal: a batch of ${rows.length} entries could not be written (${(err as Error).message})`);
    }
  }

  /** Newest first. */
  async query(q: JournalQuery): Promise<JournalEntry[]> {
    await this.flush();
    const newest = await this.newestId(this.db);
    // Entries at or below this id are beyond the size (their batch not trimmed yet) or seen already.
    const floor = Math.max(newest - this.settings.size, q.after ?? 0);
    const cls = q.status === undefined ? undefined : /^([1-5])xx$/i.exec(q.status);
    const status = q.status === undefined ? () => true : cls ? (s: number) => Math.floor(s / 100) === Number(cls[1]) : (s: number) => s === Number(q.status);
    // Entries are matched as stored; only those kept become objects.
    const wanted = (v: unknown[]) =>
      (q.groupId === undefined || v[AT.groupId] === q.groupId) &&
      (q.operation === undefined || v[AT.operation] === q.operation) &&
      (q.errorCode === undefined || v[AT.errorCode] === q.errorCode) &&
      (q.since === undefined || (v[AT.at] as number) >= q.since) &&
      status(v[AT.status] as number);
    const found: JournalEntry[] = [];
    for (let below = Infinity; ; ) {
      let page = this.db.selectFrom('request_journal_batches').select(['first_id', 'last_id', 'entries']).where('last_id', '>', floor).orderBy('last_id', 'desc').limit(PAGE);
      if (below !== Infinity) page = page.where('last_id', '<', below);
      if (q.since !== undefined) page = page.where('last_at', '>=', q.since);
      const batches = await page.execute();
      for (const b of batches) {
        const entries = JSON.parse(b.entries) as unknown[][];
        for (let i = entries.length - 1; i >= 0; i--) {
          const id = Number(b.first_id) + i;
          if (id <= floor) break;
          if (!wanted(entries[i]!)) continue;
          const row = rowOf(entries[i]!);
          found.push({ id, ...row, at: new Date(row.at).toISOString() });
          if (found.length >= q.limit) return found;
        }
      }
      if (batches.length < PAGE) return found;
      below = Number(batches.at(-1)!.last_id);
      // A filter nothing matches reads the whole journal. Between pages the event loop serves
      // what else is waiting (on SQLite every read here is synchronous): a long scan is slow
      // for its asker only, never a stall for the API's clients.
      await yieldToLoop();
    }
  }

  /** Empties the journal (what is still queued too); returns how many entries went. */
  async clear(): Promise<number> {
    await this.flush();
    return transaction(this.db, async (trx) => {
      const newest = await this.newestId(trx);
      const floor = newest - this.settings.size;
      const batches = await trx.selectFrom('request_journal_batches').select(['first_id', 'last_id']).where('last_id', '>', floor).execute();
      const gone = batches.reduce((n, b) => n + Number(b.last_id) - Math.max(Number(b.first_id), floor + 1) + 1, 0);
      // The newest batch stays, emptied, so the ids it took are not handed out again.
      await trx.deleteFrom('request_journal_batches').where('last_id', '<', newest).execute();
      await trx.updateTable('request_journal_batches').set({ first_id: newest + 1, entries: '[]' }).where('last_id', '=', newest).execute();
      return gone;
    });
  }

  /** The newest id handed out so far (0: none yet). */
  private async newestId(db: Db): Promise<number> {
    const top = await db.selectFrom('request_journal_batches').select('last_id').orderBy('last_id', 'desc').limit(1).executeTakeFirst();
    return Number(top?.last_id ?? 0);
  }

  close(): Promise<void> {
    return this.flush();
  }
}
