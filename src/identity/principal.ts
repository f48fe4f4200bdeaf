import type { RoleGrant } from './roles.js';

/** Who is calling: an authenticated credential with everything authorization needs. */
export interface Principal {
  credentialId: string;
  kind: 'API_KEY' | 'SERVICE_ACCOUNT';
  /** The public key or client id — safe to log. */
  name: string;
  orgId: string;
  roles: RoleGrant[];
  accessList: string[];
}
