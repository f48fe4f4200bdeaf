import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, waitFor } from './support/harness.js';
import { collectionPath, P1, P2 } from './support/world.js';

// Check 9: a token bucket per project, reported on every answer of the resource.

describe('the per-project token bucket', () => {
  let server: TestServer;
  before(async () => {
    // A bucket of 3 that refills one token a minute: nothing refills while a test runs, however
    // slow the machine (refilling is the next describe's).
    server = await startTestServer({ rateLimit: { enabled: true, capacity: 3, refill: 1, periodMs: 60_000 } });
  });
  after(() => server.close());

  test('counts down, then answers 429 RATE_LIMITED with Retry-After', async () => {
    const c = server.client('orgOwnerA');
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await c.request('GET', collectionPath(P1));
      assert.equal(res.status, 200);
      assert.equal(res.headers['ratelimit-limit'], '3');
      remaining.push(String(res.headers['ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['2', '1', '0']);
    const limited = await c.request<{ errorCode: string; detail: string }>('GET', collectionPath(P1));
    assert.equal(limited.status, 429);
    assert.equal(limited.body.errorCode, 'RATE_LIMITED');
    assert.match(limited.body.detail, /^Resource backupPrivateEndpoints is limited to 1 requests every 1 minutes\.$/);
    assert.equal(limited.headers['ratelimit-remaining'], '0');
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);

    // Other projects have their own bucket.
    assert.equal((await c.request('GET', collectionPath(P2))).status, 200);

    // Before the body: a malformed create on the empty bucket is 429, not 400.
    assert.equal((await c.request('POST', collectionPath(P1), { body: '{' })).status, 429);
  });

  test('requests refused before check 9 take no token', async () => {
    const outsider = server.client('orgOwnerB');
    for (let i = 0; i < 5; i++) assert.equal((await outsider.request('GET', collectionPath(P2))).status, 401);
    const res = await server.client('orgOwnerA').request('GET', collectionPath(P2));
    assert.equal(res.status, 200);
  });

  test('reset empties every bucket', async () => {
    const c = server.client('orgOwnerA');
    assert.equal((await c.request('GET', collectionPath(P1))).status, 429);
    assert.equal((await server.control('POST', '/_snaplink/reset')).status, 200);
    const res = await c.request('GET', collectionPath(P1));
    assert.equal(res.status, 200);
    assert.equal(res.headers['ratelimit-remaining'], '2');
  });
});

describe('refilling', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ rateLimit: { enabled: true, capacity: 1, refill: 1, periodMs: 3_000 } });
  });
  after(() => server.close());

  test('an empty bucket takes a token again once one has been added', async () => {
    const c = server.client('orgOwnerA');
    assert.equal((await c.request('GET', collectionPath(P1))).status, 200);
    const limited = await c.request('GET', collectionPath(P1));
    assert.equal(limited.status, 429);
    assert.equal(limited.headers['retry-after'], '3');
    await waitFor(async () => (await c.request('GET', collectionPath(P1))).status, (s) => s === 200, 10_000, 'a refilled token');
  });
});

describe('rate limiting switched off', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ rateLimit: { enabled: false, capacity: 1, refill: 1, periodMs: 60_000 } });
  });
  after(() => server.close());

  test('never answers 429 and sends no RateLimit headers', async () => {
    // The plain client: the oracle requires RateLimit headers, which are deliberately absent here.
    const { AtlasClient } = await import('../src/client/index.js');
    const c = new AtlasClient({ baseUrl: server.url, publicKey: 'ownerpa1', privateKey: '0b6c9a9e-1f0e-4b5c-9d0a-000000000002' });
    for (let i = 0; i < 5; i++) {
      const res = await c.request('GET', collectionPath(P1));
      assert.equal(res.status, 200);
      assert.equal(res.headers['ratelimit-limit'], undefined);
    }
  });
});
