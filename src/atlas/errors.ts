import { STATUS_CODES } from 'node:http';
import { ATLAS_MEDIA_TYPE } from './media-types.js';

// The error catalogue: every ApiError snaplink can answer, in one place. Texts follow Atlas's
// published error-code list where Atlas documents one; the rest are snaplink's (see README).

export interface FieldViolation {
  field: string;
  description: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    readonly detail: string,
    readonly parameters: unknown[] = [],
    readonly fieldViolations?: FieldViolation[],
    /** Headers the answer must carry (WWW-Authenticate, Allow, Retry-After). */
    readonly headers: Record<string, string | string[]> = {},
  ) {
    super(`${errorCode}: ${detail}`);
    this.name = 'ApiError';
  }

  /** Whether the answer reports a project's RateLimit headers: not when there is no bucket to report. */
  reportsRateLimit = true;

  /** The wire body; keys in Atlas's (alphabetical) order. */
  toJSON(): Record<string, unknown> {
    const body: Record<string, unknown> = {};
    if (this.fieldViolations) body.badRequestDetail = { fields: this.fieldViolations };
    body.detail = this.detail;
    body.error = this.status;
    body.errorCode = this.errorCode;
    body.parameters = this.parameters;
    body.reason = STATUS_CODES[this.status] ?? 'Unknown';
    return body;
  }
}

/**
 * A failed authentication (no credentials, wrong ones, an invalid, expired or revoked token),
 * answered as Atlas answers it: before its API layer, so the body is Atlas's fixed one, without
 * `parameters`, and the answer carries none of the API's headers (X-Error-Code, RateLimit,
 * the security headers). Recorded from real Atlas answers; see DESIGN.md §2.
 */
export class AuthenticationFailure extends ApiError {
  constructor(challenges: string[]) {
    super(401, 'UNEXPECTED_ERROR', 'You are not authorized for this resource.', [], undefined, { 'www-authenticate': challenges });
  }

  override reportsRateLimit = false;

  /** Atlas's own key order for this body. */
  override toJSON(): Record<string, unknown> {
    return { error: this.status, reason: STATUS_CODES[this.status], detail: this.detail, errorCode: this.errorCode };
  }
}

