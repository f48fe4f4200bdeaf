import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { EndpointHistory } from '../src/endpoints/history.js';
import { type Capture, JOURNAL_OPERATIONS } from '../src/journal/capture.js';
import { readdirSync, readFileSync } from 'node:fs';
import { DEFAULT_JOURNAL, type JournalDetail, type JournalEntry, type JournalQuery, RequestJournal } from '../src/journal/request-journal.js';
import { basicAuth, listenToEvents, rawRequest, startTestServer, type TestServer, tokenRequest, waitFor } from './support/harness.js';
import { collectionPath, itemPath, KEYS, P1, P2, SERVICE_ACCOUNTS } from './support/world.js';

// The request journal and the endpoints' history, read over the control API of a real server.

let server: TestServer;
before(async () => {
  server = await startTestServer({ timings: { INITIATING: 0, PENDING_ACCEPTANCE: 0, DELETING: 60_000, PENDING_RECREATION: 0 } });
});
after(() => server.close());

type Entry = Required<JournalEntry>;
const journal = async (query = '') => {
  const res = await server.control('GET', `/_snaplink/requests${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.results as Entry[];
};

describe('the request journal', () => {
  test('records each Atlas and OAuth request: who, what, the answer and its errorCode; newest first', async () => {
    await server.control('DELETE', '/_snaplink/requests');
    const c = server.client('orgOwnerA', { 'x-request-id': 'journal-create-1' });
    const e = await c.createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
    const dup = await c.request('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'US_EAST_1' } });
    assert.equal(dup.status, 409);
    await server.client('orgOwnerA').request('GET', `${collectionPath(P1)}?itemsPerPage=5`);
    const sa = SERVICE_ACCOUNTS.saOrgA;
    assert.equal((await tokenRequest(server.url, { authorization: basicAuth(sa.clientId, 'a-wrong-secret-of-16+') }, 'grant_type=client_credentials')).status, 401);
    // Not journaled: health, metrics, the control API itself.
    await fetch(`${server.url}/_snaplink/health`);
    await fetch(`${server.url}/_snaplink/metrics`);

    // Digest answers each unsigned first try with a challenge: those 401s are journaled too.
    const entries = (await journal()).filter((x) => !(x.status === 401 && x.errorCode === 'UNEXPECTED_ERROR'));
    assert.deepEqual(
      entries.map((x) => [x.method, x.operation, x.status]),
      [
        ['POST', 'oauth', 401],
        ['GET', 'list', 200],
        ['POST', 'create', 409],
        ['POST', 'create', 201],
      ],
      'newest first',
    );
  });

  test('every field of an entry', async () => {
    const [token, list, conflict, created] = (await journal()).filter((x) => x.errorCode !== 'UNEXPECTED_ERROR');
    assert.equal(created!.requestId, 'journal-create-1');
    assert.equal(created!.groupId, P1);
    assert.equal(created!.principal, KEYS.orgOwnerA.publicKey);
    assert.equal(created!.path, collectionPath(P1));
    assert.equal(created!.errorCode, null);
    assert.match(created!.node, /^runner-/);
    assert.ok(created!.durationMs >= 0 && Date.parse(created!.at) <= Date.now());
    assert.equal(conflict!.errorCode, 'OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS');
    assert.match(conflict!.errorDetail!, /already exists/);
    assert.equal(list!.path, `${collectionPath(P1)}?itemsPerPage=5`);
    assert.deepEqual([token!.path, token!.principal, token!.errorCode, token!.groupId], ['/api/oauth/token', SERVICE_ACCOUNTS.saOrgA.clientId, 'invalid_client', null]);
  });

  test('never a secret: not the Authorization value, not a secret sent in an OAuth query', async () => {
    const sa = SERVICE_ACCOUNTS.saOrgA;
    await tokenRequest(server.url, {}, `grant_type=client_credentials&client_id=${sa.clientId}&client_secret=${encodeURIComponent(sa.clientSecret)}`, `/api/oauth/token?client_secret=${encodeURIComponent(sa.clientSecret)}`);
    const text = JSON.stringify(await journal('?limit=1000'));
    for (const secret of [sa.clientSecret, KEYS.orgOwnerA.privateKey, 'a-wrong-secret-of-16+', 'Digest ', 'Basic ']) assert.ok(!text.includes(secret), `found ${secret}`);
  });

  test('filters: groupId, operation, status or class, errorCode, since, after, limit', async () => {
    await server.client('orgOwnerA').createPrivateEndpoint(P2, { regionName: 'EU_WEST_1' });
    const all = await journal('?limit=1000');
    const only = async (q: string, keep: (x: Entry) => boolean) => assert.deepEqual((await journal(q)).map((x) => x.id), all.filter(keep).map((x) => x.id), q);
    await only(`?groupId=${P2}&limit=1000`, (x) => x.groupId === P2);
    await only('?operation=create&limit=1000', (x) => x.operation === 'create');
    await only('?status=409&limit=1000', (x) => x.status === 409);
    await only('?status=4xx&limit=1000', (x) => x.status >= 400 && x.status < 500);
    await only('?errorCode=OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS&limit=1000', (x) => x.errorCode === 'OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS');
    const pivot = all[2]!;
    await only(`?since=${encodeURIComponent(pivot.at)}&limit=1000`, (x) => x.at >= pivot.at);
    await only(`?after=${pivot.id}&limit=1000`, (x) => x.id > pivot.id);
    assert.deepEqual((await journal('?limit=2')).map((x) => x.id), all.slice(0, 2).map((x) => x.id));
  });

  test('DELETE empties it; so does reset', async () => {
    assert.ok((await journal()).length > 0);
    const cleared = await server.control('DELETE', '/_snaplink/requests');
    assert.ok(cleared.body.deletedRequests > 0);
    assert.deepEqual(await journal(), []);
    await server.client().request('GET', collectionPath(P1));
    assert.ok((await journal()).length > 0);
    assert.ok((await server.control('POST', '/_snaplink/reset')).body.deletedRequests > 0);
    assert.deepEqual(await journal(), []);
  });
});

describe('bounded', () => {
  test('keeps the newest --journal-size entries; 0 turns it off', async () => {
    const small = await startTestServer({ journal: { ...DEFAULT_JOURNAL, size: 3, flushMs: 10 } });
    const off = await startTestServer({ journal: { ...DEFAULT_JOURNAL, size: 0, flushMs: 10 } });
    try {
      for (let i = 0; i < 7; i++) await small.client().request('GET', collectionPath(P1), { headers: { 'x-request-id': `bounded-${i}` } });
      // Each signed request follows its Digest challenge under the same request id.
      const kept = (await small.control('GET', '/_snaplink/requests?limit=3')).body.results as Entry[];
      assert.deepEqual(kept.map((x) => [x.requestId, x.status]), [['bounded-6', 200], ['bounded-6', 401], ['bounded-5', 200]]);
      // Nothing beyond the size is left in the store: a larger limit is refused rather than answered.
      assert.equal((await small.control('GET', '/_snaplink/requests?limit=4')).status, 400);

      await off.client().request('GET', collectionPath(P1));
      assert.deepEqual((await off.control('GET', '/_snaplink/requests?limit=1')).body.results, []);
    } finally {
      await small.close();
      await off.close();
    }
  });

  test('what is trimmed is really gone from the store', async () => {
    const small = await startTestServer({ journal: { ...DEFAULT_JOURNAL, size: 3, flushMs: 10 } });
    try {
      for (let i = 0; i < 7; i++) await small.client().request('GET', collectionPath(P1));
      await small.control('GET', '/_snaplink/requests?limit=1');
      // A batch goes once none of its entries is among the newest 3: only the oldest batch kept may hold older ones.
      const batches = await small.snaplink.store.db.selectFrom('request_journal_batches').select(['first_id', 'last_id']).orderBy('last_id').execute();
      const newest = Number(batches.at(-1)!.last_id);
      assert.ok(newest >= 7, `ids up to ${newest}`);
      assert.ok(batches.every((b) => Number(b.last_id) > newest - 3), JSON.stringify(batches));
      assert.ok(batches.slice(1).every((b) => Number(b.first_id) > newest - 3), JSON.stringify(batches));
    } finally {
      await small.close();
    }
  });
});

/** Runs `work` on the store of a server whose own journal is off: only what `work` writes is in the journal's table. */
async function onQuietStore(work: (db: TestServer['snaplink']['store']['db']) => Promise<void>): Promise<void> {
  const s = await startTestServer({ journal: { ...DEFAULT_JOURNAL, size: 0, flushMs: 10 } });
  try {
    await work(s.snaplink.store.db);
  } finally {
    await s.close();
  }
}

describe('batches', () => {
  /** A request's summary as the journal shows it. */
  const summary = (i: number) => ({
    at: 1_700_000_000_000 + i,
    method: i % 2 ? 'POST' : 'GET',
    path: `/api/atlas/v2/groups/${P1}/backup/AWS/privateEndpoints?pageNum=${i}`,
    groupId: i % 3 ? P1 : null,
    operation: 'list',
    principal: i % 5 ? `key-${i}` : null,
    claimed: null,
    status: 200 + (i % 7),
    errorCode: i % 4 ? null : `CODE_${i}`,
    errorDetail: i % 4 ? null : `detail ${i} with 'quotes', "more", \\ and \u2028`,
    durationMs: i / 8,
    requestId: `batch-${i}`,
    node: 'node-a',
    challenge: false,
    faultId: null,
    endpointId: null,
  });
  /** What the request's path leaves for the journal (journal/capture.ts). */
  const entry = (i: number): Capture => {
    const { path, claimed: _c, challenge: _ch, endpointId: _e, ...rest } = summary(i);
    return { ...rest, url: path, pathId: null, requestHeaders: { accept: 'application/json' }, requestBody: undefined, responseHeaders: { 'content-type': 'application/json' }, responseBody: '{}' };
  };
  const query = async (j: RequestJournal, q: Partial<JournalQuery> & { limit: number }) => (await j.query(q)).results;

  test('a batch of any size is written whole, in order, every field intact; the trim keeps the newest', async () => {
    await onQuietStore(async (db) => {
      const warnings: string[] = [];
      const j = new RequestJournal(db, { ...DEFAULT_JOURNAL, size: 3000, flushMs: 60_000 }, (m) => warnings.push(m));
      // 2,345 entries: a batch of 2,000 written as the queue fills, the rest by the query.
      for (let i = 0; i < 2345; i++) j.record(entry(i));
      const all = await query(j, { limit: 3000 });
      assert.deepEqual(warnings, []);
      assert.equal(all.length, 2345);
      assert.equal(new Set(all.map((e) => e.id)).size, 2345);
      all.reverse().forEach((e, i) => {
        const { id, at, ...rest } = e;
        assert.ok(id! > 0 && (i === 0 || id! > all[i - 1]!.id!), `ids grow: ${id}`);
        assert.equal(at, new Date(summary(i).at).toISOString());
        const { at: _at, ...want } = summary(i);
        assert.deepEqual(rest, want, `entry ${i}`);
      });
      // A value equal to the entry before's is stored once per run (read back whole, above).
      const stored = await db.selectFrom('request_journal_batches').select('entries').execute();
      assert.equal(stored.length, 2);
      for (const b of stored) assert.equal(b.entries.split('"node-a"').length - 1, 1, 'the node once per batch');
      for (let i = 2345; i < 3345; i++) j.record(entry(i));
      const kept = await query(j, { limit: 5000 });
      assert.equal(kept.length, 3000);
      assert.equal(kept[0]!.requestId, 'batch-3344');
      assert.equal(kept.at(-1)!.requestId, 'batch-345');
      // Filters and a cursor, across batches.
      const filtered = await query(j, { limit: 5000, status: '2xx', errorCode: 'CODE_3340', after: kept[10]!.id! - 100 });
      assert.deepEqual(filtered.map((e) => e.requestId), ['batch-3340']);
      const since = await query(j, { limit: 5000, since: summary(3300).at, groupId: P1 });
      assert.deepEqual(since.map((e) => e.requestId), Array.from({ length: 45 }, (_, k) => 3344 - k).filter((i) => i % 3).map((i) => `batch-${i}`));
      await j.close();
    });
  });

  test('a Digest client\'s headers are stored once a batch though its Authorization changes on every request; who each claimed and its nonce stay its own', async () => {
    await onQuietStore(async (db) => {
      const j = new RequestJournal(db, { ...DEFAULT_JOURNAL, size: 100, flushMs: 60_000 }, () => {});
      const digest = (user: string, nonce: string, nc: number) =>
        `Digest username="${user}", realm="MMS Public API", nonce="${nonce}", uri="/api/atlas/v2/groups", algorithm=MD5, qop=auth, nc=${nc.toString(16).padStart(8, '0')}, cnonce="c${nc}", response="${nc.toString(16).padStart(32, '0')}"`;
      const sent = [
        ['alice', 'n1'],
        ['alice', 'n1'],
        ['alice', 'n2'],
        ['bob', 'n2'],
        ['alice', 'n2'],
      ] as const;
      sent.forEach(([user, nonce], i) => j.record({ ...entry(i), principal: user, requestHeaders: { accept: 'application/json', authorization: digest(user, nonce, i + 1) } }));
      const got = (await query(j, { limit: 10 })).reverse();
      assert.deepEqual(got.map((e) => e.claimed), sent.map(([user]) => user));
      const [row] = await db.selectFrom('request_journal_batches').select(['entries', 'details']).execute();
      const details = JSON.parse(row!.details!) as { headers: [string, string][][] };
      const requestLists = details.headers.filter((h) => h.some(([n]) => n === 'authorization'));
      assert.deepEqual(
        requestLists.map((h) => h.find(([n]) => n === 'authorization')![1]),
        ['Digest username="alice", [redacted]', 'Digest username="bob", [redacted]'],
        'a list per client, as stored (no nonce, nonce-count or response)',
      );
      assert.deepEqual(JSON.parse(row!.entries).map((v: unknown[]) => v.at(-1)), ['n1', 0, 'n2', 0, 0], 'each entry\'s nonce, a repeat stored once');
      for (const e of got) {
        const detail = (await j.get(e.id!))!;
        assert.match(detail.request!.headers.find(([n]) => n === 'authorization')![1], new RegExp(`^Digest username="${e.claimed}", \\[redacted\\]$`));
      }
      await j.close();
    });
  });

  test('a client\'s own X-Request-Id (which becomes the request id) is kept as sent, in the request\'s headers and the answer\'s', async () => {
    await onQuietStore(async (db) => {
      const j = new RequestJournal(db, { ...DEFAULT_JOURNAL, size: 10, flushMs: 60_000 }, () => {});
      for (const i of [0, 1]) {
        const e = entry(i);
        j.record({ ...e, requestHeaders: { accept: 'application/json', 'x-request-id': e.requestId }, responseHeaders: { 'x-request-id': e.requestId } });
      }
      for (const e of await query(j, { limit: 10 })) {
        const d = (await j.get(e.id!))!;
        assert.deepEqual(d.request!.headers, [['accept', 'application/json'], ['x-request-id', e.requestId]]);
        assert.deepEqual(d.response!.headers, [['x-request-id', e.requestId]]);
        assert.deepEqual((await query(j, { limit: 10, headers: [['x-request-id', e.requestId]] })).map((m) => m.id), [e.id]);
      }
      await j.close();
    });
  });

  test('a batch alone beyond --journal-bytes stays, the newest, and every older one goes', async () => {
    await onQuietStore(async (db) => {
      const j = new RequestJournal(db, { ...DEFAULT_JOURNAL, size: 100, bytes: 50, flushMs: 60_000 }, () => {});
      for (const i of [0, 1, 2]) {
        j.record(entry(i));
        await j.flush();
      }
      const rows = await db.selectFrom('request_journal_batches').select(['first_id', 'bytes']).execute();
      assert.equal(rows.length, 1, 'only the newest batch');
      assert.ok(Number(rows[0]!.bytes) > 50);
      assert.deepEqual((await query(j, { limit: 10 })).map((e) => e.requestId), ['batch-2']);
      await j.close();
    });
  });

  test('a clear empties it and its ids are never handed out again', async () => {
    await onQuietStore(async (db) => {
      const j = new RequestJournal(db, { ...DEFAULT_JOURNAL, size: 5, flushMs: 60_000 }, () => {});
      for (let i = 0; i < 8; i++) j.record(entry(i));
      const before = await query(j, { limit: 5 });
      assert.equal(await j.clear(), 5, 'the entries that were kept');
      assert.deepEqual(await query(j, { limit: 5 }), []);
      j.record(entry(100));
      const [next] = await query(j, { limit: 5 });
      assert.equal(next!.requestId, 'batch-100');
      assert.ok(next!.id! > before[0]!.id!, `${next!.id} after ${before[0]!.id}`);
      assert.equal(await j.clear(), 1);
      await j.close();
    });
  });

  test('a scan through many batches lets the event loop serve others between pages', async () => {
    await onQuietStore(async (db) => {
      const j = new RequestJournal(db, { ...DEFAULT_JOURNAL, size: 100_000, flushMs: 60_000 }, () => {});
      // 40 batches of 100: five pages of eight, none matching the filter.
      for (let b = 0; b < 40; b++) {
        for (let i = 0; i < 100; i++) j.record(entry(b * 100 + i));
        await j.flush();
      }
      let turns = 0;
      let counting = true;
      const count = () => {
        if (!counting) return;
        turns++;
        setImmediate(count);
      };
      setImmediate(count);
      const found = await query(j, { limit: 10, errorCode: 'NOTHING_HAS_THIS' });
      counting = false;
      assert.deepEqual(found, []);
      assert.ok(turns >= 4, `the event loop turned ${turns} times during a five-page scan`);
      await j.close();
    });
  });

  test('journals writing at once (nodes sharing a store) lose nothing and share no id', async () => {
    await onQuietStore(async (db) => {
      const warnings: string[] = [];
      const nodes = [0, 1, 2].map(() => new RequestJournal(db, { ...DEFAULT_JOURNAL, size: 10_000, flushMs: 60_000 }, (m) => warnings.push(m)));
      for (let round = 0; round < 20; round++) {
        nodes.forEach((j, n) => j.record(entry(round * 3 + n)));
        await Promise.all(nodes.map((j) => j.flush()));
      }
      assert.deepEqual(warnings, []);
      const all = await query(nodes[0]!, { limit: 10_000 });
      assert.equal(all.length, 60);
      assert.equal(new Set(all.map((e) => e.id)).size, 60);
      assert.deepEqual(all.map((e) => e.requestId).sort(), Array.from({ length: 60 }, (_, i) => `batch-${i}`).sort());
    });
  });
});

describe('endpoint history', () => {
  const history = async (id: string) => (await server.control('GET', `/_snaplink/endpoints/${id}/history`)).body;

  test('each status with both clocks, the node and why; deleted by a request; gone with the endpoint', async () => {
    const c = server.client('orgOwnerA');
    const e = await c.createPrivateEndpoint(P1, { regionName: 'SA_EAST_1' });
    await waitFor(() => c.getPrivateEndpoint(P1, e.id), (x) => x.status === 'ACTIVE');
    await c.request('DELETE', itemPath(P1, e.id));
    await c.request('DELETE', itemPath(P1, e.id)); // a repeated DELETE changes nothing
    const h = await history(e.id);
    assert.deepEqual(
      h.results.map((x: { from: string | null; status: string; reason: string }) => [x.from, x.status, x.reason]),
      [
        [null, 'INITIATING', 'created by a request'],
        ['INITIATING', 'PENDING_ACCEPTANCE', 'the INITIATING hold ended; the simulated provider answered pendingAcceptance'],
        ['PENDING_ACCEPTANCE', 'ACTIVE', 'the PENDING_ACCEPTANCE hold ended; the simulated provider answered available'],
        ['ACTIVE', 'DELETING', 'deleted by a request'],
      ],
    );
    for (const x of h.results) {
      assert.match(x.node, /^runner-/);
      assert.ok(Date.parse(x.at) > 0 && Date.parse(x.wallAt) > 0);
    }
    // The lifecycle clock moves on; the wall clock does not.
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 3600 });
    await waitFor(async () => (await server.control('GET', `/_snaplink/endpoints/${e.id}/history`)).status, (s) => s === 404, 10_000, 'the history to go with the endpoint');
    assert.equal((await server.control('GET', '/_snaplink/endpoints/nothex/history')).status, 404);
  });

  test('a fault that fired is named; lifecycle time is the virtual clock', async () => {
    await server.control('POST', '/_snaplink/reset');
    const fault = (await server.control('POST', '/_snaplink/faults', { kind: 'FAIL_PROVISIONING', groupId: P2, count: 1 })).body;
    const c = server.client('orgOwnerA');
    await server.control('POST', '/_snaplink/clock/advance', { seconds: 86_400 });
    const e = await c.createPrivateEndpoint(P2, { regionName: 'AP_NORTHEAST_1' });
    await waitFor(() => c.getPrivateEndpoint(P2, e.id), (x) => x.status === 'FAILED');
    const [created, failed] = (await history(e.id)).results;
    assert.deepEqual([failed.from, failed.status, failed.reason], ['INITIATING', 'FAILED', `fault ${fault.id} (FAIL_PROVISIONING) fired`]);
    // A day ahead on the lifecycle clock, now on the wall.
    assert.ok(Date.parse(created.at) - Date.parse(created.wallAt) > 86_000_000);
  });
});

describe('endpoint history, grouped', () => {
  test('entries recorded together share an INSERT; one that cannot be written costs the others nothing', async () => {
    const c = server.client('orgOwnerA');
    const [a, b] = [await c.createPrivateEndpoint(P2, { regionName: 'EU_NORTH_1' }), await c.createPrivateEndpoint(P2, { regionName: 'EU_SOUTH_1' })];
    const warnings: string[] = [];
    // Grouped, as on PostgreSQL (the code path is the same on either store); every statement it runs is counted.
    let statements = 0;
    const counted = server.snaplink.store.db.withPlugin({
      transformQuery: (q) => q.node,
      transformResult: async (r) => {
        statements++;
        return r.result;
      },
    });
    const h = new EndpointHistory(counted, 'grouping-node', (m) => warnings.push(m), 'postgres');
    await Promise.all([h.record(a.id, 'PENDING_ACCEPTANCE', 1, 'together 1'), h.record(b.id, 'PENDING_ACCEPTANCE', 1, 'together 2')]);
    assert.equal(statements, 1, 'two entries recorded together, one INSERT');

    const missing = '6650f0c0a1b2c3d4e5f6dead';
    await Promise.all([h.record(a.id, 'FAILED', 1, 'first'), h.record(missing, 'FAILED', 2, 'no such endpoint'), h.record(b.id, 'FAILED', 3, 'second')]);
    // Resolved only once written: each is there now, once, in the order recorded.
    const mine = async (id: string) => (await h.list(id)).filter((x) => x.node === 'grouping-node').map((x) => [x.status, x.reason]);
    assert.deepEqual(await mine(a.id), [['PENDING_ACCEPTANCE', 'together 1'], ['FAILED', 'first']]);
    assert.deepEqual(await mine(b.id), [['PENDING_ACCEPTANCE', 'together 2'], ['FAILED', 'second']]);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(`${missing} entered FAILED, but the entry could not be written`));
  });
});

describe('an unroutable Atlas path', () => {
  test('is journaled too, as unrouted, with its 404', async () => {
    await server.control('DELETE', '/_snaplink/requests');
    await rawRequest(server.url, 'GET', '/api/atlas/v2/nowhere', {});
    const [x] = await journal();
    assert.deepEqual([x!.operation, x!.status, x!.errorCode], ['unrouted', 404, 'RESOURCE_NOT_FOUND']);
  });
});

describe('what was sent and what was answered', () => {
  const V = 'application/vnd.atlas.2024-11-13+json';
  const detail = async (id: number) => {
    const res = await server.control('GET', `/_snaplink/requests/${id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as JournalDetail;
  };
  const header = (h: [string, string][], name: string) => h.find(([n]) => n === name)?.[1];

  test('a create over Digest: the challenge marked and tied to its retry; headers and bodies both ways; the endpoint it made', async () => {
    await server.control('POST', '/_snaplink/reset');
    const c = server.client('orgOwnerA', { 'x-request-id': 'capture-create' });
    const e = await c.createPrivateEndpoint(P1, { regionName: 'EU_WEST_3' });
    const [created, challenge] = await journal('?limit=2');
    assert.equal(challenge!.challenge, true, 'the first, unsigned try is the challenge');
    assert.equal(challenge!.status, 401);
    assert.equal(created!.challenge, false);
    assert.equal(created!.status, 201);
    assert.equal(created!.endpointId, e.id, 'a 201 names the endpoint it made');

    const d = await detail(created!.id);
    assert.equal(d.related.challengeOf, challenge!.id);
    assert.equal((await detail(challenge!.id)).related.answeredBy, created!.id);
    assert.equal(header(d.request!.headers, 'accept'), V);
    assert.equal(header(d.request!.headers, 'authorization'), `Digest username="${KEYS.orgOwnerA.publicKey}", [redacted]`, 'the scheme and the claimed user only');
    assert.deepEqual(JSON.parse(d.request!.body!.text), { cloudProvider: 'AWS', regionName: 'EU_WEST_3' });
    assert.equal(header(d.response!.headers, 'content-type'), `${V};charset=utf-8`);
    assert.equal(header(d.response!.headers, 'x-request-id'), 'capture-create');
    assert.equal(JSON.parse(d.response!.body!.text).id, e.id);
    // The endpoint's requests, both ways: found by its id.
    assert.deepEqual((await journal(`?endpointId=${e.id}`)).map((x) => x.id), [created!.id]);
    const get = await c.request('GET', itemPath(P1, e.id));
    assert.equal(get.status, 200);
    assert.equal((await journal(`?endpointId=${e.id}&challenge=false`))[0]!.operation, 'get');
  });

  test('a 400 keeps the body that caused it and the ApiError it got; a wrong key the public key it claimed', async () => {
    const c = server.client('orgOwnerA');
    const bad = await c.request('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'MARS_NORTH_1' } });
    assert.equal(bad.status, 400);
    const [entry] = await journal('?status=400&limit=1');
    const d = await detail(entry!.id);
    assert.deepEqual(JSON.parse(d.request!.body!.text), { cloudProvider: 'AWS', regionName: 'MARS_NORTH_1' });
    assert.equal(JSON.parse(d.response!.body!.text).errorCode, 'INVALID_ENUM_VALUE');

    const wrong = await server.client({ publicKey: 'orgownra', privateKey: 'not-the-key-at-all' }).request('GET', collectionPath(P1));
    assert.equal(wrong.status, 401);
    const [refused] = await journal('?status=401&challenge=false&limit=1');
    assert.deepEqual([refused!.principal, refused!.claimed, refused!.challenge], [null, 'orgownra', false]);
    assert.deepEqual((await journal('?principal=orgownra&status=401&challenge=false&limit=1')).map((x) => x.id), [refused!.id], 'found by the credential it claimed');
  });

  test('an answer an injected fault made names the fault', async () => {
    const fault = (await server.control('POST', '/_snaplink/faults', { kind: 'HTTP_ERROR', groupId: P2, operation: 'list', status: 503, errorCode: 'SERVICE_UNAVAILABLE', count: 1 })).body;
    assert.equal((await server.client('orgOwnerA').request('GET', collectionPath(P2))).status, 503);
    const [made] = await journal(`?faultId=${fault.id}`);
    assert.deepEqual([made!.status, made!.faultId], [503, fault.id]);
  });

  test('filters: method, path prefix and pattern, header, body field, free text, time range; paged newest first with the count of all', async () => {
    await server.control('DELETE', '/_snaplink/requests');
    const c = server.client('orgOwnerA');
    for (const regionName of ['AP_SOUTH_1', 'AP_SOUTHEAST_1', 'AP_SOUTHEAST_2']) await c.createPrivateEndpoint(P2, { regionName });
    await c.request('GET', `${collectionPath(P2)}?pageNum=1`);
    const all = await journal('?challenge=false&limit=100');
    const ids = async (q: string) => (await journal(q)).map((x) => x.id);
    const creates = all.filter((x) => x.operation === 'create').map((x) => x.id);
    assert.deepEqual(await ids('?method=POST&challenge=false'), creates);
    assert.deepEqual(await ids(`?path=${encodeURIComponent(collectionPath(P2))}&challenge=false`), all.map((x) => x.id));
    assert.deepEqual(await ids(`?path=${encodeURIComponent('/api/atlas/v2/groups/*/privateEndpoints?pageNum=*')}`), all.filter((x) => x.operation === 'list').map((x) => x.id));
    assert.deepEqual(await ids(`?header.accept=2024-11-13&method=POST&challenge=false`), creates);
    assert.deepEqual(await ids('?body.regionName=AP_SOUTHEAST_1'), [creates[1]!]);
    assert.deepEqual(await ids('?body.regionName=AP_SOUTHEAST_1&body.cloudProvider=AWS'), [creates[1]!]);
    assert.deepEqual(await ids('?body.regionName=NOWHERE'), []);
    assert.deepEqual(await ids(`?q=${all[0]!.requestId.slice(0, 13)}`), [all[0]!.id], 'free text finds a request id');
    assert.deepEqual(await ids(`?q=${all.at(-1)!.endpointId}`), [all.at(-1)!.id], 'and an endpoint id');
    const pivot = all[1]!;
    assert.deepEqual(await ids(`?until=${encodeURIComponent(pivot.at)}&challenge=false`), all.filter((x) => x.at < pivot.at).map((x) => x.id));

    // A page of 2 of the 4, the count of all, and where the next page starts.
    const first = (await server.control('GET', '/_snaplink/requests?challenge=false&limit=2')).body;
    assert.deepEqual([first.results.length, first.totalCount], [2, 4]);
    const second = (await server.control('GET', `/_snaplink/requests?challenge=false&limit=2&before=${first.next}`)).body;
    assert.deepEqual([...first.results, ...second.results].map((x: Entry) => x.id), all.map((x) => x.id));
    assert.equal(second.next, undefined, 'the last page says so');
    assert.deepEqual((await server.control('GET', '/_snaplink/requests/count?method=POST&challenge=false')).body, { count: 3 });
  });

  test('the operations a filter may name are the routes\' own, and unrouted', () => {
    const routes = readdirSync(new URL('../src/http/routes/', import.meta.url)).map((f) => readFileSync(new URL(`../src/http/routes/${f}`, import.meta.url), 'utf8'));
    const named = new Set(routes.flatMap((text) => [...text.matchAll(/operation: '(\w+)'/g)].map((m) => m[1]!)));
    assert.deepEqual([...JOURNAL_OPERATIONS].sort(), [...named, 'unrouted'].sort());
  });

  test('every bad filter is a 400 INVALID_QUERY_PARAMETER naming it', async () => {
    for (const [q, name] of [
      ['/_snaplink/requests?limit=0', 'limit'],
      ['/_snaplink/requests?status=abc', 'status'],
      ['/_snaplink/requests?since=yesterday', 'since'],
      ['/_snaplink/requests?statuss=409', 'statuss'],
      ['/_snaplink/requests?operation=create&operation=get', 'operation'],
      ['/_snaplink/requests/count?operation=crate', 'operation'],
      ['/_snaplink/requests?path=api', 'path'],
      ['/_snaplink/requests?challenge=maybe', 'challenge'],
      ['/_snaplink/requests?header.a%20b=x', 'header.a b'],
      ['/_snaplink/requests?until=soon', 'until'],
      ['/_snaplink/requests?before=x', 'before'],
      ['/_snaplink/requests?q=', 'q'],
      ['/_snaplink/requests/count?limit=5', 'limit'],
    ]) {
      const res = await server.control('GET', q!);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.errorCode, 'INVALID_QUERY_PARAMETER', q);
      assert.deepEqual(res.body.parameters, [name], q);
    }
    assert.equal((await server.control('GET', '/_snaplink/requests/999999999')).status, 404);
  });
});

