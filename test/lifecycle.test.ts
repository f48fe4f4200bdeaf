import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { PrivateEndpoint } from '../src/client/index.js';
import { TIMING_PROFILES } from '../src/endpoints/lifecycle.js';
import { startTestServer, type TestServer, waitFor, watchEndpoint } from './support/harness.js';
import { collectionPath, itemPath, P1, P2 } from './support/world.js';

// A real server moving endpoints through every path of DESIGN.md §4's state machine.

// Long enough that a 20 ms poller on a loaded CI machine still sees every status (an exact
// sequence is asserted): only a stall of 1.5 s would skip one.
const HOLD = 1500;
const VPCE = /^vpce-[0-9a-f]{17}$/;

const watch = (server: TestServer, groupId: string, id: string, until: (e: PrivateEndpoint | undefined) => boolean, start?: PrivateEndpoint) =>
  watchEndpoint(server.client('orgOwnerA'), groupId, id, until, start);

describe('with short holds', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ timings: { INITIATING: HOLD, PENDING_ACCEPTANCE: HOLD, DELETING: HOLD, PENDING_RECREATION: HOLD } });
  });
  after(() => server.close());
  const c = () => server.client('orgOwnerA');

  test('INITIATING → PENDING_ACCEPTANCE (a vpce- name appears) → ACTIVE', async () => {
    const e = await c().createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
    assert.equal(e.status, 'INITIATING');
    assert.equal(e.privateEndpointConnectionName, undefined);
    const { seen, statuses } = await watch(server, P1, e.id, (x) => x?.status === 'ACTIVE', e);
    assert.deepEqual(statuses, ['INITIATING', 'PENDING_ACCEPTANCE', 'ACTIVE']);
    assert.match(seen[1]!.privateEndpointConnectionName!, VPCE);
    assert.equal(seen[2]!.privateEndpointConnectionName, seen[1]!.privateEndpointConnectionName);
    assert.equal(seen[2]!.errorMessage, undefined);
  });

  test('DELETING → gone: GET answers 404 and the region is free again', async () => {
    const e = await c().createPrivateEndpoint(P1, { regionName: 'US_EAST_2' });
    await watch(server, P1, e.id, (x) => x?.status === 'ACTIVE');
    await c().deletePrivateEndpoint(P1, e.id);
    const { statuses } = await watch(server, P1, e.id, (x) => x === undefined);
    assert.deepEqual(statuses, ['DELETING']);
    const gone = await c().request<{ errorCode: string }>('GET', itemPath(P1, e.id));
    assert.equal(gone.status, 404);
    assert.equal(gone.body.errorCode, 'RESOURCE_NOT_FOUND');
    assert.equal((await c().createPrivateEndpoint(P1, { regionName: 'US_EAST_2' })).status, 'INITIATING');
  });

  test('a delete while INITIATING wins over the pending provisioning step', async () => {
    const e = await c().createPrivateEndpoint(P1, { regionName: 'US_WEST_1' });
    await c().deletePrivateEndpoint(P1, e.id);
    const { statuses } = await watch(server, P1, e.id, (x) => x === undefined);
    assert.deepEqual(statuses, ['DELETING']);
  });

  test('an injected provisioning failure ends in FAILED with its errorMessage; a FAILED endpoint can be deleted', async () => {
    const fault = await server.control('POST', '/_snaplink/faults', { kind: 'FAIL_PROVISIONING', groupId: P2, regionName: 'EU_WEST_1', count: 1, message: 'Quota of interface endpoints reached.' });
    assert.equal(fault.status, 201);
    const e = await c().createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    const { last, statuses } = await watch(server, P2, e.id, (x) => x?.status === 'FAILED', e);
    assert.deepEqual(statuses, ['INITIATING', 'FAILED']);
    assert.equal(last!.errorMessage, 'Quota of interface endpoints reached.');
    await c().deletePrivateEndpoint(P2, e.id);
    await watch(server, P2, e.id, (x) => x === undefined);
    // Used up: the next one in that region provisions normally.
    const again = await c().createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    assert.equal((await watch(server, P2, again.id, (x) => x?.status === 'ACTIVE')).last!.status, 'ACTIVE');
  });

  test('a lost ACTIVE endpoint goes PENDING_RECREATION → INITIATING → … → ACTIVE with a new connection name', async () => {
    const e = await c().createPrivateEndpoint(P2, { regionName: 'AP_SOUTH_1' });
    const before = (await watch(server, P2, e.id, (x) => x?.status === 'ACTIVE')).last!;
    const fault = await server.control('POST', '/_snaplink/faults', { kind: 'LOSE_ENDPOINT', groupId: P2, regionName: 'AP_SOUTH_1', count: 1 });
    assert.equal(fault.status, 201);
    const { statuses, last } = await watch(server, P2, e.id, (x) => x?.status === 'ACTIVE' && x.privateEndpointConnectionName !== before.privateEndpointConnectionName);
    // The runner may lose it before the first poll sees it ACTIVE again.
    assert.deepEqual(statuses[0] === 'ACTIVE' ? statuses.slice(1) : statuses, ['PENDING_RECREATION', 'INITIATING', 'PENDING_ACCEPTANCE', 'ACTIVE']);
    assert.match(last!.privateEndpointConnectionName!, VPCE);
    assert.notEqual(last!.privateEndpointConnectionName, before.privateEndpointConnectionName);
  });

  test('the transitions are counted in the metrics', async () => {
    const text = await (await fetch(`${server.url}/_snaplink/metrics`)).text();
    assert.match(text, /snaplink_transitions_total\{from="INITIATING",to="PENDING_ACCEPTANCE"\} [1-9]/);
    assert.match(text, /snaplink_transitions_total\{from="DELETING",to="gone"\} [1-9]/);
    assert.match(text, /snaplink_transitions_total\{from="ACTIVE",to="PENDING_RECREATION"\} 1/);
    assert.match(text, /snaplink_endpoints\{status="ACTIVE"\} [1-9]/);
  });
});

