import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { Ajv, type ValidateFunction } from 'ajv';
import { locateOfficialSpec, locateProjectsSpec, ORACLE_OFF_NOTICE, repairPublishedDefects, SUBSET_PREFIX } from './atlas-spec.js';

// The test oracle. Every response the suites receive on the Atlas paths goes through
// `assertConforms`, which checks two things:
// - the envelope DESIGN.md §2 describes (media types, X-Error-Code, RateLimit and security
//   headers, the ApiError shape): always;
// - the official OpenAPI description of the operation — the resource's four, and Atlas's
//   projects and organizations operations (test/support/atlas-spec.ts says where each comes
//   from): whenever it is there. Without it `spec` (or `projectsSpec`) is undefined and only
//   the envelope is checked; test/run.ts says so loudly.

type Json = any;

/**
 * The published defects repaired (atlas-spec.ts), and response objects closed
 * (additionalProperties: false) so that a field the spec does not know is caught too.
 */
function normalize(official: Json, closed: readonly string[]): Json {
  const s = repairPublishedDefects(official);
  for (const name of ['ApiError', 'Link', 'BadRequestDetail', 'FieldViolation', ...closed]) s.components.schemas[name].additionalProperties = false;
  return s;
}

const read = (location: { path: string } | undefined) => location && JSON.parse(readFileSync(location.path, 'utf8'));
const location = locateOfficialSpec();
/** The normalised official spec of the resource's four operations, or undefined when it is not on this machine. */
export const spec: Json | undefined = location && normalize(read(location), ['ObjectStoragePrivateEndpointResponse', 'PaginatedApiAtlasObjectStoragePrivateEndpointResponseView']);
/** The same for Atlas's projects and organizations operations (DESIGN.md §10). */
const projectsLocation = locateProjectsSpec();
export const projectsSpec: Json | undefined = projectsLocation && normalize(read(projectsLocation), ['Group', 'PaginatedAtlasGroupView', 'AtlasOrganization', 'PaginatedOrganizationView', 'ResourceTag']);
if ((!spec || !projectsSpec) && !process.env.SNAPLINK_TEST_RUNNER) process.emitWarning(ORACLE_OFF_NOTICE, 'SnaplinkOracleOff');

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
// RFC 3339, as the spec's date-time fields are written.
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
type Doc = 'atlas' | 'atlas-projects';
const docs: Record<Doc, Json | undefined> = { atlas: spec, 'atlas-projects': projectsSpec };
for (const [id, doc] of Object.entries(docs)) if (doc) ajv.addSchema({ ...doc, $id: id });
const validators = new Map<string, ValidateFunction>();
export function schemaValidator(ref: string, doc: Doc = 'atlas'): ValidateFunction {
  let v = validators.get(doc + ref);
  if (!v) {
    v = ajv.compile({ $ref: `${doc}${ref}` });
    validators.set(doc + ref, v);
  }
  return v;
}