describe('bodies kept within --journal-body-limit, the journal within --journal-bytes', () => {
  test('a body past the cap is cut and says so; the oldest batches go past the byte budget', async () => {
    const small = await startTestServer({ journal: { ...DEFAULT_JOURNAL, bodyLimit: 40, bytes: 65_536, flushMs: 10 } });
    try {
      const c = small.client('orgOwnerA');
      const res = await c.request('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'US_WEST_2', vpcRegionName: 'US_WEST_2' } });
      assert.equal(res.status, 201);
      const [created] = (await small.control('GET', '/_snaplink/requests?operation=create&challenge=false')).body.results as Entry[];
      const d = (await small.control('GET', `/_snaplink/requests/${created!.id}`)).body as JournalDetail;
      assert.equal(d.request!.body!.truncated, true);
      assert.equal(Buffer.byteLength(d.request!.body!.text), 40);
      assert.equal(d.request!.body!.bytes, Buffer.byteLength(JSON.stringify({ cloudProvider: 'AWS', regionName: 'US_WEST_2', vpcRegionName: 'US_WEST_2' })));
      assert.equal(d.response!.body!.truncated, true);
      // About 2 KiB of headers a request: 64 KiB of journal keeps a few dozen of them, not all 200.
      for (let i = 0; i < 100; i++) await c.request('GET', collectionPath(P1));
      const kept = (await small.control('GET', '/_snaplink/requests/count')).body.count as number;
      assert.ok(kept > 10 && kept < 200, `${kept} entries kept`);
      const stored = await small.snaplink.store.db.selectFrom('request_journal_batches').select((eb) => eb.fn.sum<number>('bytes').as('b')).executeTakeFirst();
      assert.ok(Number(stored!.b) <= 65_536 + 40_000, `${stored!.b} characters kept`);
    } finally {
      await small.close();
    }
  });
});

describe('the event stream', () => {
  test('a ticket, not the token, opens it; requests, endpoints, faults and the clock arrive within 2 s', async () => {
    assert.equal((await fetch(`${server.url}/_snaplink/events/ticket`, { method: 'POST' })).status, 401, 'a ticket needs the admin token');
    assert.equal((await fetch(`${server.url}/_snaplink/events`)).status, 401, 'the stream needs a ticket');
    assert.equal((await fetch(`${server.url}/_snaplink/events?ticket=${Date.now() + 60_000}.${'A'.repeat(43)}`)).status, 401, 'a forged ticket');
    const { body: t } = await server.control('POST', '/_snaplink/events/ticket');
    assert.equal(t.ticket.split('.').length, 2);
    const stream = await listenToEvents(server.url, t.ticket);
    try {
      assert.equal(stream.res.status, 200);
      assert.match(stream.res.headers.get('content-type') ?? '', /^text\/event-stream/);
      await stream.next((e) => e.event === 'hello', 'hello');
      const c = server.client('orgOwnerA', { 'x-request-id': 'streamed-create' });
      const e = await c.createPrivateEndpoint(P2, { regionName: 'ME_SOUTH_1' });
      const seen = await stream.next((x) => x.event === 'request' && x.data.requestId === 'streamed-create' && x.data.status === 201, 'the create');
      assert.equal(seen!.data.endpointId, e.id);
      await stream.next((x) => x.event === 'endpoints', 'the endpoints changed');
      await server.control('POST', '/_snaplink/faults', { kind: 'LATENCY', groupId: P2, latencyMs: 1, count: 1 });
      await stream.next((x) => x.event === 'faults', 'the faults changed');
      await server.control('POST', '/_snaplink/clock/advance', { seconds: 60 });
      const clock = await stream.next((x) => x.event === 'clock', 'the clock moved');
      assert.ok(clock!.data.offsetSeconds >= 60);
      // In order, each once.
      const requests = stream.events.filter((x) => x.event === 'request').map((x) => x.data.id as number);
      assert.deepEqual(requests, [...new Set(requests)].sort((a, b) => a - b));
      // Emptied from anywhere: said once.
      assert.equal(stream.events.filter((x) => x.event === 'requests-cleared').length, 0);
      await server.control('DELETE', '/_snaplink/requests');
      await stream.next((x) => x.event === 'requests-cleared', 'the journal emptied');
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(stream.events.filter((x) => x.event === 'requests-cleared').length, 1);
    } finally {
      await stream.close();
    }
  });
});
