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
