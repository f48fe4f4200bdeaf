import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import { TIMING_PROFILES } from '../src/endpoints/lifecycle.js';
import { draw } from '../src/faults/service.js';
import { Metrics } from '../src/metrics.js';
import { startTestServer, type TestServer } from './support/harness.js';
import { collectionPath, P1, P2 } from './support/world.js';

// The control API: its token, fault injection (every kind, fired exactly as configured),
// the endpoint view, reset — and the metrics.

let server: TestServer;
before(async () => {
  // Realistic timings keep endpoints where the tests put them.
  server = await startTestServer({ timings: TIMING_PROFILES.realistic });
});
after(() => server.close());
beforeEach(async () => {
  assert.equal((await server.control('POST', '/_snaplink/reset')).status, 200);
});

const create = (regionName: string, groupId = P1) =>
  server.client('orgOwnerA').request<any>('POST', collectionPath(groupId), { body: { cloudProvider: 'AWS', regionName } });
const list = (groupId = P1) => server.client('orgOwnerA').request<any>('GET', collectionPath(groupId));
const addFault = async (spec: object) => {
  const res = await server.control('POST', '/_snaplink/faults', spec);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
};

describe('the admin token', () => {
  for (const [what, header] of [
    ['no token', undefined],
    ['a wrong token', 'Bearer nope'],
    ['another scheme', 'Basic dGVzdC1hZG1pbi10b2tlbg=='],
  ] as const) {
    test(`${what}: 401 and nothing changes`, async () => {
      await addFault({ kind: 'LATENCY', latencyMs: 1 });
      for (const [method, path, body] of [
        ['GET', '/_snaplink/faults'],
        ['POST', '/_snaplink/faults', { kind: 'LATENCY', latencyMs: 5 }],
        ['POST', '/_snaplink/clock/advance', { seconds: 60 }],
        ['POST', '/_snaplink/reset'],
        ['GET', '/_snaplink/endpoints'],
      ] as const) {
        const res = await fetch(server.url + path, {
          method,
          headers: { ...(header ? { authorization: header } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
        assert.equal(res.status, 401, `${method} ${path}`);
        const err = (await res.json()) as { errorCode: string };
        assert.equal(err.errorCode, 'UNAUTHORIZED');
        assert.match(String(res.headers.get('www-authenticate')), /^Bearer/);
      }
      const faults = await server.control('GET', '/_snaplink/faults');
      assert.equal(faults.body.totalCount, 1);
      assert.equal((await server.control('GET', '/_snaplink/clock')).body.offsetSeconds, 0);
    });
  }
});

describe('faults', () => {
  test('are listed, fetched and removed; bad ones are refused with INVALID_FAULT', async () => {
    const f = await addFault({ kind: 'HTTP_ERROR', operation: 'list', status: 503, errorCode: 'SERVICE_UNAVAILABLE', count: 2, seed: 7 });
    assert.match(f.id, /^[a-f0-9]{24}$/);
    assert.deepEqual(
      { kind: f.kind, operation: f.operation, count: f.count, remaining: f.remaining, matched: f.matched, fired: f.fired, seed: f.seed },
      { kind: 'HTTP_ERROR', operation: 'list', count: 2, remaining: 2, matched: 0, fired: 0, seed: 7 },
    );
    assert.equal((await server.control('GET', `/_snaplink/faults/${f.id}`)).body.id, f.id);
    assert.equal((await server.control('DELETE', `/_snaplink/faults/${f.id}`)).status, 204);
    assert.equal((await server.control('DELETE', `/_snaplink/faults/${f.id}`)).status, 404);
    assert.equal((await server.control('GET', '/_snaplink/faults')).body.totalCount, 0);

    for (const bad of [
      {},
      { kind: 'EXPLODE' },
      { kind: 'HTTP_ERROR', status: 503 },
      { kind: 'HTTP_ERROR', status: 200, errorCode: 'X' },
      { kind: 'LATENCY' },
      { kind: 'LATENCY', latencyMs: 10, message: 'no' },
      { kind: 'FAIL_PROVISIONING', operation: 'create' },
      { kind: 'LOSE_ENDPOINT', probability: 2 },
      { kind: 'LOSE_ENDPOINT', regionName: 'MARS' },
      { kind: 'LOSE_ENDPOINT', count: 0 },
    ]) {
      const res = await server.control('POST', '/_snaplink/faults', bad);
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.errorCode, 'INVALID_FAULT');
    }
    assert.equal((await server.control('GET', '/_snaplink/faults')).body.totalCount, 0);
  });

  test('HTTP_ERROR fires exactly `count` times on its operation, changes nothing, then stops', async () => {
    const f = await addFault({ kind: 'HTTP_ERROR', operation: 'create', status: 503, errorCode: 'SERVICE_UNAVAILABLE', detail: 'Try later.', count: 2 });
    assert.equal((await list()).status, 200, 'other operations are untouched');
    for (let i = 0; i < 2; i++) {
      const res = await create('US_EAST_1');
      assert.equal(res.status, 503);
      assert.deepEqual([res.body.errorCode, res.body.detail], ['SERVICE_UNAVAILABLE', 'Try later.']);
    }
    assert.equal((await list()).body.totalCount, 0, 'an injected error created nothing');
    assert.equal((await create('US_EAST_1')).status, 201);
    const after = (await server.control('GET', `/_snaplink/faults/${f.id}`)).body;
    assert.deepEqual([after.remaining, after.fired, after.matched], [0, 2, 2]);
  });

  test('HTTP_ERROR matches by project and region', async () => {
    await addFault({ kind: 'HTTP_ERROR', groupId: P2, regionName: 'EU_WEST_1', status: 500, errorCode: 'UNEXPECTED_ERROR' });
    assert.equal((await create('EU_WEST_1', P1)).status, 201, 'other project');
    assert.equal((await create('EU_WEST_2', P2)).status, 201, 'other region');
    assert.equal((await create('EU_WEST_1', P2)).status, 500);
    assert.equal((await create('EU_WEST_1', P2)).status, 500, 'no count: fires until removed');
  });

  test('an injected error still needs valid credentials and passes the earlier checks first', async () => {
    await addFault({ kind: 'HTTP_ERROR', status: 503, errorCode: 'SERVICE_UNAVAILABLE' });
    const outsider = await server.client('orgOwnerB').request('GET', collectionPath(P1));
    assert.equal(outsider.status, 401);
    const malformed = await server.client('orgOwnerA').request('POST', collectionPath(P1), { body: '{' });
    assert.equal(malformed.status, 400);
  });

  test('with a probability, firings follow the fault’s seeded sequence, so they repeat exactly', async () => {
    const pattern = async () => {
      await addFault({ kind: 'HTTP_ERROR', operation: 'list', status: 503, errorCode: 'SERVICE_UNAVAILABLE', probability: 0.3, seed: 424242 });
      const out: boolean[] = [];
      for (let i = 0; i < 40; i++) out.push((await list()).status === 503);
      return out;
    };
    const first = await pattern();
    await server.control('POST', '/_snaplink/reset');
    const second = await pattern();
    assert.deepEqual(second, first);
    // …and it is the sequence the seed defines: the k-th match fires when draw(seed, k) < p.
    assert.deepEqual(first, Array.from({ length: 40 }, (_, i) => draw(424242, i + 1) < 0.3));
    const fired = first.filter(Boolean).length;
    assert.ok(fired > 0 && fired < 40, `fired ${fired} of 40`);
    const [fault] = (await server.control('GET', '/_snaplink/faults')).body.results;
    assert.deepEqual([fault.matched, fault.fired], [40, fired]);
  });

  test('probability 0 never fires; count and probability together stop after count firings', async () => {
    await addFault({ kind: 'HTTP_ERROR', operation: 'get', status: 503, errorCode: 'X', probability: 0 });
    await addFault({ kind: 'HTTP_ERROR', operation: 'list', status: 503, errorCode: 'X', probability: 0.5, count: 3, seed: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await list()).status);
    assert.equal(statuses.filter((s) => s === 503).length, 3);
    const id = (await create('GLOBAL')).body.id;
    for (let i = 0; i < 10; i++) assert.equal((await server.client('orgOwnerA').request('GET', `${collectionPath(P1)}/${id}`)).status, 200);
  });

  test('LATENCY delays the answer by at least its milliseconds, then the request proceeds', async () => {
    const f = await addFault({ kind: 'LATENCY', operation: 'list', latencyMs: 300, count: 1 });
    const t0 = performance.now();
    assert.equal((await list()).status, 200);
    assert.ok(performance.now() - t0 >= 290, 'delayed');
    // Used up: the next list matches nothing (read from the fault, not from a stopwatch).
    assert.equal((await list()).status, 200);
    const after = (await server.control('GET', `/_snaplink/faults/${f.id}`)).body;
    assert.equal(after.fired, 1);
    assert.equal(after.remaining, 0);
  });

  test('a removed fault stops firing', async () => {
    const f = await addFault({ kind: 'HTTP_ERROR', operation: 'list', status: 502, errorCode: 'BAD_GATEWAY' });
    assert.equal((await list()).status, 502);
    await server.control('DELETE', `/_snaplink/faults/${f.id}`);
    assert.equal((await list()).status, 200);
  });
});

describe('the endpoint view, the clock and reset', () => {
  test('every endpoint with its project and next due transition', async () => {
    const id = (await create('US_WEST_2')).body.id;
    const view = (await server.control('GET', `/_snaplink/endpoints?groupId=${P1}`)).body;
    assert.equal(view.totalCount, 1);
    const [e] = view.results;
    assert.equal(e.id, id);
    assert.equal(e.groupId, P1);
    assert.equal(e.status, 'INITIATING');
    // Due 180 s (the realistic INITIATING hold) after creation.
    const dueIn = Date.parse(e.dueAt) - Date.parse(view.clock);
    assert.ok(dueIn > 170_000 && dueIn <= 180_000, `due in ${dueIn} ms`);
    assert.equal((await server.control('GET', '/_snaplink/endpoints?status=ACTIVE')).body.totalCount, 0);
  });

  test('advance refuses nonsense', async () => {
    for (const seconds of [0, -5, 'ten', null]) {
      const res = await server.control('POST', '/_snaplink/clock/advance', { seconds });
      assert.equal(res.status, 400);
    }
    assert.equal((await server.control('GET', '/_snaplink/clock')).body.offsetSeconds, 0);
  });

  test('reset empties endpoints and faults and the clock, keeps identities', async () => {
    await create('AP_EAST_1');
    await addFault({ kind: 'LATENCY', latencyMs: 1 });
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 10 });
    const res = await server.control('POST', '/_snaplink/reset');
    const { deletedRequests, ...rest } = res.body;
    assert.deepEqual(rest, { deletedEndpoints: 1, deletedFaults: 1 });
    assert.ok(deletedRequests >= 1, 'the create above was in the journal');
    assert.equal((await server.control('GET', '/_snaplink/requests')).body.totalCount, 0);
    assert.equal((await list()).body.totalCount, 0, 'the key still works');
    assert.equal((await server.control('GET', '/_snaplink/faults')).body.totalCount, 0);
    assert.equal((await server.control('GET', '/_snaplink/clock')).body.offsetSeconds, 0);
  });
});

describe('metrics', () => {
  test('requests by operation and status, latency, endpoints by status, faults fired', async () => {
    await create('CN_NORTH_1');
    await create('CN_NORTH_1');
    await addFault({ kind: 'HTTP_ERROR', operation: 'list', status: 503, errorCode: 'X', count: 1 });
    await list();
    const res = await fetch(`${server.url}/_snaplink/metrics`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers.get('content-type')), /^text\/plain/);
    const text = await res.text();
    assert.match(text, /snaplink_http_requests_total\{operation="create",status="201"\} [1-9]/);
    assert.match(text, /snaplink_http_requests_total\{operation="create",status="409"\} [1-9]/);
    assert.match(text, /snaplink_http_request_duration_seconds_bucket\{le="[0-9.]+",operation="list"\}/);
    assert.match(text, /snaplink_endpoints\{status="INITIATING"\} 1/);
    assert.match(text, /snaplink_faults_fired_total\{kind="HTTP_ERROR"\} [1-9]/);
    assert.doesNotMatch(text, /test-admin-token|0b6c9a9e/);
  });

  test('the answers’ counter and histogram read exactly as prom-client’s own would', async () => {
    // Kept in plain numbers for speed (src/metrics.ts): prom-client's Counter and Histogram, fed
    // the same answers, are the oracle for every line, bucket edges and sums included.
    const ours = new Metrics(async () => ({}));
    const oracle = new Registry();
    const count = new Counter({ name: 'snaplink_http_requests_total', help: 'h', labelNames: ['operation', 'status'], registers: [oracle] });
    const time = new Histogram({ name: 'snaplink_http_request_duration_seconds', help: 'h', labelNames: ['operation'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [oracle] });
    const answers: [string, number, number][] = [['get', 200, 0.0005], ['get', 200, 0.00051], ['get', 404, 0.3], ['create', 201, 5], ['create', 409, 7.25], ['list', 200, 0], ['oauth', 401, 0.1]];
    for (let i = 0; i < 50; i++) answers.push(['list', 200 + (i % 3), i / 97]);
    for (const [operation, status, seconds] of answers) {
      ours.answered(operation, status, seconds);
      count.inc({ operation, status });
      time.observe({ operation }, seconds);
    }
    const lines = (text: string) => text.split('\n').filter((l) => /^snaplink_http_request/.test(l)).sort();
    assert.deepEqual(lines(await ours.registry.metrics()), lines(await oracle.metrics()));
  });
});
