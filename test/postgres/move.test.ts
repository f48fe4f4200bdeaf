import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AWS_REGIONS } from '../../src/atlas/regions.js';
import { applySeed } from '../../src/identity/seed.js';
import { openStore, type StoreOptions } from '../../src/store/database.js';
import { CheckedClient, mintToken } from '../support/harness.js';
import { snaplinkCli, spawnServer } from '../support/process.js';
import { createDatabase, dropDatabase, tableSnapshot, tempDir } from '../support/stores.js';
import { collectionPath, KEYS, ORG_A, P1, SERVICE_ACCOUNTS, WORLD } from '../support/world.js';

// Moving a store of 100,000 endpoints from SQLite to PostgreSQL with `snaplink export` and
// `snaplink import`, as a team that outgrows one machine does: every endpoint arrives, and the
// old API keys and service-account secrets sign in on a server on the new store.

const ENDPOINTS = 100_000;
const dir = tempDir();
let databaseUrl: string | undefined;
after(async () => {
  if (databaseUrl) await dropDatabase(databaseUrl);
});

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');

test(`${ENDPOINTS.toLocaleString('en')} endpoints move from SQLite to PostgreSQL; every one arrives and the old credentials work`, { timeout: 600_000 }, async () => {
  // The SQLite store: the shared world, and enough projects of organization A to hold the
  // endpoints (one per region pair per project).
  const sqlite: StoreOptions = { dataDir: join(dir, 'sqlite') };
  const perProject = AWS_REGIONS.length * AWS_REGIONS.length;
  const source = await openStore(sqlite);
  try {
    await applySeed(source, WORLD);
    await source.db.transaction().execute(async (trx) => {
      const projects = Array.from({ length: Math.ceil(ENDPOINTS / perProject) }, (_, i) => ({ id: `77${hex(i, 22)}`, org_id: ORG_A, name: `bulk ${i}`, created_at: 1 }));
      await trx.insertInto('projects').values(projects).execute();
      const statuses = ['INITIATING', 'PENDING_ACCEPTANCE', 'ACTIVE', 'FAILED', 'DELETING'];
      for (let start = 0; start < ENDPOINTS; start += 2000) {
        const rows = [];
        for (let i = start; i < Math.min(ENDPOINTS, start + 2000); i++) {
          const pair = i % perProject;
          rows.push({
            id: `88${hex(i, 22)}`,
            group_id: projects[Math.floor(i / perProject)]!.id,
            cloud_provider: 'AWS',
            region_name: AWS_REGIONS[pair % AWS_REGIONS.length]!,
            vpc_region_name: AWS_REGIONS[Math.floor(pair / AWS_REGIONS.length)]!,
            status: statuses[i % statuses.length]!,
            connection_name: i % 3 === 0 ? `vpce-${hex(i, 17)}` : null,
            error_message: i % 5 === 3 ? 'it failed "badly"' : null,
            created_at: 1_700_000_000_000 + i,
            updated_at: 1_700_000_000_000 + i,
            due_at: i % 5 === 2 ? null : 4_000_000_000_000 + i, // far off: nothing moves while the test looks
            lease_owner: null,
            lease_until: null,
            attempts: i % 4,
            generation: i % 3,
          });
        }
        await trx.insertInto('private_endpoints').values(rows).execute();
      }
    });
  } finally {
    await source.close();
  }

  const file = join(dir, 'world.json');
  const exported = await snaplinkCli(['export', file, '--data-dir', sqlite.dataDir]);
  assert.equal(exported.code, 0, exported.stderr);
  databaseUrl = await createDatabase();
  const imported = await snaplinkCli(['import', file, '--database', databaseUrl]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(JSON.parse(imported.stdout).imported.private_endpoints, ENDPOINTS);

  // Row for row the same, every exported table but the settings (whose nonce secret stays behind).
  const tables = ['organizations', 'projects', 'credentials', 'api_keys', 'service_accounts', 'roles', 'access_list', 'private_endpoints'] as const;
  const snapshot = async (options: StoreOptions) => {
    const s = await openStore({ ...options, create: false });
    try {
      return await tableSnapshot(s.db, tables);
    } finally {
      await s.close();
    }
  };
  assert.ok((await snapshot({ databaseUrl })) === (await snapshot(sqlite)), 'every row arrived unchanged');

  // A real client signs in with the old keys on a server on the new store.
  const server = await spawnServer(['--database', databaseUrl, '--timings', 'none']);
  try {
    const api = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerA });
    const bulk = `77${hex(7, 22)}`;
    const page = await api.listPrivateEndpoints(bulk, { itemsPerPage: 500, includeCount: true });
    assert.equal(page.totalCount, perProject);
    const one = await api.request<any>('GET', `${collectionPath(bulk)}/88${hex(7 * perProject, 22)}`);
    assert.equal(one.status, 200);
    assert.deepEqual([one.body.status, one.body.errorMessage], ['FAILED', 'it failed "badly"'], 'an endpoint number 5,488 (FAILED, with a message) as it was');
    assert.equal((await new CheckedClient({ baseUrl: server.url, ...KEYS.ownerP1 }).request('GET', collectionPath(P1))).status, 200);
    const token = await mintToken(server.url, SERVICE_ACCOUNTS.saOrgA.clientId, SERVICE_ACCOUNTS.saOrgA.clientSecret);
    assert.equal((await new CheckedClient({ baseUrl: server.url, accessToken: token }).request('GET', collectionPath(bulk))).status, 200);
  } finally {
    await server.stop();
  }
});
