import { STATUS_CODES } from 'node:http';

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
  unsupportedMediaType: (type: string) =>
    new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Unsupported request content type ${type}; send application/json or application/vnd.atlas.2024-11-13+json.`,
      [type],
    ),
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
  resourceNotFound: (id: string) => new ApiError(404, 'RESOURCE_NOT_FOUND', `Cannot find resource ${id}.`, [id]),
  badRequest: (detail: string) => new ApiError(400, 'INVALID_REQUEST', detail),
  serviceUnavailable: () =>
    new ApiError(503, 'SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly.', [], undefined, {
      'retry-after': '1',
    }),
  unexpected: () => new ApiError(500, 'UNEXPECTED_ERROR', 'Unexpected error.'),
};
