import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildOpenApiDocument } from '../src/atlas/openapi.js';
import { fetchSpec, locateProjectsSpec, ORACLE_OFF_NOTICE, PROJECTS_SUBSET, sharedSpecDir } from './support/atlas-spec.js';
import { rawRequest, startTestServer } from './support/harness.js';
import { assertConforms, AUTHENTICATION_FAILURE, conformanceChecks, type ObservedResponse, projectsSpec, spec } from './support/oracle.js';
import { tempDir } from './support/stores.js';
import { collectionPath, itemPath, P1 } from './support/world.js';

// The oracle itself must be able to fail: each case breaks the envelope or the official
// contract one way. The spec's own cases need the spec; without it they are skipped, loudly.

const NO_SPEC = spec ? false : ORACLE_OFF_NOTICE;
const SECURITY = { 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY', 'referrer-policy': 'strict-origin-when-cross-origin', 'x-permitted-cross-domain-policies': 'none' };

const ok = (over: Partial<ObservedResponse> = {}): ObservedResponse => ({
  method: 'GET',
  url: itemPath(P1, '6650f0c0a1b2c3d4e5f6aaaa'),
  status: 200,
  headers: { 'content-type': 'application/vnd.atlas.2024-11-13+json;charset=utf-8', 'ratelimit-limit': '1200', 'ratelimit-remaining': '3', ...SECURITY },
  text: JSON.stringify({ cloudProvider: 'AWS', id: '6650f0c0a1b2c3d4e5f6aaaa', regionName: 'US_EAST_1', status: 'ACTIVE', vpcRegionName: 'US_EAST_1' }),
  ...over,
});
const error = (status: number, errorCode: string, reason: string, headers: Record<string, string> = {}): ObservedResponse => ({
  method: 'GET',
  url: collectionPath(P1),
  status,
  headers: { 'content-type': 'application/json', 'x-error-code': errorCode, 'ratelimit-limit': '1', 'ratelimit-remaining': '1', ...SECURITY, ...headers },
  text: JSON.stringify({ detail: 'd', error: status, errorCode, parameters: [], reason }),
});

const authFailure = (over: Partial<ObservedResponse> = {}): ObservedResponse => ({
  method: 'GET',
  url: collectionPath(P1),
  status: 401,
  headers: { 'content-type': 'application/json', 'www-authenticate': 'Digest realm="MMS Public API", nonce="n", qop="auth"' },
  text: JSON.stringify(AUTHENTICATION_FAILURE),
  ...over,
});
const without = (r: ObservedResponse, name: string): ObservedResponse => {
  const { [name]: _gone, ...headers } = r.headers;
  return { ...r, headers };
};

describe('the conformance oracle: the envelope', () => {
  test('accepts conforming answers: an entity, an ApiError, a failed authentication, a 204, a GROUP_NOT_FOUND without RateLimit', () => {
    assert.doesNotThrow(() => assertConforms(ok()));
    assert.doesNotThrow(() => assertConforms(error(404, 'RESOURCE_NOT_FOUND', 'Not Found')));
    assert.doesNotThrow(() => assertConforms(authFailure()));
    assert.doesNotThrow(() => assertConforms(ok({ method: 'DELETE', status: 204, text: '' })));
    assert.doesNotThrow(() => assertConforms(without(without(error(404, 'GROUP_NOT_FOUND', 'Not Found'), 'ratelimit-limit'), 'ratelimit-remaining')));
  });

  const broken: [string, ObservedResponse][] = [
    ['the wrong media type', ok({ headers: { ...ok().headers, 'content-type': 'application/json' } })],
    ['no RateLimit headers', without(ok(), 'ratelimit-limit')],
    ['a missing security header', without(ok(), 'x-permitted-cross-domain-policies')],
    ['a body on 204', ok({ method: 'DELETE', status: 204, text: '{}' })],
    ['a 204 without the Atlas media type', without(ok({ method: 'DELETE', status: 204, text: '' }), 'content-type')],
    ['an error whose error field differs from the status', { ...error(404, 'X', 'Not Found'), status: 400 }],
    ['an error with the wrong reason', error(404, 'RESOURCE_NOT_FOUND', 'Nope')],
    ['an error sent with the Atlas media type', error(404, 'RESOURCE_NOT_FOUND', 'Not Found', { 'content-type': 'application/vnd.atlas.2024-11-13+json' })],
    ['an error with a charset', error(404, 'RESOURCE_NOT_FOUND', 'Not Found', { 'content-type': 'application/json; charset=utf-8' })],
    ['an error without X-Error-Code', without(error(404, 'RESOURCE_NOT_FOUND', 'Not Found'), 'x-error-code')],
    ['an X-Error-Code that differs from the body', error(404, 'RESOURCE_NOT_FOUND', 'Not Found', { 'x-error-code': 'NOT_FOUND' })],
    ['a GROUP_NOT_FOUND with RateLimit headers', error(404, 'GROUP_NOT_FOUND', 'Not Found')],
    ['a 429 without Retry-After', error(429, 'RATE_LIMITED', 'Too Many Requests')],
    ['a 405 without Allow', error(405, 'METHOD_NOT_ALLOWED', 'Method Not Allowed')],
    ['a failed authentication without a challenge', without(authFailure(), 'www-authenticate')],
    ['a failed authentication with parameters', authFailure({ text: JSON.stringify({ ...AUTHENTICATION_FAILURE, parameters: [] }) })],
    ['a failed authentication with another detail', authFailure({ text: JSON.stringify({ ...AUTHENTICATION_FAILURE, detail: 'No.' }) })],
    ['a failed authentication with X-Error-Code', authFailure({ headers: { ...authFailure().headers, 'x-error-code': 'UNEXPECTED_ERROR' } })],
    ['a failed authentication with RateLimit headers', authFailure({ headers: { ...authFailure().headers, 'ratelimit-limit': '1', 'ratelimit-remaining': '1' } })],
    ['a failed authentication with security headers', authFailure({ headers: { ...authFailure().headers, ...SECURITY } })],
    ['a failed authentication with a charset', authFailure({ headers: { ...authFailure().headers, 'content-type': 'application/json; charset=utf-8' } })],
  ];
  for (const [what, response] of broken) {
    test(`refuses ${what}`, () => assert.throws(() => assertConforms(response), /conformance/));
  }
});

describe('the conformance oracle: the official spec', { skip: NO_SPEC }, () => {
  const broken: [string, ObservedResponse][] = [
    ['a field the spec does not know', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), extra: 1 }) })],
    ['a null field', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), errorMessage: null }) })],
    ['a status outside the enum', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), status: 'DONE' }) })],
    ['a region outside the enum', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), regionName: 'us-east-1' }) })],
    ['a malformed id', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), id: 'x' }) })],
    ['a status the operation does not declare', ok({ status: 202 })],
    ['a list without results', ok({ url: collectionPath(P1), text: '{"links":[]}' })],
    ['an envelope with the wrong status', ok({ url: `${itemPath(P1, '6650f0c0a1b2c3d4e5f6aaaa')}?envelope=true`, text: JSON.stringify({ status: 201, content: JSON.parse(ok().text) }) })],
  ];
  for (const [what, response] of broken) {
    test(`refuses ${what}`, () => assert.throws(() => assertConforms(response), /conformance/));
  }
});

