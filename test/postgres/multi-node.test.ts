import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { digestAuthorization } from '../support/digest-auth.js';
import { basicAuth, callControl, CheckedClient, mintToken, rawRequest, scratch, tokenRequest, waitFor, writeSeed } from '../support/harness.js';
import { type ServerProcess, spawnServer } from '../support/process.js';
import { collectionPath, itemPath, KEYS, ORG_A, P1, P2, SERVICE_ACCOUNTS, WORLD } from '../support/world.js';

// Three snaplink processes on one PostgreSQL database, requests spread over them as a load
// balancer would: the same answers whichever node is asked, and background work done once.

const TOKEN = 'multi-node-admin-token';
const { fresh, cleanup } = scratch();
let nodes: ServerProcess[] = [];
let databaseUrl = '';
let n = 0;
/** Round-robin, as a load balancer would spread requests. */
const next = () => nodes[n++ % nodes.length]!;

before(async () => {
  const { dir, args, databaseUrl: url } = await fresh();
  databaseUrl = url!;
  const seed = writeSeed(dir);
  const common = [...args, '--seed', seed, '--admin-token', TOKEN, '--hold-initiating', '1', '--hold-pending-acceptance', '0.3', '--hold-deleting', '0.3', '--runner-lease', '2'];
  // Started together: migrations, the seed and the first-start checks must not trip over each other.
  nodes = await Promise.all([spawnServer(common), spawnServer(common), spawnServer(common)]);
});
after(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  await cleanup();
});

const api = (node: ServerProcess, key: keyof typeof KEYS = 'orgOwnerA') => new CheckedClient({ baseUrl: node.url, ...KEYS[key] });
const control = (node: ServerProcess, method: string, path: string, body?: unknown) => callControl(node.url, TOKEN, method, path, body);

