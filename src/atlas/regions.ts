// The Atlas enumerations this resource speaks, exactly as the official spec lists them.

export const CLOUD_PROVIDERS = ['AWS'] as const;
export type CloudProvider = (typeof CLOUD_PROVIDERS)[number];

/** Providers Atlas knows but this resource does not serve: 404 PROVIDER_UNSUPPORTED. */
export const UNSUPPORTED_PROVIDERS: readonly string[] = ['AZURE', 'GCP', 'TENANT'];

export const AWS_REGIONS = [
  'US_GOV_WEST_1',
  'US_GOV_EAST_1',
  'US_EAST_1',
  'US_EAST_2',
  'US_WEST_1',
  'US_WEST_2',
  'CA_CENTRAL_1',
  'EU_NORTH_1',
  'EU_WEST_1',
  'EU_WEST_2',
  'EU_WEST_3',
  'EU_CENTRAL_1',
  'AP_EAST_1',
  'AP_NORTHEAST_1',
  'AP_NORTHEAST_2',
  'AP_NORTHEAST_3',
  'AP_SOUTHEAST_1',
  'AP_SOUTHEAST_2',
  'AP_SOUTHEAST_3',
  'AP_SOUTH_1',
  'SA_EAST_1',
  'CN_NORTH_1',
  'CN_NORTHWEST_1',
  'ME_SOUTH_1',
  'AF_SOUTH_1',
  'EU_SOUTH_1',
  'GLOBAL',
] as const;
export type AwsRegion = (typeof AWS_REGIONS)[number];

const regionSet: ReadonlySet<string> = new Set(AWS_REGIONS);
export function isAwsRegion(value: string): value is AwsRegion {
  return regionSet.has(value);
}

export const ENDPOINT_STATUSES = [
  'INITIATING',
  'PENDING_ACCEPTANCE',
  'ACTIVE',
  'FAILED',
  'PENDING_RECREATION',
  'DELETING',
] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];
