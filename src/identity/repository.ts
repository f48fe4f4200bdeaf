import { type SelectQueryBuilder, sql } from 'kysely';
import { type Db, isPostgres, transaction } from '../store/database.js';
import type { Tables } from '../store/schema.js';
import { perDb, prepared } from '../store/prepared.js';
import { bumpVersion } from '../store/version.js';
import type { Principal } from './principal.js';
import { isRoleName, type RoleGrant } from './roles.js';

// Every query about organizations, projects and credentials. Nothing else in identity/ writes SQL.

// The queries every API request runs, compiled once.
const hot = perDb((db) => ({
  roles: prepared<[string], { scope_id: string; role_name: string }>(db, 1, (id) =>
    db.selectFrom('roles').select(['scope_id', 'role_name']).where('credential_id', '=', id),
  ),
  accessList: prepared<[string], { cidr: string }>(db, 1, (id) => db.selectFrom('access_list').select('cidr').where('credential_id', '=', id).orderBy('cidr')),
  projectOrg: prepared<[string], { org_id: string }>(db, 1, (id) => db.selectFrom('projects').select('org_id').where('id', '=', id)),
  apiKey: prepared<[string], ApiKeyJoin>(db, 1, (publicKey) => apiKeys(db).where('api_keys.public_key', '=', publicKey)),
  token: prepared<[string], TokenJoin>(db, 1, (hash) =>
    db
      .selectFrom('access_tokens')
      .innerJoin('service_accounts', 'service_accounts.credential_id', 'access_tokens.credential_id')
      .innerJoin('credentials', 'credentials.id', 'access_tokens.credential_id')
      .select(['access_tokens.credential_id', 'access_tokens.expires_at', 'access_tokens.revoked_at', 'service_accounts.client_id', 'credentials.org_id'])
      .where('access_tokens.token_hash', '=', hash),
  ),
}));

interface TokenJoin {
  credential_id: string;
  expires_at: number;
  revoked_at: number | null;
  client_id: string;
  org_id: string;
}

export async function loadGrants(db: Db, credentialId: string): Promise<{ roles: RoleGrant[]; accessList: string[] }> {
  const [{ rows: roles }, { rows: entries }] = await Promise.all([hot(db).roles(credentialId), hot(db).accessList(credentialId)]);
  return {
    roles: roles.flatMap((r) => (isRoleName(r.role_name) ? [{ scopeId: r.scope_id, roleName: r.role_name }] : [])),
    accessList: entries.map((e) => e.cidr),
  };
}

export async function principalForApiKey(db: Db, key: ApiKeyRow): Promise<Principal> {
  const grants = await loadGrants(db, key.id);
  return { credentialId: key.id, kind: 'API_KEY', name: key.publicKey, orgId: key.orgId, ...grants };
}

export async function findProjectOrg(db: Db, groupId: string): Promise<string | undefined> {
  return (await hot(db).projectOrg(groupId)).rows[0]?.org_id;
}

