import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { AWS_REGIONS } from '../src/atlas/regions.js';
import { TIMING_PROFILES } from '../src/endpoints/lifecycle.js';
import { startTestServer, type TestServer } from './support/harness.js';
import { isAtlasPath } from './support/oracle.js';
import { tableSnapshot } from './support/stores.js';
import { KEYS, MISSING_PROJECT, P1, P2, P3 } from './support/world.js';

// Random requests thrown at a real server: never a 500, every error a well-formed ApiError
// (the harness's client checks Atlas paths against the official spec), and a rejected request
// leaves the store exactly as it was.

// Reproducible by default (CI sees the same runs every time); FUZZ_SEED=random or a number,
// and FUZZ_RUNS, explore further.
const seed = process.env.FUZZ_SEED === 'random' ? Date.now() % 2 ** 31 : Number(process.env.FUZZ_SEED ?? 20261129);
const runs = Number(process.env.FUZZ_RUNS ?? 600);

let server: TestServer;
let existing: string;
before(async () => {
  // Realistic timings: the lifecycle must not change the store behind the property's back.
  server = await startTestServer({ timings: TIMING_PROFILES.realistic, rateLimit: { enabled: true, capacity: 1_000_000, refill: 1_000_000, periodMs: 1000 } });
  existing = (await server.client('orgOwnerA').createPrivateEndpoint(P1, { regionName: 'US_EAST_1' })).id;
});
after(() => server.close());

// Every table but digest_nonce_uses and request_journal_batches: a request that authenticates uses its
// nonce-count, and every request is journaled, whatever the answer — that is the replay guard
// and the journal working, not a rejected request's write.
const snapshot = () =>
  tableSnapshot(server.snaplink.store.db, ['private_endpoints', 'endpoint_history', 'organizations', 'projects', 'credentials', 'api_keys', 'roles', 'access_list', 'service_accounts', 'access_tokens', 'faults', 'settings', 'counters']);

const anyJson = fc.jsonValue({ maxDepth: 2 });
const junk = fc.oneof(fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 }), fc.constantFrom('', '%', '%zz', '..', '%2F', 'null', ' '));
const hex24 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 24, maxLength: 24 });
const segment = (...known: string[]) => fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: hex24 }, { weight: 1, arbitrary: junk }).map((s) => encodeURIComponent(s));

/** Present once in `oneIn` draws. */
const sometimes = <T>(a: fc.Arbitrary<T>, oneIn: number) =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: a });

const queryValue = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('true', 'false', '1', '2', '100', '500') },
  { weight: 1, arbitrary: fc.constantFrom('TRUE', '0', '-1', '501', '99999999999', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const query = fc.dictionary(fc.constantFrom('pretty', 'envelope', 'includeCount', 'itemsPerPage', 'pageNum', 'foo'), queryValue, { maxKeys: 3 });

const validBody = fc.record(
  { cloudProvider: fc.constant('AWS'), regionName: fc.constantFrom(...AWS_REGIONS), vpcRegionName: fc.constantFrom(...AWS_REGIONS) },
  { requiredKeys: ['cloudProvider', 'regionName'] },
);

type Body = Record<string, unknown>;
const attribute = fc.constantFrom('cloudProvider', 'regionName', 'vpcRegionName');
/** One way of spoiling a valid create body. */
const spoil: fc.Arbitrary<(b: Body) => Body> = fc.oneof(
  fc.constantFrom('cloudProvider', 'regionName').map((k) => (b: Body) => Object.fromEntries(Object.entries(b).filter(([key]) => key !== k))),
  fc.tuple(attribute, fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 1 }))).map(([k, v]) => (b: Body) => ({ ...b, [k]: v })),
  fc.tuple(attribute, fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('aws', 'us_east_1', 'GCP', 'us-east-1'))).map(([k, v]) => (b: Body) => ({ ...b, [k]: v })),
  fc.tuple(fc.constantFrom('id', 'status', 'privateEndpointConnectionName', 'errorMessage', 'foo', '__proto__'), anyJson).map(([k, v]) => (b: Body) => ({ ...b, [k]: v })),
  fc.constant((b: Body) => ({ ...b, vpcRegionName: null })),
);
const createBody = fc.tuple(validBody, fc.array(spoil, { maxLength: 2 })).map(([b, fs]) => fs.reduce((acc: Body, f) => f(acc), b));
const body = fc.oneof(
  { weight: 4, arbitrary: validBody.map((b) => JSON.stringify(b)) },
  { weight: 4, arbitrary: createBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);

const printable = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789/+.;=-_ *,'), maxLength: 60 });
const headers = fc.record(
  {
    accept: fc.oneof(
      { weight: 6, arbitrary: fc.constant('application/vnd.atlas.2024-11-13+json') },
      { weight: 1, arbitrary: fc.constantFrom('application/json', '*/*', 'application/vnd.atlas.2023-02-01+json') },
      { weight: 1, arbitrary: printable },
    ),
    'content-type': fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('application/json', 'application/vnd.atlas.2024-11-13+json', 'application/json; charset=utf-8') },
      { weight: 1, arbitrary: fc.constantFrom('text/plain', '') },
      { weight: 1, arbitrary: printable },
    ),
    'x-request-id': printable,
    'x-forwarded-for': fc.constantFrom('10.1.2.3', '::1'),
  },
  { requiredKeys: ['accept', 'content-type'] },
);

