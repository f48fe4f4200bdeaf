import { existsSync, readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';

// The test oracle: MongoDB's official OpenAPI description of the four operations, read from
// ../shared (never copied into the project). Every response the suites receive on the Atlas
// paths is checked against it by `assertConforms`.

const SPEC_NAME = 'atlas-openapi/backup-private-endpoints.openapi.json';

/** SNAPLINK_ATLAS_OPENAPI, else the nearest `shared/` beside an ancestor of this checkout. */
export function officialSpecPath(): string {
  const fromEnv = process.env.SNAPLINK_ATLAS_OPENAPI;
  if (fromEnv) return fromEnv;
  let dir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
  for (;;) {
    const candidate = join(dir, '..', 'shared', SPEC_NAME);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`the official Atlas spec was not found: set SNAPLINK_ATLAS_OPENAPI or place shared/${SPEC_NAME} beside the checkout`);
    dir = parent;
  }
}

type Json = any;

/**
 * The two published defects, repaired as DESIGN.md says: region enums wrapped in
 * `{type: object, oneOf: [string enum]}` become the string enum; ApiError.parameters accepts
 * any item. Response objects are closed (additionalProperties: false) so that a field the
 * spec does not know is caught too.
 */
function normalize(spec: Json): Json {
  const walk = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    if (node.type === 'object' && Array.isArray(node.oneOf) && node.oneOf.length === 1 && node.oneOf[0].type === 'string') {
      const { type: _t, oneOf, ...rest } = node;
      return walk({ ...rest, ...oneOf[0] });
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) out[k] = walk(v);
    return out;
  };
  const s = walk(spec);
  s.components.schemas.ApiError.properties.parameters.items = {};
  for (const name of ['ApiError', 'ObjectStoragePrivateEndpointResponse', 'PaginatedApiAtlasObjectStoragePrivateEndpointResponseView', 'Link', 'BadRequestDetail', 'FieldViolation']) {
    s.components.schemas[name].additionalProperties = false;
  }
  return s;
}

export const spec: Json = normalize(JSON.parse(readFileSync(officialSpecPath(), 'utf8')));

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addSchema({ ...spec, $id: 'atlas' });
const validators = new Map<string, ValidateFunction>();
export function schemaValidator(ref: string): ValidateFunction {
  let v = validators.get(ref);
  if (!v) {
    v = ajv.compile({ $ref: `atlas${ref}` });
    validators.set(ref, v);
  }
  return v;
}

function resolveRef(node: Json): Json {
  if (node?.$ref) {
    const path = String(node.$ref).replace(/^#\//, '').split('/');
    return resolveRef(path.reduce((n: Json, k: string) => n[k], spec));
  }
  return node;
}

export interface ObservedResponse {
  method: string;
  /** Path and query as sent. */
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const COLLECTION = /^\/api\/atlas\/v2\/groups\/[^/]+\/backup\/[^/]+\/privateEndpoints$/;
const ITEM = /^\/api\/atlas\/v2\/groups\/[^/]+\/backup\/[^/]+\/privateEndpoints\/[^/]+$/;

export function isAtlasPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return COLLECTION.test(path) || ITEM.test(path);
}

let checkedCount = 0;
export const conformanceChecks = () => checkedCount;

/** Throws, naming the problem, when a response on the Atlas paths breaks the official contract. */
export function assertConforms(r: ObservedResponse): void {
  const [path, queryString] = r.url.split('?') as [string, string | undefined];
  const pathItem = COLLECTION.test(path)
    ? spec.paths['/api/atlas/v2/groups/{groupId}/backup/{cloudProvider}/privateEndpoints']
    : ITEM.test(path)
      ? spec.paths['/api/atlas/v2/groups/{groupId}/backup/{cloudProvider}/privateEndpoints/{endpointId}']
      : undefined;
  if (!pathItem) return;
  checkedCount++;
  const fail = (why: string) => {
    throw new Error(`conformance: ${r.method} ${r.url} → ${r.status}: ${why}\nbody: ${r.text.slice(0, 500)}`);
  };
  const header = (name: string) => {
    const v = r.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };

  for (const h of ['ratelimit-limit', 'ratelimit-remaining']) {
    if (!/^\d+$/.test(header(h) ?? '')) fail(`header ${h} must be an integer, got ${header(h)}`);
  }
  if (r.method === 'HEAD') return;

  const operation = pathItem[r.method.toLowerCase()];
  const declared = operation ? resolveRef(operation.responses[String(r.status)]) : undefined;
  const contentType = header('content-type') ?? '';

  if (r.status >= 400) {
    if (!/^application\/json(;|$)/.test(contentType)) fail(`errors are sent as application/json, got ${contentType}`);
    let body: Json;
    try {
      body = JSON.parse(r.text);
    } catch {
      return fail('error body is not JSON');
    }
    const v = schemaValidator('#/components/schemas/ApiError');
    if (!v(body)) fail(`not an ApiError: ${ajv.errorsText(v.errors)}`);
    if (body.error !== r.status) fail(`ApiError.error ${body.error} differs from the status`);
    if (body.reason !== STATUS_CODES[r.status]) fail(`ApiError.reason ${body.reason} is not the reason phrase of ${r.status}`);
    for (const k of ['detail', 'errorCode', 'reason']) if (typeof body[k] !== 'string' || body[k] === '') fail(`ApiError.${k} must be a non-empty string`);
    if (!Array.isArray(body.parameters)) fail('ApiError.parameters must be a list');
    if (declared && !declared.content?.['application/json']) fail(`the spec declares ${r.status} without application/json`);
    if (r.status === 401 && body.errorCode === 'UNAUTHORIZED' && !/^Digest /.test(header('www-authenticate') ?? '')) fail('401 UNAUTHORIZED without a Digest challenge');
    if (r.status === 405 && !header('allow')) fail('405 without an Allow header');
    if (r.status === 429 && !/^\d+$/.test(header('retry-after') ?? '')) fail('429 without an integer Retry-After');
    return;
  }

  if (!operation) return fail(`${r.method} is not an operation of this path`);
  if (!declared) return fail(`the spec declares no ${r.status} for ${operation.operationId}`);
  if (r.status === 204) {
    if (r.text !== '') fail('204 must have no body');
    return;
  }
  const [mediaType, media] = Object.entries(declared.content ?? {})[0] as [string, Json];
  if (contentType.replace(/\s/g, '').toLowerCase() !== `${mediaType};charset=utf-8`) fail(`content-type ${contentType}, expected ${mediaType};charset=utf-8`);
  let body: Json;
  try {
    body = JSON.parse(r.text);
  } catch {
    return fail('body is not JSON');
  }
  // envelope=true wraps a single entity as {status, content} and adds status to a list.
  const params = new URLSearchParams(queryString ?? '');
  if (params.get('envelope')?.toLowerCase() === 'true') {
    if (body.status !== r.status) fail(`envelope status ${body.status} differs from ${r.status}`);
    if ('results' in body) {
      const { status: _s, ...rest } = body;
      body = rest;
    } else {
      if (Object.keys(body).sort().join() !== 'content,status') fail('an enveloped entity has exactly status and content');
      body = body.content;
    }
  }
  const v = schemaValidator(media.schema.$ref.replace(/^#/, '#'));
  if (!v(body)) fail(`body does not match ${media.schema.$ref}: ${ajv.errorsText(v.errors)}`);
  for (const h of Object.keys(declared.headers ?? {})) if (header(h.toLowerCase()) === undefined) fail(`missing declared header ${h}`);
}