export async function countOrganizations(db: Db): Promise<number> {
  const row = await db.selectFrom('organizations').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

// ——— writes (used by admin.ts and seed.ts, inside their transactions) ———

export interface OrganizationRow {
  id: string;
  name: string;
  createdAt: number;
}

export interface ProjectRow {
  id: string;
  orgId: string;
  name: string;
  createdAt: number;
  tags: ResourceTag[];
  withDefaultAlertsSettings: boolean;
}

/** Atlas's resource tag. */
export interface ResourceTag {
  key: string;
  value: string;
}

export interface ApiKeyRow {
  id: string;
  orgId: string;
  publicKey: string;
  description: string;
  ha1Md5: string;
  ha1Sha256: string;
  createdAt: number;
}

const toOrganizationRow = (r: { id: string; name: string; created_at: number }): OrganizationRow => ({ id: r.id, name: r.name, createdAt: Number(r.created_at) });
const toProjectRow = (r: { id: string; org_id: string; name: string; created_at: number; tags: string; with_default_alerts_settings: number }): ProjectRow => ({
  id: r.id,
  orgId: r.org_id,
  name: r.name,
  createdAt: Number(r.created_at),
  tags: JSON.parse(r.tags) as ResourceTag[],
  withDefaultAlertsSettings: Number(r.with_default_alerts_settings) !== 0,
});

export async function getOrganization(db: Db, id: string): Promise<OrganizationRow | undefined> {
  const r = await db.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toOrganizationRow(r);
}

export async function listOrganizationRows(db: Db): Promise<OrganizationRow[]> {
  return (await db.selectFrom('organizations').selectAll().orderBy('id').execute()).map(toOrganizationRow);
}

export async function putOrganization(db: Db, o: OrganizationRow): Promise<void> {
  await db
    .insertInto('organizations')
    .values({ id: o.id, name: o.name, created_at: o.createdAt })
    .onConflict((oc) => oc.column('id').doUpdateSet({ name: o.name }))
    .execute();
  await bumpVersion(db);
}

export async function deleteOrganizationRow(db: Db, id: string): Promise<boolean> {
  const r = await db.deleteFrom('organizations').where('id', '=', id).executeTakeFirst();
  await bumpVersion(db);
  return Number(r.numDeletedRows) > 0;
}

export async function getProject(db: Db, id: string): Promise<ProjectRow | undefined> {
  const r = await db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  return r && toProjectRow(r);
}

export async function listProjectRows(db: Db, orgId?: string): Promise<ProjectRow[]> {
  let q = db.selectFrom('projects').selectAll().orderBy('id');
  if (orgId !== undefined) q = q.where('org_id', '=', orgId);
  return (await q.execute()).map(toProjectRow);
}

/** Inserts a project, or moves and renames the one with its id (a seed applied again); its tags and alert setting are kept then. */
export async function putProject(db: Db, p: Pick<ProjectRow, 'id' | 'orgId' | 'name' | 'createdAt'> & Partial<ProjectRow>): Promise<void> {
  await db
    .insertInto('projects')
    .values({
      id: p.id,
      org_id: p.orgId,
      name: p.name,
      created_at: p.createdAt,
      ...(p.tags && { tags: JSON.stringify(p.tags) }),
      ...(p.withDefaultAlertsSettings !== undefined && { with_default_alerts_settings: p.withDefaultAlertsSettings ? 1 : 0 }),
    })
    .onConflict((oc) => oc.column('id').doUpdateSet({ org_id: p.orgId, name: p.name }))
    .execute();
  await bumpVersion(db);
}

/** The project of `orgId` named `name` (names are unique in an organization), if any. */
export async function findProjectByName(db: Db, orgId: string, name: string): Promise<ProjectRow | undefined> {
  const r = await db.selectFrom('projects').selectAll().where('org_id', '=', orgId).where('name', '=', name).orderBy('id').executeTakeFirst();
  return r && toProjectRow(r);
}

/** Changes what is given of a project; false when there is no such project. */
export async function updateProjectRow(db: Db, id: string, changes: { name?: string; tags?: ResourceTag[]; withDefaultAlertsSettings?: boolean }): Promise<boolean> {
  const set = {
    ...(changes.name !== undefined && { name: changes.name }),
    ...(changes.tags !== undefined && { tags: JSON.stringify(changes.tags) }),
    ...(changes.withDefaultAlertsSettings !== undefined && { with_default_alerts_settings: changes.withDefaultAlertsSettings ? 1 : 0 }),
  };
  if (Object.keys(set).length === 0) return (await getProject(db, id)) !== undefined;
  const r = await db.updateTable('projects').set(set).where('id', '=', id).executeTakeFirst();
  await bumpVersion(db);
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Deletes a project unless it still has backup private endpoints (in any status). Inside a
 * transaction. On PostgreSQL the project's row is locked first: an endpoint being inserted into
 * it holds a lock on that row until it commits, so its insert is seen, not deleted with the project.
 */
export async function deleteProjectWithoutEndpoints(trx: Db, id: string): Promise<'deleted' | 'missing' | 'has-endpoints'> {
  const locked = isPostgres(trx)
    ? await sql<{ id: string }>`select id from projects where id = ${id} for update`.execute(trx).then((r) => r.rows[0])
    : await trx.selectFrom('projects').select('id').where('id', '=', id).executeTakeFirst();
  if (!locked) return 'missing';
  const endpoint = await trx.selectFrom('private_endpoints').select('id').where('group_id', '=', id).limit(1).executeTakeFirst();
  if (endpoint) return 'has-endpoints';
  await removeProject(trx, id);
  return 'deleted';
}

/**
 * Deletes a project and the roles granted on it: a role's scope is an organization or a project
 * (no foreign key can say which), so its rows go here, not by a cascade. Inside a transaction.
 */
async function removeProject(trx: Db, id: string): Promise<boolean> {
  await trx.deleteFrom('roles').where('scope_id', '=', id).execute();
  const r = await trx.deleteFrom('projects').where('id', '=', id).executeTakeFirst();
  await bumpVersion(trx);
  return Number(r.numDeletedRows) > 0;
}

/** Which projects of an organization a page holds: all, or those of `ids`; `namePrefix` matches names from their start, in any case. */
export interface ProjectFilter {
  orgId: string;
  ids?: readonly string[];
  namePrefix?: string;
}

/** LIKE's own characters escaped, for a prefix match with `escape '\'`. */
const likePrefix = (prefix: string) => `${prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** A filter of the rows of one table, applied to both the count and the page. */
type Filter<T extends 'projects' | 'organizations'> = (q: SelectQueryBuilder<Tables, T, any>) => SelectQueryBuilder<Tables, T, any>;

/**
 * A page of a table's rows in creation (id) order, and how many rows there are in all — read by
 * one statement (the count left-joined to the page), so the two always agree however rows come
 * and go between them; an empty page still brings its count.
 */
async function pageWithTotal<T extends 'projects' | 'organizations', R>(db: Db, table: T, filter: Filter<T>, toRow: (r: any) => R, limit: number, offset: number): Promise<{ total: number; rows: R[] }> {
  const from = () => db.selectFrom(table as 'projects') as unknown as SelectQueryBuilder<Tables, T, {}>;
  const count = filter(from().select((eb) => eb.fn.countAll<number>().as('total')));
  const page = filter(from().selectAll()).orderBy(sql.ref(`${table}.id`)).limit(limit).offset(offset);
  const rows: any[] = await db
    .selectFrom(count.as('c'))
    .leftJoin(page.as('p'), (join) => join.onTrue())
    .selectAll('p')
    .select('c.total')
    .orderBy('p.id')
    .execute();
  return { total: Number(rows[0]?.total ?? 0), rows: rows.flatMap((r) => (r.id === null ? [] : [toRow(r)])) };
}

/** Names matching a case-insensitive prefix, LIKE's own characters matching only themselves. */
const namePrefixed = (column: string, prefix: string) => sql<boolean>`lower(${sql.ref(column)}) like ${likePrefix(prefix)} escape '\\'`;

/** A page of an organization's projects (of `ids`, when given), and how many there are in all. */
export async function projectPage(db: Db, f: ProjectFilter, limit: number, offset: number): Promise<{ total: number; rows: ProjectRow[] }> {
  const filter: Filter<'projects'> = (q) => {
    let out = q.where('projects.org_id', '=', f.orgId);
    if (f.ids !== undefined) out = f.ids.length === 0 ? out.where(sql<boolean>`1 = 0`) : out.where('projects.id', 'in', f.ids);
    if (f.namePrefix) out = out.where(namePrefixed('projects.name', f.namePrefix));
    return out;
  };
  return pageWithTotal(db, 'projects', filter, toProjectRow, limit, offset);
}

/** A page of organizations (those of `ids`), and how many there are in all. */
export async function organizationPage(db: Db, f: { ids: readonly string[]; namePrefix?: string }, limit: number, offset: number): Promise<{ total: number; rows: OrganizationRow[] }> {
  const filter: Filter<'organizations'> = (q) => {
    let out = f.ids.length === 0 ? q.where(sql<boolean>`1 = 0`) : q.where('organizations.id', 'in', f.ids);
    if (f.namePrefix) out = out.where(namePrefixed('organizations.name', f.namePrefix));
    return out;
  };
  return pageWithTotal(db, 'organizations', filter, toOrganizationRow, limit, offset);
}

/** Deletes a project with its endpoints (by the schema's cascade) and the roles granted on it. */
export async function deleteProjectRow(db: Db, id: string): Promise<boolean> {
  return transaction(db, (trx) => removeProject(trx, id));
}

const apiKeys = (db: Db) => db.selectFrom('api_keys').innerJoin('credentials', 'credentials.id', 'api_keys.credential_id').selectAll();

type ApiKeyJoin = Awaited<ReturnType<ReturnType<typeof apiKeys>['executeTakeFirstOrThrow']>>;

function toApiKeyRow(r: ApiKeyJoin): ApiKeyRow {
  return {
    id: r.id,
    orgId: r.org_id,
    publicKey: r.public_key,
    description: r.description,
    ha1Md5: r.ha1_md5,
    ha1Sha256: r.ha1_sha256,
    createdAt: Number(r.created_at),
  };
}

export async function getApiKeyRow(db: Db, publicKey: string): Promise<ApiKeyRow | undefined> {
  const r = (await hot(db).apiKey(publicKey)).rows[0];
  return r && toApiKeyRow(r);
}

export async function listApiKeyRows(db: Db, orgId?: string): Promise<ApiKeyRow[]> {
  let q = apiKeys(db).orderBy('credentials.id');
  if (orgId !== undefined) q = q.where('credentials.org_id', '=', orgId);
  return (await q.execute()).map(toApiKeyRow);
}

/** Inserts or updates an API key, keyed by its public key (its credential id never changes). */
export async function putApiKey(db: Db, k: ApiKeyRow): Promise<void> {
  await db
    .insertInto('credentials')
    .values({ id: k.id, kind: 'API_KEY', org_id: k.orgId, description: k.description, created_at: k.createdAt })
    .onConflict((oc) => oc.column('id').doUpdateSet({ org_id: k.orgId, description: k.description }))
    .execute();
  await db
    .insertInto('api_keys')
    .values({ credential_id: k.id, public_key: k.publicKey, ha1_md5: k.ha1Md5, ha1_sha256: k.ha1Sha256 })
    .onConflict((oc) => oc.column('credential_id').doUpdateSet({ ha1_md5: k.ha1Md5, ha1_sha256: k.ha1Sha256 }))
    .execute();
  await bumpVersion(db);
}

export interface ServiceAccountRow {
  id: string;
  orgId: string;
  clientId: string;
  description: string;
  secretHash: string;
  createdAt: number;
  secretCreatedAt: number;
}

const serviceAccounts = (db: Db) =>
  db.selectFrom('service_accounts').innerJoin('credentials', 'credentials.id', 'service_accounts.credential_id').selectAll();

function toServiceAccountRow(r: Awaited<ReturnType<ReturnType<typeof serviceAccounts>['executeTakeFirstOrThrow']>>): ServiceAccountRow {
  return {
    id: r.id,
    orgId: r.org_id,
    clientId: r.client_id,
    description: r.description,
    secretHash: r.secret_hash,
    createdAt: Number(r.created_at),
    secretCreatedAt: Number(r.secret_created_at),
  };
}

export async function getServiceAccountRow(db: Db, clientId: string): Promise<ServiceAccountRow | undefined> {
  const r = await serviceAccounts(db).where('service_accounts.client_id', '=', clientId).executeTakeFirst();
  return r && toServiceAccountRow(r);
}

export async function listServiceAccountRows(db: Db, orgId?: string): Promise<ServiceAccountRow[]> {
  let q = serviceAccounts(db).orderBy('credentials.id');
  if (orgId !== undefined) q = q.where('credentials.org_id', '=', orgId);
  return (await q.execute()).map(toServiceAccountRow);
}

export async function putServiceAccount(db: Db, a: ServiceAccountRow): Promise<void> {
  await db
    .insertInto('credentials')
    .values({ id: a.id, kind: 'SERVICE_ACCOUNT', org_id: a.orgId, description: a.description, created_at: a.createdAt })
    .onConflict((oc) => oc.column('id').doUpdateSet({ org_id: a.orgId, description: a.description }))
    .execute();
  await db
    .insertInto('service_accounts')
    .values({ credential_id: a.id, client_id: a.clientId, secret_hash: a.secretHash, secret_created_at: a.secretCreatedAt })
    .onConflict((oc) => oc.column('credential_id').doUpdateSet({ secret_hash: a.secretHash, secret_created_at: a.secretCreatedAt }))
    .execute();
  await bumpVersion(db);
}

export async function principalForServiceAccount(db: Db, credentialId: string, clientId: string, orgId: string): Promise<Principal> {
  return { credentialId, kind: 'SERVICE_ACCOUNT', name: clientId, orgId, ...(await loadGrants(db, credentialId)) };
}

// ——— access tokens (stored as SHA-256 only) ———

export async function insertToken(db: Db, t: { hash: string; credentialId: string; createdAt: number; expiresAt: number }): Promise<void> {
  await db.insertInto('access_tokens').values({ token_hash: t.hash, credential_id: t.credentialId, created_at: t.createdAt, expires_at: t.expiresAt }).execute();
}

export async function findToken(db: Db, hash: string) {
  const r = (await hot(db).token(hash)).rows[0];
  return (
    r && {
      credentialId: r.credential_id,
      clientId: r.client_id,
      orgId: r.org_id,
      expiresAt: Number(r.expires_at),
      revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
    }
  );
}

/** Revokes one token of a credential (a client may only revoke its own). */
// Revocations bump the store version only when they revoked something: any service account
// may call /api/oauth/revoke, and a no-op must not flush every node's caches.
export async function revokeToken(db: Db, hash: string, credentialId: string, now: number): Promise<void> {
  const r = await db.updateTable('access_tokens').set({ revoked_at: now }).where('token_hash', '=', hash).where('credential_id', '=', credentialId).where('revoked_at', 'is', null).executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) await bumpVersion(db);
}

export async function revokeTokensOf(db: Db, credentialId: string, now: number): Promise<void> {
  const r = await db.updateTable('access_tokens').set({ revoked_at: now }).where('credential_id', '=', credentialId).where('revoked_at', 'is', null).executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) await bumpVersion(db);
}

/** Forgets tokens of a credential that expired before `before` (they could only be refused). */
export async function purgeExpiredTokens(db: Db, credentialId: string, before: number): Promise<void> {
  await db.deleteFrom('access_tokens').where('credential_id', '=', credentialId).where('expires_at', '<', before).execute();
}

export async function deleteCredential(db: Db, credentialId: string): Promise<boolean> {
  const r = await db.deleteFrom('credentials').where('id', '=', credentialId).executeTakeFirst();
  await bumpVersion(db);
  return Number(r.numDeletedRows) > 0;
}

/** Gives a credential one more role. */
export async function addRole(db: Db, credentialId: string, role: RoleGrant): Promise<void> {
  await db.insertInto('roles').values({ credential_id: credentialId, scope_id: role.scopeId, role_name: role.roleName }).execute();
  await bumpVersion(db);
}

/** Replaces a credential's roles and access list with exactly these. */
export async function replaceGrants(db: Db, credentialId: string, roles: RoleGrant[], accessList: string[]): Promise<void> {
  await db.deleteFrom('roles').where('credential_id', '=', credentialId).execute();
  await db.deleteFrom('access_list').where('credential_id', '=', credentialId).execute();
  if (roles.length > 0) {
    await db
      .insertInto('roles')
      .values(roles.map((r) => ({ credential_id: credentialId, scope_id: r.scopeId, role_name: r.roleName })))
      .execute();
  }
  if (accessList.length > 0) {
    await db
      .insertInto('access_list')
      .values(accessList.map((cidr) => ({ credential_id: credentialId, cidr })))
      .execute();
  }
  await bumpVersion(db);
}