const goodKey = fc.constantFrom<keyof typeof KEYS>('orgOwnerA', 'ownerP1', 'loopbackP1');
const otherKey = fc.constantFrom<keyof typeof KEYS>('readerP1', 'orgOwnerB', 'fencedP1');

interface Req {
  method: string;
  group: string;
  provider: string;
  id: string | undefined;
  extra: string | undefined;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  body: string | undefined;
  key: keyof typeof KEYS | 'nobody';
}

/** Valid creates over few regions, so that conflicts (409) come up too. */
const likelyBody = fc.record(
  { cloudProvider: fc.constant('AWS'), regionName: fc.constantFrom('US_EAST_1', 'EU_WEST_1', 'GLOBAL'), vpcRegionName: fc.constantFrom('US_EAST_1', 'EU_WEST_1') },
  { requiredKeys: ['cloudProvider', 'regionName'] },
);

/** A request that would succeed (or meet a 404/409 of the store). */
const validRequest: fc.Arbitrary<Req> = fc
  .tuple(fc.constantFrom('list', 'create', 'create', 'get', 'delete'), fc.constantFrom(P1, P2), goodKey, likelyBody, fc.constantFrom('EXISTING', 'ffffffffffffffffffffffff'), query)
  .map(([op, group, key, b, id, q]) => ({
    method: { list: 'GET', create: 'POST', get: 'GET', delete: 'DELETE' }[op]!,
    group,
    provider: 'AWS',
    id: op === 'get' || op === 'delete' ? id : undefined,
    extra: undefined,
    query: Object.fromEntries(Object.entries(q).filter(([, v]) => ['true', 'false', '1', '2', '100'].includes(v))),
    headers: { accept: 'application/vnd.atlas.2024-11-13+json', 'content-type': 'application/json' },
    body: op === 'create' ? JSON.stringify(b) : undefined,
    key,
  }));

type Mutation = (r: Req) => Req;
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom('PUT', 'PATCH', 'HEAD', 'OPTIONS', 'POST', 'DELETE', 'GET').map((method) => (r: Req) => ({ ...r, method })),
  segment(P3, MISSING_PROJECT).map((group) => (r: Req) => ({ ...r, group })),
  segment('aws', 'GCP', 'AZURE', 'TENANT').map((provider) => (r: Req) => ({ ...r, provider })),
  segment('EXISTING').map((id) => (r: Req) => ({ ...r, id })),
  junk.map((extra) => (r: Req) => ({ ...r, extra })),
  query.map((q) => (r: Req) => ({ ...r, query: q })),
  headers.map((h) => (r: Req) => ({ ...r, headers: { ...r.headers, ...h } })),
  body.map((b) => (r: Req) => ({ ...r, body: b })),
  fc.constantFrom('{', '', '{"cloudProvider":"AWS",}', 'AWS').map((b) => (r: Req) => ({ ...r, body: b })),
  fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', '', 'application/vnd.atlas.2023-01-01+json').map((ct) => (r: Req) => ({ ...r, headers: { ...r.headers, 'content-type': ct } })),
  fc.constant((r: Req) => ({ ...r, body: undefined, headers: { ...r.headers, 'content-type': undefined } })),
  otherKey.map((key) => (r: Req) => ({ ...r, key })),
  fc.constant((r: Req) => ({ ...r, key: 'nobody' as const })),
);

const request = fc
  .tuple(validRequest, fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) }), fc.array(mutation, { minLength: 3, maxLength: 3 }))
  .map(([r, n, ms]) => ms.slice(0, n).reduce((acc, m) => m(acc), r));

const pathOf = (r: Req) =>
  `/api/atlas/v2/groups/${r.group}/backup/${r.provider}/privateEndpoints${r.id === undefined ? '' : `/${r.id.replace('EXISTING', existing)}`}${r.extra === undefined ? '' : `/${encodeURIComponent(r.extra)}`}`;

