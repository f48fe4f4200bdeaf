import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../../atlas/errors.js';
import { PROJECTS_MEDIA_TYPE, successContentType } from '../../atlas/media-types.js';
import type { ProjectService } from '../../projects/service.js';
import { organizationView, projectView } from '../../projects/service.js';
import { parseProjectCreate, parseProjectUpdate } from '../../projects/validate.js';
import { acceptedBody } from '../body.js';
import { checkedCaller, type GuardDeps, projectGuard } from '../guard.js';
import type { ListQuery } from '../query.js';
import { pageLinks, sendEntity, sendList } from '../reply.js';

// Atlas's projects and organizations operations (DESIGN.md §10), in their own version
// (2023-01-01), so that a pipeline makes and removes its project with the client it uses for
// the endpoints. Each route runs the guard (checks 2–9) first, as the resource's do.

const GROUPS = '/api/atlas/v2/groups';
const GROUP = `${GROUPS}/:groupId`;
const GROUP_BY_NAME = `${GROUPS}/byName/:groupName`;
const ORGS = '/api/atlas/v2/orgs';
const ORG = `${ORGS}/:orgId`;
const ORG_GROUPS = `${ORG}/groups`;

/** These paths and the methods each allows, for 405 answers. */
export const PROJECT_ROUTES = [
  { pattern: /^\/api\/atlas\/v2\/groups$/, allow: ['GET', 'HEAD', 'POST'] },
  { pattern: /^\/api\/atlas\/v2\/groups\/byName\/[^/]+$/, allow: ['GET', 'HEAD'] },
  { pattern: /^\/api\/atlas\/v2\/groups\/[^/]+$/, allow: ['DELETE', 'GET', 'HEAD', 'PATCH'] },
  { pattern: /^\/api\/atlas\/v2\/orgs$/, allow: ['GET', 'HEAD'] },
  { pattern: /^\/api\/atlas\/v2\/orgs\/[^/]+$/, allow: ['GET', 'HEAD'] },
  { pattern: /^\/api\/atlas\/v2\/orgs\/[^/]+\/groups$/, allow: ['GET', 'HEAD'] },
] as const;

export interface ProjectRouteDeps extends GuardDeps {
  projects: ProjectService;
}

const SUCCESS = successContentType(PROJECTS_MEDIA_TYPE);

/** A query parameter given once, or not at all; Atlas's clients send an empty one for "none". */
function optionalParameter(query: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw errors.invalidQueryParameter(name, 'it may be given only once');
  return v === '' ? undefined : v;
}

/** `name`: a case-insensitive prefix of the names listed. */
const nameFilter = (query: Record<string, string | string[] | undefined>) => void optionalParameter(query, 'name');

/** The Atlas CLI sends `projectOwnerId=` with no value; a value names a MongoDB Cloud user, and snaplink has none. */
function noProjectOwner(query: Record<string, string | string[] | undefined>): void {
  if (optionalParameter(query, 'projectOwnerId') !== undefined) {
    throw errors.invalidQueryParameter('projectOwnerId', 'snaplink has no MongoDB Cloud users to make owner; leave it out (the creating credential reaches the project)');
  }
}

