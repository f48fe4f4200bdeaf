import { newObjectId, isObjectId } from '../atlas/object-id.js';
import { type Db, holdLock, transaction } from '../store/database.js';
import { normalizeCidr } from './access-list.js';
import * as repo from './repository.js';
import type { ResourceTag } from './repository.js';
import { isRoleName, type RoleGrant, roleScope } from './roles.js';

// Managing the world snaplink serves: organizations and projects, and the rules every
// credential's grants obey. Shared by the CLI, the seed file and the control API; credentials
// themselves are in credentials.ts.

export class AdminError extends Error {
  constructor(
    readonly kind: 'invalid' | 'not_found' | 'conflict',
    message: string,
    /** For a conflict: what is taken — the id, or (for a project) the name in its organization. */
    readonly taken: 'id' | 'name' = 'id',
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

/** A role as Atlas writes it on an API key: `{orgId, roleName}` or `{groupId, roleName}`. */
export interface RoleInput {
  orgId?: string;
  groupId?: string;
  roleName: string;
}

export const iso = (ms: number) => new Date(ms).toISOString();

function requireName(what: string, name: unknown): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 256) {
    throw new AdminError('invalid', `${what} name must be a non-empty string of at most 256 characters`);
  }
  return name;
}

function requireId(what: string, id: string | undefined): string {
  if (id === undefined) return newObjectId();
  if (!isObjectId(id)) throw new AdminError('invalid', `${what} id ${JSON.stringify(id)} is not 24 lowercase hexadecimal digits`);
  return id;
}

export async function createOrganization(db: Db, input: { id?: string; name: string }) {
  const id = requireId('organization', input.id);
  if (await repo.getOrganization(db, id)) throw new AdminError('conflict', `organization ${id} already exists`);
  const row = { id, name: requireName('organization', input.name), createdAt: Date.now() };
  await repo.putOrganization(db, row);
  return { id, name: row.name, createdAt: iso(row.createdAt) };
}

export async function listOrganizations(db: Db) {
  return (await repo.listOrganizationRows(db)).map((o) => ({ id: o.id, name: o.name, createdAt: iso(o.createdAt) }));
}

export async function deleteOrganization(db: Db, id: string): Promise<void> {
  if (!(await repo.deleteOrganizationRow(db, id))) throw new AdminError('not_found', `no organization ${id}`);
}

export interface ProjectInput {
  id?: string;
  orgId: string;
  name: string;
  tags?: ResourceTag[];
  withDefaultAlertsSettings?: boolean;
  /** A credential to make the new project's owner (one that may create projects but reaches none by itself). */
  owner?: string;
}

/** A project's name is its organization's alone, as on Atlas: checked under a lock on the organization's names. */
async function checkNameFree(trx: Db, orgId: string, name: string, self?: string): Promise<void> {
  await holdLock(trx, `project-names:${orgId}`);
  const holder = await repo.findProjectByName(trx, orgId, name);
  if (holder && holder.id !== self) throw new AdminError('conflict', `a project named ${JSON.stringify(name)} already exists in organization ${orgId}`, 'name');
}

export async function createProject(db: Db, input: ProjectInput) {
  const id = requireId('project', input.id);
  const name = requireName('project', input.name);
  return transaction(db, async (trx) => {
    if (!(await repo.getOrganization(trx, input.orgId))) throw new AdminError('not_found', `no organization ${input.orgId}`);
    if (await repo.getProject(trx, id)) throw new AdminError('conflict', `project ${id} already exists`);
    await checkNameFree(trx, input.orgId, name);
    const row = { id, orgId: input.orgId, name, createdAt: Date.now(), tags: input.tags ?? [], withDefaultAlertsSettings: input.withDefaultAlertsSettings ?? true };
    await repo.putProject(trx, row);
    if (input.owner !== undefined) await repo.addRole(trx, input.owner, { scopeId: id, roleName: 'GROUP_OWNER' });
    return { id, orgId: row.orgId, name: row.name, createdAt: iso(row.createdAt) };
  });
}

