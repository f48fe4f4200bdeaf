import { errors } from '../atlas/errors.js';
import { isAllowed, normalizeIp } from './access-list.js';
import type { IdentityCache } from './cache.js';
import type { Principal } from './principal.js';
import { ORG_WIDE_ROLES, PROJECT_CREATOR_ROLES, type RoleGrant, roleScope, WRITE_ROLES } from './roles.js';

// Checks 6 to 8 of the request pipeline: where the caller may call from, and what it may do
// in the project or organization it names.

/** Check 6: the credential's IP access list, when it has one. */
export function checkAccessList(principal: Principal, ip: string): void {
  if (!isAllowed(ip, principal.accessList)) throw errors.ipNotOnAccessList(normalizeIp(ip));
}

/** The caller's roles that reach a project of `orgId` (none beyond its own organization, whatever grants it carries). */
function rolesReaching(principal: Principal, groupId: string, orgId: string): RoleGrant[] {
  if (principal.orgId !== orgId) return [];
  return principal.roles.filter((r) => r.scopeId === groupId || (r.scopeId === orgId && ORG_WIDE_ROLES.has(r.roleName)));
}

/**
 * Checks 7 and 8 for a project. A caller with no role in the project or its organization gets
 * NOT_IN_GROUP whether or not the project exists (existence is not disclosed to outsiders); an
 * organization owner asking for a missing project learns that it is missing. `write`: Project
 * Owner or above (read-only roles are refused); `read`: any role that reaches the project.
 */
export async function authorizeProject(identities: IdentityCache, principal: Principal, groupId: string, need: 'read' | 'write'): Promise<void> {
  const orgId = await identities.projectOrg(groupId);
  if (orgId === undefined) {
    if (principal.roles.some((r) => ORG_WIDE_ROLES.has(r.roleName))) throw errors.groupNotFound(groupId);
    throw errors.notInGroup();
  }
  const held = rolesReaching(principal, groupId, orgId);
  if (held.length === 0) throw errors.notInGroup();
  if (need === 'write' && !held.some((r) => WRITE_ROLES.has(r.roleName))) throw errors.userUnauthorized();
}

/** Checks 7 and 8 of the resource's operations: Project Owner or above. */
export const authorizeProjectOwner = (identities: IdentityCache, principal: Principal, groupId: string) => authorizeProject(identities, principal, groupId, 'write');

/** Which of an organization's projects the caller sees: all of them, or only those it holds a role in. */
export function visibleProjects(principal: Principal): { allOfOrg: true } | { allOfOrg: false; ids: string[] } {
  if (principal.roles.some((r) => r.scopeId === principal.orgId && ORG_WIDE_ROLES.has(r.roleName))) return { allOfOrg: true };
  return { allOfOrg: false, ids: principal.roles.filter((r) => roleScope(r.roleName) === 'group').map((r) => r.scopeId) };
}

/** Check 8 for an organization: the caller belongs to it (every credential belongs to one) and holds a role there. */
export function authorizeOrganization(principal: Principal, orgId: string): void {
  if (principal.orgId !== orgId || principal.roles.length === 0) throw errors.userUnauthorized();
}

/** Whether the caller may create projects in `orgId` (Organization Owner or Organization Project Creator there). */
export function authorizeProjectCreation(principal: Principal, orgId: string): void {
  if (principal.orgId !== orgId || !principal.roles.some((r) => r.scopeId === orgId && PROJECT_CREATOR_ROLES.has(r.roleName))) throw errors.notOrgGroupCreator(orgId);
}
