import type { Endpoint } from '../../src/endpoints/model.js';
import type { SeedFile } from '../../src/identity/seed.js';

// The identities every suite shares: two organizations, three projects, and keys holding each
// kind of role. Secrets are known so real clients (curl, requests) can use them.

export const ORG_A = '6650f0c0a1b2c3d4e5f60001';
export const ORG_B = '6650f0c0a1b2c3d4e5f60002';
export const P1 = '6650f0c0a1b2c3d4e5f60101'; // in A
export const P2 = '6650f0c0a1b2c3d4e5f60102'; // in A
export const P3 = '6650f0c0a1b2c3d4e5f60201'; // in B
export const MISSING_PROJECT = '6650f0c0a1b2c3d4e5f6ffff';

export const KEYS = {
  orgOwnerA: { publicKey: 'orgownra', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000001' },
  ownerP1: { publicKey: 'ownerpa1', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000002' },
  readerP1: { publicKey: 'readerp1', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000003' },
  orgOwnerB: { publicKey: 'orgownrb', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000004' },
  /** Project owner of P1, but only from 10.0.0.0/8 and 2001:db8::/32. */
  fencedP1: { publicKey: 'fencedp1', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000005' },
  /** Project owner of P1 from loopback only (IPv4 and IPv6). */
  loopbackP1: { publicKey: 'loopbkp1', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000006' },
  /** Project owner of P1 from 127.0.0.1 only. */
  ipv4OnlyP1: { publicKey: 'ipv4onp1', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000007' },
} as const;

export type KeyName = keyof typeof KEYS;

export const SERVICE_ACCOUNTS = {
  /** Organization owner of A. */
  saOrgA: { clientId: 'mdb_sa_id_6650f0c0a1b2c3d4e5f60301', clientSecret: 'mdb_sa_sk_orgownerA-secret-000000000001' },
  /** Project owner of P1, but only from 10.0.0.0/8. */
  saFencedP1: { clientId: 'mdb_sa_id_6650f0c0a1b2c3d4e5f60302', clientSecret: 'mdb_sa_sk_fencedP1-secret-0000000000002' },
  /** Organization owner of B. */
  saOrgB: { clientId: 'mdb_sa_id_6650f0c0a1b2c3d4e5f60303', clientSecret: 'mdb_sa_sk_orgownerB-secret-000000000003' },
} as const;

export const WORLD: SeedFile = {
  organizations: [
    { id: ORG_A, name: 'Acme' },
    { id: ORG_B, name: 'Bolt' },
  ],
  projects: [
    { id: P1, orgId: ORG_A, name: 'payments' },
    { id: P2, orgId: ORG_A, name: 'ledger' },
    { id: P3, orgId: ORG_B, name: 'bolt-main' },
  ],
  apiKeys: [
    { ...KEYS.orgOwnerA, description: 'org owner A', roles: [{ orgId: ORG_A, roleName: 'ORG_OWNER' }] },
    { ...KEYS.ownerP1, description: 'project owner P1', roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }] },
    { ...KEYS.readerP1, description: 'read-only P1', roles: [{ groupId: P1, roleName: 'GROUP_READ_ONLY' }] },
    { ...KEYS.orgOwnerB, description: 'org owner B', roles: [{ orgId: ORG_B, roleName: 'ORG_OWNER' }] },
    { ...KEYS.fencedP1, description: 'fenced', roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }], accessList: ['10.0.0.0/8', '2001:db8::/32'] },
    { ...KEYS.loopbackP1, description: 'loopback', roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }], accessList: ['127.0.0.1/32', '::1/128'] },
    { ...KEYS.ipv4OnlyP1, description: 'IPv4 loopback only', roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }], accessList: ['127.0.0.1'] },
  ],
  serviceAccounts: [
    { ...SERVICE_ACCOUNTS.saOrgA, description: 'org owner A', roles: [{ orgId: ORG_A, roleName: 'ORG_OWNER' }] },
    { ...SERVICE_ACCOUNTS.saFencedP1, description: 'fenced', roles: [{ groupId: P1, roleName: 'GROUP_OWNER' }], accessList: ['10.0.0.0/8'] },
    { ...SERVICE_ACCOUNTS.saOrgB, description: 'org owner B', roles: [{ orgId: ORG_B, roleName: 'ORG_OWNER' }] },
  ],
};

export const collectionPath = (groupId: string, provider = 'AWS') => `/api/atlas/v2/groups/${groupId}/backup/${provider}/privateEndpoints`;
export const itemPath = (groupId: string, id: string, provider = 'AWS') => `${collectionPath(groupId, provider)}/${id}`;

/** An endpoint as the repository stores it, just created in P1 (for suites below the HTTP layer). */
export function storedEndpoint(id: string, regionName: string): Endpoint {
  const now = Date.now();
  return {
    id,
    groupId: P1,
    cloudProvider: 'AWS',
    regionName: regionName as Endpoint['regionName'],
    vpcRegionName: 'US_EAST_1',
    status: 'INITIATING',
    connectionName: null,
    errorMessage: null,
    createdAt: now,
    updatedAt: now,
    dueAt: null,
    attempts: 0,
    generation: 0,
  };
}
