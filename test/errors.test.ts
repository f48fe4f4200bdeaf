import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { CHECK_ORDER } from '../src/atlas/errors.js';
import type { AtlasResponse } from '../src/client/index.js';
import { sql } from 'kysely';
import { DEFAULT_CONNECTION_LIMITS } from '../src/http/limits.js';
import { SQLITE_FILE } from '../src/store/database.js';
import { createUntilRefused, parseHttpAnswer, rawRequest, startTestServer, type TestServer, waitFor } from './support/harness.js';
import { STORE_KIND } from './support/stores.js';
import { collectionPath, itemPath, MISSING_PROJECT, ORG_A, P1, P2, P3 } from './support/world.js';

// Every row of CHECK_ORDER (src/atlas/errors.ts, the error table of docs/fidelity.md), and that
// the rows are checked in their order: each "before" test sends a request that breaks two rules
// and expects the earlier one to answer.
//
// A test that makes a row happen is declared with `row(keys, name, fn)`: it must see the row's
// status and errorCode answered, and the last test fails when a row of CHECK_ORDER has no such
// test (or a test names a row CHECK_ORDER does not have).

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const V = 'application/vnd.atlas.2024-11-13+json';
const body = (v: unknown) => ({ body: typeof v === 'string' ? v : JSON.stringify(v) });

/** A row of CHECK_ORDER as `<step> <status> <errorCode>` (step `-` for the rows that can happen anywhere). */
type RowKey = `${number | '-'} ${number} ${string}`;
const rowKey = (step: number | null, status: number, errorCode: string): RowKey => `${step ?? '-'} ${status} ${errorCode}`;
const ROWS: RowKey[] = CHECK_ORDER.map((c) => {
  const e = c.example();
  return rowKey(c.step, e.status, e.errorCode);
});
/** The rows a test below declares it makes happen. */
const declared = new Set<RowKey>();
/** `<status> <errorCode>` of every error answer checked so far, in order. */
const answered: string[] = [];

/** A test that makes these rows of CHECK_ORDER happen: it fails unless it saw each row's answer. */
function row(keys: RowKey | RowKey[], name: string, fn: () => Promise<void>, skip: string | false = false): void {
  const list = Array.isArray(keys) ? keys : [keys];
  for (const k of list) declared.add(k);
  test(name, { skip }, async () => {
    const from = answered.length;
    await fn();
    const seen = answered.slice(from);
    for (const k of list) assert.ok(seen.includes(k.slice(k.indexOf(' ') + 1)), `the test of row ${k} never saw its answer (saw ${seen.join(', ') || 'none'})`);
  });
}

function expectError(res: AtlasResponse<any>, status: number, errorCode: string, detail?: string | RegExp): void {
  assert.equal(res.status, status, `${errorCode}: ${res.text}`);
  assert.equal(res.body.errorCode, errorCode, res.text);
  answered.push(`${status} ${errorCode}`);
  if (typeof detail === 'string') assert.equal(res.body.detail, detail);
  else if (detail) assert.match(res.body.detail, detail);
}

