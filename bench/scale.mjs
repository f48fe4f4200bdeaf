// The scale scenario: the same four requests against a store of 10,000 endpoints and one of
// 1,000,000 (100,000 projects), to show latency stays flat as the store grows; plus start-up
// time and memory with the large one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { endpointId, loadStore, pairOf, projectId } from './load-store.mjs';
import { collection, item, measure, V } from './scenarios.mjs';
import { startSnaplink } from './servers.mjs';
import { SA } from './world.mjs';

const LARGE = 729;

async function bearer(url) {
  const res = await fetch(`${url}/api/oauth/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${SA.clientId}:${SA.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials',
  });
  return (await res.json()).access_token;
}

function scaleScenarios(token, projects) {
  const headers = { accept: V, authorization: `Bearer ${token}` };
  // Requests go all over the store, not to one hot row.
  const pick = () => 1 + Math.floor(Math.random() * (projects - 1));
  let created = 0;
  return [
    {
      name: 'GET one',
      requests: [{ method: 'GET', headers, setupRequest: (req) => { const p = pick(); return { ...req, path: item(projectId(p), endpointId(p, Math.floor(Math.random() * 10))) }; } }],
    },
    { name: 'list of a project', requests: [{ method: 'GET', headers, setupRequest: (req) => ({ ...req, path: collection(projectId(pick())) }) }] },
    {
      name: 'create',
      requests: [
        {
          method: 'POST',
          headers: { ...headers, 'content-type': V },
          setupRequest(req) {
            const k = created++;
            const p = 1 + (k % (projects - 1));
            // The loader used pairs 0–9 of every small project: take the next free ones.
            const pair = pairOf(10 + (Math.floor(k / (projects - 1)) % (LARGE - 10)));
            return { ...req, path: collection(projectId(p)), body: JSON.stringify({ cloudProvider: 'AWS', ...pair }) };
          },
        },
      ],
    },
    { name: `last page of a ${LARGE}-endpoint project`, requests: [{ method: 'GET', headers, path: `${collection(projectId(0))}?itemsPerPage=100&pageNum=${Math.ceil(LARGE / 100)}` }] },
  ];
}

/** Runs the scale scenario on stores of each size; returns rows of the report. */
export async function runScale({ autocannon, sizes, connections, duration, warmup, storeFor, log }) {
  const results = [];
  for (const size of sizes) {
    const projects = size / 10;
    const { storeOptions, args, cleanup } = await storeFor();
    try {
      const loadMs = await loadStore(storeOptions, { projects, perProject: 10, large: LARGE });
      log(`# scale: ${size.toLocaleString('en')} endpoints loaded in ${(loadMs / 1000).toFixed(1)} s`);
      const server = await startSnaplink([...args, '--rate-limit', 'false', '--timings', 'realistic']);
      try {
        const token = await bearer(server.url);
        const row = { size, startupMs: server.startupMs, scenarios: {} };
        for (const s of scaleScenarios(token, projects)) {
          await measure(autocannon, server.url, s, { connections, duration: warmup }); // warm-up (JIT)
          row.scenarios[s.name] = await measure(autocannon, server.url, s, { connections, duration });
          log(`#   ${s.name}: ${JSON.stringify(row.scenarios[s.name])}`);
        }
        row.rssMb = server.rssMb();
        results.push(row);
      } finally {
        await server.stop();
      }
    } finally {
      await cleanup();
    }
  }
  return results;
}

export function sqliteStores() {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'snaplink-bench-'));
    return { storeOptions: { dataDir: dir }, args: ['--data-dir', dir], cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  };
}
