import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { sql } from 'kysely';
import { redactUrl } from '../redaction.js';
import { type Db, transaction } from '../store/database.js';
import { isStoreFull, isUniqueViolation } from '../store/errors.js';
import { prepared } from '../store/prepared.js';
import { JOURNAL_FIELDS } from '../store/schema.js';
import { dropCounter, type WriteHealth } from '../store/write-health.js';
import { type Answered, BatchDetails, type Capture, decodeDetails, type Details, type StoredBody, type StoredHeaders, stored } from './capture.js';

// The request journal: every Atlas API and OAuth request — what was asked, by whom, with which
// headers and body, and what was answered — kept in the store, so on PostgreSQL every node's
// requests are in one journal. An answer never waits for its entry: the request's path only
// queues references (a Capture); a moment later the batch writer redacts, caps and serialises
// them (journal/capture.ts) and writes the batch as one row (schema.ts). The journal is for
// looking, not a record of what was acknowledged: a batch the store refuses is dropped (and
// counted), and the oldest entries go beyond --journal-size entries or --journal-bytes.

/** An entry as lists show it: its summary. */
export interface JournalEntry extends Answered {
  id: number;
  /** Wall-clock time the request arrived, ISO 8601. */
  at: string;
  /** Path and query, secret parameters' values replaced. */
  path: string;
  /** The identity its credentials claimed, verified or not: a wrong key's public key. */
  claimed: string | null;
  /** A Digest challenge: the 401 that asks a client for credentials, before its real request. */
  challenge: boolean;
  /** The endpoint it is about: its path's, or the one its 201 created. */
  endpointId: string | null;
}

/** An entry with what was sent and answered. */
export interface JournalDetail extends JournalEntry {
  request: { headers: StoredHeaders; body: StoredBody | null } | null;
  response: { headers: StoredHeaders; body: StoredBody | null } | null;
  /** For a challenge, the request that answered it (the retry with its nonce); for that request, its challenge. */
  related: { challengeOf?: number; answeredBy?: number };
}

export interface JournalQuery {
  method?: string;
  /** A path prefix, or a pattern where * stands for any run of characters (the query included). */
  path?: string;
  operation?: string;
  /** An exact status (409) or a class (4xx). */
  status?: string;
  errorCode?: string;
  groupId?: string;
  /** The credential that authenticated it or that it claimed. */
  principal?: string;
  endpointId?: string;
  challenge?: boolean;
  faultId?: string;
  node?: string;
  /** Entries at or after / before this time (ms since the epoch). */
  since?: number;
  until?: number;
  /** Free text, case-insensitive: in the path, request id, endpoint and project ids, credentials, errorCode and detail. */
  text?: string;
  /** Request headers: each name's value contains the text. */
  headers?: [name: string, contains: string][];
  /** Request body fields (a dotted path in its JSON): each equals the value, as text. */
  body?: [path: string, equals: string][];
  /** Only entries with a larger id (what a poller has not seen yet). */
  after?: number;
  /** Results only below this id (the next page); the count is of every match. */
  before?: number;
  limit: number;
}

export interface JournalPage {
  results: JournalEntry[];
  /** Every entry the filters match (results are at most `limit` of them). */
  totalCount: number;
  /** The `before` of the next page, when more matches remain. */
  next?: number;
}

export interface JournalSettings {
  /** Entries kept; 0 turns the journal off. */
  size: number;
  /** Characters of entries and details kept (the newest batches first). */
  bytes: number;
  /** Bytes of each body kept; a longer one is cut and marked. */
  bodyLimit: number;
  /** How long entries wait in memory before their batch is written. */
  flushMs: number;
}

export const DEFAULT_JOURNAL: JournalSettings = { size: 10_000, bytes: 64 * 1024 * 1024, bodyLimit: 64 * 1024, flushMs: 100 };
/**
 * Entries queued before a batch is written at once, without waiting for flushMs: memory stays
 * bounded under any load, and under heavy load batches are few and large (each is a commit).
 */
const MAX_QUEUED = 2000;
/** Batches read at a time by a query, newest first. */
const PAGE = 8;
/** Tries at a batch's INSERT when other nodes took the same ids first (PostgreSQL): each round, one of them wins. */
const TRIES = 20;
/** Batches looked through around an entry for its challenge or its retry. */
const NEIGHBOURS = 32;