export const errors = {
  resourcePathNotFound: (path: string) =>
    new ApiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${path}.`, [path]),
  methodNotAllowed: (method: string, path: string, allow: readonly string[]) =>
    new ApiError(405, 'METHOD_NOT_ALLOWED', `HTTP method ${method} is not allowed on resource ${path}.`, [method, path], undefined, {
      allow: allow.join(', '),
    }),
  unauthorized: (challenges: string[]) => new AuthenticationFailure(challenges),
  tooManyFailedAuthentications: (seconds: number) =>
    new ApiError(
      429,
      'TOO_MANY_FAILED_AUTHENTICATIONS',
      `Too many failed authentications from this address; retry in ${seconds} seconds.`,
      [seconds],
      undefined,
      { 'retry-after': String(seconds) },
    ),
  invalidVersionDate: () => new ApiError(406, 'INVALID_VERSION_DATE', 'Invalid accept header or version date.'),
  invalidGroupId: (id: string) => new ApiError(404, 'INVALID_GROUP_ID', `An invalid group ID ${id} was specified.`, [id]),
  providerUnsupported: (p: string) => new ApiError(404, 'PROVIDER_UNSUPPORTED', `Provider ${p} not currently supported.`, [p]),
  invalidProvider: (p: string) => new ApiError(400, 'INVALID_PROVIDER', `No provider ${p} exists.`, [p]),
  invalidPathParameter: (name: string, value: string) =>
    new ApiError(400, 'INVALID_PATH_PARAMETER', `Invalid path parameter ${name} specified: ${value}.`, [name, value]),
  invalidQueryParameter: (name: string, why: string) =>
    new ApiError(400, 'INVALID_QUERY_PARAMETER', `Invalid query parameter ${name} specified: ${why}.`, [name]),
  ipNotOnAccessList: (ip: string) =>
    new ApiError(403, 'IP_ADDRESS_NOT_ON_ACCESS_LIST', `IP address ${ip} is not allowed to access this resource.`, [ip]),
  notInGroup: () =>
    new ApiError(401, 'NOT_IN_GROUP', 'The current user is not in the group, or the group does not exist.'),
  // No project, so no bucket: the answer carries no RateLimit headers (as recorded from Atlas).
  groupNotFound: (id: string) => Object.assign(new ApiError(404, 'GROUP_NOT_FOUND', `No group with ID ${id} exists.`, [id]), { reportsRateLimit: false }),
  userUnauthorized: () =>
    new ApiError(401, 'USER_UNAUTHORIZED', 'Current user is not authorized to perform this action.'),
  rateLimited: (resource: string, limit: number, minutes: number, retryAfterSeconds: number) =>
    new ApiError(
      429,
      'RATE_LIMITED',
      `Resource ${resource} is limited to ${limit} requests every ${minutes} minutes.`,
      [resource, limit, minutes],
      undefined,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  unsupportedMediaType: (type: string, versioned: string = ATLAS_MEDIA_TYPE) =>
    new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Unsupported request content type ${type}; send application/json or ${versioned}.`, [type]),
  malformedJson: () => new ApiError(400, 'MALFORMED_JSON', 'Received JSON is malformed.'),
  invalidJson: () => new ApiError(400, 'INVALID_JSON', 'Received JSON does not match expected format.'),
  invalidAttribute: (name: string, fields: FieldViolation[]) =>
    new ApiError(400, 'INVALID_ATTRIBUTE', `Invalid attribute ${name} specified.`, [name], fields),
  missingAttribute: (name: string, fields: FieldViolation[]) =>
    new ApiError(400, 'MISSING_ATTRIBUTE', `The required attribute ${name} was not specified.`, [name], fields),
  invalidJsonAttribute: (name: string, fields: FieldViolation[]) =>
    new ApiError(400, 'INVALID_JSON_ATTRIBUTE', `Received JSON for the ${name} attribute does not match expected format.`, [name], fields),
  invalidEnumValue: (value: string, fields: FieldViolation[]) =>
    new ApiError(400, 'INVALID_ENUM_VALUE', `An invalid enumeration value ${value} was specified.`, [value], fields),
  requestTooLarge: (limitBytes: number) =>
    new ApiError(413, 'REQUEST_TOO_LARGE', `The request body exceeds the limit of ${limitBytes} bytes.`, [limitBytes]),
  endpointAlreadyExists: (regionName: string, vpcRegionName: string) =>
    new ApiError(
      409,
      'OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS',
      regionName === vpcRegionName
        ? `An object storage private endpoint for region ${regionName} already exists in this project.`
        : `An object storage private endpoint for region ${regionName} with VPC region ${vpcRegionName} already exists in this project.`,
      [regionName, vpcRegionName],
    ),
  // Projects and organizations (DESIGN.md §10). Codes and texts as Atlas answers them: the
  // evidence for each is in docs/fidelity.md.
  groupNameNotFound: (name: string) => new ApiError(404, 'GROUP_NAME_NOT_FOUND', `No group with name "${name}" exists.`, [name]),
  notOrgGroupCreator: (orgId: string) =>
    new ApiError(401, 'NOT_ORG_GROUP_CREATOR', `The currently authenticated user does not have permission to create a group in organization ${orgId}.`, [orgId]),
  groupAlreadyExists: (name: string) => new ApiError(409, 'GROUP_ALREADY_EXISTS', `A group with name "${name}" already exists.`, [name]),
  groupHasPrivateEndpoints: () =>
    new ApiError(
      409,
      'CANNOT_CLOSE_GROUP_ACTIVE_ATLAS_PRIVATE_ENDPOINT_SERVICES',
      'Cannot close group while it has active private endpoint services; please terminate all private endpoint services.',
    ),
  resourceNotFound: (id: string) => new ApiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${id}.`, [id]),
  badRequest: (detail: string) => new ApiError(400, 'INVALID_REQUEST', detail),
  headersTooLarge: () => new ApiError(431, 'REQUEST_HEADER_FIELDS_TOO_LARGE', 'The request headers are too large.'),
  requestTimeout: () => new ApiError(408, 'REQUEST_TIMEOUT', 'The request was not received in time.'),
  serviceUnavailable: () =>
    new ApiError(503, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly.', [], undefined, {
      'retry-after': '1',
    }),
  storeFull: () => new ApiError(507, 'INSUFFICIENT_STORAGE', 'The store has no room for this change; nothing was changed. Reads are still served.'),
  unexpected: () => new ApiError(500, 'UNEXPECTED_ERROR', 'Unexpected error.'),
};

/** One row of the order in which a request to the resource is checked (DESIGN.md §3). */
export interface Check {
  /** The check's number: the first failing one answers. `null`: not a check, it can happen anywhere. */
  step: number | null;
  /** When it answers, as a reader would say it. */
  when: string;
  /** An example of the answer, from the catalogue above: its status, errorCode and headers. */
  example: () => ApiError;
}

/**
 * Every error of the resource's paths in the order it is checked: the first failing check answers
 * and a rejected request changes nothing. docs/fidelity.md's error table is generated from this
 * list (`npm run docs`), so the order is declared once, here.
 */
export const CHECK_ORDER: readonly Check[] = [
  { step: 1, when: 'no route for the path', example: () => errors.resourcePathNotFound('/x') },
  { step: 1, when: 'the path exists, the method does not', example: () => errors.methodNotAllowed('PUT', '/x', ['GET', 'HEAD']) },
  { step: 2, when: 'no or wrong credentials (Digest or Bearer; an invalid, expired or revoked token): Atlas\'s fixed body, no `parameters`', example: () => errors.unauthorized(['Digest …']) },
  { step: 2, when: 'this address failed to authenticate too often (even with right credentials)', example: () => errors.tooManyFailedAuthentications(60) },
  { step: 3, when: '`Accept` lacks the operation\'s version (2024-11-13 for the endpoints, 2023-01-01 for projects and organizations)', example: () => errors.invalidVersionDate() },
  { step: 4, when: '`groupId` not 24 lowercase hex', example: () => errors.invalidGroupId('x') },
  { step: 4, when: 'provider `AZURE`, `GCP`, `TENANT`', example: () => errors.providerUnsupported('GCP') },
  { step: 4, when: 'any other provider but `AWS`', example: () => errors.invalidProvider('x') },
  { step: 4, when: '`endpointId` or `orgId` not 24 lowercase hex; a `groupName` over 64 characters', example: () => errors.invalidPathParameter('endpointId', 'x') },
  { step: 5, when: 'malformed or repeated `pretty`, `envelope`, `includeCount`, `itemsPerPage`, `pageNum`, `name`; a `projectOwnerId` with a value (snaplink has no users)', example: () => errors.invalidQueryParameter('pageNum', 'x') },
  { step: 6, when: "caller's address not on the credential's access list", example: () => errors.ipNotOnAccessList('192.0.2.1') },
  { step: 7, when: 'no role in the project or its organization (whether or not the project exists, or a project has the name asked for)', example: () => errors.notInGroup() },
  { step: 7, when: 'organization owner, and the project does not exist', example: () => errors.groupNotFound('x') },
  { step: 7, when: 'organization owner, and no project of its organization has the name asked for', example: () => errors.groupNameNotFound('x') },
  { step: 8, when: 'role below what the operation needs: Project Owner for the endpoints and for changing or deleting a project; a role in the organization for reading it', example: () => errors.userUnauthorized() },
  { step: 9, when: "the project's token bucket is empty", example: () => errors.rateLimited('x', 1200, 1, 1) },
  { step: 10, when: 'body media type other than JSON or the versioned type (a body without `Content-Type` included)', example: () => errors.unsupportedMediaType('text/plain') },
  { step: 10, when: 'body not JSON (an empty POST included)', example: () => errors.malformedJson() },
  { step: 10, when: 'JSON but not an object', example: () => errors.invalidJson() },
  { step: 10, when: 'unknown or read-only attribute (`id`, `status`, …; a project\'s read-only ones are ignored, as on Atlas); a project name or tag outside the official pattern or lengths', example: () => errors.invalidAttribute('id', []) },
  { step: 10, when: '`cloudProvider` or `regionName` missing (or `null`); a project\'s `name` or `orgId`', example: () => errors.missingAttribute('regionName', []) },
  { step: 10, when: 'attribute of the wrong JSON type', example: () => errors.invalidJsonAttribute('regionName', []) },
  { step: 10, when: 'value outside its enum', example: () => errors.invalidEnumValue('x', []) },
  { step: 10, when: 'body over 64 KiB', example: () => errors.requestTooLarge(65_536) },
  { step: 11, when: 'same provider, `regionName` and `vpcRegionName` already in the project (in any status, `DELETING` included)', example: () => errors.endpointAlreadyExists('US_EAST_1', 'US_EAST_1') },
  { step: 11, when: 'GET or DELETE of an id that is not in this project', example: () => errors.resourceNotFound('x') },
  { step: 11, when: 'creating a project in an organization where the caller is neither Organization Owner nor Organization Project Creator', example: () => errors.notOrgGroupCreator('x') },
  { step: 11, when: 'a project of that name already in the organization (create or rename)', example: () => errors.groupAlreadyExists('x') },
  { step: 11, when: 'deleting a project that still has backup private endpoints (in any status, `DELETING` included)', example: () => errors.groupHasPrivateEndpoints() },
  { step: null, when: 'the store cannot be reached (PostgreSQL away, a node shutting down)', example: () => errors.serviceUnavailable() },
  { step: null, when: 'a write when the store has no room (its disk full; SQLite\'s page limit): nothing is changed, reads are still served, writes work again once there is room', example: () => errors.storeFull() },
  { step: null, when: 'a request HTTP cannot read (a `Content-Length` that does not match the body, say)', example: () => errors.badRequest('x') },
  { step: null, when: 'request headers too large for Node to parse', example: () => errors.headersTooLarge() },
  { step: null, when: 'headers not complete within `--headers-timeout`, or the whole request within `--request-timeout` (a client trickling bytes); the connection is closed', example: () => errors.requestTimeout() },
  { step: null, when: 'anything unexpected (nothing internal is shown)', example: () => errors.unexpected() },
];
