import type { FastifyInstance } from 'fastify';
import { toWire } from '../../endpoints/model.js';
import type { EndpointService } from '../../endpoints/service.js';
import type { FaultService } from '../../faults/service.js';
import { parseCreateBody } from '../../endpoints/validate.js';
import { atlasGuard, checked, type GuardDeps } from '../guard.js';
import { injectRequestFaults } from '../injected-faults.js';
import type { ListQuery } from '../query.js';
import { acceptedBody } from '../body.js';
import { pageLinks, sendEntity, sendEntityJson, sendList, sendNoContent } from '../reply.js';

// The four operations of the resource. Each route runs the guard (checks 2–9) first.

export const COLLECTION_PATH = '/api/atlas/v2/groups/:groupId/backup/:cloudProvider/privateEndpoints';
export const ITEM_PATH = `${COLLECTION_PATH}/:endpointId`;

/** The resource's paths and the methods each allows, for 405 answers. */
export const RESOURCE_ROUTES = [
  { pattern: /^\/api\/atlas\/v2\/groups\/[^/]+\/backup\/[^/]+\/privateEndpoints$/, allow: ['GET', 'HEAD', 'POST'] },
  { pattern: /^\/api\/atlas\/v2\/groups\/[^/]+\/backup\/[^/]+\/privateEndpoints\/[^/]+$/, allow: ['DELETE', 'GET', 'HEAD'] },
] as const;

export interface EndpointRouteDeps extends GuardDeps {
  endpoints: EndpointService;
  faults: FaultService;
}

export async function privateEndpointRoutes(app: FastifyInstance, deps: EndpointRouteDeps): Promise<void> {
  const { endpoints, faults } = deps;
  const listGuard = atlasGuard(deps, 'list');
  const singleGuard = atlasGuard(deps, 'single');

  app.get(COLLECTION_PATH, { onRequest: listGuard, config: { operation: 'list' } }, async (request, reply) => {
    const { groupId, cloudProvider, query } = checked(request);
    await injectRequestFaults(reply, faults, 'list', groupId);
    const q = query as ListQuery;
    const page = await endpoints.list(groupId, cloudProvider, q.pageNum, q.itemsPerPage);
    return sendList(reply, { links: pageLinks(request, q, page.totalCount), resultsJson: page.resultsJson, totalCount: q.includeCount ? page.totalCount : undefined }, q);
  });

  app.post(COLLECTION_PATH, { onRequest: singleGuard, config: { operation: 'create' } }, async (request, reply) => {
    const { groupId, query } = checked(request);
    const spec = parseCreateBody(acceptedBody(request));
    await injectRequestFaults(reply, faults, 'create', groupId, spec.regionName);
    const endpoint = await endpoints.create(groupId, spec);
    return sendEntity(reply, 201, toWire(endpoint), query);
  });

  app.get(ITEM_PATH, { onRequest: singleGuard, config: { operation: 'get' } }, async (request, reply) => {
    const { groupId, cloudProvider, endpointId, query } = checked(request);
    await injectRequestFaults(reply, faults, 'get', groupId);
    return sendEntityJson(reply, 200, await endpoints.getJson(groupId, cloudProvider, endpointId!), query);
  });

  app.delete(ITEM_PATH, { onRequest: singleGuard, config: { operation: 'delete' } }, async (request, reply) => {
    const { groupId, cloudProvider, endpointId } = checked(request);
    await injectRequestFaults(reply, faults, 'delete', groupId);
    await endpoints.delete(groupId, cloudProvider, endpointId!);
    return sendNoContent(reply);
  });
}
