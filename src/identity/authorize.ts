import { errors } from '../atlas/errors.js';
import { isAllowed, normalizeIp } from './access-list.js';
import type { IdentityCache } from './cache.js';
import type { Principal } from './principal.js';
import { WRITE_ROLES } from './roles.js';

// Checks 6 to 8 of the request pipeline: where the caller may call from, and what it may do
// in the project it names.

/** Check 6: the credential's IP access list, when it has one. */
export function checkAccessList(principal: Principal, ip: string): void {
  if (!isAllowed(ip, principal.accessList)) throw errors.ipNotOnAccessList(normalizeIp(ip));
}

/**
 * Checks 7 and 8. A caller with no role in the project or its organization gets NOT_IN_GROUP
 * whether or not the project exists (existence is not disclosed to outsiders); an organization
 * owner asking for a missing project learns that it is missing; read-only roles are refused.
 */
export async function authorizeProjectOwner(identities: IdentityCache, principal: Principal, groupId: string): Promise<void> {
  const orgId = await identities.projectOrg(groupId);
  if (orgId === undefined) {
    if (principal.roles.some((r) => r.roleName === 'ORG_OWNER')) throw errors.groupNotFound(groupId);
    throw errors.notInGroup();
  }
  // A credential never reaches beyond its own organization, whatever grants it carries.
  const held = principal.orgId === orgId ? principal.roles.filter((r) => r.scopeId === groupId || r.scopeId === orgId) : [];
  if (held.length === 0) throw errors.notInGroup();
  if (!held.some((r) => WRITE_ROLES.has(r.roleName))) throw errors.userUnauthorized();
}
