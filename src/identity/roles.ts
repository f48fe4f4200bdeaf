// Atlas role names this resource understands, and what each is scoped to.

export const ROLE_NAMES = ['ORG_OWNER', 'GROUP_OWNER', 'GROUP_READ_ONLY'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

export function isRoleName(v: unknown): v is RoleName {
  return typeof v === 'string' && (ROLE_NAMES as readonly string[]).includes(v);
}

/** ORG_* roles are held on an organization, GROUP_* roles on a project. */
export function roleScope(role: RoleName): 'org' | 'group' {
  return role.startsWith('ORG_') ? 'org' : 'group';
}

export interface RoleGrant {
  /** An organization id for ORG_* roles, a project (group) id for GROUP_* roles. */
  scopeId: string;
  roleName: RoleName;
}

/** Roles that may create, read and delete backup private endpoints (Project Owner or above). */
export const WRITE_ROLES: ReadonlySet<RoleName> = new Set(['ORG_OWNER', 'GROUP_OWNER']);