describe('the conformance oracle: the official spec of the projects and organizations operations', { skip: projectsSpec ? false : ORACLE_OFF_NOTICE }, () => {
  const GROUP = '6650f0c0a1b2c3d4e5f6aaaa';
  const project = {
    clusterCount: 0,
    created: '2026-01-02T03:04:05Z',
    id: GROUP,
    links: [{ href: `http://x/api/atlas/v2/groups/${GROUP}`, rel: 'self' }],
    name: 'payments',
    orgId: '6650f0c0a1b2c3d4e5f60001',
    tags: [],
    withDefaultAlertsSettings: true,
  };
  const answer = (over: Partial<ObservedResponse> & { json?: unknown } = {}): ObservedResponse => {
    const { json = project, ...rest } = over;
    return {
      method: 'GET',
      url: `/api/atlas/v2/groups/${GROUP}`,
      status: 200,
      headers: { ...ok().headers, 'content-type': 'application/vnd.atlas.2023-01-01+json;charset=utf-8' },
      text: JSON.stringify(json),
      ...rest,
    };
  };

  test('accepts a conforming project, Atlas\'s recorded 201 on create and 202 {} on delete', () => {
    assert.doesNotThrow(() => assertConforms(answer()));
    assert.doesNotThrow(() => assertConforms(answer({ method: 'POST', url: '/api/atlas/v2/groups', status: 201 })));
    assert.doesNotThrow(() => assertConforms(answer({ method: 'DELETE', status: 202, json: {} })));
  });

  const broken: [string, ObservedResponse][] = [
    ['the resource\'s version on a project', answer({ headers: { ...ok().headers } })],
    ['a field the spec does not know', answer({ json: { ...project, extra: 1 } })],
    ['a project without its name', answer({ json: { ...project, name: undefined } })],
    ['a created that is not a date-time', answer({ json: { ...project, created: 'yesterday' } })],
    ['a tag without its value', answer({ json: { ...project, tags: [{ key: 'env' }] } })],
    ['a create answered 200 (Atlas answers 201)', answer({ method: 'POST', url: '/api/atlas/v2/groups', status: 200 })],
    ['a delete answered 204 (Atlas answers 202 {})', answer({ method: 'DELETE', status: 204, text: '' })],
    ['a delete\'s 202 with a body other than {}', answer({ method: 'DELETE', status: 202, json: { deleted: true } })],
    ['an organization list whose item has no name', answer({ url: '/api/atlas/v2/orgs', json: { links: [], results: [{ id: GROUP, isDeleted: false, links: [] }], totalCount: 1 } })],
  ];
  for (const [what, response] of broken) {
    test(`refuses ${what}`, () => assert.throws(() => assertConforms(response), /conformance/));
  }
});

