import { createHash, randomInt } from 'node:crypto';
import type { Selectable } from 'kysely';
import { newObjectId } from '../atlas/object-id.js';
import type { Metrics } from '../metrics.js';
import type { Db } from '../store/database.js';
import { prepared } from '../store/prepared.js';
import { bumpVersion, type StoreVersion, VersionedCache } from '../store/version.js';
import type { FaultsTable } from '../store/schema.js';
import { type Fault, type FaultContext, type FaultKind, type FaultParams, type FaultSpec, matches } from './model.js';

// Faults live in the store, so every node sees and consumes the same ones. Firing is decided
// atomically in the database: a fault limited to N firings fires N times however many nodes
// ask at once, and a probabilistic one draws the k-th decision of its seeded sequence.

type Row = Selectable<FaultsTable>;

function fromRow(r: Row): Fault {
  const f: Fault = {
    id: r.id,
    kind: r.kind as FaultKind,
    seed: Number(r.seed),
    matched: Number(r.matched),
    fired: Number(r.fired),
    createdAt: new Date(Number(r.created_at)).toISOString(),
    ...(JSON.parse(r.params) as FaultParams),
  };
  if (r.group_id !== null) f.groupId = r.group_id;
  if (r.region_name !== null) f.regionName = r.region_name;
  if (r.operation !== null) f.operation = r.operation as Fault['operation'];
  if (r.count !== null) f.count = Number(r.count);
  if (r.remaining !== null) f.remaining = Number(r.remaining);
  if (r.probability !== null) f.probability = Number(r.probability);
  return f;
}

/** The k-th draw of a fault's sequence, uniform in [0, 1): the same seed gives the same firings. */
export function draw(seed: number, k: number): number {
  return createHash('sha256').update(`${seed}:${k}`).digest().readUIntBE(0, 6) / 2 ** 48;
}

export class FaultService {
  /** Asked on every API request: compiled once, and its answer kept under the store version. */
  private readonly liveQuery;
  private readonly liveCache: VersionedCache<'live', Fault[]>;

  constructor(
    private readonly db: Db,
    version: StoreVersion,
    private readonly metrics?: Metrics,
  ) {
    this.liveCache = new VersionedCache(version, 1);
    this.liveQuery = prepared<[], Row>(db, 0, () =>
      db
        .selectFrom('faults')
        .selectAll()
        .where((eb) => eb.or([eb('remaining', 'is', null), eb('remaining', '>', 0)]))
        .orderBy('id'),
      { cached: true },
    );
  }

  async create(spec: FaultSpec): Promise<Fault> {
    const { kind, groupId, regionName, operation, count, probability, seed, ...params } = spec;
    const row = {
      id: newObjectId(),
      kind,
      group_id: groupId ?? null,
      region_name: regionName ?? null,
      operation: operation ?? null,
      count: count ?? null,
      remaining: count ?? null,
      probability: probability ?? null,
      seed: seed ?? randomInt(2 ** 31 - 1),
      params: JSON.stringify(params),
      created_at: Date.now(),
    };
    await this.db.insertInto('faults').values(row).execute();
    await bumpVersion(this.db);
    return (await this.get(row.id))!;
  }

  async get(id: string): Promise<Fault | undefined> {
    const r = await this.db.selectFrom('faults').selectAll().where('id', '=', id).executeTakeFirst();
    return r && fromRow(r);
  }

  /** A mark that moves whenever a fault is added, matched, fired or removed (control/events.ts). */
  async changeMark(): Promise<string> {
    const row = await this.db
      .selectFrom('faults')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('id').as('newest'), eb.fn.sum<number>('matched').as('matched'), eb.fn.sum<number>('fired').as('fired')])
      .executeTakeFirst();
    return `${row?.n ?? 0}:${row?.newest ?? ''}:${row?.matched ?? 0}:${row?.fired ?? 0}`;
  }

  async list(): Promise<Fault[]> {
    return (await this.db.selectFrom('faults').selectAll().orderBy('id').execute()).map(fromRow);
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('faults').where('id', '=', id).executeTakeFirst();
    await bumpVersion(this.db);
    return Number(r.numDeletedRows) > 0;
  }

  async clear(): Promise<void> {
    await this.db.deleteFrom('faults').execute();
    await bumpVersion(this.db);
  }

  /**
   * Faults of these kinds that can still fire, oldest first. The list may include one another
   * node used up meanwhile: firing asks the store, which has the last word.
   */
  async live(kinds: FaultKind[]): Promise<Fault[]> {
    const all = await this.liveCache.get('live', async () => (await this.liveQuery()).rows.map(fromRow));
    return all.filter((f) => kinds.includes(f.kind));
  }

  /** The first live fault of `kind` matching `ctx` (without consuming it). */
  async peek(kind: FaultKind, ctx: FaultContext): Promise<Fault | undefined> {
    return (await this.live([kind])).find((f) => matches(f, ctx));
  }

  /** Considers each live matching fault in turn; returns the first that fires (consumed), if any. */
  async fire(kind: FaultKind, ctx: FaultContext, candidates?: Fault[]): Promise<Fault | undefined> {
    for (const f of (candidates ?? (await this.live([kind]))).filter((c) => c.kind === kind && matches(c, ctx))) {
      if (await this.tryFire(f)) return f;
    }
    return undefined;
  }

  private async tryFire(f: Fault): Promise<boolean> {
    const live = (eb: any) => eb.or([eb('remaining', 'is', null), eb('remaining', '>', 0)]);
    const counted = await this.db
      .updateTable('faults')
      .set((eb) => ({ matched: eb('matched', '+', 1) }))
      .where('id', '=', f.id)
      .where(live)
      .returning('matched')
      .executeTakeFirst();
    if (!counted) {
      // Removed or used up meanwhile (here or on another node): stop offering it.
      this.liveCache.delete('live');
      return false;
    }
    if (f.probability !== undefined && draw(f.seed, Number(counted.matched)) >= f.probability) return false;
    const fired = await this.db
      .updateTable('faults')
      .set((eb) => ({
        fired: eb('fired', '+', 1),
        remaining: eb.case().when('remaining', 'is', null).then(null).else(eb('remaining', '-', 1)).end(),
      }))
      .where('id', '=', f.id)
      .where(live)
      .returning('remaining')
      .executeTakeFirst();
    if (!fired) return false;
    // Its last firing: every node's cached list of live faults must drop it.
    if (fired.remaining !== null && Number(fired.remaining) === 0) await bumpVersion(this.db);
    this.metrics?.faultsFired.inc({ kind: f.kind });
    return true;
  }
}