describe('0. requests that cannot even be read', () => {
  /** Writes raw bytes on a new connection; resolves with the last answer on it (status, headers, body). */
  async function raw(bytes: string) {
    const { connect } = await import('node:net');
    const text = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1', () => socket.end(bytes));
      let out = '';
      socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
      socket.on('close', () => resolve(out));
      socket.on('error', reject);
    });
    const answer = parseHttpAnswer(text);
    return { ...answer, body: JSON.parse(answer.text) };
  }
  const expectRaw = (res: Awaited<ReturnType<typeof raw>>, status: number, errorCode: string) => {
    assert.equal(res.status, status);
    assert.deepEqual(Object.keys(res.body).sort(), ['detail', 'error', 'errorCode', 'parameters', 'reason']);
    assert.equal(res.body.errorCode, errorCode);
    assert.equal(res.body.error, status);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.headers['x-error-code'], errorCode);
    assert.equal(res.headers.connection, 'close');
    answered.push(`${status} ${errorCode}`);
  };

  row('- 400 INVALID_REQUEST', 'a request line that is not HTTP: 400 INVALID_REQUEST', async () => {
    expectRaw(await raw('HELLO THERE\r\n\r\n'), 400, 'INVALID_REQUEST');
  });

  row('- 431 REQUEST_HEADER_FIELDS_TOO_LARGE', 'headers over 16 KiB: 431 REQUEST_HEADER_FIELDS_TOO_LARGE', async () => {
    expectRaw(await raw(`GET ${collectionPath(P1)} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'REQUEST_HEADER_FIELDS_TOO_LARGE');
  });

  row('- 400 INVALID_REQUEST', 'a body shorter or longer than its Content-Length: the connection ends with 400 INVALID_REQUEST', async () => {
    const post = (length: number, body: string) =>
      `POST ${collectionPath(P1)} HTTP/1.1\r\nHost: x\r\nAccept: ${V}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${body}`;
    const body = JSON.stringify({ cloudProvider: 'AWS', regionName: 'US_WEST_1' });
    expectRaw(await raw(post(body.length + 10, body)), 400, 'INVALID_REQUEST');
    expectRaw(await raw(post(body.length - 5, body)), 400, 'INVALID_REQUEST');
  });
});

describe('1. routing', () => {
  row('1 404 RESOURCE_NOT_FOUND', 'a path with no route is 404 RESOURCE_NOT_FOUND naming the path, before authentication', async () => {
    const path = '/api/atlas/v2/groups/6650f0c0a1b2c3d4e5f60101/backup/AWS/privateEndpointz';
    const res = await rawRequest(server.url, 'GET', path);
    expectError(res, 404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${path}.`);
    assert.deepEqual(res.body.parameters, [path]);
    expectError(await rawRequest(server.url, 'GET', `${collectionPath(P1)}/a/b`), 404, 'RESOURCE_NOT_FOUND');
  });

  row('1 405 METHOD_NOT_ALLOWED', 'a method the route lacks is 405 METHOD_NOT_ALLOWED with Allow, before authentication', async () => {
    const put = await rawRequest(server.url, 'PUT', collectionPath(P1), { 'content-type': 'application/json' }, '{}');
    expectError(put, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(put.headers.allow, 'GET, HEAD, POST');
    const patch = await rawRequest(server.url, 'PATCH', itemPath(P1, 'ffffffffffffffffffffffff'));
    expectError(patch, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(patch.headers.allow, 'DELETE, GET, HEAD');
    expectError(await rawRequest(server.url, 'POST', itemPath('x', 'y')), 405, 'METHOD_NOT_ALLOWED');
    expectError(await rawRequest(server.url, 'DELETE', collectionPath(P1)), 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('2. authentication', () => {
  const challenge = (res: AtlasResponse) => String(res.headers['www-authenticate']);

  row('2 401 UNEXPECTED_ERROR', 'no credentials: 401 UNEXPECTED_ERROR with a Digest challenge in Atlas’s form', async () => {
    const res = await rawRequest(server.url, 'GET', collectionPath(P1), { accept: V });
    expectError(res, 401, 'UNEXPECTED_ERROR', 'You are not authorized for this resource.');
    assert.match(challenge(res), /^Digest realm="MMS Public API", domain="", nonce="[A-Za-z0-9_-]+", algorithm=MD5, qop="auth", stale=false$/);
  });

  row('2 401 UNEXPECTED_ERROR', 'wrong private key, unknown public key, or another scheme: the same 401', async () => {
    const wrong = await server.client({ publicKey: 'ownerpa1', privateKey: 'not-the-right-key' }).request('GET', collectionPath(P1));
    expectError(wrong, 401, 'UNEXPECTED_ERROR');
    const unknown = await server.client({ publicKey: 'zzzzzzzz', privateKey: 'whatever-key' }).request('GET', collectionPath(P1));
    expectError(unknown, 401, 'UNEXPECTED_ERROR');
    const basic = await rawRequest(server.url, 'GET', collectionPath(P1), { accept: V, authorization: `Basic ${Buffer.from('ownerpa1:0b6c9a9e-1f0e-4b5c-9d0a-000000000002').toString('base64')}` });
    expectError(basic, 401, 'UNEXPECTED_ERROR');
    const garbage = await rawRequest(server.url, 'GET', collectionPath(P1), { accept: V, authorization: 'Digest ,,,="' });
    expectError(garbage, 401, 'UNEXPECTED_ERROR');
  });

  test('before 406: no credentials and no Accept is 401', async () => {
    expectError(await rawRequest(server.url, 'GET', collectionPath('bad')), 401, 'UNEXPECTED_ERROR');
  });
});

describe('2. authentication: too many failures from one address', () => {
  // A server of its own: the shared one keeps the lockout off, since the suites fail on purpose.
  let locking: TestServer;
  before(async () => {
    locking = await startTestServer({ lockout: { limit: 2, windowMs: 60_000, lockoutMs: 60_000 } });
  });
  after(() => locking.close());

  row('2 429 TOO_MANY_FAILED_AUTHENTICATIONS', 'after the limit of failures, even the right credentials get 429 with Retry-After', async () => {
    const wrong = locking.client({ publicKey: 'ownerpa1', privateKey: 'not-the-right-key' });
    for (let i = 0; i < 2; i++) expectError(await wrong.request('GET', collectionPath(P1)), 401, 'UNEXPECTED_ERROR');
    const res = await locking.client('ownerP1').request<any>('GET', collectionPath(P1));
    expectError(res, 429, 'TOO_MANY_FAILED_AUTHENTICATIONS', /^Too many failed authentications from this address; retry in \d+ seconds\.$/);
    assert.equal(res.headers['retry-after'], String(res.body.parameters[0]));
  });

  test('before 406, after routing: a locked-out address is 429 without Accept, and 404 on a path with no route', async () => {
    expectError(await locking.client('ownerP1', { accept: undefined }).request('GET', collectionPath(P1)), 429, 'TOO_MANY_FAILED_AUTHENTICATIONS');
    expectError(await locking.client('ownerP1').request('GET', `${collectionPath(P1)}/a/b`), 404, 'RESOURCE_NOT_FOUND');
  });
});

describe('3. version negotiation', () => {
  for (const accept of [undefined, '*/*', 'application/json', 'application/vnd.atlas.2023-01-01+json', 'application/vnd.atlas.2024-11-13+json;q=0']) {
    row('3 406 INVALID_VERSION_DATE', `Accept ${accept ?? '(absent)'} is 406 INVALID_VERSION_DATE`, async () => {
      const res = await server.client('ownerP1', { accept }).request('GET', collectionPath(P1));
      expectError(res, 406, 'INVALID_VERSION_DATE', 'Invalid accept header or version date.');
    });
  }

  test('before path checks: a bad group id with a bad Accept is 406', async () => {
    expectError(await server.client('ownerP1', { accept: 'application/json' }).request('GET', collectionPath('nope')), 406, 'INVALID_VERSION_DATE');
  });
});

describe('4. path parameters', () => {
  row('4 404 INVALID_GROUP_ID', 'groupId not 24 lowercase hex: 404 INVALID_GROUP_ID', async () => {
    for (const g of ['123', '6650F0C0A1B2C3D4E5F60101', '6650f0c0a1b2c3d4e5f601011', 'zz50f0c0a1b2c3d4e5f60101']) {
      expectError(await server.client().request('GET', collectionPath(g)), 404, 'INVALID_GROUP_ID', `An invalid group ID ${g} was specified.`);
    }
  });

  row(['4 404 PROVIDER_UNSUPPORTED', '4 400 INVALID_PROVIDER'], 'AZURE, GCP, TENANT: 404 PROVIDER_UNSUPPORTED; anything else but AWS: 400 INVALID_PROVIDER', async () => {
    for (const p of ['AZURE', 'GCP', 'TENANT']) {
      expectError(await server.client().request('GET', collectionPath(P1, p)), 404, 'PROVIDER_UNSUPPORTED', `Provider ${p} not currently supported.`);
    }
    for (const p of ['aws', 'FOO']) {
      expectError(await server.client().request('GET', collectionPath(P1, p)), 400, 'INVALID_PROVIDER', `No provider ${p} exists.`);
    }
  });

  row('4 400 INVALID_PATH_PARAMETER', 'endpointId not 24 lowercase hex: 400 INVALID_PATH_PARAMETER', async () => {
    for (const id of ['xyz', 'FFFFFFFFFFFFFFFFFFFFFFFF']) {
      const res = await server.client().request<any>('GET', itemPath(P1, id));
      expectError(res, 400, 'INVALID_PATH_PARAMETER');
      assert.deepEqual(res.body.parameters, ['endpointId', id]);
    }
  });

  test('in order: group, then provider, then endpoint id', async () => {
    expectError(await server.client().request('GET', itemPath('bad', 'bad', 'GCP')), 404, 'INVALID_GROUP_ID');
    expectError(await server.client().request('GET', itemPath(P1, 'bad', 'FOO')), 400, 'INVALID_PROVIDER');
  });

  test('before query checks: a bad endpoint id with a bad pretty is INVALID_PATH_PARAMETER', async () => {
    expectError(await server.client().request('GET', itemPath(P1, 'bad'), { query: { pretty: 'yes' } }), 400, 'INVALID_PATH_PARAMETER');
  });
});

describe('5. query parameters', () => {
  const cases: [string, Record<string, string>][] = [
    ['pretty', { pretty: 'yes' }],
    ['envelope', { envelope: '1' }],
    ['includeCount', { includeCount: '' }],
    ['itemsPerPage', { itemsPerPage: '0' }],
    ['itemsPerPage', { itemsPerPage: '501' }],
    ['itemsPerPage', { itemsPerPage: '2.5' }],
    ['pageNum', { pageNum: '0' }],
    ['pageNum', { pageNum: '-1' }],
    ['pageNum', { pageNum: '1.5' }],
  ];
  for (const [name, query] of cases) {
    row('5 400 INVALID_QUERY_PARAMETER', `${JSON.stringify(query)} is 400 INVALID_QUERY_PARAMETER naming ${name}`, async () => {
      const res = await server.client().request<any>('GET', collectionPath(P1), { query });
      expectError(res, 400, 'INVALID_QUERY_PARAMETER', new RegExp(`^Invalid query parameter ${name} specified`));
      assert.deepEqual(res.body.parameters, [name]);
    });
  }

  test('a repeated known parameter is malformed', async () => {
    expectError(await server.client().request('GET', `${collectionPath(P1)}?pretty=true&pretty=false`), 400, 'INVALID_QUERY_PARAMETER');
  });

  test('list-only parameters are ignored on the other operations', async () => {
    const res = await server.client().request('GET', itemPath(P1, 'ffffffffffffffffffffffff'), { query: { itemsPerPage: 'x' } });
    expectError(res, 404, 'RESOURCE_NOT_FOUND');
  });

  test('before the access list: a fenced key with a bad query parameter gets the 400', async () => {
    expectError(await server.client('fencedP1').request('GET', collectionPath(P1), { query: { pageNum: 'x' } }), 400, 'INVALID_QUERY_PARAMETER');
  });
});

describe('6. access list', () => {
  row('6 403 IP_ADDRESS_NOT_ON_ACCESS_LIST', 'a key whose access list does not hold the caller’s address: 403 naming the address', async () => {
    const res = await server.client('fencedP1').request<any>('GET', collectionPath(P1));
    expectError(res, 403, 'IP_ADDRESS_NOT_ON_ACCESS_LIST', 'IP address 127.0.0.1 is not allowed to access this resource.');
    assert.deepEqual(res.body.parameters, ['127.0.0.1']);
  });

  test('a key whose access list holds the address passes', async () => {
    assert.equal((await server.client('loopbackP1').request('GET', collectionPath(P1))).status, 200);
  });

  test('before roles: the fenced key on a project it has no role in still gets 403', async () => {
    expectError(await server.client('fencedP1').request('GET', collectionPath(P3)), 403, 'IP_ADDRESS_NOT_ON_ACCESS_LIST');
  });
});

describe('7–8. roles', () => {
  row('7 401 NOT_IN_GROUP', 'no role in the project or its organization: 401 NOT_IN_GROUP, whether or not the project exists', async () => {
    const detail = 'The current user is not in the group, or the group does not exist.';
    expectError(await server.client('ownerP1').request('GET', collectionPath(P2)), 401, 'NOT_IN_GROUP', detail);
    expectError(await server.client('orgOwnerB').request('GET', collectionPath(P1)), 401, 'NOT_IN_GROUP', detail);
    expectError(await server.client('ownerP1').request('GET', collectionPath(MISSING_PROJECT)), 401, 'NOT_IN_GROUP', detail);
  });

  row('7 404 GROUP_NOT_FOUND', 'an organization owner asking for a project that does not exist: 404 GROUP_NOT_FOUND', async () => {
    expectError(await server.client('orgOwnerA').request('GET', collectionPath(MISSING_PROJECT)), 404, 'GROUP_NOT_FOUND', `No group with ID ${MISSING_PROJECT} exists.`);
  });

  test('an organization owner reaches every project of its organization', async () => {
    assert.equal((await server.client('orgOwnerA').request('GET', collectionPath(P2))).status, 200);
  });

  row('8 401 USER_UNAUTHORIZED', 'Project Read Only: 401 USER_UNAUTHORIZED on all four operations', async () => {
    const c = server.client('readerP1');
    const detail = 'Current user is not authorized to perform this action.';
    expectError(await c.request('GET', collectionPath(P1)), 401, 'USER_UNAUTHORIZED', detail);
    expectError(await c.request('POST', collectionPath(P1), body({ cloudProvider: 'AWS', regionName: 'US_EAST_1' })), 401, 'USER_UNAUTHORIZED');
    expectError(await c.request('GET', itemPath(P1, 'ffffffffffffffffffffffff')), 401, 'USER_UNAUTHORIZED');
    expectError(await c.request('DELETE', itemPath(P1, 'ffffffffffffffffffffffff')), 401, 'USER_UNAUTHORIZED');
  });

  test('before the body: a read-only caller with a malformed body gets USER_UNAUTHORIZED', async () => {
    expectError(await server.client('readerP1').request('POST', collectionPath(P1), body('{nope')), 401, 'USER_UNAUTHORIZED');
  });
});

describe('9. the rate limit', () => {
  // A server of its own with a bucket of one token that refills once a minute: nothing refills
  // while the tests run.
  let limited: TestServer;
  before(async () => {
    limited = await startTestServer({ rateLimit: { enabled: true, capacity: 1, refill: 1, periodMs: 60_000 } });
  });
  after(() => limited.close());

  row('9 429 RATE_LIMITED', "the project's bucket empty: 429 RATE_LIMITED with Retry-After", async () => {
    const c = limited.client('orgOwnerA');
    assert.equal((await c.request('GET', collectionPath(P1))).status, 200);
    const res = await c.request('GET', collectionPath(P1));
    expectError(res, 429, 'RATE_LIMITED', /^Resource \S+ is limited to 1 requests every 1 minutes\.$/);
    assert.match(String(res.headers['retry-after']), /^[1-9]\d*$/);
  });

  test('after roles, before the body: on the empty bucket a reader gets 401, a malformed create 429', async () => {
    expectError(await limited.client('readerP1').request('POST', collectionPath(P1), body('{nope')), 401, 'USER_UNAUTHORIZED');
    expectError(await limited.client('orgOwnerA').request('POST', collectionPath(P1), body('{nope')), 429, 'RATE_LIMITED');
  });
});

describe('10. the body of a create', () => {
  const post = (b: string | Buffer, contentType?: string) =>
    server.client('orgOwnerA').request<any>('POST', collectionPath(P2), { body: b, headers: contentType === undefined ? {} : { 'content-type': contentType } });

  row('10 415 UNSUPPORTED_MEDIA_TYPE', 'a media type other than application/json or the versioned type: 415', async () => {
    expectError(await post('{}', 'text/plain'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('cloudProvider=AWS', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('{}', 'application/vnd.atlas.2023-01-01+json'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('{}', 'not a media type'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const none = await server.client('orgOwnerA').request('POST', collectionPath(P2), { body: '{}', headers: { 'content-type': undefined } });
    expectError(none, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  row('10 400 MALFORMED_JSON', 'not JSON: 400 MALFORMED_JSON', async () => {
    for (const b of ['{', '', 'nul', '{"cloudProvider": "AWS",}']) expectError(await post(b), 400, 'MALFORMED_JSON', 'Received JSON is malformed.');
    const empty = await server.client('orgOwnerA').request('POST', collectionPath(P2), { headers: { 'content-type': undefined } });
    expectError(empty, 400, 'MALFORMED_JSON');
  });

  row('10 400 INVALID_JSON', 'JSON but not an object: 400 INVALID_JSON', async () => {
    for (const b of ['[]', '"AWS"', '1', 'null', 'true']) expectError(await post(b), 400, 'INVALID_JSON', 'Received JSON does not match expected format.');
  });

  row('10 400 INVALID_ATTRIBUTE', 'an unknown or read-only attribute: 400 INVALID_ATTRIBUTE naming it', async () => {
    for (const attr of ['id', 'status', 'privateEndpointConnectionName', 'errorMessage', 'foo', '__proto__']) {
      const res = await post(`{"cloudProvider":"AWS","regionName":"US_EAST_1",${JSON.stringify(attr)}:"x"}`);
      expectError(res, 400, 'INVALID_ATTRIBUTE', `Invalid attribute ${attr} specified.`);
      assert.equal(res.body.badRequestDetail.fields[0].field, attr);
    }
  });

  row('10 400 MISSING_ATTRIBUTE', 'a missing required attribute: 400 MISSING_ATTRIBUTE naming it', async () => {
    expectError(await post('{"regionName":"US_EAST_1"}'), 400, 'MISSING_ATTRIBUTE', 'The required attribute cloudProvider was not specified.');
    expectError(await post('{"cloudProvider":"AWS"}'), 400, 'MISSING_ATTRIBUTE', 'The required attribute regionName was not specified.');
    expectError(await post('{"cloudProvider":"AWS","regionName":null}'), 400, 'MISSING_ATTRIBUTE');
    const both = await post('{}');
    assert.deepEqual(both.body.badRequestDetail.fields.map((f: { field: string }) => f.field), ['cloudProvider', 'regionName']);
  });

  row('10 400 INVALID_JSON_ATTRIBUTE', 'an attribute of the wrong JSON type: 400 INVALID_JSON_ATTRIBUTE', async () => {
    expectError(await post('{"cloudProvider":"AWS","regionName":5}'), 400, 'INVALID_JSON_ATTRIBUTE', 'Received JSON for the regionName attribute does not match expected format.');
    expectError(await post('{"cloudProvider":["AWS"],"regionName":"US_EAST_1"}'), 400, 'INVALID_JSON_ATTRIBUTE');
    expectError(await post('{"cloudProvider":"AWS","regionName":"US_EAST_1","vpcRegionName":{}}'), 400, 'INVALID_JSON_ATTRIBUTE');
  });

  row('10 400 INVALID_ENUM_VALUE', 'a value outside its enum: 400 INVALID_ENUM_VALUE naming the value', async () => {
    expectError(await post('{"cloudProvider":"GCP","regionName":"US_EAST_1"}'), 400, 'INVALID_ENUM_VALUE', 'An invalid enumeration value GCP was specified.');
    expectError(await post('{"cloudProvider":"AWS","regionName":"us-east-1"}'), 400, 'INVALID_ENUM_VALUE', 'An invalid enumeration value us-east-1 was specified.');
    expectError(await post('{"cloudProvider":"AWS","regionName":"US_EAST_1","vpcRegionName":"MARS_1"}'), 400, 'INVALID_ENUM_VALUE');
  });

  test('within the body, unknown beats missing beats wrong type beats enum', async () => {
    expectError(await post('{"foo":1,"regionName":5}'), 400, 'INVALID_ATTRIBUTE');
    expectError(await post('{"regionName":5}'), 400, 'MISSING_ATTRIBUTE');
    expectError(await post('{"cloudProvider":"GCP","regionName":5}'), 400, 'INVALID_JSON_ATTRIBUTE');
  });

  row('10 413 REQUEST_TOO_LARGE', 'a body over 64 KiB: 413 REQUEST_TOO_LARGE', async () => {
    const big = JSON.stringify({ cloudProvider: 'AWS', regionName: 'US_EAST_1', pad: 'x'.repeat(70_000) });
    expectError(await post(big), 413, 'REQUEST_TOO_LARGE');
  });

  test('a body is checked only after authentication: an unauthenticated oversized body is 401', async () => {
    const res = await rawRequest(server.url, 'POST', collectionPath(P1), { accept: V, 'content-type': 'text/plain' }, 'x'.repeat(70_000));
    expectError(res, 401, 'UNEXPECTED_ERROR');
  });
});

describe('11. the store', () => {
  row('11 409 OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS', '409 for a second endpoint of the same provider and regions in the project', async () => {
    const c = server.client('orgOwnerA');
    assert.equal((await c.request('POST', collectionPath(P2), body({ cloudProvider: 'AWS', regionName: 'AP_EAST_1' }))).status, 201);
    const res = await c.request('POST', collectionPath(P2), body({ cloudProvider: 'AWS', regionName: 'AP_EAST_1' }));
    expectError(res, 409, 'OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS', /AP_EAST_1/);
    // Another project may have the same region.
    assert.equal((await c.request('POST', collectionPath(P1), body({ cloudProvider: 'AWS', regionName: 'AP_EAST_1' }))).status, 201);
  });

  row('11 404 RESOURCE_NOT_FOUND', 'GET or DELETE of an id not in this project: 404 RESOURCE_NOT_FOUND naming the id', async () => {
    const id = 'aaaaaaaaaaaaaaaaaaaaaaaa';
    expectError(await server.client().request('GET', itemPath(P1, id)), 404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${id}.`);
    expectError(await server.client().request('DELETE', itemPath(P1, id)), 404, 'RESOURCE_NOT_FOUND');
  });
});

describe('7–11. projects and organizations (DESIGN.md §10)', () => {
  const V23 = 'application/vnd.atlas.2023-01-01+json';
  const atlas = (key: Parameters<TestServer['client']>[0]) => server.client(key, { accept: V23, 'content-type': V23 });

  row('7 404 GROUP_NAME_NOT_FOUND', 'an organization owner asking for a name no project of its organization has: 404 GROUP_NAME_NOT_FOUND', async () => {
    expectError(await atlas('orgOwnerA').request('GET', '/api/atlas/v2/groups/byName/nosuch'), 404, 'GROUP_NAME_NOT_FOUND', 'No group with name "nosuch" exists.');
    // Another organization's project is not found by name either.
    expectError(await atlas('orgOwnerB').request('GET', '/api/atlas/v2/groups/byName/payments'), 404, 'GROUP_NAME_NOT_FOUND');
  });

  test('before it: the version, then the access list', async () => {
    expectError(await server.client('orgOwnerA').request('GET', '/api/atlas/v2/groups/byName/nosuch'), 406, 'INVALID_VERSION_DATE');
    expectError(await atlas('fencedP1').request('GET', '/api/atlas/v2/groups/byName/nosuch'), 403, 'IP_ADDRESS_NOT_ON_ACCESS_LIST');
  });

  row('11 401 NOT_ORG_GROUP_CREATOR', 'creating a project without Organization Owner or Project Creator there: 401 NOT_ORG_GROUP_CREATOR', async () => {
    expectError(await atlas('readerP1').request('POST', '/api/atlas/v2/groups', body({ name: 'never', orgId: ORG_A })), 401, 'NOT_ORG_GROUP_CREATOR', new RegExp(ORG_A));
    expectError(await atlas('orgOwnerB').request('POST', '/api/atlas/v2/groups', body({ name: 'never', orgId: ORG_A })), 401, 'NOT_ORG_GROUP_CREATOR');
  });

  test('before it: the body (its organization is in it)', async () => {
    expectError(await atlas('readerP1').request('POST', '/api/atlas/v2/groups', body({ orgId: ORG_A })), 400, 'MISSING_ATTRIBUTE');
    expectError(await atlas('readerP1').request('POST', '/api/atlas/v2/groups', body({ name: 'a b', orgId: ORG_A })), 400, 'INVALID_ATTRIBUTE');
  });

  row('11 409 GROUP_ALREADY_EXISTS', 'a second project of the same name in the organization: 409 GROUP_ALREADY_EXISTS', async () => {
    expectError(await atlas('orgOwnerA').request('POST', '/api/atlas/v2/groups', body({ name: 'payments', orgId: ORG_A })), 409, 'GROUP_ALREADY_EXISTS', 'A group with name "payments" already exists.');
    expectError(await atlas('orgOwnerA').request('PATCH', `/api/atlas/v2/groups/${P2}`, body({ name: 'payments' })), 409, 'GROUP_ALREADY_EXISTS');
  });

  test('before it: who may create there', async () => {
    expectError(await atlas('orgOwnerB').request('POST', '/api/atlas/v2/groups', body({ name: 'payments', orgId: ORG_A })), 401, 'NOT_ORG_GROUP_CREATOR');
    expectError(await atlas('readerP1').request('PATCH', `/api/atlas/v2/groups/${P1}`, body({ name: 'ledger' })), 401, 'USER_UNAUTHORIZED');
  });

  row('11 409 CANNOT_CLOSE_GROUP_ACTIVE_ATLAS_PRIVATE_ENDPOINT_SERVICES', 'deleting a project that still has endpoints: 409, and the project stays', async () => {
    const c = server.client('orgOwnerA');
    const made = await c.request('POST', collectionPath(P2), body({ cloudProvider: 'AWS', regionName: 'ME_SOUTH_1' }));
    assert.ok([201, 409].includes(made.status), made.text);
    expectError(await atlas('orgOwnerA').request('DELETE', `/api/atlas/v2/groups/${P2}`), 409, 'CANNOT_CLOSE_GROUP_ACTIVE_ATLAS_PRIVATE_ENDPOINT_SERVICES');
    assert.equal((await atlas('orgOwnerA').request('GET', `/api/atlas/v2/groups/${P2}`)).status, 200);
  });

  test('before it: a read-only role', async () => {
    const made = await server.client('ownerP1').request('POST', collectionPath(P1), body({ cloudProvider: 'AWS', regionName: 'ME_SOUTH_1' }));
    assert.ok([201, 409].includes(made.status), made.text);
    expectError(await atlas('readerP1').request('DELETE', `/api/atlas/v2/groups/${P1}`), 401, 'USER_UNAUTHORIZED');
  });
});

describe('503', () => {
  // The store is really made unreachable for one write: on SQLite another connection holds the
  // write lock past the store's busy timeout (5 s, SQLITE_BUSY); on PostgreSQL the server's
  // backend, waiting on a table lock, is terminated as an operator would (57P01).
  row('- 503 SERVICE_UNAVAILABLE', 'the store cannot be reached: 503 SERVICE_UNAVAILABLE with Retry-After, and a retry succeeds', async () => {
    const blocked = await startTestServer();
    const create = () => blocked.client('orgOwnerA').request('POST', collectionPath(P2), body({ cloudProvider: 'AWS', regionName: 'EU_WEST_1' }));
    try {
      let res: AtlasResponse<any>;
      if (STORE_KIND === 'sqlite') {
        const other = new SqliteDatabase(join(blocked.scratch.dir, SQLITE_FILE), { timeout: 0 });
        try {
          // The server's own writes at start (a batch commits at the end of its turn) may hold the lock a moment.
          const locked = () => {
            try {
              other.exec('BEGIN IMMEDIATE');
              return true;
            } catch {
              return false;
            }
          };
          await waitFor(async () => locked(), Boolean, 10_000, 'the write lock');
          res = await create();
          other.exec('ROLLBACK');
        } finally {
          other.close();
        }
      } else {
        const other = new pg.Client({ connectionString: blocked.scratch.databaseUrl });
        await other.connect();
        try {
          await other.query('BEGIN');
          await other.query('LOCK TABLE private_endpoints IN ACCESS EXCLUSIVE MODE');
          const pending = create();
          const waiting = await waitFor(
            async () => (await other.query("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")).rows,
            (rows) => rows.length > 0,
            10_000,
            'the server to wait on the lock',
          );
          for (const { pid } of waiting) await other.query('SELECT pg_terminate_backend($1)', [pid]);
          res = await pending;
          await other.query('ROLLBACK');
        } finally {
          await other.end();
        }
      }
      expectError(res, 503, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly.');
      assert.equal(res.headers['retry-after'], '1');
      // The store is back: a client's retry creates the endpoint (on PostgreSQL the pool may
      // first hand out a connection that was terminated with the others, and answer 503 again).
      await waitFor(create, (r) => r.status === 201, 10_000, 'a retry to create the endpoint');
    } finally {
      await blocked.close();
    }
  });
});

describe('500', () => {
  row('- 500 UNEXPECTED_ERROR', 'an unexpected failure is UNEXPECTED_ERROR with nothing internal in it', async () => {
    const broken = await startTestServer();
    try {
      // Pull the store out from under the server.
      await broken.snaplink.store.db.destroy();
      const res = await broken.client().request('GET', collectionPath(P1));
      expectError(res, 500, 'UNEXPECTED_ERROR', 'Unexpected error.');
      assert.doesNotMatch(res.text, /sqlite|kysely|at |\/src\/|destroy/i);
    } finally {
      await broken.close();
    }
  });
});

describe('rows that can happen at any step: the store full, a request too slow', () => {
  row(
    '- 507 INSUFFICIENT_STORAGE',
    "a write SQLite has no room for (its page limit reached) is 507, changes nothing, and writes resume once there is room",
    async () => {
      const db = server.snaplink.store.db;
      const pages = Number((await sql<{ page_count: number }>`pragma page_count`.execute(db)).rows[0]!.page_count);
      await sql.raw(`pragma max_page_count = ${pages}`).execute(db);
      let refusedBody: object | undefined;
      try {
        // Until the free room left in the file is used up: the first write that needs a new page is refused.
        const full = await createUntilRefused(server.client('orgOwnerA'), P2);
        refusedBody = full.refusedBody;
        expectError(full.refused!, 507, 'INSUFFICIENT_STORAGE');
        assert.equal((await server.client('orgOwnerA').request('GET', collectionPath(P2))).status, 200, 'reads go on');
      } finally {
        await sql.raw('pragma max_page_count = 1073741823').execute(db);
      }
      // Room again: the next write goes through (the refused one left nothing behind to conflict with).
      assert.equal((await server.client('orgOwnerA').request('POST', collectionPath(P2), { body: refusedBody })).status, 201);
    },
    STORE_KIND === 'postgres' && 'on PostgreSQL a full disk is test/postgres/disk-full.test.ts (a tablespace on a small tmpfs)',
  );

  row('- 408 REQUEST_TIMEOUT', 'headers still trickling in after --headers-timeout: 408, and the connection is closed', async () => {
    const slow = await startTestServer({ connections: { ...DEFAULT_CONNECTION_LIMITS, headersTimeoutMs: 1000, requestTimeoutMs: 1000 } });
    try {
      const { connect } = await import('node:net');
      const text = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(slow.url).port), '127.0.0.1', () => socket.write(`GET ${collectionPath(P1)} HTTP/1.1\r\nHost: x\r\n`));
        let out = '';
        socket.on('data', (d: Buffer) => (out += d.toString('latin1')));
        socket.on('close', () => resolve(out));
        socket.on('error', reject);
      });
      const answer = parseHttpAnswer(text);
      expectError({ ...answer, body: JSON.parse(answer.text) } as unknown as AtlasResponse<any>, 408, 'REQUEST_TIMEOUT');
    } finally {
      await slow.close();
    }
  });
});

describe('every row of CHECK_ORDER', () => {
  test('CHECK_ORDER names each row once', () => {
    assert.deepEqual(ROWS.filter((k, i) => ROWS.indexOf(k) !== i), []);
  });

  test('has a test above that makes it happen, and no such test names a row CHECK_ORDER lacks', () => {
    assert.deepEqual(ROWS.filter((k) => !declared.has(k)), [], 'rows of CHECK_ORDER without a test in this file');
    assert.deepEqual([...declared].filter((k) => !ROWS.includes(k)), [], 'tests of rows CHECK_ORDER does not have');
  });
});