describe('snaplink’s own OpenAPI document', { skip: NO_SPEC }, () => {
  const ours = buildOpenApiDocument('test');
  const operations = (doc: any) =>
    Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      Object.keys(item)
        .filter((k) => ['get', 'post', 'delete', 'put', 'patch'].includes(k))
        .map((m) => `${m.toUpperCase()} ${path} ${item[m].operationId}`),
    );

  test('describes exactly the official operations, under the official operation ids', { skip: projectsSpec ? false : ORACLE_OFF_NOTICE }, () => {
    assert.deepEqual(operations(ours).sort(), [...operations(spec), ...operations(projectsSpec)].sort());
  });

  test('declares the official success statuses and media types (the recorded ones where Atlas contradicts its spec)', { skip: projectsSpec ? false : ORACLE_OFF_NOTICE }, () => {
    const recorded: Record<string, string> = { 'post /api/atlas/v2/groups': '201', 'delete /api/atlas/v2/groups/{groupId}': '202' };
    for (const doc of [spec, projectsSpec]) {
      for (const [path, item] of Object.entries<any>(doc.paths)) {
        for (const method of ['get', 'post', 'patch', 'delete'].filter((m) => item[m])) {
          const official = Object.keys(item[method].responses).filter((s) => s.startsWith('2'));
          const mine = (ours.paths as any)[path][method].responses;
          const success = recorded[`${method} ${path}`] ?? official[0]!;
          assert.deepEqual(Object.keys(mine).filter((s) => s.startsWith('2')), [success], `${method} ${path}`);
          // A 204 has no body to type; every other success is the operation's versioned type.
          if (success !== '204') assert.deepEqual(Object.keys(mine[success].content ?? {}), Object.keys(item[method].responses[official[0]!].content ?? {}), `${method} ${path}`);
        }
      }
    }
  });

  test('uses the official enums for regions and statuses', () => {
    const off = spec.components.schemas.ObjectStoragePrivateEndpointResponse.properties;
    const mine: any = ours.components.schemas.ObjectStoragePrivateEndpointResponse.properties;
    assert.deepEqual(mine.regionName.enum, off.regionName.enum);
    assert.deepEqual(mine.status.enum, off.status.enum);
    assert.deepEqual(ours.components.schemas.ObjectStoragePrivateEndpointRequest.required, ['cloudProvider', 'regionName']);
  });
});