describe('three nodes, one database', () => {
  test('started together on one empty database, all three migrated it, seeded it and are ready', async () => {
    // Three processes racing through migrations and the seed would fail to start (a migration
    // applied twice errors) or come up unready; each must answer /ready, on the shared schema.
    for (const node of nodes) assert.equal((await fetch(`${node.url}/_snaplink/ready`)).status, 200);
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ name: string }>('select name from snaplink_migrations');
      assert.ok(rows.length > 0);
      const projects = await db.query<{ n: number }>('select count(*)::int as n from projects');
      assert.equal(projects.rows[0]!.n, WORLD.projects?.length);
      // Each node's connections carry its name, so an operator (and the takeover test) can tell them apart.
      const names = await Promise.all(nodes.map(async (node) => (await control(node, 'GET', '/_snaplink/status')).body.node as string));
      const connected = await db.query<{ name: string }>("select distinct application_name as name from pg_stat_activity where datname = current_database() and application_name like 'snaplink %'");
      assert.deepEqual(connected.rows.map((r) => r.name).sort(), names.map((name) => `snaplink ${name}`).sort());
    } finally {
      await db.end();
    }
  });

  test('32 concurrent creates of one region across the nodes: one 201, the rest 409', async () => {
    const clients = nodes.map((node) => api(node));
    const results = await Promise.all(
      Array.from({ length: 32 }, (_, i) => clients[i % 3]!.request('POST', collectionPath(P2), { body: { cloudProvider: 'AWS', regionName: 'AP_SOUTHEAST_3' } })),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual([statuses.filter((s) => s === 201).length, statuses.filter((s) => s === 409).length], [1, 31]);
  });

  test('32 concurrent creates of one project name across the nodes: one 201, the rest 409 GROUP_ALREADY_EXISTS', async () => {
    const V = 'application/vnd.atlas.2023-01-01+json';
    const clients = nodes.map((node) => new CheckedClient({ baseUrl: node.url, ...KEYS.orgOwnerA, headers: { accept: V, 'content-type': V } }));
    // Each client answers its Digest challenge first, so the creates below really run at once.
    for (const c of clients) await c.request('GET', '/api/atlas/v2/groups');
    const results = await Promise.all(Array.from({ length: 32 }, (_, i) => clients[i % 3]!.request<any>('POST', '/api/atlas/v2/groups', { body: { name: 'raced', orgId: ORG_A } })));
    const codes = results.map((r) => (r.status === 201 ? 201 : `${r.status} ${r.body.errorCode}`));
    assert.deepEqual([codes.filter((c) => c === 201).length, codes.filter((c) => c === '409 GROUP_ALREADY_EXISTS').length], [1, 31], JSON.stringify(codes));
  });

  test('a project made through one node is served by every node at once: an endpoint in it, reads, and a delete once it is empty', async () => {
    const V = 'application/vnd.atlas.2023-01-01+json';
    const projects = (node: ServerProcess) => new CheckedClient({ baseUrl: node.url, ...KEYS.orgOwnerA, headers: { accept: V, 'content-type': V } });
    const made = await projects(nodes[0]!).request<any>('POST', '/api/atlas/v2/groups', { body: { name: 'across-nodes', orgId: ORG_A } });
    assert.equal(made.status, 201);
    const endpoint = await api(nodes[1]!).createPrivateEndpoint(made.body.id, { regionName: 'EU_NORTH_1' });
    assert.equal((await projects(nodes[2]!).request('GET', `/api/atlas/v2/groups/byName/across-nodes`)).status, 200);
    assert.equal((await projects(nodes[2]!).request<any>('DELETE', `/api/atlas/v2/groups/${made.body.id}`)).body.errorCode, 'CANNOT_CLOSE_GROUP_ACTIVE_ATLAS_PRIVATE_ENDPOINT_SERVICES');
    await api(nodes[0]!).deletePrivateEndpoint(made.body.id, endpoint.id);
    await waitFor(() => api(next()).request('GET', itemPath(made.body.id, endpoint.id)), (r) => r.status === 404, 15_000, 'the endpoint gone');
    assert.equal((await projects(nodes[1]!).request('DELETE', `/api/atlas/v2/groups/${made.body.id}`)).status, 202);
    for (const node of nodes) assert.equal((await api(node).request<any>('GET', collectionPath(made.body.id))).body.errorCode, 'GROUP_NOT_FOUND');
  });

  test('a token minted on one node works on the others; revoked on one, refused by all', async () => {
    const { clientId, clientSecret } = SERVICE_ACCOUNTS.saOrgA;
    const token = await mintToken(nodes[0]!.url, clientId, clientSecret);
    for (const node of nodes) assert.equal((await new CheckedClient({ baseUrl: node.url, accessToken: token }).request('GET', collectionPath(P1))).status, 200);
    const revoked = await tokenRequest(nodes[1]!.url, { authorization: basicAuth(clientId, clientSecret) }, `token=${token}`, '/api/oauth/revoke');
    assert.equal(revoked.status, 200);
    for (const node of nodes) assert.equal((await new CheckedClient({ baseUrl: node.url, accessToken: token }).request('GET', collectionPath(P1))).status, 401);
  });

  test('a Digest nonce from one node validates on another, and a replay is refused on a third', async () => {
    const challenge = await rawRequest(nodes[0]!.url, 'GET', collectionPath(P1), { accept: 'application/vnd.atlas.2024-11-13+json' });
    const nonce = /nonce="([^"]+)"/.exec(String(challenge.headers['www-authenticate']))![1]!;
    const uri = collectionPath(P1);
    const authorization = digestAuthorization({ nonce, nc: 1, uri });
    const headers = { accept: 'application/vnd.atlas.2024-11-13+json', authorization };
    assert.equal((await rawRequest(nodes[1]!.url, 'GET', uri, headers)).status, 200);
    assert.equal((await rawRequest(nodes[2]!.url, 'GET', uri, headers)).status, 401);
  });

  test('faults and the virtual clock are shared', async () => {
    const added = await control(nodes[0]!, 'POST', '/_snaplink/faults', { kind: 'HTTP_ERROR', operation: 'list', groupId: P1, status: 503, errorCode: 'SERVICE_UNAVAILABLE', count: 1 });
    assert.equal(added.status, 201);
    const seen = [];
    for (const node of [nodes[2]!, nodes[1]!, nodes[0]!]) seen.push((await api(node).request('GET', collectionPath(P1))).status);
    assert.deepEqual(seen, [503, 200, 200], 'fired once, wherever it was asked');
    assert.equal((await control(nodes[1]!, 'POST', '/_snaplink/clock/advance', { seconds: 5 })).status, 200);
    const clock = (await control(nodes[2]!, 'GET', '/_snaplink/clock')).body as { offsetSeconds: number };
    assert.equal(clock.offsetSeconds, 5);
    await control(nodes[0]!, 'POST', '/_snaplink/reset');
  });

  test('a node killed holding leases: the others take its work over once the leases lapse, none runs twice', async () => {
    const [victim, ...survivors] = nodes as [ServerProcess, ...ServerProcess[]];
    const owner = (JSON.parse(victim.stdout().split('\n').find((l) => l.includes('"msg":"transition runner started"'))!) as { owner: string }).owner;
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const ids: string[] = [];
    const held: string[] = [];
    try {
      // The survivors are paused, so the victim claims the work when it falls due. The rows it
      // holds are locked the moment the store shows its leases: it can neither apply nor give
      // them back before it is killed. Its connections are then cut, or a statement of its
      // already waiting on those locks would run after it died.
      for (const node of survivors) node.proc.kill('SIGSTOP');
      const regions = ['US_EAST_1', 'US_EAST_2', 'US_WEST_1', 'US_WEST_2', 'EU_WEST_1', 'EU_WEST_2', 'EU_WEST_3', 'EU_CENTRAL_1', 'EU_NORTH_1', 'AP_EAST_1', 'AP_SOUTH_1', 'AP_NORTHEAST_1', 'AP_NORTHEAST_2', 'AP_SOUTHEAST_1', 'AP_SOUTHEAST_2', 'CA_CENTRAL_1', 'SA_EAST_1', 'ME_SOUTH_1', 'AF_SOUTH_1', 'US_GOV_WEST_1'];
      for (const groupId of [P1, P2]) {
        for (const regionName of regions) ids.push((await api(victim).createPrivateEndpoint(groupId, { regionName })).id);
      }
      await db.query('begin');
      const until = Date.now() + 10_000;
      while (held.length === 0) {
        const { rows } = await db.query<{ id: string }>('select id from private_endpoints where lease_owner = $1 and lease_until > $2 for update', [owner, Date.now()]);
        held.push(...rows.map((r) => r.id).filter((id) => ids.includes(id)));
        if (held.length === 0 && Date.now() > until) throw new Error('timed out waiting for the victim to claim due work');
      }
      victim.proc.kill('SIGKILL');
      await victim.exited;
      await db.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1', [`snaplink ${owner}`]);
      await db.query('commit');
      const { rows } = await db.query<{ id: string }>('select id from private_endpoints where lease_owner = $1', [owner]);
      assert.deepEqual(rows.map((r) => r.id).filter((id) => held.includes(id)).sort(), [...held].sort(), 'what the victim held is still leased to it');
    } finally {
      for (const node of survivors) node.proc.kill('SIGCONT');
      await db.end();
    }
    assert.ok(held.length > 0, 'the victim died holding leases (else this test proves nothing about takeover)');

    const survivor = api(survivors[0]!);
    await waitFor(
      async () => [...(await survivor.listPrivateEndpoints(P1)).results, ...(await survivor.listPrivateEndpoints(P2)).results],
      (all) => ids.every((id) => all.find((e) => e.id === id)?.status === 'ACTIVE'),
      30_000,
      'every endpoint to become ACTIVE',
    );
    // What the victim held was moved on by a survivor.
    const bySurvivors = survivors.flatMap((node) => node.stdout().split('\n').filter((l) => l.includes('"msg":"endpoint transition"')));
    for (const id of held) assert.ok(bySurvivors.some((l) => l.includes(`"endpointId":"${id}"`)), `a survivor took over ${id}`);
    // Every applied transition is logged by the node that applied it.
    const applied = new Map<string, number>();
    for (const node of nodes) {
      for (const line of node.stdout().split('\n')) {
        if (!line.includes('"msg":"endpoint transition"')) continue;
        const l = JSON.parse(line) as { endpointId: string; from: string; to: string };
        if (!ids.includes(l.endpointId)) continue;
        const key = `${l.endpointId} ${l.from}→${l.to}`;
        applied.set(key, (applied.get(key) ?? 0) + 1);
      }
    }
    const twice = [...applied].filter(([, count]) => count > 1);
    assert.deepEqual(twice, [], 'no transition ran twice');
    nodes = survivors;
  });
  test('one request journal for every node: a client behind a load balancer sees all of its requests', async () => {
    // (If the takeover test above failed before it dropped its victim, leave the dead node out.)
    nodes = nodes.filter((node) => node.proc.exitCode === null && node.proc.signalCode === null);
    const names = await Promise.all(nodes.map(async (node) => (await control(node, 'GET', '/_snaplink/status')).body.node as string));
    assert.equal(new Set(names).size, nodes.length);
    const ids = nodes.flatMap((node, i) => [0, 1].map((k) => ({ node, name: names[i]!, requestId: `lb-${i}-${k}` })));
    for (const x of ids) assert.equal((await api(x.node).request('GET', collectionPath(P1), { headers: { 'x-request-id': x.requestId } })).status, 200);
    // Asked of any node, the journal holds every node's entries (written off the request path: wait for the batches).
    for (const asked of nodes) {
      const seen = await waitFor(
        async () => (await control(asked, 'GET', '/_snaplink/requests?operation=list&status=200&limit=1000')).body.results as { requestId: string; node: string }[],
        (results) => ids.every((x) => results.some((r) => r.requestId === x.requestId)),
        10_000,
        'every node’s entries',
      );
      for (const x of ids) assert.equal(seen.find((r) => r.requestId === x.requestId)!.node, x.name, `${x.requestId} names the node that answered it`);
    }
  });
});
