import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../../endpoints/model.js';
import type { CloudState } from '../../endpoints/lifecycle.js';
import type { Provider } from './provider.js';

// A cloud that always says yes: each step succeeds the first time it is asked, so the pace is
// set entirely by the timing profile, and failures come only from injected faults.

export const newConnectionName = () => `vpce-${randomBytes(9).toString('hex').slice(0, 17)}`;

export class SimulatedProvider implements Provider {
  readonly name = 'simulated';
  readonly pollMs = 1000;
  readonly activeCheckMs = null;
  readonly real = false;

  async provision(): Promise<CloudState> {
    return { state: 'pendingAcceptance', connectionName: newConnectionName() };
  }

  async inspect(e: Endpoint): Promise<CloudState> {
    return e.connectionName === null ? { state: 'missing' } : { state: 'available', connectionName: e.connectionName };
  }

  async deprovision(): Promise<CloudState> {
    return { state: 'deleted' };
  }
}