describe('where the oracle comes from: npm run fetch-spec', () => {
  // The download itself cannot be made here (no internet), so a loopback server hands out the
  // copy ../shared keeps of the pinned document; everything after the download is the real path.
  const shared = sharedSpecDir();
  const upstream = shared && join(shared, 'upstream', 'spec.yaml');
  const skip = upstream && existsSync(upstream) ? false : 'needs ../shared/atlas-openapi/upstream/spec.yaml (CI has it)';
  const shipped = () => JSON.parse(readFileSync(join(shared!, 'backup-private-endpoints.openapi.json'), 'utf8'));
  const withoutProvenance = ({ 'x-subset-source': _p, ...rest }: any) => rest;

  async function serving<T>(bytes: Buffer, work: (url: string) => Promise<T>): Promise<T> {
    const server = createServer((req, res) => {
      if (req.url === '/spec.yaml') res.end(bytes);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      return await work(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    } finally {
      server.close();
    }
  }

  test('downloads the pinned document, checks its sha256 and cuts exactly the subset ../shared ships', { skip }, async () => {
    const out = tempDir();
    const [written] = await serving(readFileSync(upstream!), (url) => fetchSpec(`${url}/spec.yaml`, out));
    const cut = JSON.parse(readFileSync(written!, 'utf8'));
    assert.deepStrictEqual(withoutProvenance(cut), withoutProvenance(shipped()));
    assert.equal(cut['x-subset-source'].sha256, '0fd914afb4a3e1ede2d0f48822fe30d7f1ba2c287625382dfb98bbe2606119f9');
  });

  test('cuts the projects and organizations subset too: exactly the served operations, every $ref inside, the same as the oracle uses', { skip }, async () => {
    const out = tempDir();
    const written = await serving(readFileSync(upstream!), (url) => fetchSpec(`${url}/spec.yaml`, out));
    const cut = JSON.parse(readFileSync(written.find((f) => f.endsWith(PROJECTS_SUBSET.file))!, 'utf8'));
    const operations = Object.entries<any>(cut.paths).flatMap(([p, item]) => Object.keys(item).filter((k) => k !== 'parameters').map((m) => `${m} ${p} ${item[m].operationId}`));
    assert.deepEqual(operations.sort(), [
      'delete /api/atlas/v2/groups/{groupId} deleteGroup',
      'get /api/atlas/v2/groups listGroups',
      'get /api/atlas/v2/groups/byName/{groupName} getGroupByName',
      'get /api/atlas/v2/groups/{groupId} getGroup',
      'get /api/atlas/v2/orgs listOrgs',
      'get /api/atlas/v2/orgs/{orgId} getOrg',
      'get /api/atlas/v2/orgs/{orgId}/groups getOrgGroups',
      'patch /api/atlas/v2/groups/{groupId} updateGroup',
      'post /api/atlas/v2/groups createGroup',
    ]);
    // Closed over $ref: every reference resolves inside the subset.
    const refs = JSON.stringify(cut).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of refs) {
      const [, section, name] = /#\/components\/([^/]+)\/([^"]+)/.exec(ref)!;
      assert.ok(cut.components[section!]?.[name!], `dangling ${ref}`);
    }
    assert.deepStrictEqual(withoutProvenance(cut), withoutProvenance(JSON.parse(readFileSync(locateProjectsSpec()!.path, 'utf8'))));
  });

  test('refuses a document whose bytes differ from the pinned ones, and writes nothing', { skip }, async () => {
    const out = tempDir();
    const bytes = Buffer.from(readFileSync(upstream!));
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 1;
    await assert.rejects(serving(bytes, (url) => fetchSpec(`${url}/spec.yaml`, out)), /sha256 [0-9a-f]{64} .* is not the pinned 0fd914af/);
    await assert.rejects(serving(bytes, (url) => fetchSpec(`${url}/missing.yaml`, out)), /HTTP 404/);
    assert.equal(existsSync(join(out, 'backup-private-endpoints.openapi.json')), false);
  });
});

describe('the oracle is applied', () => {
  test('every answer the harness’s clients receive goes through it: typed calls, requests and raw requests', async () => {
    const server = await startTestServer();
    try {
      const before = conformanceChecks();
      await server.client().createPrivateEndpoint(P1, { regionName: 'US_EAST_1' });
      await server.client().request('GET', collectionPath(P1));
      await rawRequest(server.url, 'GET', collectionPath(P1));
      assert.equal(conformanceChecks() - before, 3);
    } finally {
      await server.close();
    }
  });
});