describe('with holds of 0', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ timings: { INITIATING: 0, PENDING_ACCEPTANCE: 0, DELETING: 0, PENDING_RECREATION: 0 } });
  });
  after(() => server.close());

  test('a list page shows each endpoint byte for byte as its GET does, in every state and with any errorMessage', async () => {
    // SQLite builds list pages as JSON itself (EndpointRepository.page); GET goes through toWire.
    const c = server.client('orgOwnerA');
    const message = 'Quota "exceeded"\n\tback\\slash é ✓ \u0001 \u2028 end';
    assert.equal((await server.control('POST', '/_snaplink/faults', { kind: 'FAIL_PROVISIONING', groupId: P2, regionName: 'EU_WEST_2', count: 1, message })).status, 201);
    const failed = await c.createPrivateEndpoint(P2, { regionName: 'EU_WEST_2' });
    const active = await c.createPrivateEndpoint(P2, { regionName: 'EU_WEST_3', vpcRegionName: 'US_EAST_1' });
    await watch(server, P2, failed.id, (x) => x?.status === 'FAILED');
    await watch(server, P2, active.id, (x) => x?.status === 'ACTIVE');
    const list = await c.request<{ results: PrivateEndpoint[] }>('GET', collectionPath(P2), { query: { itemsPerPage: 500, includeCount: true } });
    assert.ok(list.body.results.length >= 2);
    for (const e of list.body.results) {
      const one = await c.request('GET', itemPath(P2, e.id));
      assert.ok(list.text.includes(one.text), `list entry differs from GET:\n${one.text}\n${list.text}`);
    }
    assert.equal(list.body.results.find((e) => e.id === failed.id)!.errorMessage, message);
    // The page's JSON is what JSON.stringify makes of it, whatever builds it.
    assert.equal(list.text, JSON.stringify(list.body));
    for (const query of [{ pretty: true }, { envelope: true }, { pretty: true, envelope: true, includeCount: false }]) {
      const variant = await c.request<Record<string, unknown>>('GET', collectionPath(P2), { query: { itemsPerPage: 500, ...query } });
      const expected: Record<string, unknown> = { links: (variant.body as { links: unknown }).links, results: list.body.results };
      if (query.includeCount !== false) expected.totalCount = (list.body as unknown as { totalCount: number }).totalCount;
      if (query.envelope) expected.status = 200;
      assert.equal(variant.text, query.pretty ? JSON.stringify(expected, null, 2) : JSON.stringify(expected));
    }
  });

  test('each transient status passes at once: its next step is due the moment it is scheduled', async () => {
    const c = server.client('orgOwnerA');
    // Not timed (a loaded machine may be slow to run it): an endpoint still in a transient
    // status must be due already. A hold of 2 s instead of 0 leaves it due 2 s ahead.
    const dueNow = async (id: string) => {
      const { body } = await server.control('GET', `/_snaplink/endpoints?groupId=${P1}`);
      const e = body.results.find((x: { id: string }) => x.id === id);
      if (e?.dueAt) assert.ok(Date.parse(e.dueAt) <= Date.parse(body.clock), `${e.status} is due at ${e.dueAt}, after the clock's ${body.clock}`);
    };
    const e = await c.createPrivateEndpoint(P1, { regionName: 'SA_EAST_1' });
    await dueNow(e.id);
    await watch(server, P1, e.id, (x) => x?.status === 'ACTIVE');
    await c.deletePrivateEndpoint(P1, e.id);
    await dueNow(e.id);
    await watch(server, P1, e.id, (x) => x === undefined);
  });
});

