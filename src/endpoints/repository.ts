import type { Selectable } from 'kysely';
import type { AwsRegion, CloudProvider, EndpointStatus } from '../atlas/regions.js';
import { type Db, isUniqueViolation } from '../store/database.js';
import type { PrivateEndpointsTable } from '../store/schema.js';
import type { Endpoint } from './model.js';

// All SQL about private endpoints.

export class DuplicateEndpointError extends Error {}

type Row = Selectable<PrivateEndpointsTable>;

function fromRow(r: Row): Endpoint {
  return {
    id: r.id,
    groupId: r.group_id,
    cloudProvider: r.cloud_provider as CloudProvider,
    regionName: r.region_name as AwsRegion,
    vpcRegionName: r.vpc_region_name as AwsRegion,
    status: r.status as EndpointStatus,
    connectionName: r.connection_name,
    errorMessage: r.error_message,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    dueAt: r.due_at === null ? null : Number(r.due_at),
  };
}

export class EndpointRepository {
  constructor(private readonly db: Db) {}

  /** Inserts; a second endpoint for the same project, provider and regions is refused by the database. */
  async insert(e: Endpoint): Promise<void> {
    try {
      await this.db
        .insertInto('private_endpoints')
        .values({
          id: e.id,
          group_id: e.groupId,
          cloud_provider: e.cloudProvider,
          region_name: e.regionName,
          vpc_region_name: e.vpcRegionName,
          status: e.status,
          connection_name: e.connectionName,
          error_message: e.errorMessage,
          created_at: e.createdAt,
          updated_at: e.updatedAt,
          due_at: e.dueAt,
        })
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateEndpointError();
      throw err;
    }
  }

  async find(groupId: string, cloudProvider: string, id: string): Promise<Endpoint | undefined> {
    const row = await this.db
      .selectFrom('private_endpoints')
      .selectAll()
      .where('id', '=', id)
      .where('group_id', '=', groupId)
      .where('cloud_provider', '=', cloudProvider)
      .executeTakeFirst();
    return row && fromRow(row);
  }

  async count(groupId: string, cloudProvider: string): Promise<number> {
    const row = await this.db
      .selectFrom('private_endpoints')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('group_id', '=', groupId)
      .where('cloud_provider', '=', cloudProvider)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** One page in creation order (ObjectIds sort by creation). */
  async page(groupId: string, cloudProvider: string, offset: number, limit: number): Promise<Endpoint[]> {
    const rows = await this.db
      .selectFrom('private_endpoints')
      .selectAll()
      .where('group_id', '=', groupId)
      .where('cloud_provider', '=', cloudProvider)
      .orderBy('id')
      .limit(limit)
      .offset(offset)
      .execute();
    return rows.map(fromRow);
  }

  /**
   * Moves an endpoint to DELETING unless it is there already (a repeated DELETE must not push
   * its completion further away). Returns whether the endpoint exists in this project.
   */
  async markDeleting(groupId: string, cloudProvider: string, id: string, now: number, dueAt: number): Promise<boolean> {
    const result = await this.db
      .updateTable('private_endpoints')
      .set({ status: 'DELETING', due_at: dueAt, updated_at: now })
      .where('id', '=', id)
      .where('group_id', '=', groupId)
      .where('cloud_provider', '=', cloudProvider)
      .where('status', '!=', 'DELETING')
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) return true;
    return (await this.find(groupId, cloudProvider, id)) !== undefined;
  }
}