/** Where each summary field is in a stored entry. */
const AT = Object.fromEntries(JOURNAL_FIELDS.map((f, i) => [f, i])) as Record<(typeof JOURNAL_FIELDS)[number], number>;
type Values = unknown[];

/**
 * Summary fields stored once per run of equal values: in a batch, a text value equal to the
 * entry before's is stored as 0 (never a value of these fields, all text or null). A poller's
 * entries differ only in their time, duration and request id, so a batch's summaries are a
 * third the size — a third of the bytes to serialise and write (migration 0012 marks the change).
 */
const REPEATED = (['method', 'path', 'group_id', 'operation', 'principal', 'error_code', 'error_detail', 'node', 'claimed', 'fault_id', 'endpoint_id', 'nonce'] as const).map((f) => AT[f]);
const SAME = 0;

/** `v` as stored after `previous` (the entry before it in its batch, as it really was). */
function compacted(v: Values, previous: Values | undefined): Values {
  if (previous === undefined) return v;
  const out = v.slice();
  for (const i of REPEATED) if (typeof v[i] === 'string' && v[i] === previous[i]) out[i] = SAME;
  return out;
}

/** A stored batch's entries, each whole again (a batch written before migration 0012 has nothing to undo). */
function parseEntries(text: string): Values[] {
  const entries = JSON.parse(text) as Values[];
  for (let k = 1; k < entries.length; k++) {
    const v = entries[k]!;
    const previous = entries[k - 1]!;
    for (const i of REPEATED) if (v[i] === SAME) v[i] = previous[i];
  }
  return entries;
}

/** A stored entry (values in JOURNAL_FIELDS' order) as lists show it. Fields a batch older than migration 0011 lacks read as null. */
function entryOf(id: number, v: Values): JournalEntry {
  const str = (f: (typeof JOURNAL_FIELDS)[number]) => (v[AT[f]] ?? null) as string | null;
  return {
    id,
    at: new Date(v[AT.at] as number).toISOString(),
    method: v[AT.method] as string,
    path: v[AT.path] as string,
    groupId: str('group_id'),
    operation: v[AT.operation] as string,
    principal: str('principal'),
    claimed: str('claimed'),
    status: v[AT.status] as number,
    errorCode: str('error_code'),
    errorDetail: str('error_detail'),
    durationMs: v[AT.duration_ms] as number,
    requestId: v[AT.request_id] as string,
    node: v[AT.node] as string,
    challenge: v[AT.challenge] === true,
    faultId: str('fault_id'),
    endpointId: str('endpoint_id'),
  };
}

/** A path pattern (`*` for any run of characters) as a test; without `*`, a prefix. */
function pathTest(pattern: string): (path: string) => boolean {
  if (!pattern.includes('*')) return (p) => p.startsWith(pattern);
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (p) => re.test(p);
}

/** The value at a dotted path of a JSON text, as text (undefined when it is not JSON or not there). */
function field(text: string, path: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v);
}

/** What a query asks of each entry: of its summary, and (only if a filter needs them) of its details. */
function matcher(q: JournalQuery) {
  const cls = q.status === undefined ? undefined : /^([1-5])xx$/i.exec(q.status);
  const status = q.status === undefined ? undefined : cls ? (s: number) => Math.floor(s / 100) === Number(cls[1]) : (s: number) => s === Number(q.status);
  const path = q.path === undefined ? undefined : pathTest(q.path);
  const text = q.text?.toLowerCase();
  const textFields = [AT.path, AT.request_id, AT.endpoint_id, AT.group_id, AT.principal, AT.claimed, AT.error_code, AT.error_detail];
  const summary = (v: Values) =>
    (q.method === undefined || v[AT.method] === q.method) &&
    (path === undefined || path(v[AT.path] as string)) &&
    (q.operation === undefined || v[AT.operation] === q.operation) &&
    (status === undefined || status(v[AT.status] as number)) &&
    (q.errorCode === undefined || v[AT.error_code] === q.errorCode) &&
    (q.groupId === undefined || v[AT.group_id] === q.groupId) &&
    (q.principal === undefined || v[AT.principal] === q.principal || v[AT.claimed] === q.principal) &&
    (q.endpointId === undefined || v[AT.endpoint_id] === q.endpointId) &&
    (q.challenge === undefined || (v[AT.challenge] === true) === q.challenge) &&
    (q.faultId === undefined || v[AT.fault_id] === q.faultId) &&
    (q.node === undefined || v[AT.node] === q.node) &&
    (q.since === undefined || (v[AT.at] as number) >= q.since) &&
    (q.until === undefined || (v[AT.at] as number) < q.until) &&
    (text === undefined || textFields.some((i) => typeof v[i] === 'string' && (v[i] as string).toLowerCase().includes(text)));
  const needsDetails = (q.headers?.length ?? 0) > 0 || (q.body?.length ?? 0) > 0;
  const details = (d: Details | null | undefined) => {
    if (!needsDetails) return true;
    if (!d) return false;
    const [headers, body] = d;
    return (
      (q.headers ?? []).every(([name, contains]) => headers.some(([n, v]) => n === name && v.toLowerCase().includes(contains.toLowerCase()))) &&
      (q.body ?? []).every(([path, equals]) => body !== null && !body.truncated && field(body.text, path) === equals)
    );
  };
  return { summary, details, needsDetails };
}

