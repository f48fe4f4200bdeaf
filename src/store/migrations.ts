import { type Kysely, type Migration, type MigrationProvider, Migrator, SqliteAdapter, sql } from 'kysely';
import { JOURNAL_FIELDS_0009 } from './schema.js';

// Schema changes, in order, written once for both dialects through Kysely's schema builder.
// Kysely's migrator takes a lock table, so several nodes starting together migrate once.

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('projects_org').on('projects').column('org_id').execute();
      await db.schema
        .createTable('credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('credentials_org').on('credentials').column('org_id').execute();
      await db.schema
        .createTable('api_keys')
        .addColumn('credential_id', 'text', (c) => c.primaryKey().references('credentials.id').onDelete('cascade'))
        .addColumn('public_key', 'text', (c) => c.notNull().unique())
        .addColumn('ha1_md5', 'text', (c) => c.notNull())
        .addColumn('ha1_sha256', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('roles')
        .addColumn('credential_id', 'text', (c) => c.notNull().references('credentials.id').onDelete('cascade'))
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('role_name', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('roles_pk', ['credential_id', 'scope_id', 'role_name'])
        .execute();
      await db.schema.createIndex('roles_scope').on('roles').column('scope_id').execute();
      await db.schema
        .createTable('access_list')
        .addColumn('credential_id', 'text', (c) => c.notNull().references('credentials.id').onDelete('cascade'))
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_list_pk', ['credential_id', 'cidr'])
        .execute();
      await db.schema
        .createTable('private_endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('group_id', 'text', (c) => c.notNull().references('projects.id').onDelete('cascade'))
        .addColumn('cloud_provider', 'text', (c) => c.notNull())
        .addColumn('region_name', 'text', (c) => c.notNull())
        .addColumn('vpc_region_name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('connection_name', 'text')
        .addColumn('error_message', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('due_at', 'bigint')
        // The 409 rule lives here, so it holds however many nodes insert at once.
        .addUniqueConstraint('private_endpoints_region_unique', ['group_id', 'cloud_provider', 'region_name', 'vpc_region_name'])
        .execute();
      // Listing a project's endpoints in creation (id) order.
      await db.schema
        .createIndex('private_endpoints_list')
        .on('private_endpoints')
        .columns(['group_id', 'cloud_provider', 'id'])
        .execute();
      // The lifecycle runner's "what is due" scan touches only endpoints in motion.
      await db.schema
        .createIndex('private_endpoints_due')
        .on('private_endpoints')
        .column('due_at')
        .where(sql.ref('due_at'), 'is not', null)
        .execute();
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_lifecycle_and_faults': {
    async up(db: Kysely<any>) {
      // A runner claims due work with a lease (owner + expiry), so a transition runs once even
      // with several runners, and a dead runner's work is taken over when the lease lapses.
      await db.schema.alterTable('private_endpoints').addColumn('lease_owner', 'text').execute();
      await db.schema.alterTable('private_endpoints').addColumn('lease_until', 'bigint').execute();
      // Consecutive provider failures of the current step, for backoff.
      await db.schema.alterTable('private_endpoints').addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema
        .createTable('faults')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text')
        .addColumn('region_name', 'text')
        .addColumn('operation', 'text')
        .addColumn('count', 'integer')
        .addColumn('remaining', 'integer')
        .addColumn('probability', 'double precision')
        .addColumn('seed', 'bigint', (c) => c.notNull())
        .addColumn('matched', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('fired', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('params', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      // Shared numbers updated in place (the virtual clock's offset).
      await db.schema
        .createTable('counters')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0003_service_accounts': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('service_accounts')
        .addColumn('credential_id', 'text', (c) => c.primaryKey().references('credentials.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) => c.notNull().unique())
        // scrypt, with its parameters and salt: "scrypt$N$r$p$salt$hash".
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('secret_created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('access_tokens')
        // SHA-256 of the token: the token itself is never stored.
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('credential_id', 'text', (c) => c.notNull().references('credentials.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('access_tokens_credential').on('access_tokens').column('credential_id').execute();
    },
  },
  '0004_shared_nonce_counts': {
    async up(db: Kysely<any>) {
      // Digest nonce-counts already used, for stores several nodes share: a replay is refused
      // whichever node it reaches.
      await db.schema
        .createTable('digest_nonce_uses')
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('nc', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('digest_nonce_uses_pk', ['nonce', 'nc'])
        .execute();
      await db.schema.createIndex('digest_nonce_uses_expiry').on('digest_nonce_uses').column('expires_at').execute();
    },
  },
  '0005_endpoint_generation': {
    async up(db: Kysely<any>) {
      // Which incarnation of the cloud endpoint this is: a recreation starts a new one, so its
      // idempotency token and tags differ from the lost one's.
      await db.schema.alterTable('private_endpoints').addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0006_endpoint_wire_json': {
    async up(db: Kysely<any>) {
      // Each endpoint as the API shows it (toWire in endpoints/model.ts: the same keys in the
      // same order, null fields left out, values escaped as JSON.stringify does), computed by
      // the database when the row is written and stored with it, so a list page is the
      // concatenation of its rows' texts instead of being built field by field on every
      // request. A test compares every list entry with its GET, byte for byte, on both stores.
      const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
      // PostgreSQL's to_json is STABLE (it may depend on settings for dates); on text it is
      // not, and a generated column needs an IMMUTABLE expression.
      if (!sqlite) await sql`create or replace function snaplink_json_text(t text) returns text language sql immutable parallel safe as $$ select to_json(t)::text $$`.execute(db);
      const quote = (column: string) => (sqlite ? `json_quote(${column})` : `snaplink_json_text(${column})`);
      const field = (key: string, column: string) => `',"${key}":' || ${quote(column)}`;
      const optional = (key: string, column: string) => `(case when ${column} is null then '' else ${field(key, column)} end)`;
      const wire =
        `'{"cloudProvider":' || ${quote('cloud_provider')} || ${optional('errorMessage', 'error_message')} || ${field('id', 'id')} || ` +
        `${optional('privateEndpointConnectionName', 'connection_name')} || ${field('regionName', 'region_name')} || ` +
        `${field('status', 'status')} || ${field('vpcRegionName', 'vpc_region_name')} || '}'`;
      if (!sqlite) {
        await sql.raw(`alter table private_endpoints add column wire text generated always as (${wire}) stored`).execute(db);
        return;
      }
      // SQLite adds only VIRTUAL columns to a table (computed again on every read), so the
      // table is rebuilt with a STORED one: same columns, constraints and indexes.
      const columns =
        'id, group_id, cloud_provider, region_name, vpc_region_name, status, connection_name, error_message, created_at, updated_at, due_at, lease_owner, lease_until, attempts, generation';
      await sql
        .raw(
          `create table private_endpoints_rebuilt (id text primary key, group_id text not null references projects (id) on delete cascade, ` +
            `cloud_provider text not null, region_name text not null, vpc_region_name text not null, status text not null, connection_name text, ` +
            `error_message text, created_at bigint not null, updated_at bigint not null, due_at bigint, lease_owner text, lease_until bigint, ` +
            `attempts integer default 0 not null, generation integer default 0 not null, wire text generated always as (${wire}) stored, ` +
            `constraint private_endpoints_region_unique unique (group_id, cloud_provider, region_name, vpc_region_name))`,
        )
        .execute(db);
      await sql.raw(`insert into private_endpoints_rebuilt (${columns}) select ${columns} from private_endpoints`).execute(db);
      await sql.raw('drop table private_endpoints').execute(db);
      await sql.raw('alter table private_endpoints_rebuilt rename to private_endpoints').execute(db);
      await db.schema.createIndex('private_endpoints_list').on('private_endpoints').columns(['group_id', 'cloud_provider', 'id']).execute();
      await db.schema.createIndex('private_endpoints_due').on('private_endpoints').column('due_at').where(sql.ref('due_at'), 'is not', null).execute();
    },
  },
  '0007_shared_auth_failures': {
    async up(db: Kysely<any>) {
      // Failed authentications and lockouts by client address, for stores several nodes share:
      // the brute-force lockout counts every node's failures (identity/brute-force.ts).
      await db.schema
        .createTable('auth_failures')
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('auth_failures_address').on('auth_failures').columns(['address', 'at']).execute();
      await db.schema
        .createTable('auth_lockouts')
        .addColumn('address', 'text', (c) => c.primaryKey())
        .addColumn('locked_until', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0008_endpoint_history_and_request_journal': {
    async up(db: Kysely<any>) {
      const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
      // An id that orders rows as they were written, on one node or many.
      const serial = (t: Parameters<Kysely<any>['schema']['createTable']>[0]) =>
        sqlite
          ? db.schema.createTable(t).addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
          : db.schema.createTable(t).addColumn('id', 'bigserial', (c) => c.primaryKey());
      // Each status an endpoint entered, and why; it goes when the endpoint does.
      await serial('endpoint_history')
        .addColumn('endpoint_id', 'text', (c) => c.notNull().references('private_endpoints.id').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('virtual_at', 'bigint', (c) => c.notNull())
        .addColumn('wall_at', 'bigint', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('endpoint_history_endpoint').on('endpoint_history').columns(['endpoint_id', 'id']).execute();
      // The request journal: a summary of each Atlas API and OAuth request (never a secret),
      // bounded by trimming the oldest rows.
      await serial('request_journal')
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text')
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('principal', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('error_detail', 'text')
        .addColumn('duration_ms', 'double precision', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0009_request_journal_batches': {
    async up(db: Kysely<any>) {
      const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
      // A batch of journal entries to a row (schema.ts). The primary key is the newest entry's id.
      await db.schema
        .createTable('request_journal_batches')
        .addColumn('last_id', sqlite ? 'integer' : 'bigint', (c) => c.primaryKey())
        .addColumn('first_id', 'bigint', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addColumn('entries', 'text', (c) => c.notNull())
        .execute();
      // The entries kept so far move over with their ids, as batches of consecutive ids.
      let last = 0;
      for (;;) {
        const rows = await db.selectFrom('request_journal').selectAll().where('id', '>', last).orderBy('id').limit(2000).execute();
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; ) {
          let j = i + 1;
          while (j < rows.length && Number(rows[j]!.id) === Number(rows[j - 1]!.id) + 1) j++;
          const run = rows.slice(i, j);
          await db
            .insertInto('request_journal_batches')
            .values({
              first_id: Number(run[0]!.id),
              last_id: Number(run.at(-1)!.id),
              last_at: Math.max(...run.map((r) => Number(r.at))),
              entries: JSON.stringify(run.map((r) => JOURNAL_FIELDS_0009.map((f) => (f === 'at' || f === 'status' || f === 'duration_ms' ? Number(r[f]) : r[f])))),
            })
            .execute();
          i = j;
        }
        last = Number(rows.at(-1)!.id);
      }
      // Ids are never used twice: past a clear, the old table's counter went further than its rows.
      const { rows } = sqlite
        ? await sql<{ seq: number }>`select seq from sqlite_sequence where name = 'request_journal'`.execute(db)
        : await sql<{ seq: number }>`select case when is_called then last_value else 0 end as seq from request_journal_id_seq`.execute(db);
      const seq = Number(rows[0]?.seq ?? 0);
      if (seq > last) await db.insertInto('request_journal_batches').values({ first_id: seq + 1, last_id: seq, last_at: 0, entries: '[]' }).execute();
      await db.schema.dropTable('request_journal').execute();
    },
  },
  '0010_project_tags_and_alert_settings': {
    async up(db: Kysely<any>) {
      // What Atlas's project view carries beyond a name (DESIGN.md §10): its tags, a JSON list
      // of {key, value}, and whether Atlas's default alerts were asked for at its creation.
      await db.schema.alterTable('projects').addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]')).execute();
      await db.schema.alterTable('projects').addColumn('with_default_alerts_settings', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      // A project is found by its name within its organization (GET /groups/byName, the
      // one-name-per-organization rule).
      await db.schema.createIndex('projects_org_name').on('projects').columns(['org_id', 'name']).execute();
    },
  },
  '0011_request_journal_details': {
    async up(db: Kysely<any>) {
      // What each request sent and got, beside its summary (schema.ts), and each batch's size,
      // which --journal-bytes bounds. Batches written before have no details.
      await db.schema.alterTable('request_journal_batches').addColumn('details', 'text').execute();
      await db.schema.alterTable('request_journal_batches').addColumn('bytes', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.updateTable('request_journal_batches').set({ bytes: sql`length(entries)` }).execute();
    },
  },
  '0012_request_journal_compact_entries': {
    async up() {
      // Nothing to change in the tables: from here on a batch stores a summary field equal to
      // the entry before's as 0 (journal/request-journal.ts), which this snaplink reads in old
      // batches and new alike. The migration is the mark of it: an older snaplink, which would
      // show those 0s, refuses a store that has it (a migration it does not know).
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** The schema versions this snaplink knows, in order. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(migrations);

/** Brings the schema up to date, or (for tests of a migration) up to and including `target`. */
export async function migrateToLatest(db: Kysely<any>, target?: string): Promise<void> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'snaplink_migrations', migrationLockTableName: 'snaplink_migrations_lock' });
  const { error, results } = await (target === undefined ? migrator.migrateToLatest() : migrator.migrateTo(target));
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