test('random requests: no 500, every error an ApiError, rejected requests change nothing', async () => {
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.oneof({ weight: 9, arbitrary: request.map((r) => ({ r, p: pathOf(r) })) }, { weight: 1, arbitrary: fc.webPath().map((p) => ({ r: undefined, p })) }), async ({ r, p }) => {
      const req = r ?? { method: 'GET', query: {}, headers: {}, body: undefined, key: 'ownerP1' as const };
      const before = await snapshot();
      const client = req.key === 'nobody' ? server.client({ publicKey: 'nobody', privateKey: 'nothing-here' }, req.headers) : server.client(req.key, req.headers);
      const m = req.method;
      const res = await client.request(m, p, { query: req.query, body: m === 'HEAD' ? undefined : req.body });
      assert.ok(res.status < 500, `${m} ${p} → ${res.status}: ${res.text}`);
      const outcome = res.status >= 400 && m !== 'HEAD' ? `${res.status} ${JSON.parse(res.text).errorCode}` : String(res.status);
      seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
      if (res.status >= 400 && m !== 'HEAD') {
        const e = JSON.parse(res.text);
        assert.equal(e.error, res.status);
        assert.equal(typeof e.errorCode, 'string');
        assert.equal(typeof e.detail, 'string');
        if (!isAtlasPath(p)) assert.deepEqual(Object.keys(e).sort(), ['detail', 'error', 'errorCode', 'parameters', 'reason']);
      }
      if (res.status >= 400) assert.equal(await snapshot(), before, `${m} ${p} → ${res.status} changed the store`);
    }),
    { numRuns: runs, seed },
  );
  // The generators must reach every check of the pipeline, not stop at the first ones.
  const outcomes = [...seen.keys()];
  for (const expected of [
    '200', '201', '204', '404 RESOURCE_NOT_FOUND', '405 METHOD_NOT_ALLOWED', '401 UNEXPECTED_ERROR', '406 INVALID_VERSION_DATE',
    '404 INVALID_GROUP_ID', '404 PROVIDER_UNSUPPORTED', '400 INVALID_PROVIDER', '400 INVALID_PATH_PARAMETER', '400 INVALID_QUERY_PARAMETER',
    '403 IP_ADDRESS_NOT_ON_ACCESS_LIST', '401 NOT_IN_GROUP', '404 GROUP_NOT_FOUND', '401 USER_UNAUTHORIZED', '415 UNSUPPORTED_MEDIA_TYPE',
    '400 MALFORMED_JSON', '400 INVALID_ENUM_VALUE', '409 OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS',
  ]) {
    assert.ok(outcomes.includes(expected), `the fuzzer (seed ${seed}) never produced ${expected}: ${JSON.stringify(Object.fromEntries(seen))}`);
  }
});

test('random create bodies from an owner: never a 5xx, 201 only for a valid body', async () => {
  const client = server.client('orgOwnerA');
  const seen = new Set<string>();
  const regions: readonly string[] = AWS_REGIONS;
  await fc.assert(
    fc.asyncProperty(body, async (b) => {
      const before = await snapshot();
      const res = await client.request<{ id?: string; errorCode?: string }>('POST', `/api/atlas/v2/groups/${P2}/backup/AWS/privateEndpoints`, { body: b });
      assert.ok([201, 400, 409].includes(res.status), `${res.status}: ${res.text}`);
      seen.add(res.status === 201 ? '201' : res.body.errorCode!);
      if (res.status === 201) {
        const v = JSON.parse(b);
        assert.equal(v.cloudProvider, 'AWS');
        assert.ok(regions.includes(v.regionName));
        assert.ok(v.vpcRegionName === undefined || v.vpcRegionName === null || regions.includes(v.vpcRegionName));
        assert.deepEqual(Object.keys(v).filter((k) => !['cloudProvider', 'regionName', 'vpcRegionName'].includes(k)), []);
        // Clean up so the regions can be drawn again.
        await server.snaplink.store.db.deleteFrom('private_endpoints').where('id', '=', res.body.id!).execute();
      } else {
        assert.equal(await snapshot(), before);
      }
    }),
    { numRuns: Math.ceil(runs / 2), seed },
  );
  for (const expected of ['201', 'MALFORMED_JSON', 'INVALID_JSON', 'INVALID_ATTRIBUTE', 'MISSING_ATTRIBUTE', 'INVALID_JSON_ATTRIBUTE', 'INVALID_ENUM_VALUE']) {
    assert.ok(seen.has(expected), `the fuzzer (seed ${seed}) never produced ${expected}: ${[...seen]}`);
  }
});
