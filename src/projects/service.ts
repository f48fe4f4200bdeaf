import { errors } from '../atlas/errors.js';
import { AdminError, createProject, updateProject } from '../identity/admin.js';
import { authorizeProjectCreation, visibleProjects } from '../identity/authorize.js';
import type { Principal } from '../identity/principal.js';
import * as repo from '../identity/repository.js';
import { type Db, transaction } from '../store/database.js';
import { isForeignKeyViolation } from '../store/errors.js';
import type { ProjectCreate, ProjectUpdate } from './validate.js';

// Atlas's projects and organizations operations (DESIGN.md §10), after the request has been
// authenticated, authorised and its body checked. The rules every project obeys, whichever way
// it is made — one name per organization — are identity/admin.ts's, shared with the control
// API, the CLI and the seed; the SQL is identity/repository.ts's. A project made here is at once
// one the private endpoints' operations serve.

/** The rels of a project's links beyond `self`, in Atlas's order (as recorded from real answers). */
const PROJECT_RELS = ['containers', 'clusters', 'databaseUsers', 'peers', 'processes', 'whitelist'];
/** The rels of an organization's links beyond `self`. */
const ORG_RELS = ['groups', 'teams', 'users'];

const link = (href: string, rel: string) => ({ href, rel });
const related = (self: string, rels: readonly string[]) => rels.map((x) => link(`${self}/${x}`, `https://cloud.mongodb.com/${x}`));
/** UTC, whole seconds, as Atlas shows a project's creation. */
const created = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** A project as Atlas shows it; `base` is the request's own origin. In a list, its links are only `self`. */
export function projectView(p: repo.ProjectRow, base: string, inList = false) {
  const self = `${base}/api/atlas/v2/groups/${p.id}`;
  return {
    clusterCount: 0,
    created: created(p.createdAt),
    id: p.id,
    links: [link(self, 'self'), ...(inList ? [] : related(self, PROJECT_RELS))],
    name: p.name,
    orgId: p.orgId,
    tags: p.tags,
    withDefaultAlertsSettings: p.withDefaultAlertsSettings,
  };
}

/** An organization as Atlas shows it; in a list, its links are only `self`. */
export function organizationView(o: repo.OrganizationRow, base: string, inList = false) {
  const self = `${base}/api/atlas/v2/orgs/${o.id}`;
  return { id: o.id, isDeleted: false, links: [link(self, 'self'), ...(inList ? [] : related(self, ORG_RELS))], name: o.name, skipDefaultAlertsSettings: false };
}

export interface PageRequest {
  limit: number;
  /** Any integer from 0: a page past the last one is empty. */
  offset: bigint;
  namePrefix?: string;
}

/** Offsets past what any table holds read an empty page; the store takes a safe integer. */
const storeOffset = (offset: bigint) => Number(offset > BigInt(Number.MAX_SAFE_INTEGER) ? BigInt(Number.MAX_SAFE_INTEGER) : offset);

export class ProjectService {
  constructor(private readonly db: Db) {}

  /** The projects of `orgId` the caller sees: all of them for an organization owner, else those it holds a role in. */
  async list(principal: Principal, orgId: string, page: PageRequest) {
    const visible = visibleProjects(principal);
    const filter = { orgId, namePrefix: page.namePrefix, ...(!visible.allOfOrg && { ids: visible.ids }) };
    return repo.projectPage(this.db, filter, page.limit, storeOffset(page.offset));
  }

  async create(principal: Principal, body: ProjectCreate): Promise<repo.ProjectRow> {
    authorizeProjectCreation(principal, body.orgId);
    // An organization owner reaches every project already; a project creator is made owner of what it creates.
    const reachesAll = visibleProjects(principal).allOfOrg;
    try {
      const made = await createProject(this.db, { ...body, ...(!reachesAll && { owner: principal.credentialId }) });
      return this.get(made.id);
    } catch (err) {
      // The organization (and with it this credential) deleted since the request was authorised:
      // as if it had been gone then — no project can be made in it.
      if ((err instanceof AdminError && err.kind === 'not_found') || isForeignKeyViolation(err)) throw errors.notOrgGroupCreator(body.orgId);
      throw atlasError(err, body.name);
    }
  }

  async get(groupId: string): Promise<repo.ProjectRow> {
    const project = await repo.getProject(this.db, groupId);
    // Deleted since the request was authorised.
    if (!project) throw errors.groupNotFound(groupId);
    return project;
  }

  /** The id of the project of `orgId` named `name`, if there is one. */
  async idForName(orgId: string, name: string): Promise<string | undefined> {
    return (await repo.findProjectByName(this.db, orgId, name))?.id;
  }

  async update(groupId: string, changes: ProjectUpdate): Promise<repo.ProjectRow> {
    try {
      await updateProject(this.db, groupId, changes);
    } catch (err) {
      throw atlasError(err, changes.name ?? '', groupId);
    }
    return this.get(groupId);
  }

  /** Refused while the project has backup private endpoints in any status: a real cloud endpoint must not lose its record. */
  async delete(groupId: string): Promise<void> {
    const outcome = await transaction(this.db, (trx) => repo.deleteProjectWithoutEndpoints(trx, groupId));
    if (outcome === 'has-endpoints') throw errors.groupHasPrivateEndpoints();
    if (outcome === 'missing') throw errors.groupNotFound(groupId);
  }

  /** The organizations the caller sees: its own, where it holds a role. */
  async listOrganizations(principal: Principal, page: PageRequest) {
    const ids = principal.roles.length > 0 ? [principal.orgId] : [];
    return repo.organizationPage(this.db, { ids, namePrefix: page.namePrefix }, page.limit, storeOffset(page.offset));
  }

  async organization(orgId: string): Promise<repo.OrganizationRow> {
    const org = await repo.getOrganization(this.db, orgId);
    if (!org) throw errors.userUnauthorized();
    return org;
  }
}

/** The rules' refusals (identity/admin.ts) as Atlas's errors. */
function atlasError(err: unknown, name: string, groupId?: string): unknown {
  if (!(err instanceof AdminError)) return err;
  if (err.kind === 'conflict' && err.taken === 'name') return errors.groupAlreadyExists(name);
  if (err.kind === 'not_found' && groupId !== undefined) return errors.groupNotFound(groupId);
  return err;
}
