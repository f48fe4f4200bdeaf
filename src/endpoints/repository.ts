import { type Selectable, sql } from 'kysely';
import type { AwsRegion, CloudProvider, EndpointStatus } from '../atlas/regions.js';
import type { Db, Dialect } from '../store/database.js';
import { isForeignKeyViolation, isUniqueViolation } from '../store/errors.js';
import { prepared } from '../store/prepared.js';
import type { PrivateEndpointsTable } from '../store/schema.js';
import type { Change } from './lifecycle.js';
import type { Endpoint, EndpointView } from './model.js';

// All SQL about private endpoints.

export class DuplicateEndpointError extends Error {}
/** The endpoint's project was deleted after the request was authorised (its row is gone by the time the insert checks it). */
export class ProjectGoneError extends Error {}

/**
 * The columns the API shows. Reads that answer requests select only these: building result
 * rows costs per column, and a page of 100 endpoints is built on every list request.
 */
const VIEW_COLUMNS = ['id', 'cloud_provider', 'region_name', 'vpc_region_name', 'status', 'connection_name', 'error_message'] as const;
type ViewRow = Pick<Row, (typeof VIEW_COLUMNS)[number]>;

function fromViewRow(r: ViewRow): EndpointView {
  return {
    id: r.id,
    cloudProvider: r.cloud_provider as CloudProvider,
    regionName: r.region_name as AwsRegion,
    vpcRegionName: r.vpc_region_name as AwsRegion,
    status: r.status as EndpointStatus,
    connectionName: r.connection_name,
    errorMessage: r.error_message,
  };
}

export interface EndpointFilter {
  groupId?: string;
  regionName?: string;
  status?: string;
}

type Row = Selectable<PrivateEndpointsTable>;

function fromRow(r: Row): Endpoint {
  return {
    ...fromViewRow(r),
    groupId: r.group_id,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    dueAt: r.due_at === null ? null : Number(r.due_at),
    attempts: Number(r.attempts),
    generation: Number(r.generation),
  };
}

