// The bench's seed: one organization, projects to spread writes over, and credentials of both
// kinds with known secrets.
import { writeFileSync } from 'node:fs';

export const ORG = '66a0f0c0a1b2c3d4e5f60001';
export const PROJECTS = Array.from({ length: 256 }, (_, i) => `66a0f0c0a1b2c3d4e5f6${(0x1000 + i).toString(16)}`);
export const KEY = { publicKey: 'benchkey', privateKey: 'bench-private-key-0000000000000001' };
export const SA = { clientId: 'mdb_sa_id_bench', clientSecret: 'mdb_sa_sk_bench-secret-0000000001' };

export function writeSeed(file) {
  writeFileSync(
    file,
    JSON.stringify({
      organizations: [{ id: ORG, name: 'bench' }],
      projects: PROJECTS.map((id, i) => ({ id, orgId: ORG, name: `bench-${i}` })),
      apiKeys: [{ ...KEY, roles: [{ orgId: ORG, roleName: 'ORG_OWNER' }] }],
      serviceAccounts: [{ ...SA, roles: [{ orgId: ORG, roleName: 'ORG_OWNER' }] }],
    }),
  );
}
