import type { AwsRegion, CloudProvider, EndpointStatus } from '../atlas/regions.js';

// The resource as snaplink holds it, and as it goes on the wire.

export interface Endpoint {
  id: string;
  groupId: string;
  cloudProvider: CloudProvider;
  regionName: AwsRegion;
  vpcRegionName: AwsRegion;
  status: EndpointStatus;
  connectionName: string | null;
  errorMessage: string | null;
  createdAt: number;
  updatedAt: number;
  /** When its next transition is due (lifecycle clock); null while it rests. */
  dueAt: number | null;
  /** Consecutive failed provider calls for the current step (for backoff). */
  attempts: number;
  /** Incarnation of the cloud endpoint: 0, then one more at each recreation. */
  generation: number;
}

/** A validated create request; vpcRegionName already defaulted to regionName. */
export interface EndpointSpec {
  cloudProvider: CloudProvider;
  regionName: AwsRegion;
  vpcRegionName: AwsRegion;
}

/** What the API shows of an endpoint. */
export type EndpointView = Pick<Endpoint, 'id' | 'cloudProvider' | 'regionName' | 'vpcRegionName' | 'status' | 'connectionName' | 'errorMessage'>;

/** ObjectStoragePrivateEndpointResponse: Atlas's (alphabetical) key order, absent fields omitted. */
export function toWire(e: EndpointView): Record<string, string> {
  const out: Record<string, string> = { cloudProvider: e.cloudProvider };
  if (e.errorMessage !== null) out.errorMessage = e.errorMessage;
  out.id = e.id;
  if (e.connectionName !== null) out.privateEndpointConnectionName = e.connectionName;
  out.regionName = e.regionName;
  out.status = e.status;
  out.vpcRegionName = e.vpcRegionName;
  return out;
}
