import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { AWS_REGIONS } from '../../atlas/regions.js';

// Where the AWS provider puts interface endpoints: per AWS region, the operator's VPC, subnets
// and security groups. Read from a JSON file (--aws-config / SNAPLINK_AWS_CONFIG).

export interface AwsPlacement {
  vpcId: string;
  subnetIds: string[];
  securityGroupIds: string[];
}

export interface AwsSettings {
  /** Keyed by AWS region code (us-east-1). */
  regions: Record<string, AwsPlacement>;
  /** An EC2 API to use instead of AWS's (an emulator such as moto). */
  endpointUrl?: string;
  /** How often to ask EC2 about an endpoint it is still working on. */
  pollMs: number;
  /** How often to check that an ACTIVE endpoint still exists. */
  healthCheckMs: number;
}

/** Atlas region name (US_EAST_1) → AWS region code (us-east-1); GLOBAL has none. */
export function awsRegionOf(atlasRegion: string): string | undefined {
  return atlasRegion === 'GLOBAL' ? undefined : atlasRegion.toLowerCase().replace(/_/g, '-');
}

const placement = {
  type: 'object',
  additionalProperties: false,
  required: ['vpcId', 'subnetIds'],
  properties: {
    vpcId: { type: 'string', pattern: '^vpc-[0-9a-f]+$' },
    subnetIds: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^subnet-[0-9a-f]+$' } },
    securityGroupIds: { type: 'array', items: { type: 'string', pattern: '^sg-[0-9a-f]+$' } },
  },
};
const fileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['regions'],
  properties: {
    regions: { type: 'object', additionalProperties: placement },
    endpointUrl: { type: 'string' },
    pollSeconds: { type: 'number', minimum: 0.05, maximum: 3600 },
    healthCheckSeconds: { type: 'number', minimum: 0.05, maximum: 86_400 },
  },
};
const validate = new Ajv().compile<{ regions: Record<string, Partial<AwsPlacement>>; endpointUrl?: string; pollSeconds?: number; healthCheckSeconds?: number }>(fileSchema);

const AWS_CODES = new Set(AWS_REGIONS.flatMap((r) => awsRegionOf(r) ?? []));

export function readAwsSettings(file: string | undefined, endpointUrl: string | undefined): AwsSettings {
  let parsed: unknown = { regions: {} };
  if (file !== undefined) {
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read the AWS configuration ${file}: ${(err as Error).message}`);
    }
  }
  if (!validate(parsed)) {
    const e = validate.errors?.[0];
    throw new Error(`invalid AWS configuration ${file}: ${e?.instancePath || '(root)'} ${e?.message}`);
  }
  const regions: Record<string, AwsPlacement> = {};
  for (const [key, p] of Object.entries(parsed.regions)) {
    const code = AWS_CODES.has(key) ? key : awsRegionOf(key);
    if (code === undefined || !AWS_CODES.has(code)) throw new Error(`invalid AWS configuration ${file}: unknown region ${key}`);
    regions[code] = { vpcId: p.vpcId!, subnetIds: p.subnetIds!, securityGroupIds: p.securityGroupIds ?? [] };
  }
  return {
    regions,
    endpointUrl: endpointUrl ?? parsed.endpointUrl,
    pollMs: Math.round((parsed.pollSeconds ?? 5) * 1000),
    healthCheckMs: Math.round((parsed.healthCheckSeconds ?? 60) * 1000),
  };
}