export class RequestJournal {
  private pending: Capture[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly dropped: (entries: number) => void;
  // Compiled once (store/prepared.ts). A batch takes the ids after the newest batch's; two nodes
  // that take the same at once collide on the primary key, and the later tries again.
  private readonly insert;
  private readonly trim;
  private readonly trimBytes;

  constructor(
    private readonly db: Db,
    readonly settings: JournalSettings,
    /** Told when a batch is dropped. */
    private readonly warn: (message: string) => void,
    /** While the store refuses writes, dropped batches are counted, and told once it takes them again. */
    writes?: WriteHealth,
  ) {
    this.dropped = dropCounter(writes, (n) => warn(`request journal: ${n} entries were dropped while the store refused writes`));
    this.insert = prepared<[number, number, string, string, number], never>(db, 5, (count, lastAt, entries, details, bytes) =>
      db
        .insertInto('request_journal_batches')
        .columns(['first_id', 'last_id', 'last_at', 'entries', 'details', 'bytes'])
        .expression((eb) =>
          eb.selectFrom('request_journal_batches').select((e) => {
            const newest = e.fn.coalesce(e.fn.max('last_id'), e.lit(0));
            return [
              e(newest, '+', 1).as('first_id'),
              e(newest, '+', count).as('last_id'),
              sql<number>`cast(${lastAt} as bigint)`.as('last_at'),
              sql<string>`${entries}`.as('entries'),
              sql<string>`${details}`.as('details'),
              sql<number>`cast(${bytes} as bigint)`.as('bytes'),
            ];
          }),
        ),
    );
    // Ids grow with every entry, on every node: batches holding none of the newest `size` go.
    this.trim = prepared<[number], never>(db, 1, (size) =>
      db.deleteFrom('request_journal_batches').where('last_id', '<=', (eb) => eb.selectFrom('request_journal_batches').select((e) => e(e.fn.max('last_id'), '-', size).as('floor'))),
    );
    // And the oldest batches beyond the newest `bytes` characters (the newest one always stays).
    this.trimBytes = prepared<[number], never>(db, 1, (bytes) =>
      db.deleteFrom('request_journal_batches').where('last_id', '<', (eb) =>
        eb
          .selectFrom(
            eb
              .selectFrom('request_journal_batches')
              .select(['last_id', sql<number>`sum(bytes) over (order by last_id desc)`.as('kept')])
              .as('b'),
          )
          // The oldest batch within the budget — or the newest, when even it alone is beyond it.
          .select(sql<number>`coalesce(min(case when kept <= ${bytes} then last_id end), max(last_id))`.as('oldest')),
      ),
    );
  }

  get enabled(): boolean {
    return this.settings.size > 0;
  }

  /**
   * Queues one request's capture. It is digested — redacted, capped, made compact — at the end
   * of this turn of the event loop, so what it references (the request's headers, the answer)
   * dies young instead of being kept for flushMs; its batch is written within flushMs.
   */
  record(capture: Capture): void {
    if (!this.enabled) return;
    this.pending.push(capture);
    if (this.pending.length === 1) setImmediate(() => this.digest());
    if (this.pending.length + (this.open?.entries.length ?? 0) >= MAX_QUEUED) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), this.settings.flushMs).unref();
  }

  /**
   * The batch being gathered: each entry's summary as stored (its JSON text: what waits for the
   * batch's write is a string, not the values and objects it was made of), and the details they share.
   */
  private open: { entries: string[]; details: BatchDetails; lastAt: number; previous?: Values } | undefined;

  /** Turns the captures queued so far into the open batch's compact form. */
  private digest(): void {
    const captures = this.pending;
    if (captures.length === 0) return;
    this.pending = [];
    const open = (this.open ??= { entries: [], details: new BatchDetails(), lastAt: 0 });
    for (const c of captures) {
      const derived = stored(c, this.settings.bodyLimit, open.details);
      const values: Values = [
        c.at,
        c.method,
        redactUrl(c.url),
        derived.groupId,
        c.operation,
        c.principal,
        c.status,
        c.errorCode,
        c.errorDetail,
        c.durationMs,
        c.requestId,
        c.node,
        derived.claimed,
        derived.challenge,
        c.faultId,
        derived.endpointId,
        derived.nonce,
      ];
      open.entries.push(JSON.stringify(compacted(values, open.previous)));
      open.previous = values;
      open.lastAt = Math.max(open.lastAt, c.at);
    }
  }

  /** Writes what is queued (batches are written one after another); resolves when it is in the store. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.digest();
    const batch = this.open;
    this.open = undefined;
    if (batch) this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  private async write({ entries: stored, details, lastAt }: NonNullable<RequestJournal['open']>): Promise<void> {
    try {
      const entries = `[${stored.join(',')}]`;
      const detailText = details.encode();
      for (let tried = 1; ; tried++) {
        try {
          await this.insert(stored.length, lastAt, entries, detailText, entries.length + detailText.length);
          break;
        } catch (err) {
          if (tried >= TRIES || !isUniqueViolation(err)) throw err;
        }
      }
      await this.trim(this.settings.size);
      await this.trimBytes(this.settings.bytes);
    } catch (err) {
      // A full store refuses every batch until there is room: counted, and said once it has.
      if (isStoreFull(err)) this.dropped(stored.length);
      else this.warn(`request journal: a batch of ${stored.length} entries could not be written (${(err as Error).message})`);
    }
  }

  /**
   * Newest first: the first `limit` matches (below `before`, when given) and how many match in
   * all — counted by the same scan that found them, so the two always agree.
   */
  async query(q: JournalQuery): Promise<JournalPage> {
    const results: JournalEntry[] = [];
    let totalCount = 0;
    /** Matches below `before`: those this page and the ones after it hold. */
    let below = 0;
    await this.scan(q, (id, v) => {
      totalCount++;
      if (q.before !== undefined && id >= q.before) return;
      below++;
      if (results.length < q.limit) results.push(entryOf(id, v));
    });
    const page: JournalPage = { results, totalCount };
    if (below > results.length && results.length > 0) page.next = results.at(-1)!.id;
    return page;
  }

  /** How many entries the filters match (`limit`, `before` aside). */
  async count(q: Omit<JournalQuery, 'limit'>): Promise<number> {
    let n = 0;
    await this.scan({ ...q, limit: 0 }, () => n++);
    return n;
  }

  /**
   * Calls `found` for each matching entry, newest first. The newest id is read first and
   * nothing newer is looked at: one query sees the journal as it was when it began.
   */
  private async scan(q: JournalQuery, found: (id: number, values: Values) => void): Promise<void> {
    await this.flush();
    const newest = await this.newestId(this.db);
    // Entries at or below this id are beyond the size (their batch not trimmed yet) or seen already.
    const floor = Math.max(newest - this.settings.size, q.after ?? 0);
    const match = matcher(q);
    for (let below = newest + 1; ; ) {
      let page = this.db
        .selectFrom('request_journal_batches')
        .select(match.needsDetails ? ['first_id', 'last_id', 'entries', 'details'] : ['first_id', 'last_id', 'entries'])
        .where('last_id', '>', floor)
        .where('first_id', '<', below)
        .orderBy('last_id', 'desc')
        .limit(PAGE);
      if (q.since !== undefined) page = page.where('last_at', '>=', q.since);
      const batches = (await page.execute()) as { first_id: number; last_id: number; entries: string; details?: string | null }[];
      for (const b of batches) {
        const entries = parseEntries(b.entries);
        const details = match.needsDetails && b.details ? decodeDetails(b.details, entries.map((v) => v[AT.request_id])) : undefined;
        for (let i = entries.length - 1; i >= 0; i--) {
          const id = Number(b.first_id) + i;
          if (id <= floor) break;
          if (id > newest || !match.summary(entries[i]!) || !match.details(details?.[i])) continue;
          found(id, entries[i]!);
        }
      }
      if (batches.length < PAGE) return;
      below = Number(batches.at(-1)!.first_id);
      // A filter nothing matches reads the whole journal. Between pages the event loop serves
      // what else is waiting (on SQLite every read here is synchronous): a long scan is slow
      // for its asker only, never a stall for the API's clients.
      await yieldToLoop();
    }
  }

  /** One entry with what was sent and answered; undefined when it is not (or no longer) kept. */
  async get(id: number): Promise<JournalDetail | undefined> {
    await this.flush();
    const newest = await this.newestId(this.db);
    if (!Number.isSafeInteger(id) || id <= newest - this.settings.size || id > newest) return undefined;
    const b = await this.db.selectFrom('request_journal_batches').select(['first_id', 'entries', 'details']).where('first_id', '<=', id).where('last_id', '>=', id).executeTakeFirst();
    if (!b) return undefined;
    const i = id - Number(b.first_id);
    const entries = parseEntries(b.entries);
    const values = entries[i];
    if (!values) return undefined;
    const d = b.details ? decodeDetails(b.details, entries.map((v) => v[AT.request_id]))[i] : undefined;
    const nonce = values[AT.nonce] as string | null | undefined;
    const challenge = values[AT.challenge] === true;
    const related: JournalDetail['related'] = {};
    if (nonce) {
      // A challenge and the request that came back with its nonce: the first such one after it.
      const other = await this.neighbour(id, nonce, challenge);
      if (other !== undefined) related[challenge ? 'answeredBy' : 'challengeOf'] = other;
    }
    return {
      ...entryOf(id, values),
      request: d ? { headers: d[0], body: d[1] } : null,
      response: d ? { headers: d[2], body: d[3] } : null,
      related,
    };
  }

  /** The nearest entry after (`later`) or before `id` with the Digest nonce `nonce` that is (not) a challenge. */
  private async neighbour(id: number, nonce: string, later: boolean): Promise<number | undefined> {
    const batches = await this.db
      .selectFrom('request_journal_batches')
      .select(['first_id', 'entries'])
      .where(later ? 'last_id' : 'first_id', later ? '>=' : '<=', id)
      .orderBy('last_id', later ? 'asc' : 'desc')
      .limit(NEIGHBOURS)
      .execute();
    for (const b of batches) {
      const entries = parseEntries(b.entries);
      const ids = entries.map((_, i) => Number(b.first_id) + i);
      for (const k of later ? ids.keys() : [...ids.keys()].reverse()) {
        const otherId = ids[k]!;
        if (later ? otherId <= id : otherId >= id) continue;
        const v = entries[k]!;
        if (v[AT.nonce] === nonce && (v[AT.challenge] === true) === !later) return otherId;
      }
    }
    return undefined;
  }

  /** Empties the journal (what is still queued too); returns how many entries went. */
  async clear(): Promise<number> {
    await this.flush();
    return transaction(this.db, async (trx) => {
      const newest = await this.newestId(trx);
      const floor = newest - this.settings.size;
      const batches = await trx.selectFrom('request_journal_batches').select(['first_id', 'last_id']).where('last_id', '>', floor).execute();
      const gone = batches.reduce((n, b) => n + Math.max(0, Number(b.last_id) - Math.max(Number(b.first_id), floor + 1) + 1), 0);
      // The newest batch stays, emptied, so the ids it took are not handed out again.
      await trx.deleteFrom('request_journal_batches').where('last_id', '<', newest).execute();
      await trx.updateTable('request_journal_batches').set({ first_id: newest + 1, entries: '[]', details: null, bytes: 2 }).where('last_id', '=', newest).execute();
      return gone;
    });
  }

  /** The id of the oldest entry kept (the newest id + 1 when it is empty). */
  async oldestKeptId(): Promise<number> {
    const row = await this.db.selectFrom('request_journal_batches').select((eb) => eb.fn.min('first_id').as('oldest')).executeTakeFirst();
    return Number(row?.oldest ?? 1);
  }

  /** The newest id handed out so far (0: none yet). */
  async newestId(db: Db = this.db): Promise<number> {
    const top = await db.selectFrom('request_journal_batches').select('last_id').orderBy('last_id', 'desc').limit(1).executeTakeFirst();
    return Number(top?.last_id ?? 0);
  }

  close(): Promise<void> {
    return this.flush();
  }
}
