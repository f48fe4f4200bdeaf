import type { Principal } from '../identity/principal.js';
import type { ListQuery, Presentation } from './query.js';
import type { RateState } from './rate-limit.js';

// What the check pipeline learns about a request, handed on to the route handler.

export interface AtlasContext {
  principal?: Principal;
  groupId?: string;
  cloudProvider?: string;
  endpointId?: string;
  /** An organization named by the path (Atlas's organizations operations). */
  orgId?: string;
  query?: Presentation | ListQuery;
  /** Set once checks 7–8 passed: the bucket (a project's, or the caller's organization's) this request may report. */
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

/** What the request journal keeps of an answer beyond its status (journal/request-journal.ts). */
export interface JournalNote {
  errorCode?: string;
  errorDetail?: string;
  /** Who asked, where no principal was authenticated (the OAuth client id). Never a secret. */
  principal?: string;
  /** The injected fault that answered or delayed the request. */
  faultId?: string;
}

declare module 'fastify' {
  interface FastifyReply {
    /** Set by whatever answers with an error (and by OAuth, the client id); null otherwise. */
    journalNote: JournalNote | null;
    /** Set when the answer is the store's own failure (503, 507, 500): it waits for no write. */
    storeFailed: boolean;
    /** The answer's body as sent (the request journal's reference to it). */
    journalPayload: unknown;
  }
  interface FastifyRequest {
    /** Non-null on the Atlas resource's paths: every answer there reports the rate limit (set back to null by an error that has no bucket to report). */
    atlas: AtlasContext | null;
  }
}
