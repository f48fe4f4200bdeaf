import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../atlas/errors.js';
import { acceptsApiVersion } from '../atlas/media-types.js';
import { isObjectId } from '../atlas/object-id.js';
import { CLOUD_PROVIDERS, UNSUPPORTED_PROVIDERS } from '../atlas/regions.js';
import type { Authenticator } from '../identity/authenticate.js';
import { authorizeProjectOwner, checkAccessList } from '../identity/authorize.js';
import type { IdentityCache } from '../identity/cache.js';
import type { AtlasContext, CheckedContext } from './context.js';
import { parseListQuery, parsePresentation } from './query.js';
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

/** The context of a request that passed the guard (the handler runs only then). */
export function checked(request: FastifyRequest): CheckedContext {
  const ctx = request.atlas;
  if (!ctx?.principal || !ctx.groupId || !ctx.cloudProvider || !ctx.query) throw new Error('handler ran before the guard');
  return { principal: ctx.principal, groupId: ctx.groupId, cloudProvider: ctx.cloudProvider, endpointId: ctx.endpointId, query: ctx.query };
}
