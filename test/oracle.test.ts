import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildOpenApiDocument } from '../src/atlas/openapi.js';
import { assertConforms, type ObservedResponse, spec } from './support/oracle.js';
import { collectionPath, itemPath, P1 } from './support/world.js';

// The oracle itself must be able to fail: each case breaks the official contract one way.

const ok = (over: Partial<ObservedResponse> = {}): ObservedResponse => ({
  method: 'GET',
  url: itemPath(P1, '6650f0c0a1b2c3d4e5f6aaaa'),
  status: 200,
  headers: { 'content-type': 'application/vnd.atlas.2024-11-13+json;charset=utf-8', 'ratelimit-limit': '1200', 'ratelimit-remaining': '3' },
  text: JSON.stringify({ cloudProvider: 'AWS', id: '6650f0c0a1b2c3d4e5f6aaaa', regionName: 'US_EAST_1', status: 'ACTIVE', vpcRegionName: 'US_EAST_1' }),
  ...over,
});
const error = (status: number, errorCode: string, reason: string, headers: Record<string, string> = {}): ObservedResponse => ({
  method: 'GET',
  url: collectionPath(P1),
  status,
  headers: { 'content-type': 'application/json', 'ratelimit-limit': '1', 'ratelimit-remaining': '1', ...headers },
  text: JSON.stringify({ detail: 'd', error: status, errorCode, parameters: [], reason }),
});

describe('the conformance oracle', () => {
  test('accepts a conforming answer and plain string region values', () => {
    assert.doesNotThrow(() => assertConforms(ok()));
    assert.doesNotThrow(() => assertConforms(error(404, 'RESOURCE_NOT_FOUND', 'Not Found')));
  });

  const broken: [string, ObservedResponse][] = [
    ['a field the spec does not know', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), extra: 1 }) })],
    ['a null field', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), errorMessage: null }) })],
    ['a status outside the enum', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), status: 'DONE' }) })],
    ['a region outside the enum', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), regionName: 'us-east-1' }) })],
    ['a malformed id', ok({ text: JSON.stringify({ ...JSON.parse(ok().text), id: 'x' }) })],
    ['the wrong media type', ok({ headers: { ...ok().headers, 'content-type': 'application/json' } })],
    ['no RateLimit headers', ok({ headers: { 'content-type': ok().headers['content-type'] } })],
    ['a status the operation does not declare', ok({ status: 202 })],
    ['a body on 204', ok({ method: 'DELETE', status: 204, text: '{}' })],
    ['a list without results', ok({ url: collectionPath(P1), text: '{"links":[]}' })],
    ['an envelope with the wrong status', ok({ url: `${itemPath(P1, '6650f0c0a1b2c3d4e5f6aaaa')}?envelope=true`, text: JSON.stringify({ status: 201, content: JSON.parse(ok().text) }) })],
    ['an error whose error field differs from the status', { ...error(404, 'X', 'Not Found'), status: 400 }],
    ['an error with the wrong reason', error(404, 'RESOURCE_NOT_FOUND', 'Nope')],
    ['an error sent with the Atlas media type', error(404, 'RESOURCE_NOT_FOUND', 'Not Found', { 'content-type': 'application/vnd.atlas.2024-11-13+json' })],
    ['a 401 UNAUTHORIZED without a challenge', error(401, 'UNAUTHORIZED', 'Unauthorized')],
    ['a 429 without Retry-After', error(429, 'RATE_LIMITED', 'Too Many Requests')],
    ['a 405 without Allow', error(405, 'METHOD_NOT_ALLOWED', 'Method Not Allowed')],
  ];
  for (const [what, response] of broken) {
    test(`refuses ${what}`, () => assert.throws(() => assertConforms(response), /conformance/));
  }
});

describe('snaplink’s own OpenAPI document', () => {
  const ours = buildOpenApiDocument('test');
  const operations = (doc: any) =>
    Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      Object.keys(item)
        .filter((k) => ['get', 'post', 'delete', 'put', 'patch'].includes(k))
        .map((m) => `${m.toUpperCase()} ${path} ${item[m].operationId}`),
    );

  test('describes exactly the official operations, under the official operation ids', () => {
    assert.deepEqual(operations(ours).sort(), operations(spec).sort());
  });

  test('declares the official success statuses and media types', () => {
    for (const [path, item] of Object.entries<any>(spec.paths)) {
      for (const method of ['get', 'post', 'delete'].filter((m) => item[m])) {
        const official = Object.keys(item[method].responses).filter((s) => s.startsWith('2'));
        const mine = Object.keys((ours.paths as any)[path][method].responses).filter((s) => s.startsWith('2'));
        assert.deepEqual(mine, official, `${method} ${path}`);
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
