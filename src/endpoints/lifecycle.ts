import type { EndpointStatus } from '../atlas/regions.js';

// How long each transient status is held before its transition is due.

export type TransientStatus = Extract<EndpointStatus, 'INITIATING' | 'PENDING_ACCEPTANCE' | 'DELETING' | 'PENDING_RECREATION'>;
export type Timings = Record<TransientStatus, number>;

export const TIMING_PROFILES: Record<'fast' | 'realistic', Timings> = {
  fast: { INITIATING: 2_000, PENDING_ACCEPTANCE: 2_000, DELETING: 2_000, PENDING_RECREATION: 2_000 },
  realistic: { INITIATING: 180_000, PENDING_ACCEPTANCE: 120_000, DELETING: 120_000, PENDING_RECREATION: 60_000 },
};