/** Renames a project (its name must stay its organization's alone) or replaces its tags or alert setting. */
export async function updateProject(db: Db, id: string, changes: { name?: string; tags?: ResourceTag[]; withDefaultAlertsSettings?: boolean }): Promise<void> {
  const name = changes.name === undefined ? undefined : requireName('project', changes.name);
  await transaction(db, async (trx) => {
    const project = await repo.getProject(trx, id);
    if (!project) throw new AdminError('not_found', `no project ${id}`);
    if (name !== undefined && name !== project.name) await checkNameFree(trx, project.orgId, name, id);
    await repo.updateProjectRow(trx, id, { ...changes, name });
  });
}

export async function listProjects(db: Db, orgId?: string) {
  return (await repo.listProjectRows(db, orgId)).map((p) => ({ id: p.id, orgId: p.orgId, name: p.name, createdAt: iso(p.createdAt) }));
}

export async function deleteProject(db: Db, id: string): Promise<void> {
  if (!(await repo.deleteProjectRow(db, id))) throw new AdminError('not_found', `no project ${id}`);
}

/**
 * Checks roles and an access list for a credential and settles its organization: every role
 * must lie inside one organization (the credential's), and every scope must exist.
 */
export async function resolveGrants(
  db: Db,
  orgId: string | undefined,
  roles: RoleInput[],
  accessList: string[],
): Promise<{ orgId: string; grants: RoleGrant[]; accessList: string[] }> {
  const grants: RoleGrant[] = [];
  let org = orgId;
  if (org !== undefined && !(await repo.getOrganization(db, org))) throw new AdminError('not_found', `no organization ${org}`);
  for (const role of roles) {
    if (!isRoleName(role.roleName)) throw new AdminError('invalid', `unknown role ${JSON.stringify(role.roleName)}; use ORG_OWNER, ORG_GROUP_CREATOR, GROUP_OWNER or GROUP_READ_ONLY`);
    let roleOrg: string;
    if (roleScope(role.roleName) === 'org') {
      if (role.orgId === undefined || role.groupId !== undefined) throw new AdminError('invalid', `role ${role.roleName} needs an orgId and no groupId`);
      if (!(await repo.getOrganization(db, role.orgId))) throw new AdminError('not_found', `no organization ${role.orgId}`);
      roleOrg = role.orgId;
      grants.push({ scopeId: role.orgId, roleName: role.roleName });
    } else {
      if (role.groupId === undefined || role.orgId !== undefined) throw new AdminError('invalid', `role ${role.roleName} needs a groupId and no orgId`);
      const project = await repo.getProject(db, role.groupId);
      if (!project) throw new AdminError('not_found', `no project ${role.groupId}`);
      roleOrg = project.orgId;
      grants.push({ scopeId: role.groupId, roleName: role.roleName });
    }
    if (org === undefined) org = roleOrg;
    else if (org !== roleOrg) throw new AdminError('invalid', `role ${role.roleName} on ${role.orgId ?? role.groupId} lies outside organization ${org}; a credential belongs to one organization`);
  }
  if (org === undefined) throw new AdminError('invalid', 'a credential needs an organization: give orgId or at least one role');
  const cidrs: string[] = [];
  for (const entry of accessList) {
    const cidr = normalizeCidr(entry);
    if (cidr === null) throw new AdminError('invalid', `access list entry ${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR block`);
    if (!cidrs.includes(cidr)) cidrs.push(cidr);
  }
  const unique = grants.filter((g, i) => grants.findIndex((h) => h.scopeId === g.scopeId && h.roleName === g.roleName) === i);
  return { orgId: org, grants: unique, accessList: cidrs };
}

export const roleView = (g: RoleGrant): RoleInput =>
  roleScope(g.roleName) === 'org' ? { orgId: g.scopeId, roleName: g.roleName } : { groupId: g.scopeId, roleName: g.roleName };
