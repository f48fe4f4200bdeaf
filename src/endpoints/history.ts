import { sql } from 'kysely';
import type { Db, Dialect } from '../store/database.js';
import { prepared } from '../store/prepared.js';
import { isStoreFull } from '../store/errors.js';
import { dropCounter, type WriteHealth } from '../store/write-health.js';

// Each status an endpoint entered, when (on the lifecycle's clock and the wall clock), on which
// node, and why: a request, a hold that ended, a fault that fired, what the provider answered.
// The rows go with their endpoint (ON DELETE CASCADE).

export interface HistoryEntry {
  /** The status before; null for the first entry. */
  from: string | null;
  status: string;
  /** Lifecycle (virtual) time, ISO 8601. */
  at: string;
  /** Wall-clock time, ISO 8601. */
  wallAt: string;
  node: string;
  reason: string;
}

/** endpoint id, status, lifecycle time, wall time, node, reason. */
type Entry = [string, string, number, number, string, string];
const rowOf = ([endpoint_id, status, virtual_at, wall_at, node, reason]: Entry) => ({ endpoint_id, status, virtual_at, wall_at, node, reason });

export class EndpointHistory {
  private readonly insert;

  constructor(
    private readonly db: Db,
    /** The node that writes here (its runner's name). */
    readonly node: string,
    /** Told when an entry could not be written. */
    private readonly warn: (message: string) => void = () => {},
    /**
     * On PostgreSQL each statement is its own commit (a round trip and a WAL flush): the entries
     * recorded while one INSERT is under way are written together by the next (group commit).
     * On SQLite every write of a turn already shares one transaction.
     */
    dialect: Dialect = 'sqlite',
    /** While the store refuses writes, entries it refused are counted, and told once it takes them again. */
    writes?: WriteHealth,
  ) {
    this.insert = prepared<Entry, never>(db, 6, (...entry: Entry) => db.insertInto('endpoint_history').values(rowOf(entry)));
    this.grouped = dialect === 'postgres';
    this.dropped = dropCounter(writes, (n) => warn(`endpoint history: ${n} entries could not be written while the store refused writes`));
  }

  private readonly dropped: (entries: number) => void;

  private readonly grouped: boolean;
  /** Entries waiting for the next grouped INSERT, and whether one is under way or due. */
  private queued: { row: Entry; done: () => void }[] = [];
  private writing = false;

  /**
   * `endpointId` entered `status` at lifecycle time `virtualAt`, because of `reason`. Written
   * after the change it records, which stands whatever happens here: an entry the store cannot
   * take (its disk full, say) is left out with a warning, rather than turning a change already
   * made — and on PostgreSQL already committed — into an error answer. Resolves once written.
   */
  record(endpointId: string, status: string, virtualAt: number, reason: string): Promise<void> {
    const row: Entry = [endpointId, status, virtualAt, Date.now(), this.node, reason];
    if (!this.grouped) return this.write(row);
    return new Promise((done) => {
      this.queued.push({ row, done });
      if (!this.writing) {
        this.writing = true;
        // Entries recorded in this turn of the event loop go in the first INSERT.
        setImmediate(() => void this.writeQueued());
      }
    });
  }

  private async writeQueued(): Promise<void> {
    while (this.queued.length > 0) {
      const batch = this.queued;
      this.queued = [];
      if (batch.length === 1) await this.write(batch[0]!.row);
      else {
        try {
          await this.db
            .insertInto('endpoint_history')
            .values(batch.map(({ row }) => rowOf(row)))
            .execute();
        } catch (err) {
          // A full store refuses each of them alike: counted at once, not tried one by one.
          if (isStoreFull(err)) this.dropped(batch.length);
          // One bad entry (its endpoint gone meanwhile) must not cost the others theirs.
          else for (const { row } of batch) await this.write(row);
        }
      }
      for (const { done } of batch) done();
    }
    this.writing = false;
  }

  /** One entry, on its own; never throws. */
  private async write(row: Entry): Promise<void> {
    try {
      await this.insert(...row);
    } catch (err) {
      if (isStoreFull(err)) this.dropped(1);
      else this.warn(`endpoint history: ${row[0]} entered ${row[1]}, but the entry could not be written (${(err as Error).message})`);
    }
  }

  /** Every endpoint not yet DELETING enters it (a reset with a real cloud), in one statement. */
  async recordAllDeleting(virtualAt: number, reason: string): Promise<void> {
    await this.db
      .insertInto('endpoint_history')
      .columns(['endpoint_id', 'status', 'virtual_at', 'wall_at', 'node', 'reason'])
      .expression((eb) =>
        eb
          .selectFrom('private_endpoints')
          // Typed casts: PostgreSQL cannot tell a bare parameter's type in a select list.
          .select([
            'id',
            sql<string>`cast(${'DELETING'} as text)`.as('status'),
            sql<number>`cast(${virtualAt} as bigint)`.as('virtual_at'),
            sql<number>`cast(${Date.now()} as bigint)`.as('wall_at'),
            sql<string>`cast(${this.node} as text)`.as('node'),
            sql<string>`cast(${reason} as text)`.as('reason'),
          ])
          .where('status', '!=', 'DELETING'),
      )
      .execute();
  }

  /** Oldest first; empty when the endpoint has none (or is gone). */
  async list(endpointId: string): Promise<HistoryEntry[]> {
    const rows = await this.db.selectFrom('endpoint_history').selectAll().where('endpoint_id', '=', endpointId).orderBy('id').execute();
    return rows.map((r, i) => ({
      from: i === 0 ? null : rows[i - 1]!.status,
      status: r.status,
      at: new Date(Number(r.virtual_at)).toISOString(),
      wallAt: new Date(Number(r.wall_at)).toISOString(),
      node: r.node,
      reason: r.reason,
    }));
  }
}
