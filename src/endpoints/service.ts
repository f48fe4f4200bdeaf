import { errors } from '../atlas/errors.js';
import { newObjectId } from '../atlas/object-id.js';
import type { Timings } from './lifecycle.js';
import type { Endpoint, EndpointSpec } from './model.js';
import type { EndpointHistory } from './history.js';
import { DuplicateEndpointError, ProjectGoneError, type EndpointRepository } from './repository.js';

// The four operations on a project's backup private endpoints, after the request has been
// authenticated, authorised and validated. Check 11 (conflict, not found) happens here.

export interface Page {
  /** The page's endpoints as the API shows them: a JSON array. */
  resultsJson: string;
  totalCount: number;
}

/** Beyond any store's size, and still a whole number both stores bind as an integer. */
const MAX_OFFSET = BigInt(Number.MAX_SAFE_INTEGER);

export class EndpointService {
  constructor(
    private readonly repo: EndpointRepository,
    private readonly history: EndpointHistory,
    private readonly timings: Timings,
    /** The lifecycle clock (virtual: the control API can fast-forward it). */
    private readonly clock: { now(): number } = { now: Date.now },
    /** Told when an endpoint got a new due transition (when it is due), so the runner need not wait for its tick. */
    private readonly onScheduled: (dueAt: number) => void = () => {},
  ) {}

  async create(groupId: string, spec: EndpointSpec): Promise<Endpoint> {
    const now = this.clock.now();
    const endpoint: Endpoint = {
      id: newObjectId(now),
      groupId,
      ...spec,
      status: 'INITIATING',
      connectionName: null,
      errorMessage: null,
      createdAt: now,
      updatedAt: now,
      dueAt: now + this.timings.INITIATING,
      attempts: 0,
      generation: 0,
    };
    try {
      await this.repo.insert(endpoint);
    } catch (err) {
      if (err instanceof DuplicateEndpointError) throw errors.endpointAlreadyExists(spec.regionName, spec.vpcRegionName);
      // As if the project had been gone when the request arrived: the check it passed no longer holds.
      if (err instanceof ProjectGoneError) throw errors.groupNotFound(groupId);
      throw err;
    }
    await this.history.record(endpoint.id, 'INITIATING', now, 'created by a request');
    this.onScheduled(endpoint.dueAt!);
    return endpoint;
  }

  /** The endpoint as the API shows it, already serialised (the store keeps each one's JSON). */
  async getJson(groupId: string, cloudProvider: string, id: string): Promise<string> {
    const json = await this.repo.findWire(groupId, cloudProvider, id);
    if (json === undefined) throw errors.resourceNotFound(id);
    return json;
  }

  /**
   * A page and the count, from one snapshot. `pageNum` may be any positive integer, however
   * large: a page past the last one is empty (an offset past any store's size reads as one).
   */
  async list(groupId: string, cloudProvider: string, pageNum: bigint, itemsPerPage: number): Promise<Page> {
    const offset = (pageNum - 1n) * BigInt(itemsPerPage);
    return this.repo.page(groupId, cloudProvider, offset > MAX_OFFSET ? Number(MAX_OFFSET) : Number(offset), itemsPerPage);
  }

  async delete(groupId: string, cloudProvider: string, id: string): Promise<void> {
    const now = this.clock.now();
    const outcome = await this.repo.markDeleting(groupId, cloudProvider, id, now, now + this.timings.DELETING);
    if (outcome === 'missing') throw errors.resourceNotFound(id);
    if (outcome === 'marked') await this.history.record(id, 'DELETING', now, 'deleted by a request');
    this.onScheduled(now + this.timings.DELETING);
  }
}
