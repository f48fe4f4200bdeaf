// Atlas role names snaplink understands, and what each is scoped to and allows.

export const ROLE_NAMES = ['ORG_OWNER', 'ORG_GROUP_CREATOR', 'GROUP_OWNER', 'GROUP_READ_ONLY'] as const;
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

/** Organization roles that reach every project of the organization (Organization Project Creator reaches none by itself). */
export const ORG_WIDE_ROLES: ReadonlySet<RoleName> = new Set(['ORG_OWNER']);

/** Roles that may change a project and create, read and delete its backup private endpoints (Project Owner or above). */
export const WRITE_ROLES: ReadonlySet<RoleName> = new Set(['ORG_OWNER', 'GROUP_OWNER']);

/** Organization roles that may create projects in it (Atlas's Organization Owner and Organization Project Creator). */
export const PROJECT_CREATOR_ROLES: ReadonlySet<RoleName> = new Set(['ORG_OWNER', 'ORG_GROUP_CREATOR']);
