import { AWS_REGIONS, CLOUD_PROVIDERS, ENDPOINT_STATUSES } from './regions.js';

// JSON Schemas of this resource's wire objects: the single description from which request
// bodies are validated and snaplink's own OpenAPI document is built. Region fields are plain
// string enums (the official spec's `type: object` wrapper is a known defect).

const region = (description: string) => ({ type: 'string', enum: [...AWS_REGIONS], description }) as const;

export const endpointRequestSchema = {
  type: 'object',
  required: ['cloudProvider', 'regionName'],
  additionalProperties: false,
  properties: {
    cloudProvider: { type: 'string', enum: [...CLOUD_PROVIDERS], description: 'Human-readable label that identifies the cloud provider.' },
    regionName: region('Cloud provider region of the S3 bucket that the private endpoint accesses.'),
    vpcRegionName: region('Region in which the VPC interface endpoint is deployed; defaults to regionName.'),
  },
} as const;

export const endpointResponseSchema = {
  type: 'object',
  required: ['id', 'cloudProvider', 'regionName', 'vpcRegionName', 'status'],
  properties: {
    cloudProvider: { type: 'string', enum: [...CLOUD_PROVIDERS] },
    errorMessage: { type: 'string', readOnly: true, description: 'Present only when the endpoint has failed.' },
    id: { type: 'string', pattern: '^([a-f0-9]{24})$', readOnly: true },
    privateEndpointConnectionName: {
      type: 'string',
      readOnly: true,
      description: 'The AWS VPC endpoint id (vpce-…), present once the provider has created it.',
    },
    regionName: region('Region of the S3 bucket.'),
    status: { type: 'string', enum: [...ENDPOINT_STATUSES], readOnly: true },
    vpcRegionName: region('Region of the VPC interface endpoint.'),
  },
} as const;

export const linkSchema = {
  type: 'object',
  properties: { href: { type: 'string' }, rel: { type: 'string' } },
} as const;

export const endpointListSchema = {
  type: 'object',
  required: ['results', 'links'],
  properties: {
    links: { type: 'array', items: { $ref: '#/components/schemas/Link' } },
    results: { type: 'array', items: { $ref: '#/components/schemas/ObjectStoragePrivateEndpointResponse' } },
    totalCount: { type: 'integer', minimum: 0, description: 'Omitted when includeCount=false.' },
  },
} as const;

export const apiErrorSchema = {
  type: 'object',
  // `parameters` is absent only from a failed authentication's body, as on Atlas.
  required: ['error', 'errorCode', 'detail', 'reason'],
  properties: {
    badRequestDetail: {
      type: 'object',
      properties: {
        fields: {
          type: 'array',
          items: {
            type: 'object',
            required: ['field', 'description'],
            properties: { field: { type: 'string' }, description: { type: 'string' } },
          },
        },
      },
    },
    detail: { type: 'string' },
    error: { type: 'integer' },
    errorCode: { type: 'string' },
    parameters: { type: 'array', items: {} },
    reason: { type: 'string' },
  },
} as const;

// Atlas's projects and organizations (DESIGN.md §10), version 2023-01-01: the names and bounds
// the official spec gives, from which project bodies are validated (projects/validate.ts).

const objectId = { type: 'string', pattern: '^([a-f0-9]{24})$' } as const;
/** The official pattern of a project's (and an organization's) name: 1 to 64 letters, digits or - _ . ( ) , : & @ + ' (no spaces). */
export const NAME_PATTERN = "^[\\p{L}\\p{N}\\-_.(),:&@+']{1,64}$";

export const resourceTagSchema = {
  type: 'object',
  required: ['key', 'value'],
  additionalProperties: false,
  properties: { key: { type: 'string', minLength: 1, maxLength: 255 }, value: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

const groupWritable = {
  name: { type: 'string', pattern: NAME_PATTERN },
  tags: { type: 'array', items: { $ref: '#/components/schemas/ResourceTag' } },
  withDefaultAlertsSettings: { type: 'boolean', description: 'True unless the create said false.' },
} as const;

export const groupRequestSchema = {
  type: 'object',
  required: ['name', 'orgId'],
  description: 'Read-only fields sent back (clusterCount, created, id, links) are ignored, as Atlas ignores them.',
  properties: { ...groupWritable, orgId: objectId },
} as const;

export const groupUpdateSchema = { type: 'object', additionalProperties: false, properties: groupWritable } as const;

export const groupResponseSchema = {
  type: 'object',
  required: ['clusterCount', 'created', 'id', 'links', 'name', 'orgId', 'tags', 'withDefaultAlertsSettings'],
  properties: {
    clusterCount: { type: 'integer', readOnly: true, description: 'Always 0: snaplink has no clusters.' },
    created: { type: 'string', format: 'date-time', readOnly: true },
    id: { ...objectId, readOnly: true },
    links: { type: 'array', readOnly: true, items: { $ref: '#/components/schemas/Link' } },
    ...groupWritable,
    orgId: objectId,
  },
} as const;

export const organizationResponseSchema = {
  type: 'object',
  required: ['id', 'isDeleted', 'links', 'name', 'skipDefaultAlertsSettings'],
  properties: {
    id: { ...objectId, readOnly: true },
    isDeleted: { type: 'boolean', readOnly: true },
    links: { type: 'array', readOnly: true, items: { $ref: '#/components/schemas/Link' } },
    name: { type: 'string' },
    skipDefaultAlertsSettings: { type: 'boolean' },
  },
} as const;

/** A page of `item`s, as every list of the API is. */
export const pageOf = (item: string) =>
  ({
    type: 'object',
    required: ['results', 'links'],
    properties: {
      links: { type: 'array', items: { $ref: '#/components/schemas/Link' } },
      results: { type: 'array', items: { $ref: `#/components/schemas/${item}` } },
      totalCount: { type: 'integer', minimum: 0, description: 'Omitted when includeCount=false.' },
    },
  }) as const;