function resolveRef(node: Json, doc: Json): Json {
  if (node?.$ref) {
    const path = String(node.$ref).replace(/^#\//, '').split('/');
    return resolveRef(path.reduce((n: Json, k: string) => n[k], doc), doc);
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

/** The Atlas paths the oracle knows: the official path each matches, the document describing it, and its version. */
const PATHS: { pattern: RegExp; key: string; doc: Doc; version: string }[] = [
  { pattern: /^\/api\/atlas\/v2\/groups\/[^/]+\/backup\/[^/]+\/privateEndpoints$/, key: SUBSET_PREFIX, doc: 'atlas', version: '2024-11-13' },
  { pattern: /^\/api\/atlas\/v2\/groups\/[^/]+\/backup\/[^/]+\/privateEndpoints\/[^/]+$/, key: `${SUBSET_PREFIX}/{endpointId}`, doc: 'atlas', version: '2024-11-13' },
  { pattern: /^\/api\/atlas\/v2\/groups$/, key: '/api/atlas/v2/groups', doc: 'atlas-projects', version: '2023-01-01' },
  { pattern: /^\/api\/atlas\/v2\/groups\/byName\/[^/]+$/, key: '/api/atlas/v2/groups/byName/{groupName}', doc: 'atlas-projects', version: '2023-01-01' },
  { pattern: /^\/api\/atlas\/v2\/groups\/[^/]+$/, key: '/api/atlas/v2/groups/{groupId}', doc: 'atlas-projects', version: '2023-01-01' },
  { pattern: /^\/api\/atlas\/v2\/orgs$/, key: '/api/atlas/v2/orgs', doc: 'atlas-projects', version: '2023-01-01' },
  { pattern: /^\/api\/atlas\/v2\/orgs\/[^/]+$/, key: '/api/atlas/v2/orgs/{orgId}', doc: 'atlas-projects', version: '2023-01-01' },
  { pattern: /^\/api\/atlas\/v2\/orgs\/[^/]+\/groups$/, key: '/api/atlas/v2/orgs/{orgId}/groups', doc: 'atlas-projects', version: '2023-01-01' },
];

const pathOf = (url: string) => PATHS.find((p) => p.pattern.test(url.split('?')[0]!));

export function isAtlasPath(url: string): boolean {
  return pathOf(url) !== undefined;
}

/**
 * Where MongoDB's recordings of real Atlas answers contradict the status the spec declares, the
 * recorded one is what Atlas sends (test/e2e/.snapshots of mongodb/mongodb-atlas-cli; DESIGN.md
 * §10): its body is checked against the declared one's schema, or is exactly `body`.
 */
const RECORDED: Record<string, { status: number; declared: string; body?: object }> = {
  'post /api/atlas/v2/groups': { status: 201, declared: '200' },
  'delete /api/atlas/v2/groups/{groupId}': { status: 202, declared: '204', body: {} },
};

let checkedCount = 0;
/** How many answers were checked so far (oracle.test.ts proves the harness's clients are). */
export const conformanceChecks = () => checkedCount;

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'strict-origin-when-cross-origin',
  'x-permitted-cross-domain-policies': 'none',
};
const successType = (version: string) => `application/vnd.atlas.${version}+json;charset=utf-8`;
/** Atlas's answer to a failed authentication, exactly (DESIGN.md §2). */
export const AUTHENTICATION_FAILURE = { error: 401, reason: 'Unauthorized', detail: 'You are not authorized for this resource.', errorCode: 'UNEXPECTED_ERROR' };

/** Throws, naming the problem, when a response on the Atlas paths breaks the envelope or the official contract. */
export function assertConforms(r: ObservedResponse): void {
  const queryString = r.url.split('?')[1];
  const which = pathOf(r.url);
  if (!which) return;
  checkedCount++;
  const fail = (why: string) => {
    throw new Error(`conformance: ${r.method} ${r.url} → ${r.status}: ${why}\nbody: ${r.text.slice(0, 500)}`);
  };
  const header = (name: string) => {
    const v = r.headers[name];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const parse = (what: string): Json => {
    try {
      return JSON.parse(r.text);
    } catch {
      return fail(`${what} is not JSON`);
    }
  };
  const contentType = header('content-type') ?? '';
  const body: Json = r.method === 'HEAD' || r.status === 204 ? undefined : parse(r.status >= 400 ? 'the error body' : 'the body');

  // The envelope (DESIGN.md §2). A failed authentication is answered before Atlas's API layer.
  // (Only a failed authentication carries a challenge; a HEAD has no body to tell it by.)
  const authFailure = r.status === 401 && header('www-authenticate') !== undefined;
  if (authFailure) {
    if (body !== undefined && JSON.stringify(body) !== JSON.stringify(AUTHENTICATION_FAILURE)) fail(`a failed authentication's body is exactly ${JSON.stringify(AUTHENTICATION_FAILURE)}`);
    if (!/^Digest /.test(header('www-authenticate') ?? '')) fail('a failed authentication carries a Digest challenge');
    for (const h of ['x-error-code', 'ratelimit-limit', 'ratelimit-remaining', 'strict-transport-security', ...Object.keys(SECURITY_HEADERS)]) {
      if (header(h) !== undefined) fail(`a failed authentication carries no ${h} header`);
    }
  } else {
    for (const [h, v] of Object.entries(SECURITY_HEADERS)) if (header(h) !== v) fail(`header ${h} must be ${v}, got ${header(h)}`);
    for (const h of ['ratelimit-limit', 'ratelimit-remaining']) {
      if (body?.errorCode === 'GROUP_NOT_FOUND') {
        if (header(h) !== undefined) fail(`GROUP_NOT_FOUND has no bucket, so no ${h} header`);
      } else if (!/^\d+$/.test(header(h) ?? '')) fail(`header ${h} must be an integer, got ${header(h)}`);
    }
  }
  if (r.method === 'HEAD') return;
  if (r.status >= 400) {
    if (contentType !== 'application/json') fail(`errors are sent as exactly application/json, got ${contentType}`);
    if (body.error !== r.status) fail(`ApiError.error ${body.error} differs from the status`);
    if (body.reason !== STATUS_CODES[r.status]) fail(`ApiError.reason ${body.reason} is not the reason phrase of ${r.status}`);
    for (const k of ['detail', 'errorCode', 'reason']) if (typeof body[k] !== 'string' || body[k] === '') fail(`ApiError.${k} must be a non-empty string`);
    if (!authFailure) {
      if (!Array.isArray(body.parameters)) fail('ApiError.parameters must be a list');
      if (header('x-error-code') !== body.errorCode) fail(`X-Error-Code ${header('x-error-code')} differs from errorCode ${body.errorCode}`);
    }
    if (r.status === 405 && !header('allow')) fail('405 without an Allow header');
    if (r.status === 429 && !/^\d+$/.test(header('retry-after') ?? '')) fail('429 without an integer Retry-After');
  } else {
    if (contentType.replace(/\s/g, '').toLowerCase() !== successType(which.version)) fail(`content-type ${contentType}, expected ${successType(which.version)}`);
    if (r.status === 204 && r.text !== '') fail('204 must have no body');
  }
  const doc = docs[which.doc];
  if (!doc) return;

  // The official description of the operation.
  const operation = doc.paths[which.key][r.method.toLowerCase()];
  const recorded = RECORDED[`${r.method.toLowerCase()} ${which.key}`];
  if (recorded && r.status < 400 && r.status !== recorded.status) fail(`Atlas answers ${recorded.status} here (recorded), not ${r.status}`);
  const status = recorded?.status === r.status ? recorded.declared : String(r.status);
  const declared = operation ? resolveRef(operation.responses[status], doc) : undefined;
  if (r.status >= 400) {
    const v = schemaValidator('#/components/schemas/ApiError', which.doc);
    if (!v(body)) fail(`not an ApiError: ${ajv.errorsText(v.errors)}`);
    if (declared && !declared.content?.['application/json']) fail(`the spec declares ${r.status} without application/json`);
    return;
  }
  if (!operation) return fail(`${r.method} is not an operation of this path`);
  if (!declared) return fail(`the spec declares no ${r.status} for ${operation.operationId}`);
  if (r.status === 204) return;
  if (recorded?.body && recorded.status === r.status) {
    const params = new URLSearchParams(queryString ?? '');
    const expected = params.get('envelope')?.toLowerCase() === 'true' ? { content: recorded.body, status: r.status } : recorded.body;
    if (JSON.stringify(body) !== JSON.stringify(expected)) fail(`Atlas answers ${r.status} with exactly ${JSON.stringify(expected)}`);
    return;
  }
  const [mediaType, media] = Object.entries(declared.content ?? {})[0] as [string, Json];
  if (contentType.replace(/\s/g, '').toLowerCase() !== `${mediaType};charset=utf-8`) fail(`content-type ${contentType}, expected ${mediaType};charset=utf-8`);
  // envelope=true wraps a single entity as {status, content} and adds status to a list.
  let entity = body;
  const params = new URLSearchParams(queryString ?? '');
  if (params.get('envelope')?.toLowerCase() === 'true') {
    if (body.status !== r.status) fail(`envelope status ${body.status} differs from ${r.status}`);
    if ('results' in body) {
      const { status: _s, ...rest } = body;
      entity = rest;
    } else {
      if (Object.keys(body).sort().join() !== 'content,status') fail('an enveloped entity has exactly status and content');
      entity = body.content;
    }
  }
  const v = schemaValidator(media.schema.$ref, which.doc);
  if (!v(entity)) fail(`body does not match ${media.schema.$ref}: ${ajv.errorsText(v.errors)}`);
  for (const h of Object.keys(declared.headers ?? {})) if (header(h.toLowerCase()) === undefined) fail(`missing declared header ${h}`);
}
