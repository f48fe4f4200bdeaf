import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../atlas/errors.js';
import { acceptsApiVersion, PROJECTS_MEDIA_TYPE } from '../atlas/media-types.js';
import { isObjectId } from '../atlas/object-id.js';
import { CLOUD_PROVIDERS, UNSUPPORTED_PROVIDERS } from '../atlas/regions.js';
import type { Authenticator } from '../identity/authenticate.js';
import { authorizeOrganization, authorizeProject, authorizeProjectOwner, checkAccessList, visibleProjects } from '../identity/authorize.js';
import type { IdentityCache } from '../identity/cache.js';
import type { AtlasContext, CheckedContext } from './context.js';
import { parseListQuery, parsePresentation, type Presentation } from './query.js';
import type { Principal } from '../identity/principal.js';
import type { RateLimiter } from './rate-limit.js';

// Checks 2 to 9 of DESIGN.md §3, in that order, before the body is even read (check 1, the
// route, is Fastify's; check 10, the body, and 11, the store, belong to the handler).

export interface GuardDeps {
  identities: IdentityCache;
  authenticator: Authenticator;
  limiter: RateLimiter;
}

export const RATE_LIMITED_RESOURCE = 'backupPrivateEndpoints';

interface PathParams {
  groupId: string;
  cloudProvider: string;
  endpointId?: string;
}

export function atlasGuard(deps: GuardDeps, op: 'list' | 'single') {
  return async function guard(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const ctx: AtlasContext = {};
    request.atlas = ctx;
    // Whatever this node remembers of identities and faults is checked against the store once.
    const fresh = await deps.identities.version.refresh();

    ctx.principal = await deps.authenticator.authenticate({
      method: request.method,
      url: request.url,
      authorization: request.headers.authorization,
      ip: request.ip,
      fresh,
    });

    if (!acceptsApiVersion(request.headers.accept)) throw errors.invalidVersionDate();

    const { groupId, cloudProvider, endpointId } = request.params as PathParams;
    if (!isObjectId(groupId)) throw errors.invalidGroupId(groupId);
    if (!(CLOUD_PROVIDERS as readonly string[]).includes(cloudProvider)) {
      throw UNSUPPORTED_PROVIDERS.includes(cloudProvider) ? errors.providerUnsupported(cloudProvider) : errors.invalidProvider(cloudProvider);
    }
    if (endpointId !== undefined && !isObjectId(endpointId)) throw errors.invalidPathParameter('endpointId', endpointId);
    Object.assign(ctx, { groupId, cloudProvider, endpointId });

    const query = request.query as Record<string, string | string[] | undefined>;
    ctx.query = op === 'list' ? parseListQuery(query) : parsePresentation(query);

    checkAccessList(ctx.principal, request.ip);
    await authorizeProjectOwner(deps.identities, ctx.principal, groupId);
    ctx.authorizedGroupId = groupId;

    if (deps.limiter.settings.enabled) ctx.rate = deps.limiter.take(groupId, RATE_LIMITED_RESOURCE);
  };
}

/**
 * What a projects or organizations operation (DESIGN.md §10) names and needs: a project by id
 * (read: any role that reaches it; write: Project Owner or above), a project by name, an
 * organization, or only the caller (a list of what it sees, a create whose organization is in
 * its body and is checked with it).
 */
export type ProjectScope =
  | { kind: 'project'; need: 'read' | 'write' }
  | { kind: 'projectByName'; idForName(orgId: string, name: string): Promise<string | undefined> }
  | { kind: 'organization' }
  | { kind: 'caller' };

/** Bounds of the official `groupName` path parameter. */
const GROUP_NAME_MAX = 64;

/** The same checks 2 to 9 for Atlas's projects and organizations operations, in the same order. */
export function projectGuard(deps: GuardDeps, scope: ProjectScope, op: 'list' | 'single', parseExtraQuery: (query: Record<string, string | string[] | undefined>) => void = () => {}) {
  return async function guard(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const ctx: AtlasContext = {};
    request.atlas = ctx;
    const fresh = await deps.identities.version.refresh();
    const principal = await deps.authenticator.authenticate({ method: request.method, url: request.url, authorization: request.headers.authorization, ip: request.ip, fresh });
    ctx.principal = principal;

    if (!acceptsApiVersion(request.headers.accept, PROJECTS_MEDIA_TYPE)) throw errors.invalidVersionDate();

    const { groupId, orgId, groupName } = request.params as { groupId?: string; orgId?: string; groupName?: string };
    if (groupId !== undefined && !isObjectId(groupId)) throw errors.invalidGroupId(groupId);
    if (orgId !== undefined && !isObjectId(orgId)) throw errors.invalidPathParameter('orgId', orgId);
    if (groupName !== undefined && [...groupName].length > GROUP_NAME_MAX) throw errors.invalidPathParameter('groupName', groupName);
    Object.assign(ctx, { groupId, orgId });

    const query = request.query as Record<string, string | string[] | undefined>;
    ctx.query = op === 'list' ? parseListQuery(query) : parsePresentation(query);
    parseExtraQuery(query);

    checkAccessList(principal, request.ip);
    let bucket = `org:${principal.orgId}`;
    if (scope.kind === 'project') {
      await authorizeProject(deps.identities, principal, groupId!, scope.need);
      bucket = `groups:${groupId!}`;
    } else if (scope.kind === 'projectByName') {
      // A name is looked up in the caller's own organization: it reaches no other.
      const found = await scope.idForName(principal.orgId, groupName!);
      if (found === undefined) {
        if (visibleProjects(principal).allOfOrg) throw errors.groupNameNotFound(groupName!);
        throw errors.notInGroup();
      }
      await authorizeProject(deps.identities, principal, found, 'read');
      ctx.groupId = found;
      bucket = `groups:${found}`;
    } else if (scope.kind === 'organization') {
      authorizeOrganization(principal, orgId!);
    }
    ctx.authorizedGroupId = bucket;

    if (deps.limiter.settings.enabled) ctx.rate = deps.limiter.take(bucket, PROJECTS_RATE_LIMITED_RESOURCE);
  };
}

/** The projects and organizations operations have buckets of their own: a project's, or the caller's organization's. */
export const PROJECTS_RATE_LIMITED_RESOURCE = 'groups';

/** The context of a request that passed the guard (the handler runs only then). */
export function checked(request: FastifyRequest): CheckedContext {
  const ctx = request.atlas;
  if (!ctx?.principal || !ctx.groupId || !ctx.cloudProvider || !ctx.query) throw new Error('handler ran before the guard');
  return { principal: ctx.principal, groupId: ctx.groupId, cloudProvider: ctx.cloudProvider, endpointId: ctx.endpointId, query: ctx.query };
}

/** The context of a projects or organizations request that passed its guard. */
export function checkedCaller(request: FastifyRequest): { principal: Principal; query: Presentation; groupId?: string; orgId?: string } {
  const ctx = request.atlas;
  if (!ctx?.principal || !ctx.query) throw new Error('handler ran before the guard');
  return { principal: ctx.principal, query: ctx.query, groupId: ctx.groupId, orgId: ctx.orgId };
}