export class EndpointRepository {
  // The API's queries, compiled once (see store/prepared.ts).
  private readonly q;

  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {
    const inProject = <Q extends { where: (...a: any[]) => Q }>(q: Q, groupId: unknown, cloudProvider: unknown) =>
      q.where('group_id', '=', groupId).where('cloud_provider', '=', cloudProvider);
    this.q = {
      insert: prepared<unknown[], never>(db, 11, (...v) =>
        db.insertInto('private_endpoints').values({
          id: v[0],
          group_id: v[1],
          cloud_provider: v[2],
          region_name: v[3],
          vpc_region_name: v[4],
          status: v[5],
          connection_name: v[6],
          error_message: v[7],
          created_at: v[8],
          updated_at: v[9],
          due_at: v[10],
        }),
      ),
      find: prepared<[string, string, string], ViewRow>(db, 3, (g, p, id) => inProject(db.selectFrom('private_endpoints').select(VIEW_COLUMNS), g, p).where('id', '=', id)),
      // GET answers with the row's wire text (migration 0006), as a list page does.
      findWire: prepared<[string, string, string], { wire: string }>(
        db,
        3,
        (g, p, id) => inProject(db.selectFrom('private_endpoints').select('wire'), g, p).where('id', '=', id),
        { cached: true },
      ),
      // A page is its rows' wire texts (migration 0006) joined: nothing is built per field. The
      // count and the page are one statement, so they are read from one snapshot of the store
      // (SQLite and PostgreSQL alike): a create or a delete between two reads cannot make them
      // disagree, nor the links built from the count.
      page: prepared<[string, string, number, number], { total: number; page: string }>(
        db,
        4,
        (g, p, limit, offset) =>
          db.selectNoFrom((eb) => [
            inProject(eb.selectFrom('private_endpoints').select((c) => c.fn.countAll<number>().as('n')), g, p).as('total'),
            eb
              .selectFrom(inProject(eb.selectFrom('private_endpoints').select(['id', 'wire']), g, p).orderBy('id').limit(limit).offset(offset).as('p'))
              .select(sql<string>`'[' || coalesce(${sql.raw(dialect === 'sqlite' ? 'group_concat' : 'string_agg')}(wire, ',' order by id), '') || ']'`.as('page'))
              .as('page'),
          ]),
        { cached: true },
      ),
      changeMark: prepared<[], { n: number; newest: string | null; updated: number | null }>(
        db,
        0,
        () => db.selectFrom('private_endpoints').select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('id').as('newest'), eb.fn.max('updated_at').as('updated')]),
        { cached: true },
      ),
      anyDue: prepared<[number, number, string], { id: string }>(db, 3, (clockNow, realNow, owner) =>
        db
          .selectFrom('private_endpoints')
          .select('id')
          .where('due_at', '<=', clockNow)
          .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', realNow), eb('lease_owner', '=', owner)]))
          .limit(1),
      ),
      markDeleting: prepared<[number, number, number, string, string, string], never>(db, 6, (dueAt, now, zero, id, g, p) =>
        inProject(
          // The lease stays: a runner may be inside a provider call for this endpoint right
          // now, and the delete must not run beside it (see TransitionRunner.step).
          db.updateTable('private_endpoints').set({ status: 'DELETING', due_at: dueAt, updated_at: now, attempts: zero }),
          g,
          p,
        )
          .where('id', '=', id)
          .where('status', '!=', 'DELETING'),
      ),
    };
  }

  /** Inserts; a second endpoint for the same project, provider and regions is refused by the database. */
  async insert(e: Endpoint): Promise<void> {
    try {
      await this.q.insert(e.id, e.groupId, e.cloudProvider, e.regionName, e.vpcRegionName, e.status, e.connectionName, e.errorMessage, e.createdAt, e.updatedAt, e.dueAt);
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateEndpointError();
      if (isForeignKeyViolation(err)) throw new ProjectGoneError();
      throw err;
    }
  }

  async find(groupId: string, cloudProvider: string, id: string): Promise<EndpointView | undefined> {
    const row = (await this.q.find(groupId, cloudProvider, id)).rows[0];
    return row && fromViewRow(row);
  }

  /** An endpoint as the API shows it: its JSON text, byte for byte what toWire() and JSON.stringify would make of it. */
  async findWire(groupId: string, cloudProvider: string, id: string): Promise<string | undefined> {
    return (await this.q.findWire(groupId, cloudProvider, id)).rows[0]?.wire;
  }

  /** An endpoint by id alone, in whatever project (for reconciling with a cloud). */
  async findById(id: string): Promise<Endpoint | undefined> {
    const row = await this.db.selectFrom('private_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
    return row && fromRow(row);
  }

  /**
   * One page in creation order (ObjectIds sort by creation), as the JSON array the API sends,
   * and how many endpoints the project has in all — from one snapshot. The database builds the
   * page: turning 100 rows into JavaScript objects and back into JSON cost more than all the
   * rest of a list request.
   */
  async page(groupId: string, cloudProvider: string, offset: number, limit: number): Promise<{ totalCount: number; resultsJson: string }> {
    const row = (await this.q.page(groupId, cloudProvider, limit, offset)).rows[0];
    return { totalCount: Number(row?.total ?? 0), resultsJson: row?.page ?? '[]' };
  }

  /**
   * Moves an endpoint to DELETING unless it is there already (a repeated DELETE must not push
   * its completion further away). Any runner's claim on it is void: its step was for the old
   * status. Says whether it moved, was DELETING already, or is not in this project.
   */
  async markDeleting(groupId: string, cloudProvider: string, id: string, now: number, dueAt: number): Promise<'marked' | 'already' | 'missing'> {
    const result = await this.q.markDeleting(dueAt, now, 0, id, groupId, cloudProvider);
    if (Number(result.numAffectedRows ?? 0) > 0) return 'marked';
    return (await this.find(groupId, cloudProvider, id)) !== undefined ? 'already' : 'missing';
  }

  // ——— for the transition runner ———

  /**
   * Claims up to `limit` endpoints whose transition is due at `clockNow` and that no live lease
   * of another runner holds, leasing them to `owner` until `realNow + leaseMs`. The lease test is
   * repeated on the row being updated, so two runners racing for a row cannot both win it.
   * `owner`'s own leases count as free: a runner claims between rounds, when none of its steps
   * is under way, so a lease of its own is one a failed step could not give back (its write
   * refused by a full disk): the work is taken up again as soon as writes are, not a lease later.
   */
  async claimDue(owner: string, clockNow: number, realNow: number, leaseMs: number, limit: number): Promise<Endpoint[]> {
    const free = (eb: any) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', realNow), eb('lease_owner', '=', owner)]);
    // Most ticks find nothing: a read says so without taking SQLite's write lock.
    const anything = await this.q.anyDue(clockNow, realNow, owner);
    if (anything.rows.length === 0) return [];
    let due = this.db
      .selectFrom('private_endpoints')
      .select('id')
      .where('due_at', '<=', clockNow)
      .where(free)
      .orderBy('due_at')
      .limit(limit);
    // Runners on other nodes skip rows being claimed here instead of queueing behind them.
    if (this.dialect === 'postgres') due = due.forUpdate().skipLocked();
    const rows = await this.db
      .updateTable('private_endpoints')
      .set({ lease_owner: owner, lease_until: realNow + leaseMs })
      .where('id', 'in', due)
      .where('due_at', '<=', clockNow)
      .where(free)
      .returningAll()
      .execute();
    return rows.map(fromRow);
  }

  /**
   * Applies a step's change if `owner` still holds the endpoint in status `from`, releasing it.
   * Returns false when the endpoint moved on meanwhile (deleted, or its claim was voided).
   */
  async apply(e: Endpoint, owner: string, change: Change, now: number, attempts = 0): Promise<boolean> {
    if (change.remove) {
      const r = await this.db
        .deleteFrom('private_endpoints')
        .where('id', '=', e.id)
        .where('lease_owner', '=', owner)
        .where('status', '=', e.status)
        .executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    }
    const r = await this.db
      .updateTable('private_endpoints')
      .set({
        status: change.status,
        connection_name: change.connectionName,
        error_message: change.errorMessage,
        due_at: change.dueAt,
        updated_at: now,
        lease_owner: null,
        lease_until: null,
        attempts,
        ...(change.generation === undefined ? {} : { generation: change.generation }),
      })
      .where('id', '=', e.id)
      .where('lease_owner', '=', owner)
      .where('status', '=', e.status)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Gives back claims `owner` will not process (shutting down). */
  async release(owner: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('private_endpoints').set({ lease_owner: null, lease_until: null }).where('id', 'in', ids).where('lease_owner', '=', owner).execute();
  }

  /** Voids every claim: for a store only this process serves, claims left by a killed process. */
  async releaseAll(): Promise<void> {
    await this.db.updateTable('private_endpoints').set({ lease_owner: null, lease_until: null }).where('lease_owner', 'is not', null).execute();
  }

  /** Makes resting ACTIVE endpoints matching `filter` due at `at` (a new fault may concern them). */
  async wakeActive(filter: EndpointFilter, at: number): Promise<number> {
    let q = this.db.updateTable('private_endpoints').set({ due_at: at }).where('status', '=', 'ACTIVE').where('due_at', 'is', null);
    if (filter.groupId) q = q.where('group_id', '=', filter.groupId);
    if (filter.regionName) q = q.where('region_name', '=', filter.regionName);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }

  // ——— for the control API and metrics ———

  async list(filter: EndpointFilter = {}): Promise<Endpoint[]> {
    let q = this.db.selectFrom('private_endpoints').selectAll().orderBy('id');
    if (filter.groupId) q = q.where('group_id', '=', filter.groupId);
    if (filter.regionName) q = q.where('region_name', '=', filter.regionName);
    if (filter.status) q = q.where('status', '=', filter.status);
    return (await q.execute()).map(fromRow);
  }

  /**
   * A mark that moves whenever an endpoint is created, changes status or goes: what a watcher
   * compares to know the list changed (control/events.ts), without reading it.
   */
  async changeMark(): Promise<string> {
    const row = (await this.q.changeMark()).rows[0];
    return `${row?.n ?? 0}:${row?.newest ?? ''}:${row?.updated ?? ''}`;
  }

  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('private_endpoints')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /** Moves every endpoint not yet DELETING to DELETING, due at `dueAt`; returns how many. */
  async markAllDeleting(now: number, dueAt: number): Promise<number> {
    const r = await this.db
      .updateTable('private_endpoints')
      .set({ status: 'DELETING', due_at: dueAt, updated_at: now, attempts: 0 }) // leases stay, as in markDeleting
      .where('status', '!=', 'DELETING')
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async deleteAll(): Promise<number> {
    return Number((await this.db.deleteFrom('private_endpoints').executeTakeFirst()).numDeletedRows);
  }
}
