import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { rawRequest, startTestServer, type TestServer } from './support/harness.js';
import { AUTHENTICATION_FAILURE } from './support/oracle.js';
import { collectionPath, itemPath, MISSING_PROJECT, P1, P2 } from './support/world.js';

// The four operations and the conventions every answer follows (DESIGN.md §1–2). Every
// response here is also checked against the official spec by the harness's client.

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

describe('create', () => {
  test('answers 201 INITIATING with vpcRegionName defaulted and absent fields omitted', async () => {
    const c = server.client();
    const res = await c.request<Record<string, string>>('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'US_EAST_1' } });
    assert.equal(res.status, 201);
    assert.match(res.body.id!, /^[a-f0-9]{24}$/);
    assert.deepEqual(res.body, { cloudProvider: 'AWS', id: res.body.id, regionName: 'US_EAST_1', status: 'INITIATING', vpcRegionName: 'US_EAST_1' });
    assert.ok(!res.text.includes('null'), 'no null fields');
    assert.equal(res.headers['content-type'], 'application/vnd.atlas.2024-11-13+json;charset=utf-8');
  });

  test('keeps a cross-region vpcRegionName, and accepts a plain application/json body', async () => {
    const res = await server.client().request<Record<string, string>>('POST', collectionPath(P1), {
      body: JSON.stringify({ cloudProvider: 'AWS', regionName: 'EU_WEST_1', vpcRegionName: 'EU_CENTRAL_1' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.regionName, 'EU_WEST_1');
    assert.equal(res.body.vpcRegionName, 'EU_CENTRAL_1');
  });

  test('treats a JSON null vpcRegionName as absent', async () => {
    const res = await server.client().request<Record<string, string>>('POST', collectionPath(P1), {
      body: { cloudProvider: 'AWS', regionName: 'AP_SOUTH_1', vpcRegionName: null },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.vpcRegionName, 'AP_SOUTH_1');
  });

  test('the same region with another VPC region is another endpoint; the same pair again is 409', async () => {
    const c = server.client('orgOwnerA');
    const a = await c.request('POST', collectionPath(P2), { body: { cloudProvider: 'AWS', regionName: 'US_WEST_2' } });
    const b = await c.request('POST', collectionPath(P2), { body: { cloudProvider: 'AWS', regionName: 'US_WEST_2', vpcRegionName: 'US_EAST_1' } });
    const again = await c.request<{ errorCode: string }>('POST', collectionPath(P2), { body: { cloudProvider: 'AWS', regionName: 'US_WEST_2', vpcRegionName: 'US_WEST_2' } });
    assert.deepEqual([a.status, b.status, again.status], [201, 201, 409]);
  });
});

describe('get and delete', () => {
  test('get returns what create returned; delete answers 204 and moves it to DELETING; a second delete is 204 again', async () => {
    const c = server.client();
    const created = await c.createPrivateEndpoint(P1, { regionName: 'SA_EAST_1' });
    assert.deepEqual(await c.getPrivateEndpoint(P1, created.id), created);
    const del = await c.request('DELETE', itemPath(P1, created.id));
    assert.equal(del.status, 204);
    assert.equal(del.text, '');
    assert.equal((await c.getPrivateEndpoint(P1, created.id)).status, 'DELETING');
    assert.equal((await c.request('DELETE', itemPath(P1, created.id))).status, 204);
    // Still there, still DELETING: it blocks a new endpoint for the same region (409 in any status).
    const again = await c.request<{ errorCode: string }>('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'SA_EAST_1' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.errorCode, 'OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS');
  });

  test('an endpoint is invisible from another project, even of the same organization', async () => {
    const c = server.client('orgOwnerA');
    const e = await c.createPrivateEndpoint(P1, { regionName: 'ME_SOUTH_1' });
    const res = await c.request<{ errorCode: string; detail: string }>('GET', itemPath(P2, e.id));
    assert.equal(res.status, 404);
    assert.equal(res.body.errorCode, 'RESOURCE_NOT_FOUND');
    assert.equal(res.body.detail, `Cannot find resource ${e.id}.`);
    assert.equal((await c.request('DELETE', itemPath(P2, e.id))).status, 404);
  });

  test('HEAD answers like GET without a body', async () => {
    const c = server.client();
    const e = await c.createPrivateEndpoint(P1, { regionName: 'AF_SOUTH_1' });
    const res = await c.request('HEAD', itemPath(P1, e.id));
    assert.equal(res.status, 200);
    assert.equal(res.text, '');
  });
});

describe('list and pagination', () => {
  let project: string;
  const regions = ['US_EAST_1', 'US_EAST_2', 'US_WEST_1', 'US_WEST_2', 'EU_WEST_1', 'EU_WEST_2', 'EU_WEST_3'];
  const ids: string[] = [];
  before(async () => {
    const { applySeed } = await import('../src/identity/seed.js');
    project = '6650f0c0a1b2c3d4e5f60109';
    await applySeed(server.snaplink.store, { projects: [{ id: project, orgId: '6650f0c0a1b2c3d4e5f60001', name: 'paging' }] });
    const c = server.client('orgOwnerA');
    for (const regionName of regions) ids.push((await c.createPrivateEndpoint(project, { regionName })).id);
  });

  test('an empty project lists results [] with totalCount 0 and only a self link', async () => {
    const { applySeed } = await import('../src/identity/seed.js');
    const empty = '6650f0c0a1b2c3d4e5f6010a';
    await applySeed(server.snaplink.store, { projects: [{ id: empty, orgId: '6650f0c0a1b2c3d4e5f60001', name: 'empty' }] });
    const page = await server.client('orgOwnerA').listPrivateEndpoints(empty);
    assert.deepEqual(page.results, []);
    assert.equal(page.totalCount, 0);
    assert.deepEqual(page.links.map((l) => l.rel), ['self']);
  });

  test('lists in creation order with the default page', async () => {
    const page = await server.client('orgOwnerA').listPrivateEndpoints(project);
    assert.deepEqual(page.results.map((e) => e.id), ids);
    assert.equal(page.totalCount, regions.length);
  });

  test('pages: self always, previous unless on page 1, next unless on the last page; absolute hrefs from the request host', async () => {
    const c = server.client('orgOwnerA');
    const p1 = await c.listPrivateEndpoints(project, { itemsPerPage: 3, pageNum: 1 });
    const p2 = await c.listPrivateEndpoints(project, { itemsPerPage: 3, pageNum: 2 });
    const p3 = await c.listPrivateEndpoints(project, { itemsPerPage: 3, pageNum: 3 });
    assert.deepEqual([...p1.results, ...p2.results, ...p3.results].map((e) => e.id), ids);
    assert.deepEqual(p1.links.map((l) => l.rel), ['self', 'next']);
    assert.deepEqual(p2.links.map((l) => l.rel), ['self', 'previous', 'next']);
    assert.deepEqual(p3.links.map((l) => l.rel), ['self', 'previous']);
    const next = new URL(p2.links.find((l) => l.rel === 'next')!.href);
    assert.equal(next.origin, server.url);
    assert.equal(next.pathname, collectionPath(project));
    assert.equal(next.searchParams.get('pageNum'), '3');
    assert.equal(next.searchParams.get('itemsPerPage'), '3');
    // Following the link gives the next page.
    const followed = await c.request<{ results: { id: string }[] }>('GET', next.pathname + next.search);
    assert.deepEqual(followed.body.results.map((e) => e.id), p3.results.map((e) => e.id));
  });

  test('links are built from the Host the client used; X-Forwarded-* are ignored unless --trust-proxy', async () => {
    const res = await server.client('orgOwnerA').request<{ links: { href: string }[] }>('GET', collectionPath(project), {
      headers: { host: 'atlas.example.test:8443', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'proxy.example.test' },
    });
    assert.ok(res.body.links[0]!.href.startsWith('http://atlas.example.test:8443/api/atlas/v2/'), res.body.links[0]!.href);
  });

  test('behind a proxy (--trust-proxy), links take the scheme and host from X-Forwarded-Proto and X-Forwarded-Host', async () => {
    const proxied = await startTestServer({ trustProxy: true });
    try {
      const res = await proxied.client('orgOwnerA').request<{ links: { href: string; rel: string }[] }>('GET', collectionPath(P1), {
        query: { itemsPerPage: 1 },
        headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'atlas.example.test', 'x-forwarded-for': '127.0.0.1' },
      });
      assert.equal(res.status, 200);
      assert.equal(new URL(res.body.links[0]!.href).origin, 'https://atlas.example.test');
    } finally {
      await proxied.close();
    }
  });

  test('a page past the end is empty, with previous and no next', async () => {
    const page = await server.client('orgOwnerA').listPrivateEndpoints(project, { itemsPerPage: 5, pageNum: 9 });
    assert.deepEqual(page.results, []);
    assert.equal(page.totalCount, regions.length);
    assert.deepEqual(page.links.map((l) => l.rel), ['self', 'previous']);
  });

  test('any pageNum from 1 is a page, as the official spec allows: one far past any end is empty, its links exact', async () => {
    const far = '1180591620717411303424'; // 2^70
    const res = await server.client('orgOwnerA').request<any>('GET', collectionPath(project), { query: { pageNum: far, itemsPerPage: '500' } });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.results, []);
    const pages = res.body.links.map((l: { href: string; rel: string }) => `${l.rel}=${new URL(l.href).searchParams.get('pageNum')}`);
    assert.deepEqual(pages, [`self=${far}`, 'previous=1180591620717411303423']);
  });

  test('includeCount=false omits totalCount but still knows which page is the last', async () => {
    const c = server.client('orgOwnerA');
    const rels = async (pageNum: number, itemsPerPage: number) => {
      const page = await c.listPrivateEndpoints(project, { itemsPerPage, pageNum, includeCount: false });
      assert.equal('totalCount' in page, false);
      return page.links.map((l) => l.rel);
    };
    assert.equal(regions.length, 7);
    assert.deepEqual(await rels(1, 3), ['self', 'next']);
    assert.deepEqual(await rels(2, 3), ['self', 'previous', 'next']);
    assert.deepEqual(await rels(3, 3), ['self', 'previous']);
    assert.deepEqual(await rels(1, 7), ['self']);
  });

  test('itemsPerPage accepts its bounds 1 and 500', async () => {
    const c = server.client('orgOwnerA');
    assert.equal((await c.listPrivateEndpoints(project, { itemsPerPage: 1 })).results.length, 1);
    assert.equal((await c.listPrivateEndpoints(project, { itemsPerPage: 500 })).results.length, regions.length);
  });
});

describe('presentation', () => {
  test('pretty=true indents, pretty=false (the default) does not', async () => {
    const c = server.client();
    const compact = await c.request('GET', collectionPath(P1));
    const pretty = await c.request('GET', collectionPath(P1), { query: { pretty: true } });
    assert.ok(!compact.text.includes('\n'));
    assert.ok(pretty.text.includes('\n  "'));
    const strip = (t: string) => ({ ...JSON.parse(t), links: undefined });
    assert.deepEqual(strip(pretty.text), strip(compact.text));
  });

  test('envelope=true wraps an entity in {status, content} and adds status to a list, without changing the HTTP status', async () => {
    const c = server.client();
    const created = await c.request<{ status: number; content: { id: string } }>('POST', collectionPath(P1), {
      query: { envelope: true },
      body: { cloudProvider: 'AWS', regionName: 'CA_CENTRAL_1' },
    });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 201);
    assert.equal(typeof created.body.content.id, 'string');
    const list = await c.request<{ status: number; results: unknown[] }>('GET', collectionPath(P1), { query: { envelope: 'TRUE' } });
    assert.equal(list.body.status, 200);
    assert.ok(Array.isArray(list.body.results));
  });

  test('envelope does not wrap errors', async () => {
    const res = await server.client().request<Record<string, unknown>>('GET', itemPath(P1, 'ffffffffffffffffffffffff'), { query: { envelope: true } });
    assert.equal(res.status, 404);
    assert.equal(res.body.content, undefined);
    assert.equal(res.body.errorCode, 'RESOURCE_NOT_FOUND');
  });

  test('unknown query parameters are ignored', async () => {
    const res = await server.client().request('GET', collectionPath(P1), { query: { foo: 'bar', includecount: 'maybe' } });
    assert.equal(res.status, 200);
  });

  test('the Accept header may list the version among others, with parameters', async () => {
    for (const accept of [
      'application/json, application/vnd.atlas.2024-11-13+json;q=0.9',
      'application/vnd.atlas.2024-11-13+json; charset=utf-8',
      'APPLICATION/VND.ATLAS.2024-11-13+JSON',
    ]) {
      const res = await server.client('ownerP1', { accept }).request('GET', collectionPath(P1));
      assert.equal(res.status, 200, accept);
    }
  });
});

describe('headers every answer carries', () => {
  test('security headers and a request id, echoed when the caller sends a sane one', async () => {
    const c = server.client('ownerP1', { 'x-request-id': 'trace-abc.123' });
    const res = await c.request('GET', collectionPath(P1));
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.equal(res.headers['referrer-policy'], 'strict-origin-when-cross-origin');
    assert.equal(res.headers['x-request-id'], 'trace-abc.123');
    assert.equal(res.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
    const other = await server.client('ownerP1', { 'x-request-id': 'bad id with spaces' }).request('GET', collectionPath(P1));
    assert.match(String(other.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('RateLimit headers on successes and on errors past authentication', async () => {
    const ok = await server.client().request('GET', collectionPath(P1));
    assert.equal(ok.headers['ratelimit-limit'], '1200');
    assert.ok(Number(ok.headers['ratelimit-remaining']) < 1200);
    const notFound = await server.client().request('GET', itemPath(P1, 'aaaaaaaaaaaaaaaaaaaaaaaa'));
    assert.equal(notFound.status, 404);
    assert.equal(notFound.headers['ratelimit-limit'], '1200');
  });
});

// Atlas's envelope as recorded from real Atlas answers (DESIGN.md §2; issue 16), asserted here
// on snaplink's real answers, one row at a time (the oracle checks the same on every answer).
describe('Atlas’s envelope as recorded', () => {
  const API_LAYER_HEADERS = ['x-content-type-options', 'x-frame-options', 'referrer-policy', 'x-permitted-cross-domain-policies', 'x-error-code', 'ratelimit-limit', 'ratelimit-remaining'];

  test('errors are sent as exactly application/json, with the errorCode in X-Error-Code', async () => {
    const answers = [
      await server.client().request<any>('GET', itemPath(P1, 'aaaaaaaaaaaaaaaaaaaaaaaa')),
      await server.client().request<any>('POST', collectionPath(P1), { body: { cloudProvider: 'AWS', regionName: 'NOWHERE' } }),
      await server.client('ownerP1', { accept: 'application/json' }).request<any>('GET', collectionPath(P1)),
      await server.client('fencedP1').request<any>('GET', collectionPath(P1)),
      await server.client('ownerP1').request<any>('GET', collectionPath(P2)),
      await server.client('orgOwnerA').request<any>('GET', collectionPath(MISSING_PROJECT)),
    ];
    assert.deepEqual(answers.map((r) => `${r.status} ${r.body.errorCode}`), ['404 RESOURCE_NOT_FOUND', '400 INVALID_ENUM_VALUE', '406 INVALID_VERSION_DATE', '403 IP_ADDRESS_NOT_ON_ACCESS_LIST', '401 NOT_IN_GROUP', '404 GROUP_NOT_FOUND']);
    for (const r of answers) {
      assert.equal(r.headers['content-type'], 'application/json', r.body.errorCode);
      assert.equal(r.headers['x-error-code'], r.body.errorCode);
      assert.equal(r.headers['x-permitted-cross-domain-policies'], 'none');
    }
  });

  test('a 404 GROUP_NOT_FOUND carries no RateLimit headers: there is no project, so no bucket', async () => {
    const res = await server.client('orgOwnerA').request<any>('GET', collectionPath(MISSING_PROJECT));
    assert.equal(res.body.errorCode, 'GROUP_NOT_FOUND');
    assert.equal(res.headers['ratelimit-limit'], undefined);
    assert.equal(res.headers['ratelimit-remaining'], undefined);
  });

  test('a 204 names the versioned media type; successes carry X-Permitted-Cross-Domain-Policies and no X-Error-Code', async () => {
    const c = server.client('orgOwnerA');
    const created = await c.request<any>('POST', collectionPath(P2), { body: { cloudProvider: 'AWS', regionName: 'SA_EAST_1' } });
    assert.equal(created.status, 201);
    assert.equal(created.headers['x-permitted-cross-domain-policies'], 'none');
    assert.equal(created.headers['x-error-code'], undefined);
    const deleted = await c.request('DELETE', itemPath(P2, created.body.id));
    assert.equal(deleted.status, 204);
    assert.equal(deleted.text, '');
    assert.equal(deleted.headers['content-type'], 'application/vnd.atlas.2024-11-13+json;charset=utf-8');
  });

  test('a failed authentication — none, a wrong or unknown key, a bad token — is Atlas’s fixed 401, without the API’s headers', async () => {
    const answers = {
      'no credentials': await rawRequest(server.url, 'GET', collectionPath(P1), { accept: 'application/vnd.atlas.2024-11-13+json' }),
      'a wrong private key': await server.client({ publicKey: 'ownerpa1', privateKey: 'not-the-right-key' }).request('GET', collectionPath(P1)),
      'an unknown public key': await server.client({ publicKey: 'nobody', privateKey: 'nothing-at-all' }).request('GET', collectionPath(P1)),
      'an invalid token': await server.client({ accessToken: 'not-a-token' }).request('GET', collectionPath(P1)),
    };
    for (const [what, res] of Object.entries(answers)) {
      assert.equal(res.status, 401, what);
      // Byte for byte, in Atlas's key order: no parameters.
      assert.equal(res.text, JSON.stringify(AUTHENTICATION_FAILURE), what);
      assert.equal(res.headers['content-type'], 'application/json', what);
      assert.match(String(res.headers['www-authenticate']), /^Digest realm="MMS Public API"/, what);
      for (const h of API_LAYER_HEADERS) assert.equal(res.headers[h], undefined, `${what}: ${h}`);
    }
  });
});

describe('system endpoints', () => {
  test('health and ready answer without credentials; the OpenAPI document is served', async () => {
    for (const path of ['/_snaplink/health', '/_snaplink/ready']) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 200, path);
    }
    const doc = (await (await fetch(`${server.url}/_snaplink/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, '3.0.3');
    assert.ok(doc.paths['/api/atlas/v2/groups/{groupId}/backup/{cloudProvider}/privateEndpoints']);
  });
});
