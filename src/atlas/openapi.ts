import { API_VERSION, ATLAS_MEDIA_TYPE } from './media-types.js';
import { apiErrorSchema, endpointListSchema, endpointRequestSchema, endpointResponseSchema, linkSchema } from './schemas.js';

// snaplink's own OpenAPI 3.0 document for what it serves on the Atlas paths, built from the
// same schemas the server validates with. Served at GET /_snaplink/openapi.json.

const error = (description: string) => ({
  description,
  headers: { 'X-Error-Code': { $ref: '#/components/headers/XErrorCode' } },
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } },
});

const rateHeaders = {
  'RateLimit-Limit': { $ref: '#/components/headers/RateLimitLimit' },
  'RateLimit-Remaining': { $ref: '#/components/headers/RateLimitRemaining' },
};

const commonErrors = {
  '400': error('Bad request: a malformed query or path parameter (INVALID_QUERY_PARAMETER, INVALID_PATH_PARAMETER, INVALID_PROVIDER).'),
  '401': error(
    'NOT_IN_GROUP or USER_UNAUTHORIZED; or a failed authentication, answered as Atlas does before its API layer: ' +
      'errorCode UNEXPECTED_ERROR with a Digest challenge, no `parameters`, and no X-Error-Code, RateLimit or security headers.',
  ),
  '403': error('IP_ADDRESS_NOT_ON_ACCESS_LIST.'),
  '404': error('INVALID_GROUP_ID, GROUP_NOT_FOUND, PROVIDER_UNSUPPORTED or RESOURCE_NOT_FOUND.'),
  '405': error('METHOD_NOT_ALLOWED (with an Allow header).'),
  '406': error('INVALID_VERSION_DATE: the Accept header does not name this version.'),
  '429': { ...error('RATE_LIMITED.'), headers: { ...rateHeaders, 'Retry-After': { schema: { type: 'integer' } } } },
  '500': error('UNEXPECTED_ERROR.'),
};

const param = (ref: string) => ({ $ref: `#/components/parameters/${ref}` });
const ok = (schema: string, status: string, description: string) => ({
  [status]: {
    description,
    headers: rateHeaders,
    content: { [ATLAS_MEDIA_TYPE]: { schema: { $ref: `#/components/schemas/${schema}` } } },
  },
});

export function buildOpenApiDocument(version: string) {
  return {
    openapi: '3.0.3',
    info: {
      title: 'snaplink — Atlas Administration API v2: Cloud Backup object-storage private endpoints',
      version,
      description: `A wire-faithful implementation of the Atlas resource, API version ${API_VERSION}.`,
    },
    security: [{ DigestAuth: [] }],
    paths: {
      '/api/atlas/v2/groups/{groupId}/backup/{cloudProvider}/privateEndpoints': {
        parameters: [param('groupId'), param('cloudProvider')],
        get: {
          operationId: 'listGroupBackupPrivateEndpoints',
          parameters: [param('pretty'), param('envelope'), param('includeCount'), param('itemsPerPage'), param('pageNum')],
          responses: { ...ok('PaginatedApiAtlasObjectStoragePrivateEndpointResponseView', '200', 'OK'), ...commonErrors },
        },
        post: {
          operationId: 'createGroupBackupPrivateEndpoint',
          parameters: [param('pretty'), param('envelope')],
          requestBody: {
            required: true,
            content: {
              [ATLAS_MEDIA_TYPE]: { schema: { $ref: '#/components/schemas/ObjectStoragePrivateEndpointRequest' } },
              'application/json': { schema: { $ref: '#/components/schemas/ObjectStoragePrivateEndpointRequest' } },
            },
          },
          responses: {
            ...ok('ObjectStoragePrivateEndpointResponse', '201', 'Created'),
            ...commonErrors,
            '400': error('Body rejected: MALFORMED_JSON, INVALID_JSON, INVALID_ATTRIBUTE, MISSING_ATTRIBUTE, INVALID_JSON_ATTRIBUTE, INVALID_ENUM_VALUE (with badRequestDetail), or a bad parameter.'),
            '409': error('OBJECT_STORAGE_PRIVATE_ENDPOINT_ALREADY_EXISTS.'),
            '413': error('REQUEST_TOO_LARGE: body over 64 KiB.'),
            '415': error('UNSUPPORTED_MEDIA_TYPE.'),
          },
        },
      },
      '/api/atlas/v2/groups/{groupId}/backup/{cloudProvider}/privateEndpoints/{endpointId}': {
        parameters: [param('groupId'), param('cloudProvider'), param('endpointId')],
        get: {
          operationId: 'getGroupBackupPrivateEndpoint',
          parameters: [param('pretty'), param('envelope')],
          responses: { ...ok('ObjectStoragePrivateEndpointResponse', '200', 'OK'), ...commonErrors },
        },
        delete: {
          operationId: 'deleteGroupBackupPrivateEndpoint',
          parameters: [param('pretty'), param('envelope')],
          responses: {
            '204': { description: `No Content: the endpoint is now DELETING. Sent with Content-Type ${ATLAS_MEDIA_TYPE};charset=utf-8, as Atlas does.`, headers: rateHeaders },
            ...commonErrors,
          },
        },
      },
    },
    components: {
      securitySchemes: { DigestAuth: { type: 'http', scheme: 'digest' } },
      headers: {
        RateLimitLimit: { schema: { type: 'integer' }, description: 'Capacity of the project’s token bucket.' },
        RateLimitRemaining: { schema: { type: 'integer' }, description: 'Tokens left in the project’s bucket.' },
        XErrorCode: { schema: { type: 'string' }, description: 'The errorCode of the body; on every error but a failed authentication.' },
      },
      parameters: {
        groupId: { name: 'groupId', in: 'path', required: true, schema: { type: 'string', pattern: '^([a-f0-9]{24})$' } },
        cloudProvider: { name: 'cloudProvider', in: 'path', required: true, schema: { type: 'string', enum: ['AWS'] } },
        endpointId: { name: 'endpointId', in: 'path', required: true, schema: { type: 'string', pattern: '^([a-f0-9]{24})$' } },
        pretty: { name: 'pretty', in: 'query', schema: { type: 'boolean', default: false } },
        envelope: { name: 'envelope', in: 'query', schema: { type: 'boolean', default: false } },
        includeCount: { name: 'includeCount', in: 'query', schema: { type: 'boolean', default: true } },
        itemsPerPage: { name: 'itemsPerPage', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
        pageNum: { name: 'pageNum', in: 'query', schema: { type: 'integer', minimum: 1, default: 1 } },
      },
      schemas: {
        ApiError: apiErrorSchema,
        Link: linkSchema,
        ObjectStoragePrivateEndpointRequest: endpointRequestSchema,
        ObjectStoragePrivateEndpointResponse: endpointResponseSchema,
        PaginatedApiAtlasObjectStoragePrivateEndpointResponseView: endpointListSchema,
      },
    },
  };
}
