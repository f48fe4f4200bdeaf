import { API_VERSION, ATLAS_MEDIA_TYPE, PROJECTS_API_VERSION, PROJECTS_MEDIA_TYPE } from './media-types.js';
import {
  apiErrorSchema,
  endpointListSchema,
  endpointRequestSchema,
  endpointResponseSchema,
  groupRequestSchema,
  groupResponseSchema,
  groupUpdateSchema,
  linkSchema,
  organizationResponseSchema,
  pageOf,
  resourceTagSchema,
} from './schemas.js';

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
const ok = (schema: string, status: string, description: string, mediaType = ATLAS_MEDIA_TYPE) => ({
  [status]: {
    description,
    headers: rateHeaders,
    content: { [mediaType]: { schema: { $ref: `#/components/schemas/${schema}` } } },
  },
});

/** Atlas's projects and organizations operations (DESIGN.md §10), in their own version. */
const projectOk = (schema: string, status = '200', description = 'OK') => ok(schema, status, description, PROJECTS_MEDIA_TYPE);
const projectBody = (schema: string) => ({
  required: true,
  content: { [PROJECTS_MEDIA_TYPE]: { schema: { $ref: `#/components/schemas/${schema}` } }, 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } },
});
const projectErrors = {
  ...commonErrors,
  '400': error('A malformed parameter (INVALID_QUERY_PARAMETER, INVALID_PATH_PARAMETER) or body (MALFORMED_JSON, INVALID_JSON, INVALID_ATTRIBUTE, MISSING_ATTRIBUTE, INVALID_JSON_ATTRIBUTE).'),
  '401': error('NOT_IN_GROUP, USER_UNAUTHORIZED or NOT_ORG_GROUP_CREATOR; or a failed authentication, answered as for the endpoints.'),
  '404': error('INVALID_GROUP_ID, GROUP_NOT_FOUND or GROUP_NAME_NOT_FOUND.'),
};
const listParameters = [param('pretty'), param('envelope'), param('includeCount'), param('itemsPerPage'), param('pageNum')];
const nameFilter = { name: 'name', in: 'query', schema: { type: 'string' }, description: 'A case-insensitive prefix of the names listed; empty: none.' };

function projectPaths() {
  return {
    '/api/atlas/v2/groups': {
      get: { operationId: 'listGroups', parameters: listParameters, responses: { ...projectOk('PaginatedAtlasGroupView'), ...projectErrors } },
      post: {
        operationId: 'createGroup',
        parameters: [param('pretty'), param('envelope'), { name: 'projectOwnerId', in: 'query', schema: { type: 'string', maxLength: 0 }, description: 'Empty or absent: snaplink has no users to make owner.' }],
        requestBody: projectBody('GroupRequest'),
        responses: {
          ...projectOk('Group', '201', 'Created (as Atlas answers; its spec declares 200).'),
          ...projectErrors,
          '409': error('GROUP_ALREADY_EXISTS: the organization has a project of that name.'),
          '413': error('REQUEST_TOO_LARGE: body over 64 KiB.'),
          '415': error('UNSUPPORTED_MEDIA_TYPE.'),
        },
      },
    },
    '/api/atlas/v2/groups/{groupId}': {
      parameters: [param('groupId')],
      get: { operationId: 'getGroup', parameters: [param('pretty'), param('envelope')], responses: { ...projectOk('Group'), ...projectErrors } },
      patch: {
        operationId: 'updateGroup',
        parameters: [param('pretty'), param('envelope')],
        requestBody: projectBody('GroupUpdate'),
        responses: { ...projectOk('Group'), ...projectErrors, '409': error('GROUP_ALREADY_EXISTS.'), '415': error('UNSUPPORTED_MEDIA_TYPE.') },
      },
      delete: {
        operationId: 'deleteGroup',
        parameters: [param('pretty'), param('envelope')],
        responses: {
          '202': { description: 'Accepted, with the body {} (as Atlas answers; its spec declares 204).', headers: rateHeaders, content: { [PROJECTS_MEDIA_TYPE]: { schema: { type: 'object', additionalProperties: false } } } },
          ...projectErrors,
          '409': error('CANNOT_CLOSE_GROUP_ACTIVE_ATLAS_PRIVATE_ENDPOINT_SERVICES: the project still has backup private endpoints.'),
        },
      },
    },
    '/api/atlas/v2/groups/byName/{groupName}': {
      parameters: [{ name: 'groupName', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 64 } }],
      get: { operationId: 'getGroupByName', parameters: [param('pretty'), param('envelope')], responses: { ...projectOk('Group'), ...projectErrors } },
    },
    '/api/atlas/v2/orgs': {
      get: { operationId: 'listOrgs', parameters: [...listParameters, nameFilter], responses: { ...projectOk('PaginatedOrganizationView'), ...projectErrors } },
    },
    '/api/atlas/v2/orgs/{orgId}': {
      parameters: [param('orgId')],
      get: { operationId: 'getOrg', parameters: [param('pretty'), param('envelope')], responses: { ...projectOk('AtlasOrganization'), ...projectErrors } },
    },
    '/api/atlas/v2/orgs/{orgId}/groups': {
      parameters: [param('orgId')],
      get: { operationId: 'getOrgGroups', parameters: [...listParameters, nameFilter], responses: { ...projectOk('PaginatedAtlasGroupView'), ...projectErrors } },
    },
  };
}

export function buildOpenApiDocument(version: string) {
  return {
    openapi: '3.0.3',
    info: {
      title: 'snaplink — Atlas Administration API v2: Cloud Backup object-storage private endpoints',
      version,
      description: `A wire-faithful implementation of the Atlas resource, API version ${API_VERSION}, and of Atlas's projects and organizations operations, API version ${PROJECTS_API_VERSION}.`,
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
      ...projectPaths(),
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
        orgId: { name: 'orgId', in: 'path', required: true, schema: { type: 'string', pattern: '^([a-f0-9]{24})$' } },
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
        AtlasOrganization: organizationResponseSchema,
        Group: groupResponseSchema,
        GroupRequest: groupRequestSchema,
        GroupUpdate: groupUpdateSchema,
        PaginatedAtlasGroupView: pageOf('Group'),
        PaginatedOrganizationView: pageOf('AtlasOrganization'),
        ResourceTag: resourceTagSchema,
      },
    },
  };
}
