import type { Principal } from '../identity/principal.js';
import type { ListQuery, Presentation } from './query.js';
import type { RateState } from './rate-limit.js';

// What the check pipeline learns about a request, handed on to the route handler.

export interface AtlasContext {
  principal?: Principal;
  groupId?: string;
  cloudProvider?: string;
  endpointId?: string;
  query?: Presentation | ListQuery;
  /** Set once checks 7–8 passed: the project whose rate bucket this request may report. */
  authorizedGroupId?: string;
  /** Set once check 9 has taken a token. */
  rate?: RateState;
}

/** The checked context of a request that passed the whole pipeline. */
export interface CheckedContext {
  principal: Principal;
  groupId: string;
  cloudProvider: string;
  endpointId: string | undefined;
  query: Presentation;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Non-null on the Atlas resource's paths: every answer there reports the rate limit (set back to null by an error that has no bucket to report). */
    atlas: AtlasContext | null;
  }
}
