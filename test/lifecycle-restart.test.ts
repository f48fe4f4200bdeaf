import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { callControl, CheckedClient, scratch, waitFor, writeSeed } from './support/harness.js';
import { snaplinkCli, spawnServer } from './support/process.js';
import { collectionPath, itemPath, KEYS, P1 } from './support/world.js';

// The lifecycle across a crash, a graceful stop, and driven from the command line.

const { fresh, cleanup } = scratch();
after(cleanup);

const TOKEN = 'restart-test-token';

test('endpoints INITIATING and DELETING when the process is killed finish their paths after restart', async () => {
  const { dir, args: store } = await fresh();
  const args = [...store, '--seed', writeSeed(dir), '--hold-initiating', '1', '--hold-pending-acceptance', '0.2', '--hold-deleting', '1'];
  const first = await spawnServer(args);
  const c = new CheckedClient({ baseUrl: first.url, ...KEYS.orgOwnerA });
  const initiating = [];
  for (const regionName of ['US_EAST_1', 'US_EAST_2', 'US_WEST_1']) initiating.push((await c.createPrivateEndpoint(P1, { regionName })).id);
  const doomed = (await c.createPrivateEndpoint(P1, { regionName: 'EU_WEST_1' })).id;
  await c.deletePrivateEndpoint(P1, doomed);
  assert.equal((await c.getPrivateEndpoint(P1, doomed)).status, 'DELETING');
  first.proc.kill('SIGKILL');
  await first.exited;
  // Let every transition fall due while nothing runs.
  await new Promise((r) => setTimeout(r, 1200));

  const second = await spawnServer(args);
  try {
    const c2 = new CheckedClient({ baseUrl: second.url, ...KEYS.orgOwnerA });
    await waitFor(
      async () => (await c2.listPrivateEndpoints(P1)).results,
      (rs) => rs.length === 3 && rs.every((e) => e.status === 'ACTIVE' && /^vpce-/.test(e.privateEndpointConnectionName ?? '')),
      10_000,
      'the INITIATING endpoints to become ACTIVE',
    );
    assert.deepEqual((await c2.listPrivateEndpoints(P1)).results.map((e) => e.id), initiating);
    assert.equal((await c2.request('GET', itemPath(P1, doomed))).status, 404, 'the acknowledged DELETE completed');
  } finally {
    await second.stop();
  }
});

test('SIGTERM lets in-flight requests finish, then exits 0', async () => {
  const { dir, args: store } = await fresh();
  const server = await spawnServer([...store, '--seed', writeSeed(dir), '--admin-token', TOKEN]);
  const add = await callControl<{ id: string }>(server.url, TOKEN, 'POST', '/_snaplink/faults', { kind: 'LATENCY', operation: 'list', latencyMs: 800 });
  assert.equal(add.status, 201);
  const c = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerA });
  await c.listPrivateEndpoints('6650f0c0a1b2c3d4e5f60102').catch(() => undefined); // warm the Digest nonce (this one is slow too)
  const slow = c.request('GET', collectionPath(P1));
  // SIGTERM once the server holds the request (its fault has fired a second time), however
  // slowly this machine runs.
  await waitFor(async () => (await callControl<{ fired: number }>(server.url, TOKEN, 'GET', `/_snaplink/faults/${add.body.id}`)).body.fired, (fired) => fired >= 2, 10_000, 'the slow request to be held');
  const exited = server.stop();
  const res = await slow;
  assert.equal(res.status, 200, 'the in-flight request was answered');
  assert.equal(await exited, 0);
  assert.match(server.stdout(), /shutting down/);
});

test('a shell script drives faults, the clock, the endpoint view and reset through the CLI', async () => {
  const { dir, args: store } = await fresh();
  const server = await spawnServer([...store, '--seed', writeSeed(dir), '--timings', 'realistic', '--admin-token', TOKEN]);
  const env = { SNAPLINK_URL: server.url, SNAPLINK_ADMIN_TOKEN: TOKEN };
  const cli = async (...args: string[]) => {
    const r = await snaplinkCli(args, env);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout === '' ? undefined : JSON.parse(r.stdout);
  };
  try {
    const fault = await cli('faults', 'add', '--kind', 'FAIL_PROVISIONING', '--region', 'GLOBAL', '--count', '1', '--message', 'No capacity.');
    assert.equal(fault.kind, 'FAIL_PROVISIONING');
    const c = new CheckedClient({ baseUrl: server.url, ...KEYS.orgOwnerA });
    const e = await c.createPrivateEndpoint(P1, { regionName: 'GLOBAL' });
    const clock = await cli('clock', 'advance', '181');
    assert.equal(clock.offsetSeconds, 181);
    await waitFor(() => c.getPrivateEndpoint(P1, e.id), (x) => x.status === 'FAILED', 5000);
    assert.equal((await c.getPrivateEndpoint(P1, e.id)).errorMessage, 'No capacity.');
    const view = await cli('endpoints', '--status', 'FAILED');
    assert.deepEqual(view.results.map((x: { id: string }) => x.id), [e.id]);
    const faults = await cli('faults', 'list');
    assert.deepEqual([faults.results[0].fired, faults.results[0].remaining], [1, 0]);
    assert.equal(await cli('faults', 'remove', fault.id), undefined);
    const { deletedRequests, ...reset } = await cli('reset');
    assert.deepEqual(reset, { deletedEndpoints: 1, deletedFaults: 0 });
    assert.ok(deletedRequests >= 1, 'the journal is emptied too');
    assert.equal((await cli('clock', 'show')).offsetSeconds, 0);

    const denied = await snaplinkCli(['faults', 'list'], { ...env, SNAPLINK_ADMIN_TOKEN: 'wrong' });
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /refused the admin token \(401\)/);
  } finally {
    await server.stop();
  }
});

test('a first start without SNAPLINK_ADMIN_TOKEN prints a generated token once; admin-token reset replaces it', async () => {
  const { dir, args: store } = await fresh();
  const first = await spawnServer([...store]);
  let token = '';
  try {
    token = (await waitFor(async () => /admin token +(\S+)/.exec(first.stderr()), (m) => m !== null, 5000, 'the token banner'))![1]!;
    const ok = await callControl(first.url, token, 'GET', '/_snaplink/faults');
    assert.equal(ok.status, 200);
    const reset = await snaplinkCli(['admin-token', 'reset', ...store]);
    const fresh = JSON.parse(reset.stdout).adminToken as string;
    assert.equal((await callControl(first.url, token, 'GET', '/_snaplink/faults')).status, 401, 'the old token is refused at once');
    assert.equal((await callControl(first.url, fresh, 'GET', '/_snaplink/faults')).status, 200);
  } finally {
    await first.stop();
  }
  const second = await spawnServer([...store]);
  await second.stop();
  // Read once it has exited: everything it printed is in by then.
  assert.doesNotMatch(second.stderr(), /admin token/);
});
