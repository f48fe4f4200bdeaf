import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './support/harness.js';
import { collectionPath, P1, P2 } from './support/world.js';

// Check 9: a token bucket per project, reported on every answer of the resource.

describe('the per-project token bucket', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ rateLimit: { enabled: true, capacity: 3, refill: 1, periodMs: 400 } });
  });
  after(() => server.close());

  test('counts down, then answers 429 RATE_LIMITED with Retry-After, then refills', async () => {
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
    assert.match(limited.body.detail, /^Resource backupPrivateEndpoints is limited to 1 requests every 0\.01 minutes\.$/);
    assert.equal(limited.headers['ratelimit-remaining'], '0');
    assert.ok(Number(limited.headers['retry-after']) >= 1);

    // Other projects have their own bucket.
    assert.equal((await c.request('GET', collectionPath(P2))).status, 200);

    // Before the body: a malformed create on the empty bucket is 429, not 400.
    assert.equal((await c.request('POST', collectionPath(P1), { body: '{' })).status, 429);

    await sleep(450);
    assert.equal((await c.request('GET', collectionPath(P1))).status, 200);
  });

  test('requests refused before check 9 take no token', async () => {
    const outsider = server.client('orgOwnerB');
    for (let i = 0; i < 5; i++) assert.equal((await outsider.request('GET', collectionPath(P2))).status, 401);
    const res = await server.client('orgOwnerA').request('GET', collectionPath(P2));
    assert.equal(res.status, 200);
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
