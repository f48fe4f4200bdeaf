// Fills a store quickly for the scale scenario: the schema is snaplink's own (created by its
// migrations, through openStore) and so are the query layer and its constraints; the rows are
// written in bulk — multi-row inserts in one transaction on SQLite, generate_series on
// PostgreSQL.
import { applySeed } from '../dist/identity/seed.js';
import { openStore } from '../dist/store/database.js';
import { sql } from 'kysely';
import { AWS_REGIONS } from '../dist/atlas/regions.js';
import { KEY, SA } from './world.mjs';

const hex24 = (prefix, n) => prefix + n.toString(16).padStart(24 - prefix.length, '0');
export const projectId = (p) => hex24('7e', p);
/** Endpoint ids sort in creation order, like ObjectIds. */
export const endpointId = (p, k) => hex24('6e', p * 1000 + k);
export const ORG = '7a0000000000000000000001';
const regions = AWS_REGIONS;

/** The k-th endpoint of a project is in this region pair (the SQL below spells the same). */
export const pairOf = (k) => ({ regionName: regions[k % 27], vpcRegionName: regions[Math.floor(k / 27) % 27] });

/**
 * `projects` projects with `perProject` endpoints each (region pairs in order), plus project 0
 * holding `large` endpoints; every endpoint ACTIVE and at rest.
 */
export async function loadStore(storeOptions, { projects, perProject, large }) {
  const t0 = performance.now();
  const store = await openStore(storeOptions);
  try {
    await applySeed(store, {
      organizations: [{ id: ORG, name: 'scale' }],
      apiKeys: [{ ...KEY, orgId: ORG, roles: [{ orgId: ORG, roleName: 'ORG_OWNER' }] }],
      serviceAccounts: [{ ...SA, orgId: ORG, roles: [{ orgId: ORG, roleName: 'ORG_OWNER' }] }],
    });
    const now = Date.now();
    const rows = (p, n) => Array.from({ length: n }, (_, k) => ({ p, k, ...pairOf(k) }));
    if (store.dialect === 'postgres') {
      await sql`insert into projects (id, org_id, name, created_at)
        select '7e' || lpad(to_hex(p), 22, '0'), ${ORG}, 'p' || p, ${now} from generate_series(0, ${projects - 1}::int) p`.execute(store.db);
      const regionArray = `{${regions.join(',')}}`;
      await sql`insert into private_endpoints (id, group_id, cloud_provider, region_name, vpc_region_name, status, connection_name, created_at, updated_at)
        select '6e' || lpad(to_hex(p * 1000 + k), 22, '0'), '7e' || lpad(to_hex(p), 22, '0'), 'AWS',
               (${regionArray}::text[])[k % 27 + 1], (${regionArray}::text[])[(k / 27) % 27 + 1], 'ACTIVE',
               'vpce-' || lpad(to_hex(p * 1000 + k), 17, '0'), ${now}, ${now}
        from generate_series(0, ${projects - 1}::int) p, generate_series(0, ${perProject - 1}::int) k`.execute(store.db);
      await sql`insert into private_endpoints (id, group_id, cloud_provider, region_name, vpc_region_name, status, connection_name, created_at, updated_at)
        select '6e' || lpad(to_hex(k), 22, '0'), '7e' || lpad(to_hex(0), 22, '0'), 'AWS',
               (${regionArray}::text[])[k % 27 + 1], (${regionArray}::text[])[(k / 27) % 27 + 1], 'ACTIVE',
               'vpce-' || lpad(to_hex(k), 17, '0'), ${now}, ${now}
        from generate_series(${perProject}::int, ${large - 1}::int) k`.execute(store.db);
      await sql`analyze`.execute(store.db);
    } else {
      await store.db.transaction().execute(async (trx) => {
        const chunk = 500;
        const insertProjects = async (from, to) => {
          const values = [];
          for (let p = from; p < to; p++) values.push({ id: projectId(p), org_id: ORG, name: `p${p}`, created_at: now });
          await trx.insertInto('projects').values(values).execute();
        };
        for (let p = 0; p < projects; p += chunk) await insertProjects(p, Math.min(projects, p + chunk));
        let batch = [];
        const flush = async () => {
          if (batch.length) await trx.insertInto('private_endpoints').values(batch).execute();
          batch = [];
        };
        const add = (p, k, pair) => {
          batch.push({
            id: endpointId(p, k),
            group_id: projectId(p),
            cloud_provider: 'AWS',
            region_name: pair.regionName,
            vpc_region_name: pair.vpcRegionName,
            status: 'ACTIVE',
            connection_name: `vpce-${(p * 1000 + k).toString(16).padStart(17, '0')}`,
            error_message: null,
            created_at: now,
            updated_at: now,
            due_at: null,
          });
        };
        for (let p = 0; p < projects; p++) {
          for (const r of rows(p, p === 0 ? large : perProject)) add(r.p, r.k, r);
          if (batch.length >= 2500) await flush();
        }
        await flush();
      });
    }
  } finally {
    await store.close();
  }
  return Math.round(performance.now() - t0);
}