export async function projectRoutes(app: FastifyInstance, deps: ProjectRouteDeps): Promise<void> {
  const { projects } = deps;
  const base = (request: FastifyRequest) => `${request.protocol}://${request.host}`;
  /** `byName`: the operation takes Atlas's `name` filter (checked by the guard); elsewhere it is an unknown parameter, ignored. */
  const page = (request: FastifyRequest, q: ListQuery, byName = false) => ({
    limit: q.itemsPerPage,
    offset: (q.pageNum - 1n) * BigInt(q.itemsPerPage),
    namePrefix: byName ? (request.query as Record<string, string | undefined>).name || undefined : undefined,
  });

  const readProject = projectGuard(deps, { kind: 'project', need: 'read' }, 'single');
  const writeProject = projectGuard(deps, { kind: 'project', need: 'write' }, 'single');

  app.get(GROUPS, { onRequest: projectGuard(deps, { kind: 'caller' }, 'list'), config: { operation: 'listGroups' } }, async (request, reply) => {
    const { principal, query } = checkedCaller(request);
    const q = query as ListQuery;
    const { total, rows } = await projects.list(principal, principal.orgId, page(request, q));
    return sendProjects(request, reply, q, total, rows);
  });

  app.post(GROUPS, { onRequest: projectGuard(deps, { kind: 'caller' }, 'single', noProjectOwner), config: { operation: 'createGroup' } }, async (request, reply) => {
    const { principal, query } = checkedCaller(request);
    const body = parseProjectCreate(acceptedBody(request, PROJECTS_MEDIA_TYPE));
    const project = await projects.create(principal, body);
    // 201, as Atlas answers it (the official spec declares 200: docs/fidelity.md).
    return sendEntity(reply, 201, projectView(project, base(request)), query, SUCCESS);
  });

  app.get(GROUP_BY_NAME, { onRequest: projectGuard(deps, { kind: 'projectByName', idForName: (orgId, name) => projects.idForName(orgId, name) }, 'single'), config: { operation: 'getGroupByName' } }, async (request, reply) => {
    const { groupId, query } = checkedCaller(request);
    return sendEntity(reply, 200, projectView(await projects.get(groupId!), base(request)), query, SUCCESS);
  });

  app.get(GROUP, { onRequest: readProject, config: { operation: 'getGroup' } }, async (request, reply) => {
    const { groupId, query } = checkedCaller(request);
    return sendEntity(reply, 200, projectView(await projects.get(groupId!), base(request)), query, SUCCESS);
  });

  app.patch(GROUP, { onRequest: writeProject, config: { operation: 'updateGroup' } }, async (request, reply) => {
    const { groupId, query } = checkedCaller(request);
    const changes = parseProjectUpdate(acceptedBody(request, PROJECTS_MEDIA_TYPE));
    return sendEntity(reply, 200, projectView(await projects.update(groupId!, changes), base(request)), query, SUCCESS);
  });

  app.delete(GROUP, { onRequest: writeProject, config: { operation: 'deleteGroup' } }, async (request, reply) => {
    const { groupId, query } = checkedCaller(request);
    await projects.delete(groupId!);
    // 202 with an empty object, as Atlas answers it (the official spec declares 204).
    return sendEntity(reply, 202, {}, query, SUCCESS);
  });

  app.get(ORGS, { onRequest: projectGuard(deps, { kind: 'caller' }, 'list', nameFilter), config: { operation: 'listOrgs' } }, async (request, reply) => {
    const { principal, query } = checkedCaller(request);
    const q = query as ListQuery;
    const { total, rows } = await projects.listOrganizations(principal, page(request, q, true));
    const results = rows.map((o) => organizationView(o, base(request), true));
    return sendList(reply, { links: pageLinks(request, q, total), resultsJson: JSON.stringify(results), totalCount: q.includeCount ? total : undefined }, q, SUCCESS);
  });

  app.get(ORG, { onRequest: projectGuard(deps, { kind: 'organization' }, 'single'), config: { operation: 'getOrg' } }, async (request, reply) => {
    const { orgId, query } = checkedCaller(request);
    return sendEntity(reply, 200, organizationView(await projects.organization(orgId!), base(request)), query, SUCCESS);
  });

  app.get(ORG_GROUPS, { onRequest: projectGuard(deps, { kind: 'organization' }, 'list', nameFilter), config: { operation: 'getOrgGroups' } }, async (request, reply) => {
    const { principal, orgId, query } = checkedCaller(request);
    const q = query as ListQuery;
    const { total, rows } = await projects.list(principal, orgId!, page(request, q, true));
    return sendProjects(request, reply, q, total, rows);
  });

  function sendProjects(request: FastifyRequest, reply: Parameters<typeof sendList>[0], q: ListQuery, total: number, rows: Parameters<typeof projectView>[0][]) {
    const results = rows.map((p) => projectView(p, base(request), true));
    return sendList(reply, { links: pageLinks(request, q, total), resultsJson: JSON.stringify(results), totalCount: q.includeCount ? total : undefined }, q, SUCCESS);
  }
}