describe('the realistic profile and the virtual clock', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ timings: TIMING_PROFILES.realistic });
  });
  after(() => server.close());

  test('advancing the clock walks the lifecycle exactly as the holds say, in no time', async () => {
    const c = server.client('orgOwnerA');
    const e = await c.createPrivateEndpoint(P1, { regionName: 'EU_NORTH_1' });
    const status = async () => (await c.getPrivateEndpoint(P1, e.id)).status;
    const advance = async (seconds: number) => {
      const res = await server.control('POST', '/_snaplink/clock/advance', { seconds });
      assert.equal(res.status, 200);
      return res.body;
    };

    await advance(170); // INITIATING lasts 180 s (10 s of margin for real time passing)
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await status(), 'INITIATING');
    await advance(15);
    await waitFor(status, (s) => s === 'PENDING_ACCEPTANCE', 5000);
    // PENDING_ACCEPTANCE lasts 120 s from when it began (t = 180 s), so it ends at t = 300 s.
    // The virtual clock also moves with real time, hence a few seconds' margin either side.
    const clock = await advance(110);
    assert.equal(clock.offsetSeconds, 295);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await status(), 'PENDING_ACCEPTANCE');
    await advance(6);
    await waitFor(status, (s) => s === 'ACTIVE', 5000);

    // One big jump runs a whole delete.
    await c.deletePrivateEndpoint(P1, e.id);
    await advance(121);
    await waitFor(async () => (await c.request('GET', itemPath(P1, e.id))).status, (s) => s === 404, 5000);
  });

  test('a repeated DELETE answers 204 and does not push the deletion back', async () => {
    const c = server.client('orgOwnerA');
    const e = await c.createPrivateEndpoint(P2, { regionName: 'EU_CENTRAL_1' });
    const dueAt = async () => (await server.control('GET', `/_snaplink/endpoints?groupId=${P2}`)).body.results.find((x: { id: string }) => x.id === e.id).dueAt;
    await c.deletePrivateEndpoint(P2, e.id);
    const first = await dueAt();
    assert.ok(first);
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 60 });
    assert.equal((await c.request('DELETE', itemPath(P2, e.id))).status, 204);
    assert.equal(await dueAt(), first);
    // DELETING lasts 120 s from the first delete: 61 s more ends it, however often it was repeated.
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 61 });
    await waitFor(async () => (await c.request('GET', itemPath(P2, e.id))).status, (s) => s === 404, 5000);
  });

  test('LOSE_ENDPOINT with afterSeconds loses an ACTIVE endpoint that long after, not before', async () => {
    const c = server.client('orgOwnerA');
    const e = await c.createPrivateEndpoint(P2, { regionName: 'AP_SOUTHEAST_1' });
    const status = async () => (await c.getPrivateEndpoint(P2, e.id)).status;
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 301 });
    await waitFor(status, (s) => s === 'ACTIVE', 5000);
    const fault = await server.control('POST', '/_snaplink/faults', { kind: 'LOSE_ENDPOINT', groupId: P2, regionName: 'AP_SOUTHEAST_1', afterSeconds: 600, count: 1 });
    assert.equal(fault.status, 201);
    // The loss is scheduled 600 s ahead on the virtual clock (less what real time passed since).
    const { body } = await server.control('GET', `/_snaplink/endpoints?groupId=${P2}`);
    const listed = body.results.find((x: { id: string }) => x.id === e.id);
    const ahead = (Date.parse(listed.dueAt) - Date.parse(body.clock)) / 1000;
    assert.ok(ahead > 590 && ahead <= 600, `due ${ahead} s ahead`);
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 580 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await status(), 'ACTIVE');
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 25 });
    await waitFor(status, (s) => s === 'PENDING_RECREATION', 5000);
  });

  test('a jump across several holds runs every transition in between', async () => {
    const c = server.client('orgOwnerA');
    const e = await c.createPrivateEndpoint(P1, { regionName: 'EU_SOUTH_1' });
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 301 });
    await waitFor(async () => (await c.getPrivateEndpoint(P1, e.id)).status, (s) => s === 'ACTIVE', 5000);
  });
});
