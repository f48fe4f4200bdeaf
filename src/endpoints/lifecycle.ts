import type { EndpointStatus } from '../atlas/regions.js';
import type { Endpoint } from './model.js';

/**
 * What a cloud says of an endpoint's interface endpoint — the state machine's input. Providers
 * (provisioning/providers/) answer in these terms; the state machine knows no provider.
 */
export type CloudState =
  /** Asked for, not yet there. */
  | { state: 'creating' }
  | { state: 'pendingAcceptance'; connectionName: string }
  | { state: 'available'; connectionName: string }
  | { state: 'failed'; message: string }
  /** Not there (never made, or deleted behind snaplink's back). */
  | { state: 'missing' }
  | { state: 'deleting' }
  | { state: 'deleted' };

// The state machine of DESIGN.md §4 and how long each transient status is held.
//
//   create ─► INITIATING ─► PENDING_ACCEPTANCE ─► ACTIVE
//                 │                 │                │  (endpoint lost)
//                 └──► FAILED ◄─────┘                └─► PENDING_RECREATION ─► INITIATING …
//   delete (any status) ─► DELETING ─► gone

export type TransientStatus = Extract<EndpointStatus, 'INITIATING' | 'PENDING_ACCEPTANCE' | 'DELETING' | 'PENDING_RECREATION'>;
export type Timings = Record<TransientStatus, number>;

export const TIMING_PROFILES: Record<'fast' | 'realistic' | 'none', Timings> = {
  fast: { INITIATING: 2_000, PENDING_ACCEPTANCE: 2_000, DELETING: 2_000, PENDING_RECREATION: 2_000 },
  realistic: { INITIATING: 180_000, PENDING_ACCEPTANCE: 120_000, DELETING: 120_000, PENDING_RECREATION: 60_000 },
  // A real cloud sets its own pace: ask it at once.
  none: { INITIATING: 0, PENDING_ACCEPTANCE: 0, DELETING: 0, PENDING_RECREATION: 0 },
};

/** What a step does to an endpoint. */
export type Change =
  | { remove: true }
  | { remove?: false; status: EndpointStatus; connectionName: string | null; errorMessage: string | null; dueAt: number | null; generation?: number };

/**
 * The next state of `e` once the cloud reports `cloud`. `at` is when the step was due (so a
 * fast-forwarded clock or a restart catches up transition by transition); `pollAt` is when to
 * ask again if the cloud is not done yet.
 */
export function nextState(e: Endpoint, cloud: CloudState, at: number, pollAt: number, timings: Timings): Change {
  const to = (status: EndpointStatus, dueAt: number | null, connectionName = e.connectionName, errorMessage: string | null = null): Change => ({
    status,
    connectionName,
    errorMessage,
    dueAt,
  });
  const stay = () => to(e.status, pollAt, e.connectionName, e.errorMessage);
  switch (cloud.state) {
    case 'pendingAcceptance':
      return e.status === 'INITIATING' ? to('PENDING_ACCEPTANCE', at + timings.PENDING_ACCEPTANCE, cloud.connectionName) : stay();
    case 'available':
      return e.status === 'DELETING' ? stay() : to('ACTIVE', null, cloud.connectionName);
    case 'failed':
      return e.status === 'DELETING' ? stay() : to('FAILED', null, e.connectionName, cloud.message);
    case 'missing':
      // Gone from under an endpoint that had one: recreate it.
      return e.status === 'PENDING_ACCEPTANCE' || e.status === 'ACTIVE' ? to('PENDING_RECREATION', at + timings.PENDING_RECREATION) : stay();
    case 'deleted':
      return e.status === 'DELETING' ? { remove: true } : stay();
    case 'creating':
    case 'deleting':
      return stay();
  }
}

/** PENDING_RECREATION ends by starting over: INITIATING, a new incarnation without the lost connection. */
export function restart(e: Endpoint, at: number, timings: Timings): Change {
  return { status: 'INITIATING', connectionName: null, errorMessage: null, dueAt: at + timings.INITIATING, generation: e.generation + 1 };
}
