import type { CloudState } from '../../endpoints/lifecycle.js';
import type { Endpoint } from '../../endpoints/model.js';

// The boundary between the runner, which knows statuses, and a cloud, which knows interface
// endpoints, answering in the state machine's terms (CloudState, endpoints/lifecycle.ts). Every
// call is idempotent: the runner may repeat one after a crash or a lease loss.

export interface Provider {
  readonly name: string;
  /** While INITIATING: make sure the interface endpoint is being created; report its state. */
  provision(e: Endpoint): Promise<CloudState>;
  /** While PENDING_ACCEPTANCE, or ACTIVE when health is checked: report its state. */
  inspect(e: Endpoint): Promise<CloudState>;
  /** While DELETING: make sure it is being deleted; report 'deleting' or 'deleted'. */
  deprovision(e: Endpoint): Promise<CloudState>;
  /** How often to re-ask while the cloud is still working. */
  readonly pollMs: number;
  /** How often to check an ACTIVE endpoint is still there; null: never. */
  readonly activeCheckMs: number | null;
  /** Whether deleting an endpoint must first delete something real (then reset goes through DELETING). */
  readonly real: boolean;
  /**
   * Cloud resources tagged for snaplink that `isKnown` disowns: reported at start, never deleted
   * (they may belong to another installation).
   */
  strays?(isKnown: (endpointId: string, generation: number) => Promise<boolean>): Promise<Stray[]>;
}

export interface Stray {
  region: string;
  resourceId: string;
  endpointId: string;
  state: string;
}
